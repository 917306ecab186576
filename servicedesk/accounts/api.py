"""/api/v1/me, /api/v1/tokens, /api/v1/users: the JSON side of accounts."""
from __future__ import annotations

from datetime import datetime
from typing import Annotated

import pydantic
import sqlalchemy as sa
from sqlalchemy.orm import Session

from servicedesk.accounts import permissions
from servicedesk.accounts.models import ApiToken, Role, User
from servicedesk.accounts.services import issue_token, revoke_token
from servicedesk.clock import utcnow
from servicedesk.db import transaction
from servicedesk.extensions import db
from servicedesk.tickets.queries import Page
from servicedesk.web.api import (
    ID, ApiModel, GroupRef, OutModel, PageNumber, api_blueprint, api_user, documented,
    group_ref, page_envelope, parse_body, parse_query, text,
)

bp = api_blueprint("accounts_api", __name__)


# --- shapes ----------------------------------------------------------------------------------

class VendorRef(OutModel):
    id: int
    name: str


class MeOut(OutModel):
    """The signed-in user (or the token's owner)."""

    id: int
    email: str
    name: str
    role: Role
    phone: str | None
    timezone: str
    """IANA zone the web pages show times in."""
    vendor: VendorRef | None
    groups: list[GroupRef]


class TokenIn(ApiModel):
    name: text(80)
    """What the token is for, e.g. "Zabbix at T2"."""


class TokenOut(OutModel):
    """An API token, without its secret."""

    id: int
    name: str
    prefix: str
    """First characters of the secret, to recognise it."""
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class TokenCreated(OutModel):
    """A new API token and its secret, shown this once."""

    token: TokenOut
    secret: str
    """The bearer secret: shown this once, never stored (only its hash is)."""


class TokenList(OutModel):
    """The caller's API tokens, newest first."""

    items: list[TokenOut]


class UsersQuery(ApiModel):
    q: Annotated[str, pydantic.Field(max_length=100)] = ""
    """Part of a name, e-mail or phone number."""
    role: Role | None = None
    page: PageNumber = 1
    per_page: Annotated[int, pydantic.Field(ge=1, le=50)] = 20


class UserOut(OutModel):
    """A user as staff see them in the caller lookup."""

    id: int
    name: str
    email: str
    phone: str | None
    role: Role


class UserPage(OutModel):
    """One page of users."""

    items: list[UserOut]
    page: int
    per_page: int
    total: int
    pages: int


def token_out(token: ApiToken) -> TokenOut:
    return TokenOut(id=token.id, name=token.name, prefix=token.prefix,
                    created_at=token.created_at, last_used_at=token.last_used_at,
                    revoked_at=token.revoked_at)


def user_out(user: User) -> UserOut:
    return UserOut(id=user.id, name=user.name, email=user.email, phone=user.phone,
                   role=user.role)


# --- reads -----------------------------------------------------------------------------------

def search_users(session: Session, q: str, *, role: Role | None, page: int,
                 per_page: int) -> Page[User]:
    """Active users whose name, e-mail or phone contains ``q`` (case-insensitive), by name."""
    clauses = [User.is_active_account.is_(True)]
    if q:
        pattern = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        clauses.append(sa.or_(User.name.ilike(pattern, escape="\\"),
                              User.email.ilike(pattern, escape="\\"),
                              User.phone.ilike(pattern, escape="\\")))
    if role is not None:
        clauses.append(User.role == role)
    total = session.scalar(sa.select(sa.func.count(User.id)).where(*clauses)) or 0
    users = session.scalars(sa.select(User).where(*clauses).order_by(User.name, User.id)
                            .limit(per_page).offset((page - 1) * per_page))
    return Page(items=list(users), total=total, page=page, per_page=per_page)


def own_tokens(session: Session, user: User) -> list[ApiToken]:
    return list(session.scalars(sa.select(ApiToken).where(ApiToken.user_id == user.id)
                                .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())))


# --- views -----------------------------------------------------------------------------------

@bp.get("/me")
@documented("Who am I", description="The user the token or session acts as.",
            response=MeOut, tag="accounts")
def me():
    user = api_user()
    return MeOut(id=user.id, email=user.email, name=user.name, role=user.role,
                 phone=user.phone, timezone=user.timezone,
                 vendor=None if user.vendor is None else VendorRef(id=user.vendor.id,
                                                                   name=user.vendor.name),
                 groups=[group_ref(g) for g in user.groups]).model_dump(mode="json")


@bp.get("/tokens")
@documented("My API tokens", description="Newest first, revoked ones included; secrets are "
            "never shown again.", response=TokenList, tag="accounts")
def list_tokens():
    tokens = own_tokens(db.session, api_user())
    return TokenList(items=[token_out(t) for t in tokens]).model_dump(mode="json")


@bp.post("/tokens")
@documented("Create an API token",
            description="The response carries the secret once; send it as "
                        "'Authorization: Bearer <secret>'. It acts with your role.",
            body=TokenIn, response=TokenCreated, status=201, tag="accounts")
def create_token():
    body = parse_body(TokenIn)
    user, now = api_user(), utcnow()
    with transaction(db.session):
        token, secret = issue_token(db.session, user, name=body.name, now=now)
        out = TokenCreated(token=token_out(token), secret=secret).model_dump(mode="json")
    return out, 201


@bp.delete(f"/tokens/<{ID}:token_id>")
@documented("Revoke an API token",
            description="Your own tokens (admins: anyone's). Revoking twice is harmless.",
            response=TokenOut, tag="accounts")
def delete_token(token_id: int):
    user, now = api_user(), utcnow()
    with transaction(db.session):
        token = revoke_token(db.session, user, token_id, now=now)
        out = token_out(token).model_dump(mode="json")
    return out


@bp.get("/users")
@documented("Find users (callers)",
            description="Active users whose name, e-mail or phone contains q; for the intake "
                        "form's caller lookup.",
            query=UsersQuery, response=UserPage, errors=(403,),
            roles="staff (agent, expert, manager, admin)", tag="accounts")
def list_users():
    permissions.ensure(permissions.can_create_for_others(api_user()),
                       "Only staff look up users.")
    args = parse_query(UsersQuery)
    page = search_users(db.session, args.q, role=args.role, page=args.page,
                        per_page=args.per_page)
    return page_envelope([user_out(u).model_dump(mode="json") for u in page.items], page)
