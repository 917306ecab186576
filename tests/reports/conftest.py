"""A small desk with known answers, built through the real services at chosen instants.

Calendar: UTC, Mon-Fri 09:00-17:00. One policy for every ticket: response 60 min, resolution
240 min (4 h) of business time; pending_customer pauses. No escalation rules (no sweep runs).
The reported period is Mon 2026-03-02 .. Fri 2026-03-06 (UTC days), i.e. [03-02, 03-07);
the previous period is [02-23, 03-02). "Now" for the reports is Mon 2026-03-09 09:00.

  T0 prev Fri 02-27 10:00, A1 replies 10:30 (resp 1800 s met, prev period); resolved by A1
     exactly Mon 03-02 00:00 (period start, included): resolution 7 h business (Fri 10-17),
     breached at its due time Fri 02-27 14:00 (previous period). Wall 62 h. FCR.
  T1 Mon 09:00 assigned A1; A1 takes it in progress 09:30 (resp 1800 met); KB article noted;
     resolved 11:00 (res 7200 met). Wall 7200. FCR, KB-assisted. CSAT 5.
  T2 Mon 16:00 e-mail, assigned A1; A1 replies Tue 09:30: resp 1 h + 30 min = 5400 business,
     breached at due Mon 17:00 (late 1800). Resolved Tue 12:00: 1 h + 3 h = 14400 = target,
     which counts as breached (>= 100 %) at due Tue 12:00 (late 0). Wall 20 h. FCR. CSAT 2.
  T3 Tue 10:00, escalated to the expert group (tier 2) 10:10, assigned E1; E1 replies 10:20
     (resp 1200 met); resolved by E1 Wed 10:00: 7 h + 1 h = 28800, breached at due Tue 14:00
     (late 14400), escalated before that. Wall 24 h. Not FCR.
  T4 Wed 09:00 A1; reply 09:10 (resp 600 met); resolved 10:00, reopened 11:00, resolved 12:00:
     1 h + 1 h = 7200 met (decided Wed 12:00). Wall 3 h. Reopened. FCR.
  T5 Thu 09:00 A1; reply 09:05 (resp 300 met); pending customer 10:00 .. Fri 09:00 (paused);
     resolved Fri 11:00: 1 h + 2 h = 10800 met. Wall 26 h. FCR.
  T6 Fri 16:30, open: response due Mon 03-09 09:30 (30 min Fri + 30 min Mon): at risk at
     Mon 09:00; resolution due Mon 12:30 (not within the next business hour).
  T7 Mon 10:00, cancelled 10:30: clocks cancelled, never judged.
  T8 Fri 16:00 A1; resolved exactly Sat 03-07 00:00 (period end, excluded): response stopped
     at 1 h = target, breached at due Fri 17:00 (in the period, late 0); resolution 3600 met,
     decided Sat 00:00: next period.
Unmet requests: two "information" (one on T1), one "not_offered", all in the period, plus one
in the previous period.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone

import pytest

from servicedesk.escalation.services import escalate_to_group
from servicedesk.feedback import services as feedback
from servicedesk.feedback.models import Survey
from servicedesk.knowledge.services import import_use
from servicedesk.reports.queries import Period
from servicedesk.tickets import services as tickets
from servicedesk.tickets.models import Channel

UTC = timezone.utc
PERIOD = Period.from_dates(date(2026, 3, 2), date(2026, 3, 6))
NOW = datetime(2026, 3, 9, 9, 0, tzinfo=UTC)


def at(month, day, hour, minute=0):
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def login_as(login_as, db):
    """Commit the setup first (the login request's teardown rolls back uncommitted work)."""

    def _login(user):
        db.commit()
        return login_as(user)

    return _login


@dataclass
class Desk:
    t: dict
    agent: object
    expert: object
    manager: object
    desk: object
    experts: object


@pytest.fixture
def desk(db, make, clock):
    cal = make.calendar(timezone="UTC")
    make.policy(response_minutes=60, resolution_minutes=240, calendar=cal, rules=())
    manager = make.manager()
    desk_group = make.group("Service desk", tier=1)
    desk_group.manager = manager
    experts = make.group("Experts", tier=2)
    a1 = make.agent(groups=[desk_group])
    e1 = make.expert(groups=[experts])
    s = db
    t = {}

    def new(name, when, **kw):
        clock.set(when)
        kw.setdefault("group_id", desk_group.id)
        t[name] = make.ticket(actor=a1, **kw)
        return t[name]

    def move(ticket, status, when, actor=a1, **kw):
        clock.set(when)
        if status == "resolved":
            kw.setdefault("resolution_code", "fixed")
            kw.setdefault("resolution_notes", "Done.")
        tickets.change_status(s, ticket, status, actor=actor, now=when, **kw)

    def reply(ticket, when, actor=a1):
        clock.set(when)
        tickets.add_comment(s, ticket, actor=actor, body="On it.", now=when)

    t0 = new("T0", at(2, 27, 10), assignee_id=a1.id)
    reply(t0, at(2, 27, 10, 30))
    move(t0, "resolved", at(3, 2, 0))

    t1 = new("T1", at(3, 2, 9), assignee_id=a1.id)
    move(t1, "in_progress", at(3, 2, 9, 30))
    clock.set(at(3, 2, 9, 45))
    article = make.article(publish=True)
    import_use(s, t1, article, user_id=a1.id, at=at(3, 2, 10), resolved=True)
    move(t1, "resolved", at(3, 2, 11))

    t2 = new("T2", at(3, 2, 16), assignee_id=a1.id, channel=Channel.email)
    reply(t2, at(3, 3, 9, 30))
    move(t2, "resolved", at(3, 3, 12))

    t3 = new("T3", at(3, 3, 10))
    clock.set(at(3, 3, 10, 10))
    escalate_to_group(s, t3, experts, actor=a1, now=at(3, 3, 10, 10), reason="Needs experts")
    tickets.assign(s, t3, actor=e1, now=at(3, 3, 10, 10), group_id=experts.id,
                   assignee_id=e1.id)
    reply(t3, at(3, 3, 10, 20), actor=e1)
    move(t3, "resolved", at(3, 4, 10), actor=e1)

    t4 = new("T4", at(3, 4, 9), assignee_id=a1.id)
    reply(t4, at(3, 4, 9, 10))
    move(t4, "resolved", at(3, 4, 10))
    move(t4, "in_progress", at(3, 4, 11))
    move(t4, "resolved", at(3, 4, 12))

    t5 = new("T5", at(3, 5, 9), assignee_id=a1.id)
    reply(t5, at(3, 5, 9, 5))
    move(t5, "pending_customer", at(3, 5, 10))
    move(t5, "in_progress", at(3, 6, 9))
    move(t5, "resolved", at(3, 6, 11))

    new("T6", at(3, 6, 16, 30))

    t7 = new("T7", at(3, 2, 10))
    move(t7, "cancelled", at(3, 2, 10, 30))

    t8 = new("T8", at(3, 6, 16), assignee_id=a1.id)
    move(t8, "resolved", at(3, 7, 0))

    for name, score, when in (("T1", 5, at(3, 3, 8)), ("T2", 2, at(3, 4, 8))):
        survey = s.query(Survey).filter_by(ticket_id=t[name].id).one()
        feedback.answer_survey(s, survey, score=score, comment=None, now=when)

    for cat, text, when, ticket in (
            ("information", "Weather at the destination", at(3, 2, 9, 5), t1),
            ("information", "Flight prices", at(3, 4, 15), None),
            ("not_offered", "Lounge booking", at(3, 6, 12), None),
            ("other", "Taxi", at(2, 25, 12), None)):
        feedback.record_unmet(s, actor=a1, category=cat, description=text, now=when,
                              ticket=ticket)
    clock.set(NOW)
    s.flush()
    return Desk(t=t, agent=a1, expert=e1, manager=manager, desk=desk_group, experts=experts)

