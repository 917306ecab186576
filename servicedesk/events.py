"""In-process domain signals connecting domains without imports in both directions.

Senders pass keyword arguments ``session``, ``ticket``, ``actor`` and ``now``; receivers run in
the sender's transaction and must only flush.
"""
from blinker import Namespace

_signals = Namespace()

#: A ticket was created (kwargs: session, ticket, actor, now). Sent before the ticket is
#: flushed (``ticket.id`` is None, its foreign keys are set): receivers add their rows through
#: relationships and the sender inserts everything in one flush.
ticket_created = _signals.signal("ticket-created")
#: Status moved (kwargs: session, ticket, actor, now, old, new).
status_changed = _signals.signal("status-changed")
#: Priority changed (kwargs: session, ticket, actor, now, old, new).
priority_changed = _signals.signal("priority-changed")
#: Staff responded to the requester for the first time (kwargs: session, ticket, actor, now).
first_response = _signals.signal("first-response")
