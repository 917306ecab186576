"""Every dashboard figure on the hand-computed desk of conftest.py (answers in its docstring)."""
from __future__ import annotations

import pytest

from servicedesk.reports import queries as q
from servicedesk.sla.models import ClockKind
from tests.reports.conftest import NOW, PERIOD, at


def test_compliance_totals_count_clocks_where_their_outcome_was_decided(desk, db):
    totals = q.compliance_totals(db, PERIOD, NOW)
    # response: T1 T2x T3 T4 T5 T8x (T0 met last period, T6 running, T7 cancelled)
    assert (totals["response"].judged, totals["response"].breached) == (6, 2)
    assert totals["response"].percent == 66.7
    # resolution: T1 T2x T3x T4 T5 (T0 breached last period; T8 met at 03-07 00:00, excluded)
    assert (totals["resolution"].judged, totals["resolution"].breached) == (5, 2)
    assert totals["resolution"].percent == 60.0


def test_previous_period_and_boundaries(desk, db):
    prev = q.compliance_totals(db, PERIOD.previous, NOW)
    # only T0: response met Fri 02-27 10:30, resolution breached Fri 02-27 14:00
    assert (prev["response"].judged, prev["response"].breached) == (1, 0)
    assert (prev["resolution"].judged, prev["resolution"].breached) == (1, 1)
    nxt = q.Period(PERIOD.end, PERIOD.end + (PERIOD.end - PERIOD.start))
    # T8's resolution stopped exactly at 03-07 00:00 (met); T6 response breaches Mon 09:30,
    # after "now", so it is not judged yet
    after = q.compliance_totals(db, nxt, NOW)
    assert (after["resolution"].judged, after["resolution"].breached) == (1, 0)
    assert after["response"].judged == 0


def test_unswept_breach_counts_at_its_due_time(desk, db):
    later = at(3, 9, 10)  # past T6's response due time (09:30); no sweep ran
    nxt = q.Period(PERIOD.end, PERIOD.end + (PERIOD.end - PERIOD.start))
    after = q.compliance_totals(db, nxt, later)
    assert (after["response"].judged, after["response"].breached) == (1, 1)


def test_compliance_by_dimension(desk, db):
    table = q.compliance_table(db, PERIOD, NOW)
    res = table["resolution"]
    assert (res["total"].judged, res["total"].breached) == (5, 2)
    # tier is the current tier: T3 ended at tier 2
    assert {k: (c.judged, c.breached) for k, c in res["tier"].items()} == {1: (4, 1), 2: (1, 1)}
    assert res["channel"]["email"].percent == 0.0  # T2
    assert res["channel"]["phone"].percent == 75.0  # T1 T3x T4 T5
    assert {k: c.judged for k, c in res["group"].items()} == {desk.desk.id: 4,
                                                              desk.experts.id: 1}
    resp = table["response"]
    assert (resp["channel"]["email"].judged, resp["channel"]["email"].breached) == (1, 1)


def test_trend_per_day_with_empty_buckets(desk, db):
    trend = q.compliance_trend(db, PERIOD, NOW, "day")
    assert [b for b, _ in trend["resolution"]] == [
        "2026-03-02", "2026-03-03", "2026-03-04", "2026-03-05", "2026-03-06"]
    assert [c.percent for _, c in trend["resolution"]] == [100.0, 0.0, 100.0, None, 100.0]
    assert [c.percent for _, c in trend["response"]] == [50.0, 100.0, 100.0, 100.0, 0.0]
    week = q.compliance_trend(db, PERIOD, NOW, "week")
    assert [(b, c.judged) for b, c in week["resolution"]] == [("2026-03-02", 5)]


def test_breaches_list_with_business_lateness_and_escalation(desk, db):
    total, rows = q.breaches(db, PERIOD, NOW)
    assert total == 4 == q.breach_count(db, PERIOD, NOW)
    assert [(r.ticket.id, r.kind, r.breached_at, r.late_seconds, r.escalated_in_time)
            for r in rows] == [
        (desk.t["T8"].id, "response", at(3, 6, 17), 0, False),
        (desk.t["T3"].id, "resolution", at(3, 3, 14), 14400, True),
        (desk.t["T2"].id, "resolution", at(3, 3, 12), 0, False),
        (desk.t["T2"].id, "response", at(3, 2, 17), 1800, False),
    ]
    assert [r.ticket.tier for r in rows] == [1, 2, 1, 1]
    assert [r.tier for r in rows] == [1, 2, 1, 1]  # T3 was escalated before its breach


def test_a_breach_keeps_the_tier_it_happened_at_after_a_later_escalation(desk, db, clock,
                                                                         make):
    from servicedesk.escalation.services import escalate_to_group

    clock.set(at(3, 5, 9))  # a desk ticket nobody answers: its response breaches at 10:00
    t8 = make.ticket(actor=desk.agent, group_id=desk.desk.id)
    clock.set(NOW)  # it goes to the experts only now, days after the breach
    escalate_to_group(db, t8, desk.experts, actor=desk.agent, now=NOW, reason="Still broken")
    db.flush()
    assert t8.tier == 2
    _, rows = q.breaches(db, PERIOD, NOW)
    assert [(r.ticket.id, r.tier) for r in rows if r.ticket.id == t8.id] == [(t8.id, 1)] * 2


