"""The OpenAPI 3.1 document of /api/v1 (served at /api/v1/openapi.json) and /api/docs.

The document is assembled, never written by hand: paths come from ``app.url_map`` and the
:class:`~servicedesk.web.api.Operation` each view declares with ``@documented``; schemas are the
pydantic models' own JSON schemas (OpenAPI 3.1 is JSON Schema 2020-12, so they go in as-is).
"""
from __future__ import annotations

import re
from typing import Any

import pydantic
from flask import Blueprint, Flask, current_app, render_template
from flask_login import login_required
from pydantic.json_schema import models_json_schema

from servicedesk.web.api import (
    API_PREFIX, MAX_ID, ErrorEnvelope, Operation, authenticate, documented,
)

bp = Blueprint("openapi", __name__)

REF_TEMPLATE = "#/components/schemas/{model}"
IGNORED_METHODS = frozenset({"HEAD", "OPTIONS"})
_RULE_ARG = re.compile(r"<(?:(?P<converter>\w+)(?:\((?P<args>[^)]*)\))?:)?(?P<name>\w+)>")

ERROR_DESCRIPTIONS = {
    400: "Malformed JSON, a body that is not an object, or a failed CSRF check",
    401: "No, invalid or revoked API token (and no session)",
    403: "Your role may not do this",
    404: "No such id, or not one you may see",
    409: "Stale version (someone changed it since you read it) or a move the lifecycle forbids",
    413: "Body larger than the server accepts",
    415: "Body is not application/json",
    422: "Invalid field(s): see error.fields",
}


def openapi_path(rule: str) -> tuple[str, list[dict]]:
    """A Werkzeug rule as an OpenAPI path template plus its path parameters."""
    params: list[dict] = []

    def replace(match: re.Match) -> str:
        schema: dict[str, Any] = {"type": "string"}
        if match["converter"] == "int":
            schema = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
        params.append({"name": match["name"], "in": "path", "required": True,
                       "schema": schema})
        return "{" + match["name"] + "}"

    return _RULE_ARG.sub(replace, rule), params


def api_operations(app: Flask) -> list[tuple[str, str, str, Operation | None]]:
    """(rule, method, endpoint, Operation or None) for every /api/v1 route, in path order."""
    found = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(API_PREFIX + "/"):
            continue
        operation = getattr(app.view_functions[rule.endpoint], "api_operation", None)
        for method in sorted((rule.methods or set()) - IGNORED_METHODS):
            found.append((rule.rule, method, rule.endpoint, operation))
    return sorted(found, key=lambda item: (item[0], item[1]))


def schema_models(operations) -> list[tuple[type[pydantic.BaseModel], str]]:
    """Every (model, mode) the document describes: bodies and queries as validated, responses
    as serialised, and the error envelope."""
    pairs: dict[tuple[type[pydantic.BaseModel], str], None] = {(ErrorEnvelope, "serialization"):
                                                               None}
    for *_, op in operations:
        if op is None:
            continue
        for model, mode in ((op.body, "validation"), (op.query, "validation"),
                            (op.response, "serialization")):
            if model is not None:
                pairs[(model, mode)] = None
    return list(pairs)


