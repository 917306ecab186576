"""Domain errors and how they reach people: a flash on HTML pages, a JSON envelope on the API.

Every error a service raises maps to a 4xx; anything else is a bug and becomes a plain 500
page or envelope without a traceback.
"""
from __future__ import annotations

from flask import Flask, flash, jsonify, redirect, render_template, request
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException


class DomainError(Exception):
    """Base for errors a user can fix; carries an HTTP status and a machine code."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields or {}


class ValidationError(DomainError):
    status = 422
    code = "validation_error"

    def __init__(self, message: str, *, field: str | None = None,
                 fields: dict[str, str] | None = None) -> None:
        fields = dict(fields or {})
        if field:
            fields.setdefault(field, message)
        super().__init__(message, fields=fields)


class PermissionDenied(DomainError):
    status = 403
    code = "forbidden"


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Conflict(DomainError):
    status = 409
    code = "conflict"


class InvalidTransition(DomainError):
    status = 409
    code = "invalid_transition"


def error_envelope(code: str, message: str, fields: dict | None = None) -> dict:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


_HTTP_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
               405: "method_not_allowed", 409: "conflict", 413: "payload_too_large",
               415: "unsupported_media_type", 422: "validation_error",
               429: "too_many_requests"}


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def _domain_error(exc: DomainError):
        from servicedesk.extensions import db

        db.session.rollback()  # a failed operation leaves the database as it was
        if wants_json():
            return jsonify(error_envelope(exc.code, exc.message, exc.fields)), exc.status
        if request.method == "GET":
            return render_template("errors/error.html", status=exc.status, title=exc.code,
                                   message=exc.message), exc.status
        flash(exc.message, "danger")
        return redirect(request.referrer or request.path), 303

    @app.errorhandler(StaleDataError)
    def _stale(exc: StaleDataError):
        # Two writers raced past the version check: the loser gets a 409, nothing is saved.
        return _domain_error(Conflict("Someone else changed this record at the same moment; "
                                      "reload it and try again. Nothing was saved."))

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        status = exc.code or 500
        if wants_json():
            code = _HTTP_CODES.get(status, "error")
            return jsonify(error_envelope(code, exc.description or exc.name)), status
        return render_template("errors/error.html", status=status, title=exc.name,
                               message=exc.description), status

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        from servicedesk.extensions import db

        db.session.rollback()
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        if app.testing and app.config.get("PROPAGATE_TEST_ERRORS", True):
            raise exc
        if wants_json():
            return jsonify(error_envelope("internal_error", "Internal error; it was logged.")), 500
        return render_template("errors/error.html", status=500, title="Internal error",
                               message="Something went wrong; it was logged."), 500
