"""db.insert_now: INSERT ... RETURNING without the unit of work, objects left as loaded rows."""
import sqlalchemy as sa

from servicedesk.db import insert_now
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
