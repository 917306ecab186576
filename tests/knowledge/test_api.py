"""/api/v1/kb: role matrix, visibility, workflow over HTTP, bad input, synchronous indexing."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from servicedesk.accounts.models import Role
from servicedesk.knowledge.models import Article, ArticleStatus, IndexOutbox, PortalSearch

API = "/api/v1/kb"


@pytest.fixture
def login(db, login_as):
    """``login_as`` after committing the setup (its request context rolls back the rest)."""

    def _login(user):
        db.commit()
        return login_as(user)

    return _login


@pytest.fixture
def as_role(make, login):
    """``as_role("agent")`` logs in a fresh user of that role and returns (client, user)."""

    def _as(role: str):
        user = make.user(Role(role))
        return login(user), user

    return _as


@pytest.fixture
def sync_index(app, kb_dir):
    """Index synchronously after each request (the demo/dev mode)."""
    app.config["KB_SYNC_INDEX"] = True
    yield kb_dir
    app.config["KB_SYNC_INDEX"] = False


def error_fields(resp) -> dict:
    return resp.get_json()["error"]["fields"]


# --- role matrix ------------------------------------------------------------------------------

@pytest.mark.parametrize("role, status", [
    ("requester", 403), ("vendor", 403), ("agent", 201), ("expert", 201), ("manager", 201),
    ("admin", 201),
])
def test_who_may_draft(as_role, role, status):
    client, _ = as_role(role)
    resp = client.post(f"{API}/articles", json={"title": "Reset a frozen kiosk"})
    assert resp.status_code == status, resp.get_json()


@pytest.mark.parametrize("role, draft, internal, public", [
    ("requester", 404, 404, 200), ("vendor", 404, 404, 200), ("agent", 404, 200, 200),
    ("expert", 200, 200, 200), ("manager", 200, 200, 200),
])
def test_who_may_read(make, as_role, role, draft, internal, public):
    articles = [make.article(), make.article(publish=True),
                make.article(publish=True, audience="public")]
    client, _ = as_role(role)
    got = [client.get(f"{API}/articles/{a.id}").status_code for a in articles]
    assert got == [draft, internal, public]
    listed = {item["id"] for item in client.get(f"{API}/articles").get_json()["items"]}
    assert listed == {a.id for a, code in zip(articles, got) if code == 200}


def test_anonymous_gets_401(client):
    assert client.get(f"{API}/search?q=x").status_code == 401


@pytest.mark.parametrize("role, status", [
    ("agent", 404), ("expert", 200), ("manager", 200), ("requester", 404), ("vendor", 404),
])
def test_who_may_publish(make, as_role, role, status):
    article = make.article()
    client, user = as_role(role)
    resp = client.post(f"{API}/articles/{article.id}/publish", json={})
    assert resp.status_code == status
    if status == 200:
        assert resp.get_json()["status"] == "published"


def test_agents_cannot_publish_even_their_own(make, as_role):
    client, agent = as_role("agent")
    article = make.article(author=agent)
    assert client.post(f"{API}/articles/{article.id}/publish", json={}).status_code == 403


def test_full_workflow_over_http(make, login, db):
    author, reviewer = make.expert(), make.manager()
    client = login(author)
    created = client.post(f"{API}/articles", json={
        "title": "Fuel gauge reads zero", "symptoms": "Gauge shows 0",
        "resolution": "Recalibrate", "tags": ["fuel"], "service_ids": [make.service().id]})
    assert created.status_code == 201
    body = created.get_json()
    assert created.headers["Location"].endswith(f"/kb/articles/{body['id']}")
    assert body["can_edit"] and not body["can_publish"]
    url = f"{API}/articles/{body['id']}"
    edited = client.patch(url, json={"version": body["version"], "resolution": "Recalibrate "
                                     "the float sensor", "note": "more precise"})
    assert edited.status_code == 200
    stale = client.patch(url, json={"version": body["version"], "title": "x"})
    assert stale.status_code == 409 and "version" in error_fields(stale)
    assert client.post(url + "/submit", json={}).get_json()["status"] == "in_review"
    assert client.post(url + "/publish", json={}).status_code == 403  # four eyes
    versions = client.get(url + "/versions").get_json()["items"]
    assert [v["number"] for v in versions] == [1, 2] and versions[1]["note"] == "more precise"
    diff = client.get(url + "/diff").get_json()
    assert "+Recalibrate the float sensor" in diff["diff"]
    assert client.get(url + "/diff?old=1&new=7").status_code == 422
    client = login(reviewer)
    published = client.post(url + "/publish", json={})
    assert published.get_json()["reviewer"]["id"] == reviewer.id
    assert client.post(url + "/publish", json={}).status_code == 409
    assert client.post(url + "/retire", json={}).get_json()["status"] == "retired"


def test_bad_input_is_a_clean_4xx(make, as_role):
    client, _ = as_role("expert")
    article = make.article(publish=True)
    cases = [
        ("post", f"{API}/articles", {"title": ""}, 422, "title"),
        ("post", f"{API}/articles", {"title": "t", "audience": "everyone"}, 422, "audience"),
        ("post", f"{API}/articles", {"title": "t", "bogus": 1}, 422, "bogus"),
        ("post", f"{API}/articles", {"title": "t", "service_ids": [999999]}, 422, "service_ids"),
        ("post", f"{API}/articles", {"title": "t", "language": "EN!"}, 422, "language"),
        ("patch", f"{API}/articles/{article.id}", {"title": "x"}, 422, "version"),
        ("put", f"{API}/articles/{article.id}/vote", {"helpful": "yes"}, 422, "helpful"),
        ("post", f"{API}/articles/from-ticket", {"ticket_id": 999999}, 404, None),
        ("post", f"{API}/problems", {"title": "p", "incident_ids": ["1"]}, 422, "incident_ids.0"),
    ]
    for method, url, body, status, field in cases:
        resp = getattr(client, method)(url, json=body)
        assert resp.status_code == status, (url, body, resp.get_json())
        if field:
            assert field in error_fields(resp), (url, error_fields(resp))
    assert client.post(f"{API}/articles", data="{", content_type="application/json"
                       ).status_code == 400
    assert client.get(f"{API}/articles/99999999999").status_code == 404
    assert client.get(f"{API}/search?per_page=0").status_code == 422
    assert client.get(f"{API}/search?q=" + "x" * 300).status_code == 422


@pytest.mark.parametrize("q", ["", "AND OR NOT", "title:", '"unclosed', "(((", "*", "~~~",
                               "打印机 AND (卡纸", "\x00\x01", "services:\"", "a" * 256])
def test_queries_the_engine_rejects_still_answer(as_role, sync_index, q):
    client, _ = as_role("agent")
    resp = client.get(f"{API}/search", query_string={"q": q})
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["state"] == "ok"


# --- search, suggest, portal -----------------------------------------------------------------

def test_search_and_suggest_through_the_sync_index(make, login, db, sync_index):
    expert = make.expert()
    client = login(expert)
    service = make.service(name="Gate printers")
    ids = {}
    for title, resolution, audience in (
            ("Boarding pass printer jams", "Reseat the paper roll", "internal"),
            ("登机牌打印机卡纸", "打开纸盒，取出卡纸", "public"),
            ("Wi-Fi password for passengers", "Read it from the gate screen", "public")):
        resp = client.post(f"{API}/articles", json={"title": title, "resolution": resolution,
                                                    "audience": audience,
                                                    "service_ids": [service.id]})
        ids[title] = resp.get_json()["id"]
    client = login(make.manager())
    for article_id in ids.values():
        assert client.post(f"{API}/articles/{article_id}/publish", json={}).status_code == 200
    assert db.scalar(sa.select(sa.func.count()).select_from(IndexOutbox)) == 0  # applied

    client = login(make.agent())
    found = client.get(f"{API}/search?q=boarding pass printer").get_json()
    assert found["state"] == "ok" and found["items"][0]["id"] == ids["Boarding pass printer jams"]
    assert "<mark>" in found["items"][0]["title_html"]
    assert found["items"][0]["resolution"] == "Reseat the paper roll"
    assert [i["id"] for i in client.get(f"{API}/search?q=卡纸").get_json()["items"]] == \
        [ids["登机牌打印机卡纸"]]
    suggested = client.post(f"{API}/suggest", json={
        "text": "Caller says the boarding pass printr jams at gate 12",
        "service_id": service.id}).get_json()
    assert suggested["items"][0]["id"] == ids["Boarding pass printer jams"]
    short = client.get(f"{API}/suggest", query_string={"text": "打印机卡纸"}).get_json()
    assert short["items"][0]["id"] == ids["登机牌打印机卡纸"]
    assert client.post(f"{API}/suggest", json={"text": "x", "service_id": 999999}
                       ).status_code == 422

    requester = make.requester()
    client = login(requester)
    result = client.get(f"{API}/search?q=printer").get_json()
    assert [i["id"] for i in result["items"]] == [ids["登机牌打印机卡纸"]] or \
        ids["Boarding pass printer jams"] not in [i["id"] for i in result["items"]]
    wifi = client.get(f"{API}/search?q=wifi password").get_json()
    assert [i["id"] for i in wifi["items"]] == [ids["Wi-Fi password for passengers"]]
    search = db.get(PortalSearch, wifi["search_id"])
    assert (search.query, search.results_count, search.requester_id) == (
        "wifi password", 1, requester.id)
    resp = client.post(f"{API}/searches/{search.id}/deflected",
                       json={"article_id": ids["Wi-Fi password for passengers"]})
    assert resp.status_code == 200 and resp.get_json()["is_deflected"]
    internal = client.post(f"{API}/searches/{search.id}/deflected",
                           json={"article_id": ids["Boarding pass printer jams"]})
    assert internal.status_code == 404
    other = login(make.requester())
    assert other.post(f"{API}/searches/{search.id}/deflected",
                      json={"article_id": ids["Wi-Fi password for passengers"]}
                      ).status_code == 404


def test_search_says_rebuilding_when_the_index_is_damaged(make, as_role, sync_index, app):
    from servicedesk.knowledge import indexing

    client, _ = as_role("agent")
    assert client.get(f"{API}/search?q=x").get_json()["state"] == "ok"
    (sync_index / "CURRENT").write_bytes(b"\x00garbage")
    indexing.forget_index(app)
    app.config["KB_SYNC_INDEX"] = False  # nobody applies the rebuild request yet
    resp = client.get(f"{API}/search?q=x")
    assert resp.status_code == 200 and resp.get_json()["state"] == "rebuilding"


# --- tickets, votes, must-read, problems ------------------------------------------------------

def test_resolve_with_article_over_http(make, login, db):
    article = make.article(publish=True)
    agent = make.agent()
    ticket = make.ticket(actor=agent)
    client = login(agent)
    resp = client.post(f"{API}/articles/{article.id}/resolve",
                       json={"ticket_id": ticket.id, "ticket_version": ticket.version})
    assert resp.status_code == 200 and resp.get_json()["is_resolution"]
    db.refresh(ticket)
    assert ticket.status.value == "resolved" and ticket.is_first_contact_resolution
    again = client.post(f"{API}/articles/{article.id}/resolve",
                        json={"ticket_id": ticket.id, "ticket_version": 1})
    assert again.status_code == 409
    requester_client = login(ticket.requester)
    assert requester_client.post(f"{API}/articles/{article.id}/uses",
                                 json={"ticket_id": ticket.id}).status_code == 404


def test_votes_and_must_read_over_http(make, login, db):
    article = make.article(publish=True, is_must_read=True, audience="public")
    agent, manager, requester = make.agent(), make.manager(), make.requester()
    client = login(requester)
    vote = client.put(f"{API}/articles/{article.id}/vote", json={"helpful": True})
    assert vote.get_json()["helpful_count"] == 1
    assert client.get(f"{API}/must-read").get_json()["items"] == []
    assert client.post(f"{API}/articles/{article.id}/acknowledge").status_code == 403
    client = login(agent)
    assert [a["id"] for a in client.get(f"{API}/must-read").get_json()["items"]] == [article.id]
    assert client.get(f"{API}/articles/{article.id}/unacknowledged").status_code == 403
    assert client.post(f"{API}/articles/{article.id}/acknowledge").status_code == 200
    assert client.get(f"{API}/must-read").get_json()["items"] == []
    client = login(manager)
    missing = client.get(f"{API}/articles/{article.id}/unacknowledged").get_json()["items"]
    assert agent.id not in [u["id"] for u in missing]
    assert manager.id in [u["id"] for u in missing]


def test_problems_over_http(make, login, as_role, db):
    service = make.service()
    tickets = [make.ticket(service_id=service.id, title="Belt 4 stops",
                           description="Baggage belt 4 stops") for _ in range(2)]
    client, _ = as_role("agent")
    assert client.get(f"{API}/problems").status_code == 403
    assert client.get(f"{API}/problems/candidates").status_code == 403
    client, _ = as_role("expert")
    candidates = client.get(f"{API}/problems/candidates?window_hours=24").get_json()["items"]
    assert [t["id"] for t in candidates[0]["tickets"]] == [t.id for t in tickets]
    created = client.post(f"{API}/problems", json={
        "title": "Belt 4 stops", "service_id": service.id,
        "incident_ids": [tickets[0].id]})
    assert created.status_code == 201
    problem = created.get_json()
    url = f"{API}/problems/{problem['id']}"
    linked = client.post(url + "/incidents", json={"incident_ids": [tickets[1].id],
                                                   "version": problem["version"]})
    assert [t["id"] for t in linked.get_json()["incidents"]] == [t.id for t in tickets]
    known = client.post(url + "/known-error", json={"root_cause": "Scanner firmware",
                                                    "workaround": "Restart the scanner"})
    body = known.get_json()
    assert body["status"] == "known_error" and body["known_error_article_id"]
    article = db.get(Article, body["known_error_article_id"])
    assert article.status is ArticleStatus.published
    assert client.post(url + "/resolve", json={}).get_json()["status"] == "resolved"
    assert client.get(f"{API}/problems/999999").status_code == 404


def test_problem_list_pages(make, as_role, db, clock):
    from servicedesk.knowledge import problems
    from servicedesk.knowledge.models import ProblemStatus

    expert = make.expert()
    created = [problems.create_problem(db, actor=expert, now=clock.now(), title=f"Problem {i}")
               for i in range(5)]
    created[0].status = ProblemStatus.resolved
    client, _ = as_role("expert")
    first = client.get(f"{API}/problems?per_page=2").get_json()
    assert [p["id"] for p in first["items"]] == [created[4].id, created[3].id]
    assert (first["page"], first["per_page"], first["total"], first["pages"]) == (1, 2, 5, 3)
    last = client.get(f"{API}/problems?per_page=2&page=3").get_json()
    assert [p["id"] for p in last["items"]] == [created[0].id]
    resolved = client.get(f"{API}/problems?status=resolved").get_json()
    assert [p["id"] for p in resolved["items"]] == [created[0].id] and resolved["total"] == 1
    bad = client.get(f"{API}/problems?per_page=0")
    assert bad.status_code == 422 and "per_page" in error_fields(bad)


def test_api_article_get_counts_a_view(make, as_role, db):
    article = make.article(publish=True)
    client, _ = as_role("agent")
    assert client.get(f"{API}/articles/{article.id}").get_json()["view_count"] == 1
    assert client.get(f"{API}/articles/{article.id}").get_json()["view_count"] == 2
    db.refresh(article)
    assert article.view_count == 2
    assert client.get(f"{API}/articles/999999").status_code == 404
