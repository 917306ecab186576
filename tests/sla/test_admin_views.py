"""HTTP tests of the SLA admin pages: calendars, holidays, policies, rules, scheduler banner."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from servicedesk.accounts.models import Role
from servicedesk.scheduler import beat
from servicedesk.sla.models import (
    Calendar, ClockKind, EscalationAction, EscalationRule, Holiday, SLAClock, SLAPolicy,
)

ROLES = ["requester", "vendor", "agent", "expert", "manager", "admin"]
ALLOWED = {"manager", "admin"}
OFFICE = {f"weekly_{d}": "09:00-17:00" for d in ("mon", "tue", "wed", "thu", "fri")}
R, A = ClockKind.resolution, EscalationAction


@pytest.fixture
def login_as(login_as, db):
    """Commit the setup first: the request's teardown rolls back what is uncommitted."""

    def _login(user):
        db.commit()
        return login_as(user)

    return _login


def html(resp) -> str:
    return resp.get_data(as_text=True)


def calendar_form(name="Frankfurt office", tz="Europe/Berlin", **days):
    return {"name": name, "timezone": tz, **OFFICE, **days}


def policy_form(calendar, **over):
    data = {"name": "Radar P2", "priority": "2", "service_id": "", "category_id": "",
            "response_value": "30", "response_unit": "min", "resolution_value": "1",
            "resolution_unit": "bd", "calendar_id": str(calendar.id),
            "pause_statuses": ["pending_customer"], "warning_thresholds": "50, 75",
            "is_active": "y"}
    data.update(over)
    return data


def count(db, model) -> int:
    return db.scalar(sa.select(sa.func.count()).select_from(model))


# --- roles -------------------------------------------------------------------------------------

@pytest.mark.parametrize("role", ROLES)
def test_sla_admin_pages_are_for_managers_and_admins(make, login_as, db, role):
    cal = make.calendar()
    policy = make.policy(calendar=cal)
    client = login_as(make.user(Role(role)))
    expected = 200 if role in ALLOWED else 403
    for url in ["/admin/sla/calendars", f"/admin/sla/calendars/{cal.id}", "/admin/sla/policies",
                "/admin/sla/policies/new", f"/admin/sla/policies/{policy.id}",
                "/admin/sla/budgets", "/admin/sla/scheduler"]:
        assert client.get(url).status_code == expected, url
    posts = [("/admin/sla/calendars", calendar_form(name=f"By {role}")),
             (f"/admin/sla/calendars/{cal.id}/holidays", {"day": "2026-05-01", "name": "x"}),
             (f"/admin/sla/calendars/{cal.id}/delete", {}),
             ("/admin/sla/policies/new", policy_form(cal, name=f"By {role}")),
             (f"/admin/sla/policies/{policy.id}/rules",
              {"clock_kind": "response", "threshold": "50", "action": "notify"}),
             ("/admin/sla/budgets", {"month": "2026-03", "amount": "100"})]
    before = (count(db, Calendar), count(db, Holiday), count(db, SLAPolicy),
              count(db, EscalationRule))
    for url, data in posts:
        resp = client.post(url, data=data)
        assert resp.status_code in ((302, 303) if role in ALLOWED else (403,)), url
    if role not in ALLOWED:
        assert (count(db, Calendar), count(db, Holiday), count(db, SLAPolicy),
                count(db, EscalationRule)) == before


def test_admin_menu_lists_the_sla_pages_for_managers_only(make, login_as):
    page = html(login_as(make.manager()).get("/admin/sla/policies"))
    for href in ["/admin/sla/policies", "/admin/sla/calendars", "/admin/sla/budgets",
                 "/admin/sla/scheduler"]:
        assert f'href="{href}"' in page
    agent_page = html(login_as(make.agent()).get("/tickets/"))
    assert "/admin/sla/policies" not in agent_page


# --- calendars ---------------------------------------------------------------------------------

def test_create_calendar_with_split_days_and_24_00(make, login_as, db):
    resp = login_as(make.manager()).post("/admin/sla/calendars", data=calendar_form(
        weekly_mon="13:00-18:00, 09:00-12:00", weekly_sat="20:00-24:00"))
    assert resp.status_code == 302
    cal = db.scalar(sa.select(Calendar).where(Calendar.name == "Frankfurt office"))
    assert cal.timezone == "Europe/Berlin"
    assert cal.weekly["mon"] == ["09:00-12:00", "13:00-18:00"]
    assert cal.weekly["sat"] == ["20:00-24:00"]
    assert "sun" not in cal.weekly


