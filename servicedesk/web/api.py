"""JSON API glue shared by every domain's ``api.py``.

- ``api_blueprint(name, import_name)`` makes a blueprint under ``/api/v1`` whose requests are
  authenticated by a bearer token (``Authorization: Bearer sdt_...``) or by the browser session;
  a session-authenticated unsafe request must carry the CSRF token in ``X-CSRFToken``.
- ``parse_body(Model)`` turns the JSON body into a pydantic model, or raises a 4xx envelope
  naming each bad field (unknown fields and oversized text included).
- ``documented(...)`` declares, next to a route, what the OpenAPI document says about it
  (``servicedesk/web/openapi.py`` assembles the document from these and ``app.url_map``).
- Errors always have the shape ``{"error": {"code", "message", "fields"}}``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Callable, Literal, TypeVar

import pydantic
from flask import Blueprint, current_app, g, request
from flask_login import current_user
from flask_wtf.csrf import CSRFError, validate_csrf
from werkzeug.exceptions import BadRequest as WerkzeugBadRequest
from wtforms.validators import ValidationError as WTFValidationError

from servicedesk.accounts.models import User
from servicedesk.accounts.services import user_for_token
from servicedesk.clock import utcnow
from servicedesk.errors import DomainError, ValidationError
from servicedesk.extensions import csrf, db

API_PREFIX = "/api/v1"
M = TypeVar("M", bound=pydantic.BaseModel)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: Largest id accepted anywhere (a 32-bit primary key): larger numbers are "not found",
#: never a database overflow.
MAX_ID = 2**31 - 1
#: URL converter for ids in routes: ``f"/tickets/<{ID}:ticket_id>"``.
ID = f"int(min=1, max={MAX_ID})"


class Unauthorized(DomainError):
    status = 401
    code = "unauthorized"


class BadRequest(DomainError):
    status = 400
    code = "bad_request"


class UnsupportedMediaType(DomainError):
    status = 415
    code = "unsupported_media_type"


def api_blueprint(name: str, import_name: str, url_prefix: str = "") -> Blueprint:
    """A JSON blueprint under /api/v1 with token-or-session authentication."""
    bp = Blueprint(name, import_name, url_prefix=API_PREFIX + url_prefix)
    csrf.exempt(bp)  # session requests are checked below; token requests need no CSRF
    bp.before_request(authenticate)
    return bp


def authenticate() -> None:
    """Set the acting user from a bearer token or the session; 401/400 envelope otherwise."""
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, secret = header.partition(" ")
        user = user_for_token(db.session, secret.strip(), now=utcnow()) \
            if scheme.lower() == "bearer" else None
        if user is None:
            raise Unauthorized("Invalid, revoked or malformed API token.")
        if db.session.dirty:  # last_used_at moved (at most once a minute per token):
            db.session.commit()  # keep it even if the request later fails
        g.api_user = user
        g.api_auth = "token"
        return
    if not current_user.is_authenticated:
        raise Unauthorized("Log in or send an API token (Authorization: Bearer ...).")
    if request.method not in SAFE_METHODS and current_app.config.get("WTF_CSRF_ENABLED", True):
        try:
            validate_csrf(request.headers.get("X-CSRFToken", ""))
        except (CSRFError, WTFValidationError) as exc:
            raise BadRequest(f"CSRF check failed: {exc}; send the page's token in X-CSRFToken.")
    g.api_user = current_user._get_current_object()
    g.api_auth = "session"


def api_user() -> User:
    """The user this API request acts as (token owner or session user)."""
    return g.api_user


def authenticated_by_token() -> bool:
    """True when this request came with an API token (an integration), not a browser session."""
    return g.get("api_auth") == "token"


def _field_name(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc) or "body"


def validation_error_from(exc: pydantic.ValidationError) -> ValidationError:
    fields: dict[str, str] = {}
    for err in exc.errors():
        name = _field_name(err["loc"])
        if err["type"] == "extra_forbidden":
            message = "unknown field"
        elif err["type"] == "missing":
            message = "field required"
        else:
            message = err["msg"]
        fields.setdefault(name, message)
    summary = "; ".join(f"{k}: {v}" for k, v in fields.items())
    return ValidationError(f"Invalid request: {summary}", fields=fields)


def parse_body(model: type[M]) -> M:
    """The request's JSON body validated by ``model`` (which should forbid extra fields).

    415 without a JSON content type, 400 for malformed JSON or a body that is not an object,
    413 (raised by Werkzeug) over MAX_CONTENT_LENGTH, 422 naming each invalid field.
    """
    if not request.is_json:
        raise UnsupportedMediaType("Send a JSON body with Content-Type: application/json.")
    try:
        data = request.get_json()
    except WerkzeugBadRequest:
        raise BadRequest("Malformed JSON body.") from None
    except RecursionError:  # absurdly deep nesting: still the client's mistake, not a 500
        raise BadRequest("Malformed JSON body: nested too deeply.") from None
    if not isinstance(data, dict):
        raise BadRequest("The JSON body must be an object.")
    try:
        parsed = model.model_validate(data)
    except pydantic.ValidationError as exc:
        raise validation_error_from(exc) from None
    check = getattr(parsed, "check_fields", None)
    if check is not None:
        check()
    return parsed


def parse_query(model: type[M]) -> M:
    """Query-string arguments validated by ``model`` (lists from repeated keys)."""
    data: dict[str, Any] = {}
    for key in request.args:
        values = request.args.getlist(key)
        field = model.model_fields.get(key)
        is_list = field is not None and "list" in str(field.annotation).lower()
        data[key] = values if is_list else values[-1]
    try:
        return model.model_validate(data)
    except pydantic.ValidationError as exc:
        raise validation_error_from(exc) from None


class ApiModel(pydantic.BaseModel):
    """Base for request bodies: unknown fields are errors, strings are stripped.

    A subclass may define ``check_fields()`` for rules across fields (which fields were sent,
    which go together); ``parse_body`` calls it and it raises ``ValidationError(field=...)``.
    """

    model_config = pydantic.ConfigDict(extra="forbid", str_strip_whitespace=True,
                                      use_attribute_docstrings=True)


class OutModel(pydantic.BaseModel):
    """Base for response shapes (documented in the OpenAPI document, checked in tests)."""

    model_config = pydantic.ConfigDict(extra="forbid", use_attribute_docstrings=True)


# --- field types shared by request models ------------------------------------------------

#: A database id: a JSON integer (never "12"), 1 .. 2^31-1.
Id = Annotated[int, pydantic.Field(strict=True, ge=1, le=MAX_ID)]
#: The optimistic-lock version the client read.
Version = Annotated[int, pydantic.Field(strict=True, ge=1, le=MAX_ID)]
#: A page number and size in query strings (strings there, so not strict).
PageNumber = Annotated[int, pydantic.Field(ge=1, le=100_000)]


def text(max_length: int, *, min_length: int = 1) -> Any:
    """A JSON string (stripped) of ``min_length`` .. ``max_length`` characters."""
    return Annotated[str, pydantic.Field(strict=True, min_length=min_length,
                                         max_length=max_length)]


# --- response shapes shared by several domains ----------------------------------------------

class UserRef(OutModel):
    id: int
    name: str


class GroupRef(OutModel):
    id: int
    name: str
    tier: int


class ErrorDetail(OutModel):
    code: str
    message: str
    fields: dict[str, str]
    """Field name (dotted path for nested fields) -> what is wrong with it."""


class ErrorEnvelope(OutModel):
    """The one error shape of the API."""

    error: ErrorDetail


def user_ref(user: User | None) -> UserRef | None:
    return None if user is None else UserRef(id=user.id, name=user.name)


def group_ref(group) -> GroupRef | None:
    return None if group is None else GroupRef(id=group.id, name=group.name, tier=group.tier)


def page_envelope(items: list[dict], page) -> dict:
    return {"items": items, "page": page.page, "per_page": page.per_page, "total": page.total,
            "pages": page.pages}


# --- the path table: what each route promises, declared next to it --------------------------

@dataclass(frozen=True)
class Operation:
    """What the OpenAPI document says about one view (one method of one rule)."""

    summary: str
    description: str = ""
    #: JSON request body model (validation mode), if the view takes one.
    body: type[pydantic.BaseModel] | None = None
    #: Query-string model; its fields become query parameters.
    query: type[pydantic.BaseModel] | None = None
    #: Success response model (serialization mode); None: the response is described by
    #: ``response_description`` alone.
    response: type[pydantic.BaseModel] | None = None
    response_description: str = ""
    status: int = 200
    #: Error statuses beyond the automatic ones (401 when authenticated; 400/413/415/422 with
    #: a body; 422 with a query; 404 with an id in the path).
    errors: tuple[int, ...] = ()
    #: Who may call it, in words, shown in the document and on /api/docs.
    roles: str = "any signed-in user"
    #: False for views that need no authentication.
    authenticated: bool = True
    tag: Literal["tickets", "accounts", "catalog", "sla", "escalation", "notifications",
                 "knowledge", "reports", "meta"] | None = None


def documented(summary: str, **kwargs: Any) -> Callable[[Callable], Callable]:
    """Attach an :class:`Operation` to a view; openapi.py reads it through ``app.url_map``."""
    operation = Operation(summary=summary, **kwargs)

    def decorator(view: Callable) -> Callable:
        view.api_operation = operation  # type: ignore[attr-defined]
        return view

    return decorator
