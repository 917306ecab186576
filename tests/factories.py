"""Test factories: plain functions with sensible defaults that take the session and clock.

``Factories(session, clock)`` is what the ``make`` fixture gives tests: ``make.agent()``,
``make.ticket(priority=...)``. Everything is flushed, never committed.
"""
from __future__ import annotations

import itertools

from werkzeug.security import generate_password_hash

from servicedesk.accounts import services as accounts
from servicedesk.accounts.models import Role
from servicedesk.catalog import services as catalog
from servicedesk.escalation.models import EngagementState, VendorEngagement
from servicedesk.sla.defaults import DEFAULT_RULES, ensure_builtin_calendar
from servicedesk.sla.models import Calendar, EscalationRule, SLAPolicy
from servicedesk.tickets import services as tickets
from servicedesk.tickets.models import Channel

_seq = itertools.count(1)
PASSWORD = "correct horse battery"
_PASSWORD_HASH = generate_password_hash(PASSWORD, method="scrypt")  # hashed once: scrypt is slow


class Factories:
    def __init__(self, session, clock) -> None:
        self.session = session
        self.clock = clock

    def user(self, role: Role = Role.agent, *, email: str | None = None, name: str | None = None,
             password: str | None = PASSWORD, vendor=None, groups=()):
        n = next(_seq)
        if role is Role.vendor and vendor is None:
            vendor = self.vendor()
        user = accounts.create_user(self.session, email=email or f"{role.value}{n}@example.com",
                                    name=name or f"{role.value.title()} {n}", role=role,
                                    vendor=vendor, now=self.clock.now())
        if password == PASSWORD:
            user.password_hash = _PASSWORD_HASH
        elif password:
            accounts.set_password(user, password)
        for group in groups:
            group.members.append(user)
        self.session.flush()
        return user

    def agent(self, **kw):
        return self.user(Role.agent, **kw)

    def expert(self, **kw):
        return self.user(Role.expert, **kw)

    def manager(self, **kw):
        return self.user(Role.manager, **kw)

    def admin(self, **kw):
        return self.user(Role.admin, **kw)

    def requester(self, **kw):
        return self.user(Role.requester, **kw)

    def vendor_user(self, vendor=None, **kw):
        return self.user(Role.vendor, vendor=vendor, **kw)

    def vendor(self, name: str | None = None, **kw):
        return accounts.create_vendor(self.session, name=name or f"Vendor {next(_seq)}", **kw)

    def group(self, name: str | None = None, tier: int = 1, **kw):
        return accounts.create_group(self.session, name=name or f"Group {next(_seq)}", tier=tier,
                                     **kw)

    def service(self, name: str | None = None, **kw):
        return catalog.create_service(self.session, name=name or f"Service {next(_seq)}", **kw)

    def category(self, name: str | None = None):
        return catalog.create_category(self.session, name=name or f"Category {next(_seq)}")

    def ticket(self, *, actor=None, requester=None, title: str = "Printer jams at gate B12",
               description: str = "Boarding pass printer jams on every second pass.",
               channel: Channel = Channel.phone, impact: int = 2, urgency: int = 2, **kw):
        actor = actor or self.agent()
        requester = requester or self.requester()
        return tickets.create_ticket(self.session, actor=actor, requester=requester,
                                     title=title, description=description, channel=channel,
                                     impact=impact, urgency=urgency, now=self.clock.now(), **kw)

    def engagement(self, ticket, vendor, *, state=EngagementState.approved, requested_by=None,
                   estimated_cost=500):
        engagement = VendorEngagement(ticket=ticket, vendor=vendor,
                                      requested_by_id=(requested_by or self.expert()).id,
                                      reason="Needs the vendor's field engineer",
                                      estimated_cost=estimated_cost, state=state,
                                      created_at=self.clock.now())
        self.session.add(engagement)
        self.session.flush()
        return engagement

    def calendar(self, name: str | None = None, *, timezone: str = "Europe/Berlin",
                 weekly: dict | None = None, holidays=()):
        from servicedesk.sla.models import Holiday

        cal = Calendar(name=name or f"Calendar {next(_seq)}", timezone=timezone,
                       weekly=weekly or {d: ["09:00-17:00"]
                                         for d in ("mon", "tue", "wed", "thu", "fri")},
                       is_builtin=False, holidays=[Holiday(day=d) for d in holidays])
        self.session.add(cal)
        self.session.flush()
        return cal

    def always_calendar(self):
        return ensure_builtin_calendar(self.session)

    def policy(self, *, priority: int | None = None, response_minutes: int = 60,
               resolution_minutes: int = 480, calendar=None, service=None, category=None,
               pause_statuses=("pending_customer",), thresholds=(50, 75), rules=DEFAULT_RULES,
               name: str | None = None):
        policy = SLAPolicy(name=name or f"Policy {next(_seq)}", priority=priority,
                           response_minutes=response_minutes,
                           resolution_minutes=resolution_minutes,
                           calendar=calendar or self.always_calendar(), service=service,
                           category=category, pause_statuses=list(pause_statuses),
                           warning_thresholds=list(thresholds), is_active=True)
        policy.rules = [EscalationRule(clock_kind=k, threshold=t, action=a) for k, t, a in rules]
        self.session.add(policy)
        self.session.flush()
        return policy

    def article(self, *, author=None, publish: bool = False, title: str = "Gate printer jams",
                symptoms: str = "The boarding pass printer jams on every second pass.",
                resolution: str = "Open the tray, remove the stuck card, reseat the roll.",
                **kw):
        """A draft by an agent, or a published article (reviewed by a fresh expert)."""
        from servicedesk.knowledge import services as knowledge

        article = knowledge.create_article(self.session, actor=author or self.agent(),
                                           now=self.clock.now(), title=title,
                                           symptoms=symptoms, resolution=resolution, **kw)
        if publish:
            knowledge.publish(self.session, article, actor=self.expert(), now=self.clock.now())
        return article

    def problem(self, *, actor=None, title: str = "Gate printers jam after firmware 4.2",
                **kw):
        from servicedesk.knowledge import problems

        return problems.create_problem(self.session, actor=actor or self.expert(),
                                       now=self.clock.now(), title=title, **kw)
