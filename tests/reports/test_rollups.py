"""The daily rollup (reports/rollups.py) against the raw-row figures, which are the oracle."""
from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa

from servicedesk.reports import queries as q
from servicedesk.reports import rollups
from servicedesk.reports.models import report_count_deltas
from tests.reports.conftest import NOW, PERIOD


def _table(table):
    return {kind: {dim: (v.judged, v.breached) if dim == "total" else
                   {k: (c.judged, c.breached) for k, c in v.items() if c.judged}
                   for dim, v in dims.items()} for kind, dims in table.items()}


def _people(p):
    """People figures with the mean business time to the microsecond (see queries.people)."""
    def fix(row):
        m = row["mttr_business"]
        return {**row, "mttr_business": None if m is None else round(m, 6)}
    return {"rows": [fix(r) for r in p["rows"]], "team": fix(p["team"])}


def assert_rollup_matches_raw(db, now, first=date(2026, 2, 16), days=35):
    """Every single-day and a few longer whole-day periods: rollup == raw rows."""
    periods = [q.Period.from_dates(first + timedelta(days=i), first + timedelta(days=i))
               for i in range(days)]
    periods += [q.Period.from_dates(first, first + timedelta(days=days - 1)), PERIOD]
    for p in periods:
        assert _table(q.compliance_table(db, p, now)) == \
            _table(q.compliance_table(db, p, now, rollup=False)), p
        assert q.compliance_totals(db, p, now) == q.compliance_totals(db, p, now, rollup=False)
        _durations_match(db, [p])
        assert q.resolution_figures(db, p) == q.resolution_figures(db, p, rollup=False)
        assert q.escalation_rates(db, p) == q.escalation_rates(db, p, rollup=False)
        assert q.created_count(db, p) == q.created_count(db, p, rollup=False)
        assert _people(q.people(db, p)) == _people(q.people(db, p, rollup=False))
        for unit in ("day", "week", "month"):
            assert q.created_vs_resolved(db, p, unit) == \
                q.created_vs_resolved(db, p, unit, rollup=False)
            assert q.compliance_trend(db, p, now, unit) == \
                q.compliance_trend(db, p, now, unit, rollup=False)


def test_rollup_equals_raw_rows_on_the_known_desk(desk, db):
    assert_rollup_matches_raw(db, NOW)