@pytest.mark.parametrize("data,field,words", [
    ({"timezone": "Mars/Olympus"}, "timezone", "Unknown time zone"),
    ({"weekly_tue": "09:00-13:00, 12:00-18:00"}, "weekly_tue", "overlap"),
    ({"weekly_wed": "17:00-09:00"}, "weekly_wed", "ends before it starts"),
    ({"weekly_thu": "9 to 5"}, "weekly_thu", "must look like"),
    ({"weekly_fri": "24:00-25:00"}, "weekly_fri", "24:00 can only end"),
    ({f"weekly_{d}": "" for d in ("mon", "tue", "wed", "thu", "fri")}, "weekly_mon",
     "no working time"),
    ({"name": ""}, "name", "Name is required"),
])
def test_bad_calendar_input_names_the_field_and_saves_nothing(make, login_as, db, data, field,
                                                               words):
    before = count(db, Calendar)
    resp = login_as(make.manager()).post("/admin/sla/calendars",
                                         data={**calendar_form(), **data})
    assert resp.status_code == 422
    page = html(resp)
    assert f'id="{field}-error"' in page and words in page
    assert count(db, Calendar) == before


def test_duplicate_calendar_name_is_refused(make, login_as, db):
    make.calendar("Shanghai desk")
    resp = login_as(make.admin()).post("/admin/sla/calendars",
                                       data=calendar_form(name="shanghai desk"))
    assert resp.status_code == 422 and "already used" in html(resp)


def test_edit_form_shows_current_hours_and_week_preview(make, login_as, clock):
    cal = make.calendar("Berlin", weekly={"mon": ["09:00-12:00", "13:00-18:00"],
                                          "tue": ["09:00-17:00"]},
                        holidays=[date(2026, 3, 3)])
    page = html(login_as(make.manager()).get(f"/admin/sla/calendars/{cal.id}"))
    assert 'value="09:00-12:00, 13:00-18:00"' in page
    # START is Monday 2026-03-02: 8 h on Monday, the Tuesday holiday counts nothing
    preview = page[page.index("data-week-preview"):]
    assert "Mon 2026-03-02" in preview and "8 h" in preview
    assert "Holiday" in preview and "Sun 2026-03-08" in preview
    assert "Mon 2026-03-09" not in preview


def test_week_preview_shows_the_short_dst_day(make, login_as, clock):
    clock.set(datetime(2026, 3, 27, 12, tzinfo=timezone.utc))
    cal = make.calendar("Berlin 24/7", weekly={d: ["00:00-24:00"] for d in
                                               ("mon", "tue", "wed", "thu", "fri", "sat",
                                                "sun")})
    page = html(login_as(make.manager()).get(f"/admin/sla/calendars/{cal.id}"))
    row = page[page.index("Sun 2026-03-29"):]
    assert row[:row.index("</tr>")].count("23 h") == 1


def test_editing_a_calendar_keeps_counted_time_and_moves_due_times(make, login_as, db, clock):
    cal = make.calendar("Office", timezone="UTC")
    policy = make.policy(priority=3, calendar=cal, resolution_minutes=16 * 60,
                         response_minutes=60)
    ticket = make.ticket()  # P3 from the matrix's impact 2 x urgency 2
    clock_row = db.scalar(sa.select(SLAClock).where(SLAClock.ticket_id == ticket.id,
                                                    SLAClock.kind == ClockKind.resolution))
    assert clock_row.policy_id == policy.id
    assert clock_row.due_at == datetime(2026, 3, 3, 17, tzinfo=timezone.utc)
    clock.set(datetime(2026, 3, 2, 13, tzinfo=timezone.utc))  # 4 h counted
    resp = login_as(make.manager()).post(f"/admin/sla/calendars/{cal.id}", data=calendar_form(
        name="Office", tz="UTC", **{f"weekly_{d}": "08:00-20:00"
                                    for d in ("mon", "tue", "wed", "thu", "fri")}))
    assert resp.status_code == 302
    db.expire_all()
    clock_row = db.get(SLAClock, clock_row.id)
    assert clock_row.elapsed_before == 4 * 3600
    # 12 h left from Monday 13:00 at 08:00-20:00: 7 h Monday, 5 h Tuesday -> Tue 13:00
    assert clock_row.due_at == datetime(2026, 3, 3, 13, tzinfo=timezone.utc)


