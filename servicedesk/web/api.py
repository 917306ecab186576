"""JSON API glue shared by every domain's ``api.py``.

- ``api_blueprint(name, import_name)`` makes a blueprint under ``/api/v1`` whose requests are
  authenticated by a bearer token (``Authorization: Bearer sdt_...``) or by the browser session;
  a session-authenticated unsafe request must carry the CSRF token in ``X-CSRFToken``.
- ``parse_body(Model)`` turns the JSON body into a pydantic model, or raises a 4xx envelope
  naming each bad field (unknown fields and oversized text included).
- Errors always have the shape ``{"error": {"code", "message", "fields"}}``.
"""
from __future__ import annotations

from typing import Any, TypeVar

import pydantic
from flask import Blueprint, current_app, g, request
from flask_login import current_user
from flask_wtf.csrf import CSRFError, validate_csrf
from wtforms.validators import ValidationError as WTFValidationError

from servicedesk.accounts.models import User
from servicedesk.accounts.services import user_for_token
from servicedesk.clock import utcnow
from servicedesk.errors import DomainError, ValidationError
from servicedesk.extensions import csrf, db

API_PREFIX = "/api/v1"
M = TypeVar("M", bound=pydantic.BaseModel)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


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
    bp.before_request(_authenticate)
    return bp


def _authenticate() -> None:
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, secret = header.partition(" ")
        user = user_for_token(db.session, secret.strip(), now=utcnow()) \
            if scheme.lower() == "bearer" else None
        if user is None:
            raise Unauthorized("Invalid, revoked or malformed API token.")
        db.session.commit()  # keep last_used_at even if the request later fails
        g.api_user = user
        return
    if not current_user.is_authenticated:
        raise Unauthorized("Log in or send an API token (Authorization: Bearer ...).")
    if request.method not in SAFE_METHODS and current_app.config.get("WTF_CSRF_ENABLED", True):
        try:
            validate_csrf(request.headers.get("X-CSRFToken", ""))
        except (CSRFError, WTFValidationError) as exc:
            raise BadRequest(f"CSRF check failed: {exc}; send the page's token in X-CSRFToken.")
    g.api_user = current_user._get_current_object()


def api_user() -> User:
    """The user this API request acts as (token owner or session user)."""
    return g.api_user


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
    """The request's JSON body validated by ``model`` (which should forbid extra fields)."""
    if not request.is_json:
        raise UnsupportedMediaType("Send a JSON body with Content-Type: application/json.")
    data = request.get_json(silent=True)
    if data is None:
        raise BadRequest("Malformed JSON body.")
    if not isinstance(data, dict):
        raise BadRequest("The JSON body must be an object.")
    try:
        return model.model_validate(data)
    except pydantic.ValidationError as exc:
        raise validation_error_from(exc) from None


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
    """Base for request bodies: unknown fields are errors, strings are stripped."""

    model_config = pydantic.ConfigDict(extra="forbid", str_strip_whitespace=True)


def page_envelope(items: list[dict], page) -> dict:
    return {"items": items, "page": page.page, "per_page": page.per_page, "total": page.total,
            "pages": page.pages}
