"""/api/v1/sla/... (calendars, holidays, policies, rules, scheduler) and /api/v1/budgets."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from servicedesk.accounts.models import Role
from servicedesk.accounts.services import issue_token
from servicedesk.escalation.models import Budget
from servicedesk.scheduler import beat
from servicedesk.sla.api import (
    BudgetList, BudgetOut, CalendarList, CalendarOut, HolidayImportOut, JobList, PolicyList,
    PolicyOut, RuleOut,
)
from servicedesk.sla.models import Calendar, EscalationRule, Holiday, SLAClock, SLAPolicy

API = "/api/v1"
ROLES = ["requester", "vendor", "agent", "expert", "manager", "admin"]
STAFF = {"agent", "expert", "manager", "admin"}
MANAGERS = {"manager", "admin"}


@pytest.fixture
def auth(db, clock):
    def _auth(user):
        _, secret = issue_token(db, user, name="tests", now=clock.now())
        return {"Authorization": f"Bearer {secret}"}

    return _auth


@pytest.fixture
def manager(make, auth):
    return auth(make.manager())


def error(resp) -> dict:
    return resp.get_json()["error"]


def count(db, model) -> int:
    return db.scalar(sa.select(sa.func.count()).select_from(model))


def calendar_body(**over) -> dict:
    body = {"name": "Shanghai desk", "timezone": "Asia/Shanghai",
            "weekly": {"mon": ["09:00-12:00", "13:00-18:00"], "tue": "09:00-12:00, 13:00-18:00",
                       "sat": None}}
    body.update(over)
    return body


def policy_body(calendar: int, **over) -> dict:
    body = {"name": "P2 Radar", "priority": 2, "response_minutes": 30,
            "resolution_minutes": 480, "calendar_id": calendar}
    body.update(over)
    return body


# --- roles -------------------------------------------------------------------------------------

@pytest.mark.parametrize("role", ROLES)
def test_role_matrix(client, make, auth, db, role):
    cal = make.calendar()
    policy = make.policy(calendar=cal)
    headers = auth(make.user(Role(role)))
    reads = ["/sla/calendars", f"/sla/calendars/{cal.id}", f"/sla/calendars/{cal.id}/holidays",
             "/sla/policies", f"/sla/policies/{policy.id}", f"/sla/policies/{policy.id}/rules",
             "/sla/scheduler"]
    for url in reads:
        assert client.get(API + url, headers=headers).status_code == \
            (200 if role in STAFF else 403), url
    assert client.get(f"{API}/budgets", headers=headers).status_code == \
        (200 if role in MANAGERS else 403)
    before = (count(db, Calendar), count(db, Holiday), count(db, SLAPolicy),
              count(db, EscalationRule), count(db, Budget))
    writes = [
        ("post", "/sla/calendars", calendar_body(name=f"By {role}"), 201),
        ("put", f"/sla/calendars/{cal.id}", calendar_body(name=f"Cal {role}"), 200),
        ("post", f"/sla/calendars/{cal.id}/holidays", {"day": "2026-05-01"}, 201),
        ("post", "/sla/policies", policy_body(cal.id, name=f"By {role}", priority=None,
                                              service_id=make.service().id), 201),
        ("put", f"/sla/policies/{policy.id}", policy_body(cal.id, name=f"Pol {role}"), 200),
        ("post", f"/sla/policies/{policy.id}/rules",
         {"clock_kind": "response", "threshold": 50, "action": "notify"}, 201),
        ("put", "/budgets/2026-03", {"amount": "1000.00"}, 200),
    ]
    for method, url, body, ok in writes:
        resp = getattr(client, method)(API + url, json=body, headers=headers)
        assert resp.status_code == (ok if role in MANAGERS else 403), (url, resp.get_json())
    if role not in MANAGERS:
        assert (count(db, Calendar), count(db, Holiday), count(db, SLAPolicy),
                count(db, EscalationRule), count(db, Budget)) == before


def test_anonymous_is_401(client):
    assert client.get(f"{API}/sla/policies").status_code == 401


# --- calendars ---------------------------------------------------------------------------------

def test_create_read_update_and_delete_a_calendar(client, manager, db):
    resp = client.post(f"{API}/sla/calendars", json=calendar_body(), headers=manager)
    assert resp.status_code == 201
    cal = CalendarOut.model_validate(resp.get_json())
    assert cal.weekly == {"mon": ["09:00-12:00", "13:00-18:00"],
                          "tue": ["09:00-12:00", "13:00-18:00"]}
    assert cal.timezone == "Asia/Shanghai" and not cal.is_builtin
    listed = CalendarList.model_validate(
        client.get(f"{API}/sla/calendars", headers=manager).get_json())
    assert "Shanghai desk" in [c.name for c in listed.items]
    resp = client.put(f"{API}/sla/calendars/{cal.id}", headers=manager,
                      json=calendar_body(name="Shanghai 24h", weekly={"sun": ["00:00-24:00"]}))
    assert resp.status_code == 200 and resp.get_json()["weekly"] == {"sun": ["00:00-24:00"]}
    assert client.delete(f"{API}/sla/calendars/{cal.id}", headers=manager).status_code == 204
    assert db.get(Calendar, cal.id) is None


@pytest.mark.parametrize("over,field", [
    ({"timezone": "Europe/Atlantis"}, "timezone"),
    ({"weekly": {"mon": ["09:00-13:00", "12:00-18:00"]}}, "weekly.mon"),
    ({"weekly": {"fri": ["18:00-08:00"]}}, "weekly.fri"),
    ({"weekly": {"wed": ["9-5"]}}, "weekly.wed"),
    ({"weekly": {"mon": []}}, "weekly"),
    ({"weekly": {"holiday": ["09:00-17:00"]}}, "weekly.holiday.[key]"),
    ({"name": ""}, "name"),
    ({"colour": "red"}, "colour"),
])
def test_bad_calendar_is_422_naming_the_field(client, manager, db, over, field):
    before = count(db, Calendar)
    resp = client.post(f"{API}/sla/calendars", json=calendar_body(**over), headers=manager)
    assert resp.status_code == 422, resp.get_json()
    assert field in error(resp)["fields"], error(resp)
    assert count(db, Calendar) == before


def test_builtin_and_used_calendars_cannot_be_deleted(client, make, manager, db):
    builtin = make.always_calendar()
    resp = client.delete(f"{API}/sla/calendars/{builtin.id}", headers=manager)
    assert resp.status_code == 409 and "built-in" in error(resp)["message"]
    resp = client.put(f"{API}/sla/calendars/{builtin.id}", json=calendar_body(), headers=manager)
    assert resp.status_code == 409
    used = make.calendar("Office")
    make.policy(calendar=used, name="P3 office")
    resp = client.delete(f"{API}/sla/calendars/{used.id}", headers=manager)
    assert resp.status_code == 409 and "policy P3 office" in error(resp)["message"]
    assert db.get(Calendar, used.id) is not None


def test_calendar_with_clock_history_is_kept(client, make, manager, db):
    cal = make.calendar("Old office")
    policy = make.policy(priority=None, calendar=cal, name="Everything")
    make.ticket()
    policy.calendar = make.always_calendar()  # the policy moved on; old clocks stay
    db.flush()
    resp = client.delete(f"{API}/sla/calendars/{cal.id}", headers=manager)
    assert resp.status_code == 409 and "ticket clock" in error(resp)["message"]


def test_unknown_calendar_is_404(client, manager):
    assert client.get(f"{API}/sla/calendars/424242", headers=manager).status_code == 404


# --- holidays ----------------------------------------------------------------------------------

def test_holidays_add_list_remove(client, make, manager, db):
    cal = make.calendar()
    url = f"{API}/sla/calendars/{cal.id}/holidays"
    resp = client.post(url, json={"day": "2026-10-01", "name": "National Day"}, headers=manager)
    assert resp.status_code == 201
    assert client.get(url, headers=manager).get_json() == {
        "items": [{"day": "2026-10-01", "name": "National Day"}]}
    dup = client.post(url, json={"day": "2026-10-01"}, headers=manager)
    assert dup.status_code == 422 and "day" in error(dup)["fields"]
    bad = client.post(url, json={"day": "2026-02-30"}, headers=manager)
    assert bad.status_code == 422 and "day" in error(bad)["fields"]
    assert client.delete(f"{url}/2026-10-01", headers=manager).status_code == 204
    assert client.delete(f"{url}/2026-10-01", headers=manager).status_code == 422
    assert client.delete(f"{url}/not-a-date", headers=manager).status_code == 422
    assert count(db, Holiday) == 0


def test_import_germany_2026_ignores_duplicates(client, make, manager, db):
    cal = make.calendar(holidays=[date(2026, 1, 1)])
    url = f"{API}/sla/calendars/{cal.id}/holidays/import"
    resp = client.post(url, json={"country": "DE", "year_from": 2026, "year_to": 2026},
                       headers=manager)
    assert resp.status_code == 200
    out = HolidayImportOut.model_validate(resp.get_json())
    assert (out.found, out.skipped, len(out.added)) == (9, 1, 8)
    days = {h.day for h in db.get(Calendar, cal.id).holidays}
    assert {date(2026, 12, 25), date(2026, 5, 1), date(2026, 4, 3)} <= days
    again = client.post(url, json={"country": "de", "year_from": 2026, "year_to": 2026},
                        headers=manager).get_json()
    assert (again["found"], again["skipped"], again["added"]) == (9, 9, [])


@pytest.mark.parametrize("body,field", [
    ({"country": "ZZ", "year_from": 2026, "year_to": 2026}, "country"),
    ({"country": "DE", "year_from": 2026, "year_to": 2025}, "year_to"),
    ({"country": "DE", "year_from": "2026", "year_to": 2026}, "year_from"),
])
def test_bad_import_is_422(client, make, manager, db, body, field):
    cal = make.calendar()
    resp = client.post(f"{API}/sla/calendars/{cal.id}/holidays/import", json=body,
                       headers=manager)
    assert resp.status_code == 422 and field in error(resp)["fields"]
    assert count(db, Holiday) == 0


def test_holiday_moves_due_time_of_running_clocks(client, make, manager, db):
    cal = make.calendar("Office", timezone="UTC")  # Mon-Fri 09:00-17:00
    make.policy(priority=None, calendar=cal, name="Everything", resolution_minutes=16 * 60)
    ticket = make.ticket()  # Monday 2026-03-02 09:00
    clock = db.scalar(sa.select(SLAClock).where(SLAClock.ticket_id == ticket.id,
                                                SLAClock.kind == "resolution"))
    due = clock.due_at  # Tuesday 17:00
    resp = client.post(f"{API}/sla/calendars/{cal.id}/holidays", json={"day": "2026-03-03"},
                       headers=manager)
    assert resp.status_code == 201
    db.expire_all()
    assert db.get(SLAClock, clock.id).due_at == due + timedelta(days=1)


# --- policies and rules ------------------------------------------------------------------------

def test_create_policy_with_defaults_and_human_targets(client, make, manager):
    cal = make.calendar("Office")
    resp = client.post(f"{API}/sla/policies", json=policy_body(cal.id), headers=manager)
    assert resp.status_code == 201
    policy = PolicyOut.model_validate(resp.get_json())
    assert policy.pause_statuses == ["pending_customer"]
    assert policy.warning_thresholds == [50, 75] and policy.is_active
    assert (policy.response_target, policy.resolution_target) == ("30 min", "1 business day")
    assert policy.applies_to == "P2"
    listed = PolicyList.model_validate(client.get(f"{API}/sla/policies",
                                                  headers=manager).get_json())
    assert [p.name for p in listed.items] == ["P2 Radar"]


@pytest.mark.parametrize("over,field", [
    ({"warning_thresholds": [50, 100]}, "warning_thresholds"),
    ({"warning_thresholds": [0]}, "warning_thresholds"),
    ({"warning_thresholds": [75, 75]}, "warning_thresholds"),
    ({"response_minutes": -1}, "response_minutes"),
    ({"resolution_minutes": 0}, "resolution_minutes"),
    ({"priority": 5}, "priority"),
    ({"pause_statuses": ["in_progress"]}, "pause_statuses.0"),
    ({"calendar_id": 424242}, "calendar_id"),
    ({"service_id": 424242}, "service_id"),
    ({"name": ""}, "name"),
])
def test_bad_policy_is_422_naming_the_field(client, make, manager, db, over, field):
    cal = make.calendar()
    before = count(db, SLAPolicy)
    resp = client.post(f"{API}/sla/policies", json=policy_body(cal.id, **over), headers=manager)
    assert resp.status_code == 422, resp.get_json()
    assert field in error(resp)["fields"], error(resp)
    assert count(db, SLAPolicy) == before


def test_failed_policy_update_leaves_it_unchanged(client, make, manager, db):
    policy = make.policy(priority=1, name="P1", response_minutes=15, resolution_minutes=240)
    resp = client.put(f"{API}/sla/policies/{policy.id}", headers=manager, json=policy_body(
        policy.calendar_id, name="P1 renamed", priority=1, response_minutes=10,
        warning_thresholds=[50, 150]))
    assert resp.status_code == 422
    db.expire_all()
    again = db.get(SLAPolicy, policy.id)
    assert (again.name, again.response_minutes) == ("P1", 15)


def test_rules_add_list_remove(client, make, manager, db):
    policy = make.policy(rules=())
    url = f"{API}/sla/policies/{policy.id}/rules"
    resp = client.post(url, json={"clock_kind": "resolution", "threshold": 100,
                                  "action": "propose_vendor"}, headers=manager)
    assert resp.status_code == 201
    rule = RuleOut.model_validate(resp.get_json())
    assert client.get(url, headers=manager).get_json()["items"][0]["action"] == "propose_vendor"
    dup = client.post(url, json={"clock_kind": "resolution", "threshold": 100,
                                 "action": "propose_vendor"}, headers=manager)
    assert dup.status_code == 409
    for body, field in [({"clock_kind": "ola_fix", "threshold": 50, "action": "notify"},
                         "clock_kind"),
                        ({"clock_kind": "response", "threshold": 60, "action": "notify"},
                         "threshold"),
                        ({"clock_kind": "response", "threshold": 50, "action": "page"},
                         "action")]:
        bad = client.post(url, json=body, headers=manager)
        assert bad.status_code == 422 and field in error(bad)["fields"], body
    assert client.delete(f"{url}/{rule.id}", headers=manager).status_code == 204
    assert client.delete(f"{url}/{rule.id}", headers=manager).status_code == 422
    assert count(db, EscalationRule) == 0


# --- scheduler and budgets ---------------------------------------------------------------------

def test_scheduler_status(client, make, auth, db, clock):
    beat(db, "sla_sweep", clock.now(), "0 clocks, 0 crossings, 0 actions")
    clock.advance(seconds=100)
    jobs = JobList.model_validate(client.get(f"{API}/sla/scheduler",
                                             headers=auth(make.agent())).get_json()).items
    by_job = {j.job: j for j in jobs}
    assert by_job["sla_sweep"].is_stale and by_job["sla_sweep"].beat_at is not None
    assert by_job["send_email"].is_stale and by_job["send_email"].beat_at is None


def test_budget_put_and_list(client, manager, make, db, clock):
    resp = client.put(f"{API}/budgets/2026-03", json={"amount": "50000"}, headers=manager)
    assert resp.status_code == 200
    out = BudgetOut.model_validate(resp.get_json())
    assert (out.period_start, out.period_end) == (date(2026, 3, 1), date(2026, 3, 31))
    assert out.remaining == out.amount == 50000
    ticket = make.ticket()
    make.engagement(ticket, make.vendor(), estimated_cost=1200).decided_at = clock.now()
    db.flush()
    listed = BudgetList.model_validate(client.get(f"{API}/budgets", headers=manager).get_json())
    assert [(b.month, b.committed, b.remaining) for b in listed.items] == \
        [("2026-03", 1200, 48800)]


@pytest.mark.parametrize("month,body,field", [
    ("2026-13", {"amount": "10"}, "month"),
    ("March", {"amount": "10"}, "month"),
    ("2026-04", {"amount": "-5"}, "amount"),
    ("2026-04", {"amount": "1.234"}, "amount"),
])
def test_bad_budget_is_422(client, manager, db, month, body, field):
    resp = client.put(f"{API}/budgets/{month}", json=body, headers=manager)
    assert resp.status_code == 422 and field in error(resp)["fields"], resp.get_json()
    assert count(db, Budget) == 0


def test_policy_change_with_running_clocks_keeps_a_read_only_version(client, make, manager,
                                                                      db):
    policy = make.policy(priority=None, name="Everything", rules=())
    ticket = make.ticket()
    resp = client.put(f"{API}/sla/policies/{policy.id}", headers=manager, json=policy_body(
        policy.calendar_id, name="Everything", priority=None,
        pause_statuses=["pending_customer", "pending_vendor"]))
    assert resp.status_code == 200
    items = PolicyList.model_validate(client.get(f"{API}/sla/policies",
                                                 headers=manager).get_json()).items
    current, version = items
    assert (current.id, current.superseded_by_id) == (policy.id, None)
    assert current.pause_statuses == ["pending_customer", "pending_vendor"]
    assert version.superseded_by_id == policy.id and version.pause_statuses == [
        "pending_customer"]
    assert {c.policy_id for c in ticket.clocks} == {version.id}
    resp = client.put(f"{API}/sla/policies/{version.id}", headers=manager,
                      json=policy_body(policy.calendar_id, name="Revived", priority=None))
    assert resp.status_code == 409 and "earlier version" in error(resp)["message"]
    resp = client.post(f"{API}/sla/policies/{version.id}/rules", headers=manager,
                       json={"clock_kind": "response", "threshold": 100, "action": "notify"})
    assert resp.status_code == 409
    assert db.get(SLAPolicy, version.id).name.startswith("Everything · v1 until")
