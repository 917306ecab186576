"""Account administration and profile operations. Take the session and actor explicitly;
flush, never commit; raise domain errors naming the field.

Admins manage users and groups; every user edits their own name and time zone. The rules that
keep the desk usable live here: an admin cannot lock themselves out, a vendor user belongs to a
vendor, a group's dispatcher is one of its members, requesters are never group members.
"""
from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from zoneinfo import available_timezones

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from servicedesk.accounts import permissions
from servicedesk.accounts.models import ApiToken, Group, Role, User, Vendor
from servicedesk.accounts.services import create_user, create_vendor, set_password
from servicedesk.errors import Conflict, PermissionDenied, ValidationError

NAME_MAX = 120


@lru_cache(maxsize=1)
def time_zones() -> tuple[str, ...]:
    """Every IANA zone name this machine knows, sorted (the profile's choices)."""
    return tuple(sorted(available_timezones()))


def _require_admin(actor: User) -> None:
    if not permissions.can_manage_users(actor):
        raise PermissionDenied("Only administrators manage users and groups.")


def _name(value: str | None) -> str:
    name = (value or "").strip()
    if not name:
        raise ValidationError("Name is required.", field="name")
    if len(name) > NAME_MAX:
        raise ValidationError(f"Name is too long ({NAME_MAX} characters at most).", field="name")
    return name


def _phone(value: str | None) -> str | None:
    phone = (value or "").strip() or None
    if phone is not None and len(phone) > 40:
        raise ValidationError("Phone is too long (40 characters at most).", field="phone")
    return phone


def _check_groups(role: Role, groups: list[Group]) -> None:
    if groups and role is Role.requester:
        raise ValidationError("Requesters do not belong to assignment groups.", field="groups")


def create_account(session: Session, *, actor: User, email: str, name: str, role: Role,
                   now: datetime, password: str | None = None, phone: str | None = None,
                   vendor: Vendor | None = None, groups: list[Group] | None = None) -> User:
    """An admin creates a user with a role, optional vendor and group memberships. Flushes."""
    _require_admin(actor)
    groups = list(groups or [])
    _check_groups(role, groups)
    if role is not Role.vendor:
        vendor = None
    user = create_user(session, email=email, name=name, role=role, now=now, password=password,
                       phone=_phone(phone), vendor=vendor)
    user.groups = groups
    session.flush()
    return user


def update_user(session: Session, user: User, *, actor: User, name: str, role: Role,
                phone: str | None = None, vendor: Vendor | None = None,
                groups: list[Group] | None = None, password: str | None = None) -> User:
    """An admin changes a user's name, role, vendor, groups and optionally password."""
    _require_admin(actor)
    if user.id == actor.id and role is not Role.admin:
        raise ValidationError("You cannot take the admin role away from yourself.",
                              field="role")
    if role is Role.vendor and vendor is None:
        raise ValidationError("A vendor user belongs to a vendor.", field="vendor")
    groups = list(groups or [])
    _check_groups(role, groups)
    user.name = _name(name)
    user.role = role
    user.phone = _phone(phone)
    user.vendor = vendor if role is Role.vendor else None
    user.groups = groups
    if password:
        set_password(user, password)
    session.flush()
    return user


def set_active(session: Session, user: User, *, actor: User, active: bool) -> User:
    """Deactivate (cannot log in, tokens stop working) or reactivate an account."""
    _require_admin(actor)
    if user.id == actor.id and not active:
        raise ValidationError("You cannot deactivate your own account.", field="active")
    user.is_active_account = active
    session.flush()
    return user


def update_profile(session: Session, user: User, *, name: str, timezone: str) -> User:
    """A user's own display name and the IANA time zone times are shown in."""
    timezone = (timezone or "").strip()
    if timezone not in time_zones():
        raise ValidationError(f"Unknown time zone {timezone!r}; use an IANA name such as "
                              "Europe/Paris or Asia/Shanghai.", field="timezone")
    user.name = _name(name)
    user.timezone = timezone
    session.flush()
    return user


def update_group(session: Session, group: Group, *, actor: User, members: list[User],
                 dispatcher: User | None = None, manager: User | None = None,
                 description: str | None = None) -> Group:
    """Replace a group's members, dispatcher and manager; the dispatcher is always a member."""
    _require_admin(actor)
    members = list(dict.fromkeys(members))  # keep order, drop repeats
    for member in members:
        if member.role is Role.requester:
            raise ValidationError(f"{member.name} is a requester and cannot join a group.",
                                  field="members")
    if dispatcher is not None:
        if not dispatcher.is_staff:
            raise ValidationError("The dispatcher must be staff.", field="dispatcher")
        if dispatcher not in members:
            members.append(dispatcher)
    if manager is not None and manager.role not in (Role.manager, Role.admin):
        raise ValidationError("The group manager must be a manager or admin.", field="manager")
    group.members = members
    group.dispatcher = dispatcher
    group.manager = manager
    if description is not None:
        group.description = description.strip()
    session.flush()
    return group


def add_vendor(session: Session, *, actor: User, name: str, **details) -> Vendor:
    """An admin registers a vendor; names are unique (Conflict otherwise). Flushes."""
    _require_admin(actor)
    name = (name or "").strip()
    if session.scalar(sa.select(Vendor.id).where(Vendor.name == name)) is not None:
        raise Conflict(f"A vendor named {name} already exists.", fields={"name": "taken"})
    return create_vendor(session, name=name, **details)


# --- reads for the admin pages ---------------------------------------------------------------

def list_users(session: Session, *, role: Role | None = None) -> list[User]:
    stmt = sa.select(User).options(selectinload(User.groups), selectinload(User.vendor))
    if role is not None:
        stmt = stmt.where(User.role == role)
    return list(session.scalars(stmt.order_by(User.is_active_account.desc(), User.name)))


def list_groups(session: Session) -> list[Group]:
    return list(session.scalars(sa.select(Group).options(selectinload(Group.members))
                                .order_by(Group.tier, Group.name)))


def list_vendors(session: Session) -> list[Vendor]:
    return list(session.scalars(sa.select(Vendor).options(selectinload(Vendor.users))
                                .order_by(Vendor.name)))


def users_by_ids(session: Session, ids: list[int], field: str) -> list[User]:
    """Users for the given ids, in that order; an unknown id is an error naming ``field``."""
    users = {u.id: u for u in session.scalars(sa.select(User).where(User.id.in_(ids)))}
    missing = [i for i in ids if i not in users]
    if missing:
        raise ValidationError(f"No user with id {missing[0]}.", field=field)
    return [users[i] for i in ids]


def groups_by_ids(session: Session, ids: list[int]) -> list[Group]:
    groups = {g.id: g for g in session.scalars(sa.select(Group).where(Group.id.in_(ids)))}
    missing = [i for i in ids if i not in groups]
    if missing:
        raise ValidationError(f"No group with id {missing[0]}.", field="groups")
    return [groups[i] for i in ids]


def user_tokens(session: Session, user: User) -> list[ApiToken]:
    """A user's API tokens: active ones first, newest first."""
    return list(session.scalars(sa.select(ApiToken).where(ApiToken.user_id == user.id)
                                .order_by(ApiToken.revoked_at.is_not(None),
                                          ApiToken.created_at.desc(), ApiToken.id.desc())))