def test_at_risk_within_one_business_hour(desk, db):
    rows = q.at_risk(db, NOW)
    assert [(t.id, c.kind) for t, c in rows] == [(desk.t["T6"].id, ClockKind.response)]
    assert q.at_risk_count(db, NOW) == 1
    # before opening hours the next business hour is 09:00-10:00: same answer
    assert q.at_risk_count(db, at(3, 9, 7)) == 1
    # 09:31: the response is past due (a breach, not a risk); resolution due 12:30 is > 10:31
    assert q.at_risk_count(db, at(3, 9, 9, 31)) == 0


def test_backlog_by_age(desk, db):
    # only T6 is open: logged Fri 16:30, 2.7 days before Mon 09:00
    assert q.backlog(db, NOW) == [("< 1 day", 0), ("1-3 days", 1), ("3-7 days", 0),
                                  ("7-30 days", 0), ("> 30 days", 0)]


def test_created_vs_resolved(desk, db):
    assert q.created_vs_resolved(db, PERIOD, "day") == [
        ("2026-03-02", 3, 2), ("2026-03-03", 1, 1), ("2026-03-04", 1, 2),
        ("2026-03-05", 1, 0), ("2026-03-06", 2, 1)]
    assert q.created_count(db, PERIOD) == 8


def test_mttr_business_and_wall_median_p90(desk, db):
    d = q.durations(db, PERIOD, ClockKind.resolution)
    # business 7200 7200 10800 14400 25200 28800 (T0 stopped at the period start counts)
    assert d.count == 6
    assert d.business_median == pytest.approx(12600)
    assert d.business_p90 == pytest.approx(27000)
    # wall 7200 10800 72000 86400 93600 223200
    assert d.wall_median == pytest.approx(79200)
    assert d.wall_p90 == pytest.approx(158400)


def test_mtta_business_and_wall(desk, db):
    d = q.durations(db, PERIOD, ClockKind.response)
    # business 300 600 1200 1800 5400; wall 300 600 1200 1800 63000 (T2: Mon 16:00-Tue 9:30)
    assert d.count == 5
    assert d.business_median == pytest.approx(1200)
    assert d.business_p90 == pytest.approx(1800 + 0.6 * 3600)
    assert d.wall_median == pytest.approx(1200)
    assert d.wall_p90 == pytest.approx(1800 + 0.6 * 61200)


def test_reopen_and_first_contact_resolution(desk, db):
    r = q.resolution_figures(db, PERIOD)
    # resolved in period: T0 T1 T2 T3 T4 T5; FCR all but T3; KB-assisted T1; reopened T4
    assert (r.resolved, r.fcr, r.fcr_kb, r.reopened) == (6, 5, 1, 1)
    assert (r.fcr_rate, r.fcr_kb_rate, r.reopen_rate) == (83.3, 20.0, 16.7)


def test_escalation_rate_per_tier(desk, db):
    # logged in period: T1..T8 all started at tier 1; T3 went to tier 2 and no further
    assert q.escalation_rates(db, PERIOD) == [
        {"tier": 1, "at_tier": 8, "escalated": 1, "rate": 12.5},
        {"tier": 2, "at_tier": 1, "escalated": 0, "rate": 0.0}]


def test_csat(desk, db):
    c = q.csat(db, PERIOD)
    # surveys sent on first resolution in period: T0 T1 T2 T3 T4 T5; answered T1=5, T2=2
    assert c == {"answers": 2, "mean": 3.5, "by_score": {1: 0, 2: 1, 3: 0, 4: 0, 5: 1},
                 "low": 1, "sent": 6, "response_rate": 33.3}


def test_unmet_requests(desk, db):
    u = q.unmet(db, PERIOD, "day")
    assert u["total"] == 3
    assert u["by_category"][:2] == [("information", "Information we do not give", 2),
                                    ("not_offered", "Service not offered", 1)]
    assert u["trend"] == [("2026-03-02", 1), ("2026-03-03", 0), ("2026-03-04", 1),
                          ("2026-03-05", 0), ("2026-03-06", 1)]


def test_people_against_team(desk, db):
    p = q.people(db, PERIOD, q.csat_by_assignee(db, PERIOD))
    a1, e1 = p["rows"]
    # A1: T0 T1 T2 T4 T5; business 25200+7200+14400+7200+10800 = 64800 / 5; met T1 T4 T5
    assert (a1["user_id"], a1["handled"], a1["fcr_rate"], a1["mttr_business"], a1["sla_met"],
            a1["csat"]) == (desk.agent.id, 5, 100.0, 12960.0, 60.0, 3.5)
    assert (e1["user_id"], e1["handled"], e1["fcr_rate"], e1["mttr_business"], e1["sla_met"],
            e1["csat"]) == (desk.expert.id, 1, 0.0, 28800.0, 0.0, None)
    assert p["team"] == {"handled": 6, "handled_per_person": 3.0, "fcr_rate": 83.3,
                         "mttr_business": 15600.0, "sla_met": 50.0, "csat": 3.5}
