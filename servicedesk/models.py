"""Imports every domain's models so the metadata (and Alembic) sees all tables."""
from servicedesk.accounts.models import ApiToken, Group, User, Vendor, group_members  # noqa: F401
from servicedesk.catalog.models import Category, PriorityRule, Service  # noqa: F401
from servicedesk.escalation.models import Budget, VendorEngagement  # noqa: F401
from servicedesk.notifications.models import Notification, OutboundEmail  # noqa: F401
from servicedesk.sla.models import (  # noqa: F401
    Calendar, ClockFiring, ClockPause, EscalationRule, Holiday, SchedulerHeartbeat, SLAClock,
    SLAPolicy,
)
from servicedesk.tickets.models import Ticket, TicketEvent  # noqa: F401
