"""/api/v1/services, /categories, /groups, /priority-matrix."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from servicedesk.accounts.models import Role
from servicedesk.accounts.services import issue_token
from servicedesk.catalog.api import CategoryList, GroupList, MatrixOut, ServiceList
from servicedesk.catalog.models import PriorityRule
from servicedesk.tickets.priority import DEFAULT_MATRIX

API = "/api/v1"


@pytest.fixture
def auth(db, clock):
    def _auth(user):
        _, secret = issue_token(db, user, name="tests", now=clock.now())
        return {"Authorization": f"Bearer {secret}"}

    return _auth


def rules(db) -> list[tuple]:
    return db.execute(sa.select(PriorityRule.impact, PriorityRule.urgency, PriorityRule.priority)
                      .order_by(PriorityRule.impact, PriorityRule.urgency)).all()


def full_matrix(**changes) -> list[dict]:
    """All nine cells from the default matrix, with ``cell_<impact>_<urgency>=p`` changes."""
    return [{"impact": i, "urgency": u,
             "priority": changes.get(f"cell_{i}_{u}", DEFAULT_MATRIX[(i, u)])}
            for i in (1, 2, 3) for u in (1, 2, 3)]


def test_services_lists_active_ones_by_name(client, make, auth, db):
    experts = make.group(name="Terminal systems", tier=2)
    make.service(name="T2 catering", criticality=2, expert_group=experts)
    make.service(name="Radar", criticality=1)
    retired = make.service(name="Old fax gateway")
    retired.is_active = False
    db.flush()
    resp = client.get(f"{API}/services", headers=auth(make.requester()))
    assert resp.status_code == 200
    items = ServiceList.model_validate(resp.get_json()).items
    assert [s.name for s in items] == ["Radar", "T2 catering"]
    assert items[1].expert_group.name == "Terminal systems" and items[1].criticality == 2


def test_categories(client, make, auth):
    make.category(name="Network")
    make.category(name="Hardware")
    resp = client.get(f"{API}/categories", headers=auth(make.vendor_user()))
    assert resp.status_code == 200
    names = [c.name for c in CategoryList.model_validate(resp.get_json()).items]
    assert names == ["Hardware", "Network"]


def test_groups_show_members_to_staff_only(client, make, auth):
    dispatcher = make.expert(name="Chen Jie")
    member = make.expert(name="Ada Expert")
    make.group(name="Radar team", tier=2, dispatcher=dispatcher, members=[member])
    make.group(name="Service desk", tier=1)
    staff = client.get(f"{API}/groups", headers=auth(make.agent())).get_json()
    groups = GroupList.model_validate(staff).items
    assert [(g.name, g.tier) for g in groups] == [("Service desk", 1), ("Radar team", 2)]
    radar = groups[1]
    assert radar.dispatcher.name == "Chen Jie"
    assert sorted(m.name for m in radar.members) == ["Ada Expert", "Chen Jie"]
    public = client.get(f"{API}/groups", headers=auth(make.requester())).get_json()
    assert all(g["members"] is None for g in public["items"])
    assert "Ada Expert" not in str(public)


def test_get_matrix_defaults(client, make, auth):
    resp = client.get(f"{API}/priority-matrix", headers=auth(make.requester()))
    assert resp.status_code == 200
    cells = MatrixOut.model_validate(resp.get_json()).cells
    assert {(c.impact, c.urgency): c.priority for c in cells} == DEFAULT_MATRIX
    assert len(cells) == 9


@pytest.mark.parametrize("role", [Role.manager, Role.admin])
def test_manager_replaces_matrix_and_new_tickets_follow_it(client, make, auth, role):
    headers = auth(make.user(role))
    resp = client.put(f"{API}/priority-matrix", headers=headers,
                      json={"cells": full_matrix(cell_3_3=3)})
    assert resp.status_code == 200, resp.get_json()
    cells = {(c["impact"], c["urgency"]): c["priority"] for c in resp.get_json()["cells"]}
    assert cells[(3, 3)] == 3 and cells[(1, 1)] == 1
    ticket = client.post(f"{API}/tickets", headers=headers, json={
        "title": "Lounge Wi-Fi slow", "description": "Slow since morning", "impact": 3,
        "urgency": 3}).get_json()
    assert ticket["priority"] == 3


@pytest.mark.parametrize("role", [Role.requester, Role.vendor, Role.agent, Role.expert])
def test_others_cannot_change_the_matrix(client, make, auth, db, role):
    before = rules(db)
    resp = client.put(f"{API}/priority-matrix", headers=auth(make.user(role)),
                      json={"cells": full_matrix(cell_1_1=4)})
    assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "forbidden"
    assert rules(db) == before


@pytest.mark.parametrize("body,field", [
    ({"cells": full_matrix()[:8]}, "cells"),
    ({"cells": full_matrix()[:8] + full_matrix()[:1]}, "cells"),  # a cell twice, one missing
    ({"cells": full_matrix(cell_1_1=5)}, "cells.0.priority"),
    ({"cells": full_matrix(cell_1_1="1")}, "cells.0.priority"),
    ({"cells": [dict(c, impact=4) if i == 0 else c for i, c in enumerate(full_matrix())]},
     "cells.0.impact"),
    ({"cells": full_matrix(), "note": "x"}, "note"),
    ({}, "cells"),
])
def test_bad_matrix_is_422_and_changes_nothing(client, make, auth, db, body, field):
    headers = auth(make.manager())
    before = rules(db)
    resp = client.put(f"{API}/priority-matrix", headers=headers, json=body)
    assert resp.status_code == 422, resp.get_json()
    assert field in resp.get_json()["error"]["fields"]
    db.expire_all()
    assert rules(db) == before