def build_document(app: Flask) -> dict:
    """The whole OpenAPI 3.1 document for ``app``'s /api/v1 routes."""
    operations = api_operations(app)
    pairs = schema_models(operations)
    key_map, top = models_json_schema(pairs, ref_template=REF_TEMPLATE)
    schemas = top.get("$defs", {})
    refs = {model: key_map[(model, mode)] for model, mode in pairs}
    error_content = {"application/json": {"schema": refs[ErrorEnvelope]}}

    paths: dict[str, dict] = {}
    for rule, method, endpoint, op in operations:
        if op is None:  # undocumented: tests/test_openapi.py fails on it
            continue
        path, path_params = openapi_path(rule)
        entry: dict[str, Any] = {
            "operationId": endpoint.replace(".", "_"),
            "summary": op.summary,
            "description": (op.description + "\n\n" if op.description else "")
            + f"Who: {op.roles}.",
            "x-roles": op.roles,
        }
        if op.tag:
            entry["tags"] = [op.tag]
        parameters = list(path_params)
        if op.query is not None:
            parameters += _query_parameters(op.query, schemas)
        if parameters:
            entry["parameters"] = parameters
        if op.body is not None:
            entry["requestBody"] = {"required": True, "content": {
                "application/json": {"schema": refs[op.body]}}}
        success: dict[str, Any] = {"description": op.response_description or _first_line(
            op.response.__doc__ if op.response is not None else None) or "Success"}
        if op.response is not None:
            success["content"] = {"application/json": {"schema": refs[op.response]}}
        entry["responses"] = {str(op.status): success}
        for status in _error_statuses(op, bool(path_params)):
            entry["responses"][str(status)] = {"description": ERROR_DESCRIPTIONS[status],
                                               "content": error_content}
        if not op.authenticated:
            entry["security"] = []
        paths.setdefault(path, {})[method.lower()] = entry

    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Service desk API",
            "version": "1",
            "description": "Tickets, accounts, the catalog and SLA configuration of the "
                           "service desk. "
                           "Authenticate with 'Authorization: Bearer <token>' (create tokens "
                           "at POST /api/v1/tokens or on your profile) or with the browser "
                           "session, which must send the page's CSRF token in X-CSRFToken on "
                           "writes. Every error is {\"error\": {\"code\", \"message\", "
                           "\"fields\"}}. Times are ISO-8601 UTC with a Z.",
        },
        "servers": [{"url": "/"}],
        "security": [{"bearerToken": []}, {"sessionCookie": []}],
        "tags": [{"name": "tickets"}, {"name": "accounts"}, {"name": "catalog"},
                 {"name": "sla"}, {"name": "escalation"}, {"name": "notifications"},
                 {"name": "knowledge"}, {"name": "reports"}, {"name": "meta"}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearerToken": {"type": "http", "scheme": "bearer",
                                "description": "An API token (sdt_...), see /api/v1/tokens."},
                "sessionCookie": {"type": "apiKey", "in": "cookie",
                                  "name": app.config.get("SESSION_COOKIE_NAME", "session"),
                                  "description": "The web session; writes also need the "
                                                 "X-CSRFToken header."},
            },
        },
    }


def _first_line(text: str | None) -> str:
    return (text or "").strip().split("\n", 1)[0]


def _query_parameters(model: type[pydantic.BaseModel], schemas: dict) -> list[dict]:
    schema = schemas[model.__name__]
    required = set(schema.get("required", ()))
    params = []
    for name, prop in schema["properties"].items():
        param: dict[str, Any] = {"name": name, "in": "query", "required": name in required,
                                 "schema": prop}
        if prop.get("description"):
            param["description"] = prop["description"]
        if prop.get("type") == "array":
            param.update(style="form", explode=True)
        params.append(param)
    return params


def _error_statuses(op: Operation, has_path_id: bool) -> list[int]:
    statuses = set(op.errors)
    if op.authenticated:
        statuses.add(401)
    if op.body is not None:
        statuses |= {400, 413, 415, 422}
    if op.query is not None:
        statuses.add(422)
    if has_path_id:
        statuses.add(404)
    return sorted(statuses)


def document(app: Flask) -> dict:
    """The document, built once per app (routes and models do not change at run time)."""
    if "openapi_document" not in app.extensions:
        app.extensions["openapi_document"] = build_document(app)
    return app.extensions["openapi_document"]


@bp.get(API_PREFIX + "/openapi.json")
@documented("This OpenAPI 3.1 document", response_description="The OpenAPI document",
            tag="meta")
def openapi_json():
    authenticate()
    return document(current_app._get_current_object())


# --- the human page --------------------------------------------------------------------------