def test_a_calendar_edit_refolds_every_running_clock_in_batches(make, db, clock, monkeypatch):
    """More running clocks than one batch: all are refolded; a clock already loaded in the
    session shows the new times; clocks on other calendars are left alone."""
    from servicedesk.sla import admin as sla_admin

    monkeypatch.setattr(sla_admin, "REFOLD_BATCH", 2)
    cal = make.calendar("Office", timezone="UTC")
    make.policy(priority=None, calendar=cal, name="Everything", resolution_minutes=16 * 60)
    tickets = [make.ticket() for _ in range(5)]  # Monday 09:00, due Tuesday 17:00

    def resolution(ticket):
        return db.scalar(sa.select(SLAClock).where(SLAClock.ticket_id == ticket.id,
                                                   SLAClock.kind == ClockKind.resolution))

    loaded = resolution(tickets[0])
    other = make.calendar("Elsewhere", timezone="UTC")
    elsewhere = resolution(make.ticket())
    elsewhere_due = elsewhere.due_at
    db.execute(sa.update(SLAClock).where(SLAClock.id == elsewhere.id)
               .values(calendar_id=other.id))
    clock.set(datetime(2026, 3, 2, 13, tzinfo=timezone.utc))  # 4 h counted
    sla_admin.update_calendar(db, cal, actor=make.manager(), name="Office", timezone="UTC",
                              now=clock.now(), weekly={d: ["08:00-20:00"] for d in
                                                       ("mon", "tue", "wed", "thu", "fri")})
    tuesday_13 = datetime(2026, 3, 3, 13, tzinfo=timezone.utc)
    assert loaded.due_at == tuesday_13 and loaded.elapsed_before == 4 * 3600
    for ticket in tickets:
        row = resolution(ticket)
        assert (row.elapsed_before, row.segment_started_at, row.due_at) == \
            (4 * 3600, clock.now(), tuesday_13)
    db.expire_all()
    assert (db.get(SLAClock, elsewhere.id).due_at, db.get(SLAClock, elsewhere.id)
            .elapsed_before) == (elsewhere_due, 0)


def test_builtin_calendar_cannot_be_edited_or_deleted(make, login_as, db):
    builtin = make.always_calendar()
    client = login_as(make.admin())
    page = html(client.get(f"/admin/sla/calendars/{builtin.id}"))
    assert "cannot be changed or deleted" in page and "Delete calendar" not in page
    resp = client.post(f"/admin/sla/calendars/{builtin.id}/delete",
                       headers={"Referer": f"/admin/sla/calendars/{builtin.id}"})
    assert resp.status_code == 303
    resp = client.post(f"/admin/sla/calendars/{builtin.id}", data=calendar_form(name="24x7"))
    assert resp.status_code == 303
    assert db.get(Calendar, builtin.id) is not None
    assert db.get(Calendar, builtin.id).weekly["sun"] == ["00:00-24:00"]


def test_calendar_in_use_cannot_be_deleted_with_a_clear_message(make, login_as, db):
    cal = make.calendar("Ops hours")
    make.policy(calendar=cal, name="P3 ops")
    vendor = make.vendor("Acme")
    vendor.calendar_id = cal.id
    client = login_as(make.manager())
    resp = client.post(f"/admin/sla/calendars/{cal.id}/delete", follow_redirects=True,
                       headers={"Referer": f"/admin/sla/calendars/{cal.id}"})
    page = html(resp)
    assert "in use by policy P3 ops, vendor Acme" in page
    assert db.get(Calendar, cal.id) is not None


def test_unused_calendar_is_deleted(make, login_as, db):
    cal = make.calendar("Spare")
    resp = login_as(make.manager()).post(f"/admin/sla/calendars/{cal.id}/delete")
    assert resp.status_code == 302
    db.expire_all()
    assert db.get(Calendar, cal.id) is None


# --- holidays ----------------------------------------------------------------------------------

