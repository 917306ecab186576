"""db.insert_now: INSERT ... RETURNING without the unit of work, objects left as loaded rows;
db.insert_rows / db.update_rows: many rows in one statement."""
from datetime import timedelta

import pytest
import sqlalchemy as sa

from servicedesk.db import insert_now, insert_rows, update_rows
from servicedesk.tickets.models import Channel, EventKind, Status, Ticket, TicketEvent


def new_ticket(requester, **kw):
    values = dict(title="Belt 4 stopped", description="E17", requester=requester,
                  created_by=requester, channel=Channel.phone, impact=2, urgency=2, priority=3,
                  status=Status.new, created_at=kw.pop("now"), updated_at=kw.pop("then"))
    values.update(kw)
    return Ticket(**values)


def test_rows_are_inserted_and_attached_unmodified(db, make, clock):
    caller = make.requester()
    ticket = new_ticket(caller, now=clock.now(), then=clock.now())
    insert_now(db, ticket)
    assert ticket.id is not None and ticket in db and ticket not in db.dirty | db.new
    assert ticket.requester_id == caller.id == ticket.created_by_id  # from the relationships
    assert ticket.tier == 1 and ticket.version == 1  # scalar defaults, as a flush gives
    assert ticket.is_first_contact_resolution is False
    row = db.execute(sa.select(Ticket.__table__).where(Ticket.id == ticket.id)).mappings().one()
    assert row["title"] == "Belt 4 stopped" and row["requester_id"] == caller.id
    assert row["version"] == 1 and row["tier"] == 1


def test_several_rows_keep_their_order_and_later_updates_are_versioned(db, make, clock):
    caller = make.requester()
    ticket = new_ticket(caller, now=clock.now(), then=clock.now())
    insert_now(db, ticket)
    events = [TicketEvent(ticket_id=ticket.id, actor_id=caller.id, kind=kind,
                          created_at=clock.now(), body=body, is_public=True)
              for kind, body in ((EventKind.created, "one"), (EventKind.comment, "two"),
                                 (EventKind.comment, "three"))]
    insert_now(db, *events)
    assert [e.id for e in events] == sorted(e.id for e in events)
    stored = dict(db.execute(sa.select(TicketEvent.id, TicketEvent.body)
                             .where(TicketEvent.ticket_id == ticket.id)).all())
    assert {e.id: e.body for e in events} == stored
    ticket.title = "Belt 4 stopped again"  # the unit of work takes over from here
    db.flush()
    assert ticket.version == 2
    assert db.scalar(sa.select(Ticket.title).where(Ticket.id == ticket.id)) == \
        "Belt 4 stopped again"


def test_nothing_to_insert_is_a_no_op(db):
    insert_now(db)


# --- the bulk writers (insert_rows, update_rows): executemany on SQLite, binary on PostgreSQL --

def test_insert_rows_converts_values_and_fills_scalar_defaults(db, make, clock):
    caller = make.requester()
    ticket = new_ticket(caller, now=clock.now(), then=clock.now())
    insert_now(db, ticket)
    insert_rows(db, TicketEvent.__table__, [
        {"ticket_id": ticket.id, "actor_id": None, "kind": kind, "created_at": clock.now(),
         "field": field, "body": body}
        for kind, field, body in ((EventKind.sla, "resolution", "50% 'passed'"),
                                  (EventKind.escalated, None, 'quote " and \\ back'),
                                  (EventKind.comment, "x", None))])
    rows = db.execute(sa.select(TicketEvent.__table__).where(TicketEvent.ticket_id == ticket.id)
                      .order_by(TicketEvent.id)).mappings().all()
    assert [(r["kind"], r["field"], r["body"], r["is_public"]) for r in rows] == [
        ("sla", "resolution", "50% 'passed'", False),  # is_public: the column's default
        ("escalated", None, 'quote " and \\ back', False),
        ("comment", "x", None, False)]
    assert all(r["created_at"] == clock.now() for r in rows)
    assert db.scalars(sa.select(TicketEvent.kind).where(TicketEvent.ticket_id == ticket.id)
                      .order_by(TicketEvent.id)).all() == [EventKind.sla, EventKind.escalated,
                                                          EventKind.comment]


def test_update_rows_matches_every_key_and_counts_the_rows_it_changed(db, make, clock):
    caller = make.requester()
    tickets = [new_ticket(caller, now=clock.now(), then=clock.now()) for _ in range(3)]
    insert_now(db, *tickets)
    later = clock.now() + timedelta(hours=1)
    rows = [{"id": t.id, "version": 1 if i < 2 else 7, "new_version": 2,
             "status": Status.in_progress, "tier": 2, "updated_at": later}
            for i, t in enumerate(tickets)]  # the third one's version does not match
    updated = update_rows(db, Ticket.__table__, rows, match=("id", "version"),
                          set_={"version": "new_version", "status": "status", "tier": "tier",
                                "updated_at": "updated_at"})
    assert updated == 2
    stored = db.execute(sa.select(Ticket.id, Ticket.version, Ticket.status, Ticket.tier,
                                  Ticket.updated_at)
                        .where(Ticket.id.in_([t.id for t in tickets])).order_by(Ticket.id)).all()
    assert [tuple(r) for r in stored] == [
        (tickets[0].id, 2, Status.in_progress, 2, later),
        (tickets[1].id, 2, Status.in_progress, 2, later),
        (tickets[2].id, 1, Status.new, 1, clock.now())]


def test_bulk_writer_errors_are_sqlalchemy_errors(db, clock):
    with pytest.raises(sa.exc.IntegrityError):  # no such ticket: the foreign key refuses it
        insert_rows(db, TicketEvent.__table__, [
            {"ticket_id": 987654321, "actor_id": None, "kind": EventKind.comment,
             "created_at": clock.now(), "body": "orphan"}])
        db.flush()


def test_no_rows_is_a_no_op(db):
    insert_rows(db, TicketEvent.__table__, [])
    assert update_rows(db, Ticket.__table__, [], set_={"tier": "tier"}) == 0


def test_insert_rows_stores_instants_as_the_orm_does(db, make, clock):
    """Same stored form as a flush (on SQLite the text the queries compare)."""
    caller = make.requester()
    ticket = new_ticket(caller, now=clock.now(), then=clock.now())
    insert_now(db, ticket)
    at = clock.now() + timedelta(microseconds=5)
    orm = TicketEvent(ticket_id=ticket.id, actor_id=None, kind=EventKind.comment, created_at=at,
                      body="orm", is_public=False)
    db.add(orm)
    db.flush()
    insert_rows(db, TicketEvent.__table__, [{"ticket_id": ticket.id, "kind": EventKind.comment,
                                             "created_at": at, "body": "bulk"}])
    stored = dict(db.execute(sa.text("SELECT body, created_at FROM ticket_events "
                                     "WHERE ticket_id = :t"), {"t": ticket.id}).all())
    assert stored["orm"] == stored["bulk"]
    with pytest.raises((ValueError, sa.exc.StatementError)):  # naive: refused, as by the ORM
        insert_rows(db, TicketEvent.__table__, [{"ticket_id": ticket.id,
                                                 "kind": EventKind.comment,
                                                 "created_at": at.replace(tzinfo=None)}])