def type_label(schema: dict, schemas: dict) -> str:
    """A short human description of a JSON schema: 'integer 1–3', 'list of Status', ...

    ``schemas`` (the components) is accepted for callers that want to resolve names later.
    """
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    if "anyOf" in schema:
        parts = [type_label(s, schemas) for s in schema["anyOf"]]
        return " or ".join(dict.fromkeys(parts))
    if "enum" in schema:
        return " | ".join(str(v) for v in schema["enum"])
    if "const" in schema:
        return repr(schema["const"])
    kind = schema.get("type", "any")
    if kind == "array":
        label = "list of " + type_label(schema.get("items", {}), schemas)
        if "minItems" in schema or "maxItems" in schema:
            label += f" ({schema.get('minItems', 0)}–{schema.get('maxItems', '…')} items)"
        return label
    if kind == "object" and "additionalProperties" in schema \
            and isinstance(schema["additionalProperties"], dict):
        return "map of " + type_label(schema["additionalProperties"], schemas)
    if kind == "string":
        if schema.get("format") == "date-time":
            return "date-time (UTC, Z)"
        if "maxLength" in schema:
            return f"string ({schema.get('minLength', 0)}–{schema['maxLength']} chars)"
    if kind == "integer" and ("minimum" in schema or "maximum" in schema):
        return f"integer {schema.get('minimum', '…')}–{schema.get('maximum', '…')}"
    return str(kind)


def schema_fields(name: str, schemas: dict) -> list[dict]:
    """The fields of a component schema, for a table: name, type, required, description."""
    schema = schemas.get(name, {})
    required = set(schema.get("required", ()))
    return [{"name": field, "type": type_label(prop, schemas), "required": field in required,
             "description": prop.get("description", "")}
            for field, prop in schema.get("properties", {}).items()]


def _ref_name(content: dict | None) -> str | None:
    if not content:
        return None
    ref = content.get("application/json", {}).get("schema", {}).get("$ref")
    return ref.rsplit("/", 1)[-1] if ref else None


def endpoint_table(doc: dict) -> list[dict]:
    """The document's operations flattened for the template: by tag, then path and method."""
    schemas = doc["components"]["schemas"]
    rows = []
    for path, methods in doc["paths"].items():
        for method, op in methods.items():
            body = _ref_name(op.get("requestBody", {}).get("content"))
            responses = []
            for status, response in op["responses"].items():
                responses.append({"status": status, "description": response["description"],
                                  "schema": _ref_name(response.get("content"))})
            rows.append({
                "id": op["operationId"], "method": method.upper(), "path": path,
                "summary": op["summary"], "description": op.get("description", ""),
                "roles": op.get("x-roles", ""), "tag": (op.get("tags") or [""])[0],
                "params": [{"name": p["name"], "in": p["in"], "required": p["required"],
                            "type": type_label(p["schema"], schemas),
                            "description": p.get("description", "")}
                           for p in op.get("parameters", [])],
                "body": body, "body_fields": schema_fields(body, schemas) if body else [],
                "responses": responses,
            })
    tags = [t["name"] for t in doc.get("tags", [])]
    methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]
    return sorted(rows, key=lambda r: (tags.index(r["tag"]) if r["tag"] in tags else len(tags),
                                       r["path"], methods.index(r["method"])
                                       if r["method"] in methods else len(methods)))


@bp.get("/api/docs")
@login_required
def docs():
    doc = document(current_app._get_current_object())
    schemas = doc["components"]["schemas"]
    objects = [{"name": name, "description": schema.get("description", ""),
                "fields": schema_fields(name, schemas)}
               for name, schema in sorted(schemas.items()) if "properties" in schema]
    enums = [{"name": name, "members": schema["enum"]}
             for name, schema in sorted(schemas.items()) if "enum" in schema]
    return render_template("api/docs.html", doc=doc, endpoints=endpoint_table(doc),
                           objects=objects, enums=enums)
