"""Connects ticket lifecycle signals to the SLA clocks (imported once by create_app)."""
from servicedesk import events
from servicedesk.sla import services


@events.ticket_created.connect
def _ticket_created(ticket, *, session, now, **_):
    services.start_ticket_clocks(session, ticket, now)


@events.first_response.connect
def _first_response(ticket, *, session, now, **_):
    services.on_first_response(session, ticket, now)


@events.status_changed.connect
def _status_changed(ticket, *, session, now, old, new, **_):
    services.on_status_changed(session, ticket, old, new, now)


@events.priority_changed.connect
def _priority_changed(ticket, *, session, now, **_):
    services.on_priority_changed(session, ticket, now)