def test_add_and_remove_a_holiday(make, login_as, db):
    cal = make.calendar()
    client = login_as(make.manager())
    resp = client.post(f"/admin/sla/calendars/{cal.id}/holidays",
                       data={"day": "2026-05-01", "name": "Labour Day"})
    assert resp.status_code == 302
    assert db.get(Holiday, (cal.id, date(2026, 5, 1))).name == "Labour Day"
    resp = client.post(f"/admin/sla/calendars/{cal.id}/holidays",
                       data={"day": "2026-05-01", "name": "again"})
    assert resp.status_code == 422 and "already a holiday" in html(resp)
    resp = client.post(f"/admin/sla/calendars/{cal.id}/holidays",
                       data={"day": "01/05/2026", "name": "x"})
    assert resp.status_code == 422 and 'id="day-error"' in html(resp)
    resp = client.post(f"/admin/sla/calendars/{cal.id}/holidays/2026-05-01/delete")
    assert resp.status_code == 302
    db.expire_all()
    assert db.get(Holiday, (cal.id, date(2026, 5, 1))) is None


def test_holiday_import_previews_then_imports_germany_2026(make, login_as, db):
    cal = make.calendar(holidays=[date(2026, 12, 25)])
    client = login_as(make.manager())
    url = f"/admin/sla/calendars/{cal.id}/holidays/import"
    preview = client.get(url, query_string={"country": "de", "year_from": "2026",
                                            "year_to": "2026"})
    page = html(preview)
    assert preview.status_code == 200
    assert "<strong>9</strong> public holidays for DE 2026" in page
    assert "<strong>8</strong> new, 1 already in this calendar" in page
    assert count(db, Holiday) == 1  # a preview writes nothing
    resp = client.post(url, data={"country": "DE", "year_from": "2026", "year_to": "2026"})
    assert resp.status_code == 302
    db.expire_all()
    days = {h.day: h.name for h in db.get(Calendar, cal.id).holidays}
    assert len(days) == 9
    assert days[date(2026, 10, 3)] == "German Unity Day"
    assert days[date(2026, 12, 26)] == "Second Day of Christmas"
    assert date(2026, 12, 25) in days
    again = client.post(url, data={"country": "DE", "year_from": "2026", "year_to": "2026"},
                        follow_redirects=True)
    assert "Imported 0 holidays of DE (9 already there)" in html(again)
    assert len(db.get(Calendar, cal.id).holidays) == 9


@pytest.mark.parametrize("query,field", [
    ({"country": "XX", "year_from": "2026", "year_to": "2026"}, "country"),
    ({"country": "DE", "year_from": "2027", "year_to": "2026"}, "year_to"),
    ({"country": "DE", "year_from": "2020", "year_to": "2040"}, "year_to"),
    ({"country": "DE", "year_from": "1800", "year_to": "2026"}, "year_from"),
])
def test_bad_holiday_import_names_the_field(make, login_as, db, query, field):
    cal = make.calendar()
    client = login_as(make.manager())
    url = f"/admin/sla/calendars/{cal.id}/holidays/import"
    for resp in (client.get(url, query_string=query), client.post(url, data=query)):
        assert resp.status_code == 422 and f'id="{field}-error"' in html(resp)
    assert count(db, Holiday) == 0


# --- policies ----------------------------------------------------------------------------------

def test_policy_list_shows_scope_and_human_targets(make, login_as, db):
    from servicedesk.sla.defaults import seed_defaults

    seed_defaults(db)
    service = make.service("Radar")
    make.policy(priority=1, service=service, name="Radar P1", response_minutes=10,
                resolution_minutes=150)
    page = html(login_as(make.manager()).get("/admin/sla/policies"))
    assert "Most specific match wins" in page
    assert "P1 · service Radar" in page and "2 h 30 min" in page
    row = page[page.index("P4 low"):]
    row = row[:row.index("</tr>")]
    assert "1 business day" in row and "5 business days" in row
    row = page[page.index("P1 critical"):]
    assert "15 min" in row[:row.index("</tr>")] and "4 h" in row[:row.index("</tr>")]


def test_create_policy_and_it_matches_new_tickets(make, login_as, db):
    cal = make.calendar("Office")
    resp = login_as(make.manager()).post("/admin/sla/policies/new", data=policy_form(
        cal, pause_statuses=["pending_customer", "pending_vendor"]))
    assert resp.status_code == 302
    policy = db.scalar(sa.select(SLAPolicy).where(SLAPolicy.name == "Radar P2"))
    assert (policy.priority, policy.response_minutes, policy.resolution_minutes) == (2, 30, 480)
    assert policy.pause_statuses == ["pending_customer", "pending_vendor"]
    assert policy.warning_thresholds == [50, 75] and policy.is_active
    assert policy.calendar_id == cal.id


