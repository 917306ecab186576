"""Everything the managers' dashboard shows for one period, assembled from reports.queries
(and the same dict feeds the JSON API, the weekly e-mail and the benchmark)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from servicedesk.reports import queries as q
from servicedesk.reports.export import json_value
from servicedesk.sla.models import ClockKind


def headline(session: Session, period: q.Period, now: datetime, *, totals=None,
             resolution=None, mtta=None, mttr=None, csat=None, unmet_total=None) -> dict:
    """The figures compared period over period (parts already computed may be passed in)."""
    totals = totals or q.compliance_totals(session, period, now)
    res = resolution or q.resolution_figures(session, period)
    mttr = mttr or q.durations(session, period, ClockKind.resolution)
    mtta = mtta or q.durations(session, period, ClockKind.response)
    csat = csat or q.csat(session, period)
    return {
        "response_compliance": totals["response"].percent,
        "resolution_compliance": totals["resolution"].percent,
        "breaches": totals["response"].breached + totals["resolution"].breached,
        "created": q.created_count(session, period),
        "resolved": res.resolved,
        "mtta_business_median": mtta.business_median,
        "mttr_business_median": mttr.business_median,
        "fcr_rate": res.fcr_rate,
        "reopen_rate": res.reopen_rate,
        "csat_mean": csat["mean"],
        "unmet": q.unmet_count(session, period) if unmet_total is None else unmet_total,
    }


def deltas(current: dict, previous: dict) -> dict:
    """this - previous per headline figure (None when either side is missing)."""
    return {k: (None if current[k] is None or previous[k] is None
                else round(current[k] - previous[k], 2)) for k in current}


def dashboard(session: Session, period: q.Period, now: datetime, unit: str | None = None,
              *, people: bool = True) -> dict:
    """All figures for ``period`` (and the headline of the previous one); each SQL aggregate
    runs once."""
    unit = unit or q.default_bucket(period)
    table = q.compliance_table(session, period, now)
    totals = {kind: dims["total"] for kind, dims in table.items()}
    res = q.resolution_figures(session, period)
    mtta = q.durations(session, period, ClockKind.response)
    mttr = q.durations(session, period, ClockKind.resolution)
    csat = q.csat(session, period)
    unmet = q.unmet(session, period, unit)
    current = headline(session, period, now, totals=totals, resolution=res, mtta=mtta,
                       mttr=mttr, csat=csat, unmet_total=unmet["total"])
    previous = headline(session, period.previous, now)
    breach_total = current["breaches"]
    return {
        "period": period, "previous_period": period.previous, "unit": unit, "now": now,
        "target": q.TARGET_PERCENT,
        "headline": current, "previous": previous, "deltas": deltas(current, previous),
        "compliance": table,
        "trend": q.compliance_trend(session, period, now, unit),
        "breach_total": breach_total,
        "breaches": q.breaches(session, period, now, limit=20, total=breach_total)[1],
        "at_risk": q.at_risk(session, now, limit=20),
        "at_risk_total": q.at_risk_count(session, now),
        "backlog": q.backlog(session, now),
        "flow": q.created_vs_resolved(session, period, unit),
        "mtta": mtta, "mttr": mttr, "resolution": res,
        "escalation": q.escalation_rates(session, period),
        "vendors": q.vendor_figures(session, period, now),
        "csat": csat, "unmet": unmet, "knowledge": q.knowledge(session, period),
        "people": q.people(session, period, q.csat_by_assignee(session, period))
        if people else None,
        "labels": q.dimension_labels(session),
        "definitions": q.DEFINITIONS,
    }


def breakdown(d: dict) -> dict[str, list[tuple]]:
    """{dimension: [(key, label, response Compliance, resolution Compliance)]} by label."""
    out = {}
    for dim in q.DIMENSIONS:
        resp, res = d["compliance"]["response"][dim], d["compliance"]["resolution"][dim]
        keys = set(resp) | set(res)
        rows = [(k, "None" if k is None else str(d["labels"][dim].get(k, k)),
                 resp.get(k, q.Compliance()), res.get(k, q.Compliance())) for k in keys]
        out[dim] = sorted(rows, key=lambda r: (r[0] is None, r[1]))
    return out


def _c(c) -> dict:
    return {"judged": c.judged, "met": c.met, "breached": c.breached, "percent": c.percent}


def _iso(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def to_json(d: dict) -> dict:
    """The dashboard as plain JSON (the API's /reports/dashboard)."""
    def period(p):
        return {"start": _iso(p.start), "end": _iso(p.end)}

    def durations(x):
        return {"count": x.count, "business_median": x.business_median,
                "business_p90": x.business_p90, "wall_median": x.wall_median,
                "wall_p90": x.wall_p90}

    labels = d["labels"]
    compliance = {kind: {"total": _c(dims["total"]), **{
        dim: [{"key": k, "label": "None" if k is None else labels[dim].get(k, str(k)),
               **_c(c)} for k, c in sorted(dims[dim].items(), key=lambda kv: str(kv[0]))]
        for dim in q.DIMENSIONS}} for kind, dims in d["compliance"].items()}
    v = d["vendors"]
    res = d["resolution"]
    return {
        "period": period(d["period"]), "previous_period": period(d["previous_period"]),
        "unit": d["unit"], "now": _iso(d["now"]), "target": d["target"],
        "headline": d["headline"], "previous": d["previous"], "deltas": d["deltas"],
        "compliance": compliance,
        "trend": {k: [{"bucket": b, **_c(c)} for b, c in rows] for k, rows in d["trend"].items()},
        "breaches": {"total": d["breach_total"], "latest": [
            {"ticket": b.ticket.number, "ticket_id": b.ticket.id, "kind": b.kind,
             "breached_at": _iso(b.breached_at), "late_business_seconds": round(b.late_seconds),
             "tier": b.tier, "escalated_in_time": b.escalated_in_time}
            for b in d["breaches"]]},
        "at_risk": {"total": d["at_risk_total"], "soonest": [
            {"ticket": t.number, "ticket_id": t.id, "kind": c.kind.value,
             "due_at": _iso(c.due_at)} for t, c in d["at_risk"]]},
        "backlog": [{"age": a, "open": n} for a, n in d["backlog"]],
        "flow": [{"bucket": b, "created": c, "resolved": r} for b, c, r in d["flow"]],
        "mtta": durations(d["mtta"]), "mttr": durations(d["mttr"]),
        "resolution": {"resolved": res.resolved, "reopened": res.reopened, "fcr": res.fcr,
                       "fcr_kb": res.fcr_kb, "reopen_rate": res.reopen_rate,
                       "fcr_rate": res.fcr_rate, "fcr_kb_rate": res.fcr_kb_rate},
        "escalation": d["escalation"],
        "vendors": {
            "by_state": v["by_state"], "requested": v["requested"], "decisions": v["decisions"],
            "turnaround_median": v["turnaround_median"], "turnaround_p90": v["turnaround_p90"],
            "ola": {k: _c(c) for k, c in v["ola"].items()},
            "spent": json_value(v["spent"]),
            "spend": [{**row, "spent": json_value(row["spent"])} for row in v["spend"]],
            "budgets": [{"start": b["start"].isoformat(), "end": b["end"].isoformat(),
                         "amount": json_value(b["amount"]), "spent": json_value(b["spent"])}
                        for b in v["budgets"]]},
        "csat": d["csat"],
        "unmet": {**d["unmet"], "by_category": [
            {"category": c, "label": label, "count": n} for c, label, n in
            d["unmet"]["by_category"]],
            "trend": [{"bucket": b, "count": n} for b, n in d["unmet"]["trend"]]},
        "knowledge": d["knowledge"],
        "people": d["people"],
        "definitions": {k: {"label": label, "text": text}
                        for k, (label, text) in d["definitions"].items()},
    }
