"""Feedback part of the airport-drill demo: requesters answer about half of the satisfaction
surveys their resolved tickets sent (mostly happy, a few unhappy ones that open service
recovery), and desk agents log what callers asked for that the desk does not offer. Everything
goes through ``feedback.services`` with ``now`` in the past. Called by ``servicedesk.demo``;
flushes, never commits.
"""
from __future__ import annotations

import random
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from servicedesk.accounts.models import User
from servicedesk.feedback import services
from servicedesk.feedback.models import Survey, UnmetCategory
from servicedesk.tickets.models import TicketEvent

#: Share of surveys the requesters answer.
ANSWER_RATE = 0.55
#: Scores 1..5 and how often requesters give them (a desk that mostly does well).
SCORE_WEIGHTS = (4, 5, 10, 30, 51)
COMMENTS = {
    1: ("Nobody called me back for two days.", "The printer broke again the next morning."),
    2: ("Fixed in the end, but I had to chase it twice.", "Took far too long at the gate."),
    3: ("OK, but I had to explain everything again to the second person.",),
    4: ("Quick and friendly.",),
    5: ("Fixed while I was still on the phone, thank you!", "Great work by the night shift."),
}

#: What callers asked for that the desk does not offer: (category, description).
UNMET = (
    (UnmetCategory.not_offered, "Passenger asked us to reprint a boarding pass for an airline "
                                "whose systems we do not run."),
    (UnmetCategory.not_offered, "Shop tenant wanted their own Wi-Fi network set up in the "
                                "duty-free area."),
    (UnmetCategory.not_offered, "Ground handler asked for a tablet to be enrolled in our MDM."),
    (UnmetCategory.information, "Caller wanted the live arrival time of flight LH 1234."),
    (UnmetCategory.information, "Asked where lost luggage is collected in Terminal 2."),
    (UnmetCategory.information, "Wanted the parking tariff for long-term stays."),
    (UnmetCategory.hours_or_channel, "Wanted to report a fault by WhatsApp message."),
    (UnmetCategory.hours_or_channel, "Asked for a desk visit at 03:00 for a non-urgent "
                                     "printer; field staff only work nights for P1/P2."),
    (UnmetCategory.hours_or_channel, "Wanted to log a ticket through the airline's own portal."),
    (UnmetCategory.other_provider, "Airline agent reported their DCS being down: the airline's "
                                   "own helpdesk owns it."),
    (UnmetCategory.other_provider, "Escalator in Terminal 3 stopped: facilities, not IT."),
    (UnmetCategory.other_provider, "Customs scanner fault: the customs authority's contractor."),
    (UnmetCategory.other, "Caller wanted a refund for a parking ticket the barrier ate."),
)


def seed(session: Session, *, now: datetime, start: datetime, rng: random.Random,
         agents: list[User], unmet: int = 36) -> str:
    """Answer surveys and record ``unmet`` unmet requests between ``start`` and ``now``;
    return a line for the demo summary."""
    answered, low = _answer_surveys(session, now=now, rng=rng)
    _record_unmet(session, now=now, start=start, rng=rng, agents=agents, count=unmet)
    return (f"  {answered} satisfaction surveys answered ({low} low scores in service "
            f"recovery), {unmet} unmet requests")


def _answer_surveys(session: Session, *, now: datetime, rng: random.Random) -> tuple[int, int]:
    answered = low = 0
    # the answer comes after everything else that happened to the ticket (its history reads
    # in order): the demo seeds the tickets first, then the answers
    last_event = dict(session.execute(
        sa.select(TicketEvent.ticket_id, sa.func.max(TicketEvent.created_at))
        .group_by(TicketEvent.ticket_id)).all())
    surveys = session.scalars(sa.select(Survey).order_by(Survey.id)).all()
    for survey in surveys:
        if rng.random() >= ANSWER_RATE:
            continue
        after = max(survey.created_at, last_event.get(survey.ticket_id, survey.created_at))
        when = after + timedelta(minutes=rng.randint(5, 36 * 60))
        if when >= min(now, survey.expires_at):
            continue
        score = rng.choices(range(1, 6), weights=SCORE_WEIGHTS)[0]
        comment = rng.choice(COMMENTS[score]) if rng.random() < 0.4 else None
        services.answer_survey(session, survey, score=score, comment=comment, now=when)
        answered += 1
        low += score <= services.LOW_SCORE
    return answered, low


def _record_unmet(session: Session, *, now: datetime, start: datetime, rng: random.Random,
                  agents: list[User], count: int) -> None:
    span = (now - start).total_seconds()
    times = sorted(start + timedelta(seconds=rng.uniform(0, span)) for _ in range(count))
    for when in times:
        category, description = rng.choice(UNMET)
        services.record_unmet(session, actor=rng.choice(agents), category=category.value,
                              description=description, now=when)