def test_new_policy_form_has_defaults(make, login_as):
    page = html(login_as(make.manager()).get("/admin/sla/policies/new"))
    assert 'value="50, 75"' in page
    assert 'value="pending_customer" id="pause_statuses-pending_customer" checked' in page
    assert 'value="pending_vendor" id="pause_statuses-pending_vendor">' in page


@pytest.mark.parametrize("over,field,words", [
    ({"warning_thresholds": "50, 100"}, "warning_thresholds", "below 100"),
    ({"warning_thresholds": "0, 75"}, "warning_thresholds", "above 0"),
    ({"warning_thresholds": "-10"}, "warning_thresholds", "above 0"),
    ({"warning_thresholds": "fifty"}, "warning_thresholds", "percentages"),
    ({"response_value": "-5"}, "response_value", "must be positive"),
    ({"resolution_value": "0"}, "resolution_value", "must be positive"),
    ({"name": ""}, "name", "Name is required"),
    ({"pause_statuses": ["resolved"]}, "pause_statuses", "not a valid choice"),
])
def test_bad_policy_input_names_the_field_and_saves_nothing(make, login_as, db, over, field,
                                                             words):
    cal = make.calendar()
    before = count(db, SLAPolicy)
    resp = login_as(make.manager()).post("/admin/sla/policies/new",
                                         data=policy_form(cal, **over))
    assert resp.status_code == 422
    page = html(resp)
    assert words in page
    assert f'id="{field}-error"' in page or f'{field}' in page
    assert count(db, SLAPolicy) == before


def test_policy_with_the_same_criteria_as_an_active_one_is_refused(make, login_as, db):
    cal = make.calendar()
    make.policy(priority=2, name="P2 high")
    resp = login_as(make.manager()).post("/admin/sla/policies/new", data=policy_form(cal))
    assert resp.status_code == 422 and "P2 high already applies" in html(resp)


def test_editing_a_policy_keeps_running_clocks_on_their_target(make, login_as, db, clock):
    policy = make.policy(priority=None, response_minutes=60, resolution_minutes=240,
                         name="Everything")
    old_ticket = make.ticket()
    old_clock = db.scalar(sa.select(SLAClock).where(SLAClock.ticket_id == old_ticket.id,
                                                    SLAClock.kind == R))
    assert old_clock.policy_id == policy.id and old_clock.target_seconds == 4 * 3600
    due = old_clock.due_at
    page = html(login_as(make.manager()).get(f"/admin/sla/policies/{policy.id}"))
    assert "Running clocks keep the policy they started under" in page
    resp = login_as(make.manager()).post(f"/admin/sla/policies/{policy.id}", data=policy_form(
        policy.calendar, name="Everything", priority="", resolution_value="8",
        resolution_unit="h"))
    assert resp.status_code == 302
    db.expire_all()
    assert db.get(SLAPolicy, policy.id).resolution_minutes == 480
    old_clock = db.get(SLAClock, old_clock.id)
    assert old_clock.target_seconds == 4 * 3600 and old_clock.due_at == due
    new_ticket = make.ticket()
    new_clock = db.scalar(sa.select(SLAClock).where(SLAClock.ticket_id == new_ticket.id,
                                                    SLAClock.kind == R))
    assert new_clock.target_seconds == 8 * 3600


def _resolution_clock(db, ticket) -> SLAClock:
    return db.scalar(sa.select(SLAClock).where(SLAClock.ticket_id == ticket.id,
                                               SLAClock.kind == R))


