"""/api/v1/reports: managers only, JSON figures equal the dataset's answers, CSV streamed."""
from __future__ import annotations

import csv
import io

import pytest

from servicedesk.accounts.models import Role
from servicedesk.accounts.services import issue_token
from servicedesk.reports.schemas import ReportDashboard, ReportDefinitions, ReportTable
from servicedesk.reports.tables import TABLES

API = "/api/v1/reports"
PERIOD = "from=2026-03-02&to=2026-03-06"


@pytest.fixture
def auth(db, clock):
    def _auth(user):
        _, secret = issue_token(db, user, name="reports", now=clock.now())
        return {"Authorization": f"Bearer {secret}"}
    return _auth


@pytest.mark.parametrize("path", ["/dashboard", "/definitions"] + [f"/{t}" for t in TABLES])
@pytest.mark.parametrize("role,status", [
    (Role.manager, 200), (Role.admin, 403), (Role.agent, 403), (Role.expert, 403),
    (Role.requester, 403), (Role.vendor, 403)])
def test_every_report_endpoint_is_for_managers_only(make, auth, client, path, role, status):
    resp = client.get(API + path, headers=auth(make.user(role)))
    assert resp.status_code == status
    if status == 403:
        assert resp.get_json()["error"]["code"] == "forbidden"


def test_anonymous_gets_401(client):
    resp = client.get(f"{API}/dashboard")
    assert resp.status_code == 401 and resp.get_json()["error"]["code"] == "unauthorized"


def test_dashboard_json_has_the_known_answers(desk, auth, client):
    body = client.get(f"{API}/dashboard?{PERIOD}&unit=day", headers=auth(desk.manager)).get_json()
    assert body["period"] == {"start": "2026-03-02T00:00:00Z", "end": "2026-03-07T00:00:00Z"}
    h = body["headline"]
    assert (h["response_compliance"], h["resolution_compliance"], h["breaches"]) == (66.7, 60.0, 4)
    assert (h["created"], h["resolved"], h["fcr_rate"], h["reopen_rate"]) == (8, 6, 83.3, 16.7)
    assert h["mttr_business_median"] == pytest.approx(12600)
    assert h["csat_mean"] == 3.5 and h["unmet"] == 3
    # previous period: only T0 (response met, resolution breached)
    assert body["previous"]["resolution_compliance"] == 0.0
    assert body["deltas"]["resolution_compliance"] == 60.0
    assert body["compliance"]["resolution"]["total"] == {"judged": 5, "met": 3, "breached": 2,
                                                         "percent": 60.0}
    assert [r["percent"] for r in body["trend"]["resolution"]] == [100.0, 0.0, 100.0, None,
                                                                   100.0]
    assert body["breaches"]["total"] == 4 and body["at_risk"]["total"] == 1
    assert body["mttr"]["wall_p90"] == pytest.approx(158400)
    assert body["people"]["team"]["sla_met"] == 50.0
    assert body["definitions"]["compliance"]["text"].startswith("Met clocks / judged clocks")


def test_table_json(desk, auth, client):
    body = client.get(f"{API}/compliance?{PERIOD}", headers=auth(desk.manager)).get_json()
    assert body["columns"][:4] == ["kind", "dimension", "key", "label"]
    rows = {(r[0], r[1], r[3]): r[4:] for r in body["rows"]}
    assert rows[("resolution", "total", "All")] == [5, 3, 2, 60.0]
    assert rows[("resolution", "tier", "Tier 2 (experts)")] == [1, 0, 1, 0.0]


def test_large_tables_page_in_json(desk, auth, client):
    h = auth(desk.manager)
    first = client.get(f"{API}/tickets?{PERIOD}&per_page=5", headers=h).get_json()
    second = client.get(f"{API}/tickets?{PERIOD}&per_page=5&page=2", headers=h).get_json()
    numbers = [r[0] for r in first["rows"] + second["rows"]]
    assert len(first["rows"]) == 5 and len(numbers) == 8
    assert numbers == sorted(t.number for n, t in desk.t.items() if n != "T0")


def test_tickets_csv_is_streamed_with_outcomes(desk, auth, client):
    resp = client.get(f"{API}/tickets?{PERIOD}&format=csv", headers=auth(desk.manager))
    assert resp.status_code == 200 and resp.is_streamed
    assert resp.mimetype == "text/csv"
    assert 'filename="tickets_2026-03-02_2026-03-06.csv"' in resp.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(resp.get_data(as_text=True))))
    by_number = {r["ticket"]: r for r in rows}
    t2 = by_number[desk.t["T2"].number]
    assert (t2["response_sla"], t2["response_business_seconds"], t2["resolution_sla"],
            t2["resolution_business_seconds"], t2["channel"], t2["csat"]) == \
        ("breached", "5400", "breached", "14400", "email", "2")
    t6 = by_number[desk.t["T6"].number]
    assert (t6["response_sla"], t6["response_business_seconds"]) == ("running", "")
    assert by_number[desk.t["T7"].number]["resolution_sla"] == "cancelled"
    assert t2["created_at"] == "2026-03-02T16:00:00Z"


def test_csv_cells_never_start_a_formula(desk, auth, client, db):
    from servicedesk.feedback.services import record_unmet
    from tests.reports.conftest import at

    record_unmet(db, actor=desk.agent, category="other", description="=HYPERLINK(\"x\")",
                 now=at(3, 3, 9))
    text = client.get(f"{API}/unmet?{PERIOD}&format=csv",
                      headers=auth(desk.manager)).get_data(as_text=True)
    assert "'=HYPERLINK" in text and "\r\n=HYPERLINK" not in text


@pytest.mark.parametrize("query,field", [
    ("days=0", "days"), ("unit=year", "unit"), ("format=xml", "format"), ("from=2026-03-01", "to"),
    ("from=2026-03-05&to=2026-03-01", "to"), ("from=2024-01-01&to=2026-03-01", "from"),
    ("per_page=5000", "per_page"), ("colour=red", "colour")])
def test_bad_query_is_422_naming_the_field(make, auth, client, query, field):
    resp = client.get(f"{API}/tickets?{query}", headers=auth(make.manager()))
    assert resp.status_code == 422
    assert field in resp.get_json()["error"]["fields"]


def test_answers_match_the_documented_schemas(desk, auth, client):
    """The OpenAPI models forbid unknown fields: any drift between what the API sends and what
    the document says fails here (a missing, renamed or extra field, a wrong type)."""
    h = auth(desk.manager)
    ReportDashboard.model_validate(client.get(f"{API}/dashboard?{PERIOD}&unit=day", headers=h).json)
    ReportDefinitions.model_validate(client.get(f"{API}/definitions", headers=h).json)
    for name in TABLES:
        ReportTable.model_validate(client.get(f"{API}/{name}?{PERIOD}", headers=h).json)
    doc = client.get("/api/v1/openapi.json", headers=h).json
    ok = doc["paths"][f"{API}/dashboard"]["get"]["responses"]["200"]
    assert ok["content"]["application/json"]["schema"]["$ref"].endswith("/ReportDashboard")
    assert "ReportKindCompliance" in doc["components"]["schemas"]
