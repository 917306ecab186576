"""/api/v1/reports: the dashboard as JSON and every report table as JSON or streamed CSV.
Managers only (403 envelope for everyone else)."""
from __future__ import annotations

from itertools import islice

from flask import Response, stream_with_context

from servicedesk.accounts import permissions
from servicedesk.clock import utcnow
from servicedesk.extensions import db
from servicedesk.reports import dashboard as dash
from servicedesk.reports.export import csv_chunks, json_value
from servicedesk.reports.params import ReportQuery, TableQuery
from servicedesk.reports.queries import DEFINITIONS
from servicedesk.reports.schemas import ReportDashboard, ReportDefinitions, ReportTable
from servicedesk.reports.tables import TABLES, Request, Table
from servicedesk.web.api import api_blueprint, api_user, documented, parse_query

bp = api_blueprint("reports_api", __name__, url_prefix="/reports")

MANAGERS = "managers"


def _require_manager() -> None:
    permissions.ensure(permissions.can_view_reports(api_user()),
                       "Reports are for managers only.")


@bp.get("/dashboard")
@documented("Dashboard figures for a period",
            description="Every dashboard figure for the period and the headline of the "
                        "previous one (deltas = this - previous); durations in seconds, "
                        "rates in percent. `definitions` says what each figure counts.",
            query=ReportQuery, response=ReportDashboard, errors=(403,), roles=MANAGERS,
            tag="reports")
def dashboard():
    _require_manager()
    args = parse_query(ReportQuery)
    now = utcnow()
    period = args.period(now)
    data = dash.dashboard(db.session, period, now, args.trend_unit(period))
    return dash.to_json(data)


def _table_view(table: Table):
    def view():
        _require_manager()
        args = parse_query(TableQuery)
        now = utcnow()
        period = args.period(now)
        req = Request(db.session, period, now, args.trend_unit(period))
        if args.format == "csv":
            name = f"{table.name}_{period.first_day}_{period.last_day}.csv"
            return Response(stream_with_context(csv_chunks(table.columns, table.rows(req))),
                            mimetype="text/csv",
                            headers={"Content-Disposition": f'attachment; filename="{name}"'})
        rows = table.rows(req)
        if table.is_large:
            rows = islice(rows, (args.page - 1) * args.per_page, args.page * args.per_page)
        return {"table": table.name, "title": table.title,
                "period": {"start": dash._iso(period.start), "end": dash._iso(period.end)},
                "columns": list(table.columns),
                "rows": [[json_value(v) for v in row] for row in rows],
                **({"page": args.page, "per_page": args.per_page} if table.is_large else {})}

    view.__name__ = f"table_{table.name}"
    return documented(
        f"Report table: {table.title}",
        description=f"Columns: {', '.join(table.columns)}. `format=csv` streams every row "
                    "(constant memory)" + ("; JSON is paged (page, per_page)."
                                           if table.is_large else "; JSON has every row."),
        query=TableQuery, response=ReportTable,
        response_description="Rows as JSON (below), or with format=csv a CSV file.",
        errors=(403,), roles=MANAGERS, tag="reports")(view)


for _table in TABLES.values():
    bp.add_url_rule(f"/{_table.name}", view_func=_table_view(_table), methods=["GET"])


@bp.get("/definitions")
@documented("What each report figure means",
            response=ReportDefinitions, response_description="{figure: {label, text}}: the text "
            "shown on the dashboard.", errors=(403,), roles=MANAGERS, tag="reports")
def definitions():
    _require_manager()
    return {k: {"label": label, "text": text} for k, (label, text) in DEFINITIONS.items()}
