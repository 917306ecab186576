"""Imports every domain's models so the metadata (and Alembic) sees all tables."""
from servicedesk.accounts.models import ApiToken, Group, User, Vendor, group_members  # noqa: F401
from servicedesk.catalog.models import Category, PriorityRule, Service  # noqa: F401
from servicedesk.escalation.models import VendorEngagement  # noqa: F401
from servicedesk.tickets.models import Ticket, TicketEvent  # noqa: F401