def test_rollup_equals_raw_rows_under_random_operations(db, make, clock):
    """Create, respond, resolve, reopen, pend, cancel, re-prioritise, re-categorise, escalate
    to the experts (tier and group change), and sweep breaches in bulk (Core UPDATEs), in a
    random order over two weeks; the rollup must equal the raw-row figures throughout."""
    import random
    from datetime import datetime, timezone

    from servicedesk.errors import DomainError
    from servicedesk.escalation.services import escalate_to_group
    from servicedesk.knowledge.services import resolve_with_article
    from servicedesk.sla.sweep import sweep
    from servicedesk.tickets import services as tickets
    from servicedesk.tickets.models import Channel

    rng = random.Random(20261123)
    cal = make.calendar(timezone="Europe/Berlin")
    make.policy(response_minutes=30, resolution_minutes=120, calendar=cal)
    desk_group, experts = make.group("Desk", tier=1), make.group("Experts", tier=2)
    agent, expert = make.agent(groups=[desk_group]), make.expert(groups=[experts])
    services, categories = [make.service() for _ in range(2)], [make.category() for _ in range(2)]
    now = datetime(2026, 2, 16, 8, 0, tzinfo=timezone.utc)
    made = []

    def op_create(t):
        made.append(make.ticket(actor=agent, group_id=desk_group.id, assignee_id=agent.id,
                                channel=rng.choice(list(Channel)),
                                service_id=rng.choice(services).id,
                                category_id=rng.choice(categories).id))

    def op_status(t):
        target = rng.choice(["in_progress", "resolved", "pending_customer", "cancelled",
                             "in_progress"])
        kw = {"resolution_code": "fixed", "resolution_notes": "Done."} \
            if target == "resolved" else {}
        actor = expert if t.group_id == experts.id else agent
        tickets.change_status(db, t, target, actor=actor, now=now, **kw)

    def op_reply(t):
        tickets.add_comment(db, t, actor=agent, body="Looking.", now=now)

    def op_priority(t):
        tickets.update_ticket(db, t, actor=agent, now=now, impact=rng.randint(1, 4),
                              urgency=rng.randint(1, 4))

    def op_recategorise(t):
        tickets.update_ticket(db, t, actor=agent, now=now,
                              category_id=rng.choice(categories).id,
                              service_id=rng.choice(services).id)

    def op_escalate(t):
        escalate_to_group(db, t, experts, actor=agent, now=now, reason="Needs experts")
        tickets.assign(db, t, actor=expert, now=now, group_id=experts.id,
                       assignee_id=expert.id)

    articles = [make.article(publish=True) for _ in range(2)]

    def op_resolve_with_article(t):
        actor = expert if t.group_id == experts.id else agent
        resolve_with_article(db, t, rng.choice(articles), actor=actor, now=now)

    ops = ([op_resolve_with_article] * 2 + [op_create] * 4 + [op_status] * 5 + [op_reply] * 2
           + [op_priority, op_recategorise, op_escalate])
    for step in range(260):
        now += timedelta(minutes=rng.choice((7, 20, 45, 90, 240)))
        clock.set(now)
        op = rng.choice(ops)
        if op is not op_create and not made:
            op = op_create
        try:
            with db.begin_nested():
                op(rng.choice(made) if made else None)
        except DomainError:
            pass  # a transition the workflow refuses: nothing changed
        if step % 25 == 0:
            sweep(db, now)
    db.flush()
    for probe in (now, now + timedelta(days=3)):  # later: more clocks past due, unswept
        assert_rollup_matches_raw(db, probe, first=date(2026, 2, 15), days=20)
    # PostgreSQL's triggers appended deltas; folding them in changes no figure
    deltas = db.scalar(sa.select(sa.func.count()).select_from(report_count_deltas))
    assert (deltas > 0) == (db.get_bind().dialect.name == "postgresql")
    rollups.compact(db.connection())
    assert db.scalar(sa.select(sa.func.count()).select_from(report_count_deltas)) == 0
    assert_rollup_matches_raw(db, now, first=date(2026, 2, 15), days=20)
    judged = q.compliance_totals(db, q.Period.from_dates(date(2026, 2, 15), date(2026, 3, 6)),
                                 now)
    assert judged["resolution"].judged > 20 and judged["resolution"].breached > 0
    flow = q.resolution_figures(db, q.Period.from_dates(date(2026, 2, 15), date(2026, 3, 6)))
    assert flow.reopened > 0 and flow.fcr_kb > 0
    assert q.escalation_rates(db, q.Period.from_dates(date(2026, 2, 15),
                                                      date(2026, 3, 6)))[0]["escalated"] > 0


def _durations_match(db, periods):
    from servicedesk.sla.models import ClockKind

    for p in periods:
        for kind in (ClockKind.response, ClockKind.resolution):
            assert q.durations(db, p, kind) == q.durations(db, p, kind, rollup=False), (p, kind)


def test_rank_slices_read_each_run_of_wanted_ranks_once_and_split_at_bucket_edges():
    from servicedesk.reports.rollups import _rank_slices

    hist = [(1, 3), (2, 2), (5, 4)]  # ranks 0-2 in bucket 1, 3-4 in bucket 2, 5-8 in bucket 5
    # a pair split by a bucket edge (2 | 3), a lone rank; each slice: bucket, before, offset, n
    assert list(_rank_slices(hist, {2, 3, 7})) == [(1, 0, 2, 1), (2, 3, 0, 1), (5, 5, 2, 1)]
    # p50's pair inside one bucket is one slice; p90's far rank in the same bucket another
    assert list(_rank_slices(hist, {5, 6, 8})) == [(5, 5, 0, 2), (5, 5, 3, 1)]
    assert list(_rank_slices(hist, set())) == []
