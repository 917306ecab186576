"""Sends the satisfaction survey when a ticket is resolved (imported once by create_app)."""
from servicedesk import events
from servicedesk.feedback import services
from servicedesk.tickets.models import Status


@events.status_changed.connect
def _status_changed(ticket, *, session, now, new, **_):
    if new is Status.resolved:
        services.send_survey(session, ticket, now)