def test_changing_thresholds_keeps_running_clocks_on_the_old_terms(make, login_as, db, clock):
    from servicedesk.sla import services as sla

    policy = make.policy(priority=None, resolution_minutes=100, response_minutes=100,
                         thresholds=(50, 75), rules=(), name="Everything")
    running = _resolution_clock(db, make.ticket())
    done = make.ticket()
    finished = _resolution_clock(db, done)
    sla.stop(finished, sla.CalendarCache(db).get(finished.calendar_id), clock.now())
    db.flush()
    resp = login_as(make.manager()).post(f"/admin/sla/policies/{policy.id}", data=policy_form(
        policy.calendar, name="Everything", priority="", resolution_value="100",
        resolution_unit="min", response_value="100", warning_thresholds="60, 90"))
    assert resp.status_code == 302
    db.expire_all()
    version = db.scalar(sa.select(SLAPolicy).where(SLAPolicy.superseded_by_id == policy.id))
    assert version.name == "Everything · v1 until 2026-03-02 09:00 UTC"
    assert (version.warning_thresholds, version.is_active) == ([50, 75], False)
    running = db.get(SLAClock, running.id)
    assert running.policy_id == version.id and running.next_threshold == 50
    assert sla.thresholds_of(running) == [50, 75, 100]
    assert db.get(SLAClock, finished.id).policy_id == policy.id  # history stays put
    assert db.get(SLAPolicy, policy.id).warning_thresholds == [60, 90]
    new_clock = _resolution_clock(db, make.ticket())
    assert new_clock.policy_id == policy.id and new_clock.next_threshold == 60
    # a priority change re-targets to the current policy, keeping elapsed time
    clock.advance(minutes=10)
    ticket = running.ticket
    sla.on_priority_changed(db, ticket, clock.now())
    assert running.policy_id == policy.id and running.next_threshold == 60
    assert running.elapsed_before == 600
    page = html(login_as(make.manager()).get("/admin/sla/policies"))
    assert "Earlier versions kept for the clocks" in page and version.name in page


def test_adding_a_rule_with_running_clocks_keeps_a_version(make, login_as, db):
    policy = make.policy(priority=None, rules=(), name="Everything")
    running = _resolution_clock(db, make.ticket())
    client = login_as(make.manager())
    resp = client.post(f"/admin/sla/policies/{policy.id}/rules", data={
        "clock_kind": "resolution", "threshold": "100", "action": "propose_vendor"})
    assert resp.status_code == 302
    db.expire_all()
    version = db.get(SLAClock, running.id).policy
    assert version.superseded_by_id == policy.id and version.rules == []
    assert [r.action for r in db.get(SLAPolicy, policy.id).rules] == [A.propose_vendor]
    # a second change while no clock runs under the current policy makes no new version
    resp = client.post(f"/admin/sla/policies/{policy.id}/rules", data={
        "clock_kind": "response", "threshold": "100", "action": "notify_manager"})
    assert resp.status_code == 302
    assert db.scalar(sa.select(sa.func.count(SLAPolicy.id))
                     .where(SLAPolicy.superseded_by_id == policy.id)) == 1
    # the version is read-only
    page = html(client.get(f"/admin/sla/policies/{version.id}"))
    assert "data-policy-version" in page and "Add</button>" not in page
    resp = client.post(f"/admin/sla/policies/{version.id}/rules", data={
        "clock_kind": "resolution", "threshold": "50", "action": "notify"},
        headers={"Referer": f"/admin/sla/policies/{version.id}"})
    assert resp.status_code == 422 and "earlier version" in html(resp)
    assert db.get(SLAPolicy, version.id).rules == []


def test_editing_only_targets_makes_no_version(make, login_as, db):
    policy = make.policy(priority=None, name="Everything")
    make.ticket()
    resp = login_as(make.manager()).post(f"/admin/sla/policies/{policy.id}", data=policy_form(
        policy.calendar, name="Everything", priority="", response_value="2",
        response_unit="h"))
    assert resp.status_code == 302
    assert db.scalar(sa.select(sa.func.count(SLAPolicy.id))
                     .where(SLAPolicy.superseded_by_id.is_not(None))) == 0


def test_dropping_a_threshold_that_rules_use_is_refused(make, login_as, db):
    policy = make.policy(priority=None, name="Everything")  # default rules at 50 and 75
    resp = login_as(make.manager()).post(f"/admin/sla/policies/{policy.id}", data=policy_form(
        policy.calendar, name="Everything", priority="", warning_thresholds="50"))
    assert resp.status_code == 422 and "remove those rules" in html(resp)
    db.expire_all()
    assert db.get(SLAPolicy, policy.id).warning_thresholds == [50, 75]


