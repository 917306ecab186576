"""User, Group, Vendor and ApiToken."""
from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship

from servicedesk.db import UTCDateTime, enum_column
from servicedesk.extensions import db


class Role(str, enum.Enum):
    requester = "requester"
    agent = "agent"
    expert = "expert"
    vendor = "vendor"
    manager = "manager"
    admin = "admin"

    @property
    def is_staff(self) -> bool:
        """Staff work tickets: everyone but requesters and external vendor users."""
        return self in STAFF_ROLES


STAFF_ROLES = frozenset({Role.agent, Role.expert, Role.manager, Role.admin})


class Tier(int, enum.Enum):
    desk = 1
    expert = 2
    vendor = 3


group_members = sa.Table(
    "group_members",
    db.metadata,
    sa.Column("group_id", sa.ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("user_id", sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
)


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Stored lower-case; the login name.
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    #: None for requesters created from a phone call who never logged in.
    password_hash: Mapped[str | None] = mapped_column(sa.String(255))
    role: Mapped[Role] = mapped_column(enum_column(Role), index=True)
    phone: Mapped[str | None] = mapped_column(sa.String(40), index=True)
    vendor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("vendors.id"), index=True)
    is_active_account: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    #: IANA zone used to show times to this user.
    timezone: Mapped[str] = mapped_column(sa.String(64), default="UTC")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    vendor: Mapped[Vendor | None] = relationship(back_populates="users")
    groups: Mapped[list[Group]] = relationship(secondary=group_members, back_populates="members",
                                               order_by="Group.name")

    __table_args__ = (
        sa.CheckConstraint("role <> 'vendor' OR vendor_id IS NOT NULL", name="vendor_has_vendor"),
    )

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email} {self.role.value}>"

    @property
    def is_active(self) -> bool:  # Flask-Login: inactive accounts cannot log in
        return self.is_active_account

    @property
    def is_staff(self) -> bool:
        return self.role.is_staff

    def has_role(self, *roles: Role) -> bool:
        return self.role in roles


class Group(db.Model):
    """An assignment group: the desk (tier 1), an expert team (tier 2) or a vendor queue (3)."""

    __tablename__ = "groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120), unique=True)
    description: Mapped[str] = mapped_column(sa.Text, default="")
    #: 1 service desk, 2 experts, 3 vendor (see Tier).
    tier: Mapped[int] = mapped_column(sa.Integer)
    #: The single interface person who accepts and assigns the group's tickets.
    dispatcher_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    #: The manager notified on hierarchical escalation.
    manager_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    email: Mapped[str | None] = mapped_column(sa.String(254))

    dispatcher: Mapped[User | None] = relationship(foreign_keys=[dispatcher_id])
    manager: Mapped[User | None] = relationship(foreign_keys=[manager_id])
    members: Mapped[list[User]] = relationship(secondary=group_members, back_populates="groups",
                                               order_by="User.name")

    __table_args__ = (sa.CheckConstraint("tier IN (1, 2, 3)", name="tier_range"),)

    def __repr__(self) -> str:
        return f"<Group {self.id} {self.name} tier={self.tier}>"


class Vendor(db.Model):
    """An external supplier doing paid fixes under its own contract (OLA/UC)."""

    __tablename__ = "vendors"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120), unique=True)
    contact_email: Mapped[str | None] = mapped_column(sa.String(254))
    #: "fixed" (price per engagement) or "hourly".
    cost_model: Mapped[str] = mapped_column(sa.String(16), default="fixed")
    #: Price per engagement or per hour, in the budget currency.
    rate: Mapped[Decimal] = mapped_column(sa.Numeric(12, 2), default=Decimal("0"))
    #: Contracted response and fix targets, in minutes of the vendor's business time.
    ola_response_minutes: Mapped[int] = mapped_column(sa.Integer, default=60)
    ola_fix_minutes: Mapped[int] = mapped_column(sa.Integer, default=480)
    #: Business calendar the OLA counts in (None: the built-in 24x7 calendar).
    calendar_id: Mapped[int | None] = mapped_column(sa.ForeignKey("calendars.id"))
    is_active: Mapped[bool] = mapped_column(sa.Boolean, default=True)

    users: Mapped[list[User]] = relationship(back_populates="vendor")

    def __repr__(self) -> str:
        return f"<Vendor {self.id} {self.name}>"


class ApiToken(db.Model):
    """A per-user bearer token for integrations; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"),
                                         index=True)
    name: Mapped[str] = mapped_column(sa.String(80))
    #: hex SHA-256 of the secret; the secret itself is shown once at creation.
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    #: First characters of the secret, to recognise a token in lists.
    prefix: Mapped[str] = mapped_column(sa.String(12))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()

    def __repr__(self) -> str:
        return f"<ApiToken {self.id} {self.prefix}… user={self.user_id}>"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None
