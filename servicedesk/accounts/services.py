"""Account operations. Take the session and ``now`` explicitly; flush, never commit."""
from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session, contains_eager
from werkzeug.security import check_password_hash, generate_password_hash

from servicedesk.accounts.models import ApiToken, Group, Role, User, Vendor
from servicedesk.errors import Conflict, NotFound, ValidationError

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD = 8
TOKEN_PREFIX = "sdt_"


def normalise_email(email: str) -> str:
    email = (email or "").strip().lower()
    if not EMAIL_RE.match(email) or len(email) > 254:
        raise ValidationError("Enter a valid e-mail address.", field="email")
    return email


def hash_password(password: str) -> str:
    if len(password or "") < MIN_PASSWORD:
        raise ValidationError(f"Passwords need at least {MIN_PASSWORD} characters.",
                              field="password")
    return generate_password_hash(password, method="scrypt")


#: Built once: ticket intake looks a user up by id on every request.
_USER_BY_ID = sa.select(User).where(User.id == sa.bindparam("user_id"))


def get_active_user(session: Session, user_id: int) -> User | None:
    """The active user with this id, else None."""
    user = session.scalar(_USER_BY_ID, {"user_id": user_id})
    return user if user is not None and user.is_active else None


def get_user_by_email(session: Session, email: str) -> User | None:
    return session.scalar(sa.select(User).where(User.email == email.strip().lower()))


def create_user(session: Session, *, email: str, name: str, role: Role, now: datetime,
                password: str | None = None, phone: str | None = None,
                vendor: Vendor | None = None) -> User:
    """Create an account; vendor users must name their vendor. Flushes."""
    email = normalise_email(email)
    name = (name or "").strip()
    if not name:
        raise ValidationError("Name is required.", field="name")
    if len(name) > 120:
        raise ValidationError("Name is too long (120 characters at most).", field="name")
    if role is Role.vendor and vendor is None:
        raise ValidationError("A vendor user belongs to a vendor.", field="vendor")
    if get_user_by_email(session, email):
        raise Conflict(f"A user with e-mail {email} already exists.", fields={"email": "taken"})
    user = User(email=email, name=name, role=role, phone=(phone or None), vendor=vendor,
                password_hash=hash_password(password) if password else None, created_at=now,
                is_active_account=True, timezone="UTC")
    session.add(user)
    session.flush()
    return user


def set_password(user: User, password: str) -> None:
    user.password_hash = hash_password(password)


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The active user with this e-mail and password, else None (same answer either way)."""
    user = get_user_by_email(session, email or "")
    if user is None or not user.password_hash or not user.is_active:
        # Spend the same time as a real check so timing does not reveal accounts.
        check_password_hash(_DUMMY_HASH, password or "")
        return None
    return user if check_password_hash(user.password_hash, password or "") else None


_DUMMY_HASH = generate_password_hash("not-a-real-password", method="scrypt")


def find_or_create_requester(session: Session, *, email: str | None, name: str | None,
                             phone: str | None, now: datetime) -> User:
    """The caller by e-mail (or phone), created as a requester on first contact."""
    if email:
        existing = get_user_by_email(session, email)
        if existing:
            return existing
    elif phone:
        existing = session.scalar(sa.select(User).where(User.phone == phone.strip())
                                  .order_by(User.id).limit(1))
        if existing:
            return existing
        raise ValidationError("A new caller needs an e-mail address.", field="caller_email")
    else:
        raise ValidationError("Give the caller's e-mail or phone.", field="caller_email")
    if not (name or "").strip():
        raise ValidationError("A new caller needs a name.", field="caller_name")
    return create_user(session, email=email, name=name, role=Role.requester, phone=phone,
                       now=now)


def _token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def issue_token(session: Session, user: User, *, name: str, now: datetime) -> tuple[ApiToken, str]:
    """A new API token; returns (row, secret). The secret is not stored and cannot be shown again."""
    name = (name or "").strip()
    if not name or len(name) > 80:
        raise ValidationError("Token name is required (80 characters at most).", field="name")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user=user, name=name, token_hash=_token_hash(secret), prefix=secret[:12],
                     created_at=now)
    session.add(token)
    session.flush()
    return token, secret


def revoke_token(session: Session, user: User, token_id: int, *, now: datetime) -> ApiToken:
    token = session.get(ApiToken, token_id)
    if token is None or (token.user_id != user.id and user.role is not Role.admin):
        raise NotFound("Token not found.")
    if token.revoked_at is None:
        token.revoked_at = now
    session.flush()
    return token


#: One query for a token and its user (token.user then comes from the identity map), built
#: once: every API request runs it, and building the statement costs more than running it.
_TOKEN_WITH_USER = (sa.select(ApiToken).join(ApiToken.user).options(contains_eager(ApiToken.user))
                    .where(ApiToken.token_hash == sa.bindparam("token_hash")))


def user_for_token(session: Session, secret: str, *, now: datetime) -> User | None:
    """The active user owning this unrevoked token, recording its use; else None."""
    if not secret or not secret.startswith(TOKEN_PREFIX):
        return None
    token = session.scalar(_TOKEN_WITH_USER, {"token_hash": _token_hash(secret)})
    if token is None or token.revoked_at is not None or not token.user.is_active:
        return None
    # Write at most once a minute per token: busy integrations should not write on every call.
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        token.last_used_at = now
    return token.user


def create_group(session: Session, *, name: str, tier: int, dispatcher: User | None = None,
                 manager: User | None = None, members: list[User] | None = None,
                 description: str = "") -> Group:
    name = (name or "").strip()
    if not name:
        raise ValidationError("Group name is required.", field="name")
    if tier not in (1, 2, 3):
        raise ValidationError("Tier is 1 (desk), 2 (experts) or 3 (vendor).", field="tier")
    if session.scalar(sa.select(Group).where(Group.name == name)):
        raise Conflict(f"A group named {name} already exists.", fields={"name": "taken"})
    group = Group(name=name, tier=tier, dispatcher=dispatcher, manager=manager,
                  description=description, members=list(members or []))
    if dispatcher is not None and dispatcher not in group.members:
        group.members.append(dispatcher)
    session.add(group)
    session.flush()
    return group


def create_vendor(session: Session, *, name: str, contact_email: str | None = None,
                  cost_model: str = "fixed", rate=0, ola_response_minutes: int = 60,
                  ola_fix_minutes: int = 480) -> Vendor:
    name = (name or "").strip()
    if not name:
        raise ValidationError("Vendor name is required.", field="name")
    if cost_model not in ("fixed", "hourly"):
        raise ValidationError("Cost model is fixed or hourly.", field="cost_model")
    vendor = Vendor(name=name, contact_email=contact_email, cost_model=cost_model, rate=rate,
                    ola_response_minutes=ola_response_minutes, ola_fix_minutes=ola_fix_minutes,
                    is_active=True)
    session.add(vendor)
    session.flush()
    return vendor
