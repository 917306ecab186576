"""Imports every domain's models so the metadata (and Alembic) sees all tables."""
from servicedesk.accounts.models import ApiToken, Group, User, Vendor, group_members  # noqa: F401
from servicedesk.catalog.models import Category, PriorityRule, Service  # noqa: F401
from servicedesk.escalation.models import Budget, VendorEngagement  # noqa: F401
from servicedesk.feedback.models import Survey, UnmetRequest  # noqa: F401
from servicedesk.notifications.models import Notification, OutboundEmail  # noqa: F401
from servicedesk.sla.models import (  # noqa: F401
    Calendar, ClockFiring, ClockPause, EscalationRule, Holiday, SchedulerHeartbeat, SLAClock,
    SLAPolicy,
)
from servicedesk.reports.models import WeeklyReport  # noqa: F401
from servicedesk.tickets.models import Ticket, TicketEvent  # noqa: F401
from servicedesk.knowledge.models import (  # noqa: F401
    Article, ArticleUse, ArticleVersion, ArticleVote, IndexOutbox, MustReadAck, PortalSearch,
    Problem,
)
