"""The OpenAPI document stays true: every /api/v1 route documented, schemas = pydantic's."""
from __future__ import annotations

import re
from datetime import date

import pytest
from markupsafe import escape

from servicedesk.accounts.services import issue_token
from servicedesk.web.api import API_PREFIX, ErrorEnvelope, Operation
from servicedesk.web.openapi import REF_TEMPLATE

IGNORED = {"HEAD", "OPTIONS"}


def api_rules(app):
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(API_PREFIX + "/"):
            yield rule


def to_openapi(rule: str) -> str:
    return re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule)


def operations(app) -> list[tuple[str, str, Operation]]:
    """(openapi path, method, Operation) for every documented route."""
    found = []
    for rule in api_rules(app):
        op = getattr(app.view_functions[rule.endpoint], "api_operation", None)
        for method in rule.methods - IGNORED:
            found.append((to_openapi(rule.rule), method.lower(), op))
    return found


@pytest.fixture
def headers(db, make, clock):
    _, secret = issue_token(db, make.admin(), name="docs", now=clock.now())
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def doc(client, headers):
    resp = client.get(f"{API_PREFIX}/openapi.json", headers=headers)
    assert resp.status_code == 200
    return resp.get_json()


def test_document_is_openapi_3_1(doc):
    assert doc["openapi"].startswith("3.1.")
    assert doc["info"]["title"] and doc["info"]["version"]
    assert set(doc["components"]["securitySchemes"]) == {"bearerToken", "sessionCookie"}


def test_every_api_route_and_method_is_documented(app, doc):
    routes = {(path, method) for path, method, _ in operations(app)}
    documented = {(path, method) for path, methods in doc["paths"].items() for method in methods}
    assert len(routes) >= 20
    assert routes - documented == set(), "routes missing from the OpenAPI document"
    assert documented - routes == set(), "documented operations without a route"
    for path, method, op in operations(app):
        assert op is not None, f"{method.upper()} {path} has no @documented"


def test_documented_schemas_are_the_pydantic_schemas(app, doc):
    components = doc["components"]["schemas"]

    def check(model, mode):
        schema = model.model_json_schema(mode=mode, ref_template=REF_TEMPLATE)
        defs = schema.pop("$defs", {})
        assert components[model.__name__] == schema, model.__name__
        for name, sub in defs.items():
            assert components[name] == sub, name
        return {"$ref": REF_TEMPLATE.format(model=model.__name__)}

    check(ErrorEnvelope, "serialization")
    for path, method, op in operations(app):
        entry = doc["paths"][path][method]
        if op.body is not None:
            assert entry["requestBody"]["content"]["application/json"]["schema"] == \
                check(op.body, "validation")
        else:
            assert "requestBody" not in entry
        success = entry["responses"][str(op.status)]
        if op.response is not None:
            assert success["content"]["application/json"]["schema"] == \
                check(op.response, "serialization")
        if op.query is not None:
            schema = op.query.model_json_schema(ref_template=REF_TEMPLATE)
            params = {p["name"]: p for p in entry["parameters"] if p["in"] == "query"}
            assert set(params) == set(schema["properties"])
            for name, prop in schema["properties"].items():
                assert params[name]["schema"] == prop
                assert params[name]["required"] == (name in schema.get("required", ()))


def test_path_parameters_and_error_responses(doc):
    envelope = {"$ref": REF_TEMPLATE.format(model="ErrorEnvelope")}
    for path, methods in doc["paths"].items():
        names = re.findall(r"{(\w+)}", path)
        for method, entry in methods.items():
            in_path = [p["name"] for p in entry.get("parameters", []) if p["in"] == "path"]
            assert in_path == names, (method, path)
            responses = entry["responses"]
            assert any(code.startswith("2") for code in responses)
            assert "401" in responses  # every operation is authenticated
            if names:
                assert "404" in responses
            if "requestBody" in entry:
                assert {"400", "413", "415", "422"} <= set(responses)
            for code, response in responses.items():
                if not code.startswith("2"):
                    assert response["content"]["application/json"]["schema"] == envelope


def test_every_ref_resolves(doc):
    refs = set(re.findall(r'"\$ref": "([^"]+)"', str(doc).replace("'", '"')))
    assert refs
    for ref in refs:
        assert ref.startswith("#/components/schemas/")
        assert ref.rsplit("/", 1)[-1] in doc["components"]["schemas"], ref


def test_field_docs_reach_the_document(doc):
    create = doc["components"]["schemas"]["TicketCreate"]
    assert "token clients" in create["properties"]["channel"]["description"]
    assert create["properties"]["title"]["maxLength"] == 200
    assert create["additionalProperties"] is False
    assert set(create["required"]) == {"title", "description", "impact", "urgency"}


def test_get_responses_match_their_documented_models(app, client, make, headers, db, clock):
    """Call every documented GET and validate the JSON against the model the document names
    (reports as a manager: they are the managers' alone)."""
    _, secret = issue_token(db, make.manager(), name="docs", now=clock.now())
    manager = {"Authorization": f"Bearer {secret}"}
    ticket = make.ticket()
    ids = {"{ticket_id}": ticket.id, "{calendar_id}": make.calendar(holidays=[date(2026, 12, 25)]).id,
           "{policy_id}": make.policy().id,
           "{article_id}": make.article(publish=True).id, "{problem_id}": make.problem().id,
           "{engagement_id}": make.engagement(ticket, make.vendor()).id}
    seen = 0
    for path, method, op in operations(app):
        if method != "get" or op.response is None:
            continue
        url = path
        for placeholder, value in ids.items():
            url = url.replace(placeholder, str(value))
        resp = client.get(url, headers=manager if "/reports/" in url else headers)
        assert resp.status_code == op.status, (url, resp.get_json())
        op.response.model_validate(resp.get_json())
        seen += 1
    assert seen >= 9


def test_error_responses_match_the_envelope(client, headers):
    resp = client.get(f"{API_PREFIX}/tickets/424242", headers=headers)
    assert resp.status_code == 404
    ErrorEnvelope.model_validate(resp.get_json())


def test_document_needs_authentication(client):
    resp = client.get(f"{API_PREFIX}/openapi.json")
    assert resp.status_code == 401 and resp.get_json()["error"]["code"] == "unauthorized"


def test_docs_page_lists_every_endpoint(client, db, make, login_as, doc):
    user = make.requester()
    db.commit()  # login_as's request context would roll back uncommitted setup
    login_as(user)
    resp = client.get("/api/docs")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    for path, methods in doc["paths"].items():
        for method, entry in methods.items():
            assert f'id="{entry["operationId"]}"' in html
            assert f"<code>{path}</code>" in html
            assert str(escape(entry["summary"])) in html  # escaped like any text
    assert 'id="schema-TicketCreate"' in html and "token clients" in html
    assert "cdn" not in html.lower() and "swagger" not in html.lower()


def test_docs_page_needs_login(client):
    resp = client.get("/api/docs")
    assert resp.status_code in (302, 401)
    if resp.status_code == 302:
        assert "/login" in resp.headers["Location"]
