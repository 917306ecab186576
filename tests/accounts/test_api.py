"""/api/v1/me, /tokens, /users, and how API requests authenticate (token or session + CSRF)."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from servicedesk import create_app
from servicedesk.accounts.api import MeOut, TokenCreated, TokenList, TokenOut, UserPage
from servicedesk.accounts.models import ApiToken, Role, User
from servicedesk.accounts.services import create_user, issue_token
from servicedesk.clock import FrozenClock
from servicedesk import config as sd_config
from servicedesk.extensions import db as _db
from servicedesk.tickets.models import Ticket

API = "/api/v1"


@pytest.fixture
def token(db, clock):
    """``token(user)`` -> (ApiToken row, secret)."""

    def _token(user, name="integration"):
        return issue_token(db, user, name=name, now=clock.now())

    return _token


def bearer(secret: str) -> dict:
    return {"Authorization": f"Bearer {secret}"}


# --- /me -------------------------------------------------------------------------------------

def test_me_describes_the_token_owner(client, make, token):
    desk = make.group(name="Service desk", tier=1)
    agent = make.agent(name="Wang Fang", groups=[desk])
    _, secret = token(agent)
    resp = client.get(f"{API}/me", headers=bearer(secret))
    assert resp.status_code == 200
    me = MeOut.model_validate(resp.get_json())
    assert me.id == agent.id and me.name == "Wang Fang" and me.role is Role.agent
    assert [g.name for g in me.groups] == ["Service desk"] and me.vendor is None


def test_me_shows_a_vendor_users_vendor(client, make, token):
    vendor = make.vendor(name="Radar Co")
    _, secret = token(make.vendor_user(vendor=vendor))
    data = client.get(f"{API}/me", headers=bearer(secret)).get_json()
    assert data["vendor"] == {"id": vendor.id, "name": "Radar Co"} and data["role"] == "vendor"


# --- token authentication --------------------------------------------------------------------

def test_valid_token_authenticates_and_records_use(client, make, token, clock, db):
    row, secret = token(make.requester())
    assert row.last_used_at is None
    clock.advance(minutes=5)
    assert client.get(f"{API}/me", headers=bearer(secret)).status_code == 200
    db.expire_all()
    assert db.get(ApiToken, row.id).last_used_at == clock.now()


def test_token_use_is_recorded_even_when_the_request_fails(client, make, token, clock, db):
    row, secret = token(make.agent())
    clock.advance(minutes=5)
    resp = client.post(f"{API}/tickets", json={"title": 1}, headers=bearer(secret))
    assert resp.status_code == 422
    db.expire_all()
    assert db.get(ApiToken, row.id).last_used_at == clock.now()


def test_token_use_is_written_at_most_once_a_minute(client, make, token, clock, db):
    row, secret = token(make.agent())
    client.get(f"{API}/me", headers=bearer(secret))
    first = clock.now()
    clock.advance(seconds=30)
    client.get(f"{API}/me", headers=bearer(secret))
    db.expire_all()
    assert db.get(ApiToken, row.id).last_used_at == first


@pytest.mark.parametrize("header", [
    "Bearer sdt_not-a-real-token",
    "Bearer garbage",
    "Bearer ",
    "Bearer",
    "Basic dXNlcjpwYXNz",
    "Token {secret}",
    "{secret}",
])
def test_bad_or_foreign_authorization_is_401(client, make, token, header):
    _, secret = token(make.agent())
    resp = client.get(f"{API}/tickets", headers={"Authorization": header.format(secret=secret)})
    assert resp.status_code == 401
    assert resp.get_json()["error"]["code"] == "unauthorized"


def test_no_credentials_is_401_on_every_api_route(client, app):
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(API + "/"):
            continue
        url = re.sub(r"<[^>]+>", "1", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            resp = client.open(url, method=method, json={})
            assert resp.status_code == 401, (method, url)
            assert resp.get_json()["error"]["code"] == "unauthorized"


def test_revoked_token_is_401_and_cannot_write(client, make, token, db):
    agent = make.agent()
    row, secret = token(agent)
    assert client.get(f"{API}/me", headers=bearer(secret)).status_code == 200
    revoked = client.delete(f"{API}/tokens/{row.id}", headers=bearer(secret))
    assert revoked.status_code == 200 and revoked.get_json()["revoked_at"]
    before = db.scalar(sa.select(sa.func.count(Ticket.id)))
    resp = client.post(f"{API}/tickets", headers=bearer(secret), json={
        "title": "x", "description": "y", "impact": 1, "urgency": 1})
    assert resp.status_code == 401
    assert db.scalar(sa.select(sa.func.count(Ticket.id))) == before


def test_token_of_deactivated_user_is_401(client, make, token, db):
    user = make.agent()
    _, secret = token(user)
    user.is_active_account = False
    db.flush()
    assert client.get(f"{API}/me", headers=bearer(secret)).status_code == 401


# --- /tokens ---------------------------------------------------------------------------------

def test_create_list_and_revoke_tokens(client, make, token, db):
    user = make.agent()
    _, secret = token(user, name="bootstrap")
    created = client.post(f"{API}/tokens", json={"name": "Zabbix at T2"}, headers=bearer(secret))
    assert created.status_code == 201
    body = TokenCreated.model_validate(created.get_json())
    assert body.secret.startswith("sdt_") and body.token.prefix == body.secret[:12]
    stored = db.get(ApiToken, body.token.id)
    assert body.secret not in (stored.token_hash, stored.prefix)  # only a hash is kept
    # The new secret works, and is never shown again.
    listed = client.get(f"{API}/tokens", headers=bearer(body.secret))
    assert listed.status_code == 200
    tokens = TokenList.model_validate(listed.get_json())
    assert [t.name for t in tokens.items] == ["Zabbix at T2", "bootstrap"]
    assert body.secret not in listed.get_data(as_text=True)
    revoke = client.delete(f"{API}/tokens/{body.token.id}", headers=bearer(secret))
    assert revoke.status_code == 200
    assert TokenOut.model_validate(revoke.get_json()).revoked_at is not None
    assert client.get(f"{API}/me", headers=bearer(body.secret)).status_code == 401
    assert client.get(f"{API}/me", headers=bearer(secret)).status_code == 200


def test_cannot_see_or_revoke_someone_elses_token(client, make, token, db):
    mine = token(make.agent())[1]
    other_row, other_secret = token(make.agent())
    assert other_row.id not in [t["id"] for t in client.get(
        f"{API}/tokens", headers=bearer(mine)).get_json()["items"]]
    resp = client.delete(f"{API}/tokens/{other_row.id}", headers=bearer(mine))
    assert resp.status_code == 404 and resp.get_json()["error"]["code"] == "not_found"
    assert client.get(f"{API}/me", headers=bearer(other_secret)).status_code == 200
    # An admin may revoke it (e.g. a leaked integration token).
    admin = token(make.admin())[1]
    assert client.delete(f"{API}/tokens/{other_row.id}", headers=bearer(admin)).status_code == 200
    assert client.get(f"{API}/me", headers=bearer(other_secret)).status_code == 401


@pytest.mark.parametrize("body,field", [
    ({}, "name"), ({"name": ""}, "name"), ({"name": "x" * 81}, "name"), ({"name": 5}, "name"),
    ({"name": "ok", "scope": "all"}, "scope"),
])
def test_token_name_is_validated(client, make, token, db, body, field):
    _, secret = token(make.agent())
    before = db.scalar(sa.select(sa.func.count(ApiToken.id)))
    resp = client.post(f"{API}/tokens", json=body, headers=bearer(secret))
    assert resp.status_code == 422 and field in resp.get_json()["error"]["fields"]
    assert db.scalar(sa.select(sa.func.count(ApiToken.id))) == before


def test_unknown_token_id_is_404(client, make, token):
    _, secret = token(make.agent())
    assert client.delete(f"{API}/tokens/999999", headers=bearer(secret)).status_code == 404


# --- /users ----------------------------------------------------------------------------------

def test_staff_find_callers_by_name_email_or_phone(client, make, token, db):
    caller = make.requester(name="Zhang Wei", email="zhang.wei@airline.example")
    caller.phone = "+86 10 5555 0199"
    make.requester(name="Someone Else")
    gone = make.requester(name="Zhang Left")
    gone.is_active_account = False
    db.flush()
    _, secret = token(make.agent())

    def found(query):
        resp = client.get(f"{API}/users?{query}", headers=bearer(secret))
        assert resp.status_code == 200, resp.get_json()
        UserPage.model_validate(resp.get_json())
        return [u["id"] for u in resp.get_json()["items"]]

    assert found("q=zhang") == [caller.id]  # inactive users are not offered
    assert found("q=AIRLINE.example") == [caller.id]
    assert found("q=5555 0199") == [caller.id]
    assert found("q=%25") == []  # LIKE wildcards are literal
    assert caller.id in found("role=requester&per_page=50")
    page = client.get(f"{API}/users?per_page=1", headers=bearer(secret)).get_json()
    assert len(page["items"]) == 1 and page["total"] >= 3


@pytest.mark.parametrize("role", [Role.requester, Role.vendor])
def test_non_staff_cannot_search_users(client, make, token, role):
    _, secret = token(make.user(role))
    resp = client.get(f"{API}/users?q=a", headers=bearer(secret))
    assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "forbidden"


@pytest.mark.parametrize("query,field", [
    ("per_page=51", "per_page"), ("role=pilot", "role"), ("q=" + "x" * 101, "q"),
    ("page=0", "page"),
])
def test_bad_user_query_is_422(client, make, token, query, field):
    _, secret = token(make.agent())
    resp = client.get(f"{API}/users?{query}", headers=bearer(secret))
    assert resp.status_code == 422 and field in resp.get_json()["error"]["fields"]


# --- session authentication with CSRF enabled (a second app with its own database) -----------

@pytest.fixture(scope="module")
def csrf_app(tmp_path_factory):
    """An app like production: CSRF on. Its own SQLite file, so it never touches the shared
    test database (whatever TEST_DATABASE_URL says)."""
    path = tmp_path_factory.mktemp("csrf") / "csrf.db"
    config = type("CsrfTestingConfig", (sd_config.TestingConfig,), {
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}", "WTF_CSRF_ENABLED": True})
    app = create_app(config, clock=FrozenClock())
    app.config.update(WTF_CSRF_ENABLED=True)
    with app.app_context():
        _db.create_all()
        now = app.extensions["clock"].now()
        user = create_user(_db.session, email="desk@example.com", name="Desk Agent",
                           role=Role.agent, now=now)
        _, secret = issue_token(_db.session, user, name="monitoring", now=now)
        _db.session.commit()
        app.config["_TEST_USER_ID"] = user.id
        app.config["_TEST_TOKEN"] = secret
        _db.session.remove()
    yield app
    with app.app_context():
        _db.session.remove()
        _db.engine.dispose()


@pytest.fixture
def csrf_client(csrf_app):
    client = csrf_app.test_client()
    with client.session_transaction() as sess:
        sess["_user_id"] = str(csrf_app.config["_TEST_USER_ID"])
        sess["_fresh"] = True
    return client


def _csrf_token(client) -> str:
    page = client.get("/api/docs")
    assert page.status_code == 200
    return re.search(r'<meta name="csrf-token" content="([^"]+)"', page.get_data(as_text=True))[1]


def _count_tickets(app) -> int:
    with app.app_context():
        try:
            return _db.session.scalar(sa.select(sa.func.count(Ticket.id)))
        finally:
            _db.session.remove()


TICKET = {"title": "Baggage belt 4 stopped", "description": "Belt motor tripped.",
          "impact": 2, "urgency": 1}


def test_session_reads_need_no_csrf_token(csrf_client):
    resp = csrf_client.get(f"{API}/me")
    assert resp.status_code == 200 and resp.get_json()["name"] == "Desk Agent"


def test_session_write_without_csrf_header_is_refused(csrf_app, csrf_client):
    before = _count_tickets(csrf_app)
    resp = csrf_client.post(f"{API}/tickets", json=TICKET)
    assert resp.status_code == 400
    error = resp.get_json()["error"]
    assert error["code"] == "bad_request" and "CSRF" in error["message"]
    wrong = csrf_client.post(f"{API}/tickets", json=TICKET, headers={"X-CSRFToken": "forged"})
    assert wrong.status_code == 400
    assert _count_tickets(csrf_app) == before


def test_session_write_with_csrf_header_works(csrf_app, csrf_client):
    before = _count_tickets(csrf_app)
    resp = csrf_client.post(f"{API}/tickets", json=TICKET,
                            headers={"X-CSRFToken": _csrf_token(csrf_client)})
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["channel"] == "web"
    assert _count_tickets(csrf_app) == before + 1


def test_token_writes_need_no_csrf_even_when_enabled(csrf_app):
    client = csrf_app.test_client()
    resp = client.post(f"{API}/tickets", json=dict(TICKET, channel="monitoring"),
                       headers=bearer(csrf_app.config["_TEST_TOKEN"]))
    assert resp.status_code == 201 and resp.get_json()["channel"] == "monitoring"


def test_anonymous_write_is_401_not_a_csrf_error(csrf_app):
    resp = csrf_app.test_client().post(f"{API}/tickets", json=TICKET)
    assert resp.status_code == 401


def test_users_created_in_the_csrf_app_stay_there(csrf_app, db):
    """The second app's writes never reach the shared test database."""
    assert db.scalar(sa.select(User).where(User.email == "desk@example.com")) is None