def test_add_and_remove_escalation_rules(make, login_as, db):
    policy = make.policy(rules=())
    client = login_as(make.manager())
    url = f"/admin/sla/policies/{policy.id}/rules"
    resp = client.post(url, data={"clock_kind": "resolution", "threshold": "75",
                                  "action": "reassign_expert"})
    assert resp.status_code == 302
    rule = db.scalar(sa.select(EscalationRule).where(EscalationRule.policy_id == policy.id))
    assert (rule.clock_kind, rule.threshold, rule.action) == (R, 75, A.reassign_expert)
    dup = client.post(url, data={"clock_kind": "resolution", "threshold": "75",
                                 "action": "reassign_expert"})
    assert dup.status_code == 422 and "already does that" in html(dup)
    bad = client.post(url, data={"clock_kind": "resolution", "threshold": "60",
                                 "action": "notify"})
    assert bad.status_code == 422 and 'id="threshold-error"' in html(bad)
    page = html(client.get(f"/admin/sla/policies/{policy.id}"))
    assert "Reassign to expert group (tier 2)" in page
    resp = client.post(f"/admin/sla/policies/{policy.id}/rules/{rule.id}/delete")
    assert resp.status_code == 302
    db.expire_all()
    assert db.get(EscalationRule, rule.id) is None


def test_policy_page_escapes_names(make, login_as):
    policy = make.policy(name="<script>alert(1)</script>")
    page = html(login_as(make.manager()).get(f"/admin/sla/policies/{policy.id}"))
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page


# --- scheduler heartbeat -----------------------------------------------------------------------

def _beat(db, when, job="sla_sweep", detail="3 clocks, 2 crossings, 1 actions"):
    beat(db, job, when, detail)
    db.flush()


@pytest.mark.parametrize("role,shown", [("manager", "alert-danger"), ("admin", "alert-danger"),
                                        ("agent", "alert-warning"),
                                        ("expert", "alert-warning")])
def test_banner_when_the_sweep_heartbeat_is_stale(make, login_as, db, clock, role, shown):
    _beat(db, clock.now())
    clock.advance(seconds=91)  # interval 30 s in tests: 3 x 30 = 90 s
    page = html(login_as(make.user(Role(role))).get("/tickets/"))
    assert "data-sla-outage" in page and shown in page
    assert "SLA scheduler not running since 2026-03-02 09:00" in page


def test_no_banner_while_the_heartbeat_is_fresh(make, login_as, db, clock):
    _beat(db, clock.now())
    clock.advance(seconds=90)
    page = html(login_as(make.manager()).get("/tickets/"))
    assert "data-sla-outage" not in page


def test_banner_when_there_was_never_a_heartbeat(make, login_as):
    page = html(login_as(make.manager()).get("/tickets/"))
    assert "SLA scheduler not running (no heartbeat recorded yet)" in page


@pytest.mark.parametrize("role", ["requester"])
def test_no_banner_for_requesters(make, login_as, role):
    page = html(login_as(make.user(Role(role))).get("/portal/"))
    assert "data-sla-outage" not in page


def test_banner_query_runs_once_per_request_and_never_for_static(make, login_as, app, db,
                                                                 clock):
    from sqlalchemy import event

    statements = []

    def count_heartbeat(conn, cursor, statement, *args):
        if "scheduler_heartbeats" in statement:
            statements.append(statement)

    client = login_as(make.manager())
    engine = db.get_bind().engine
    event.listen(engine, "before_cursor_execute", count_heartbeat)
    try:
        client.get("/tickets/")
        assert len(statements) == 1
        static = client.get("/static/css/app.css")
        static.close()
        assert static.status_code == 200 and len(statements) == 1
    finally:
        event.remove(engine, "before_cursor_execute", count_heartbeat)


def test_scheduler_page_lists_each_job(make, login_as, db, clock):
    _beat(db, clock.now() - timedelta(minutes=10), job="send_email", detail="2 sent, 0 failed")
    _beat(db, clock.now())
    page = html(login_as(make.manager()).get("/admin/sla/scheduler"))
    sweep_row = page[page.index("<code>sla_sweep</code>"):]
    sweep_row = sweep_row[:sweep_row.index("</tr>")]
    assert "running" in sweep_row and "3 clocks, 2 crossings" in sweep_row
    mail_row = page[page.index("<code>send_email</code>"):]
    mail_row = mail_row[:mail_row.index("</tr>")]
    assert "not running" in mail_row and "2 sent, 0 failed" in mail_row


def test_error_page_renders_when_the_heartbeat_lookup_fails(make, login_as, monkeypatch):
    from sqlalchemy.exc import OperationalError

    from servicedesk.sla import heartbeat

    def down(*args, **kwargs):
        raise OperationalError("SELECT 1", {}, Exception("database is down"))

    client = login_as(make.manager())
    monkeypatch.setattr(heartbeat, "sweep_outage", down)
    resp = client.get("/admin/sla/policies/424242")
    assert resp.status_code == 404 and "data-sla-outage" not in html(resp)
