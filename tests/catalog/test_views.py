"""HTTP tests of the catalog admin pages: priority matrix, services, categories."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from servicedesk.accounts.models import Role
from servicedesk.catalog.models import Category, Service
from servicedesk.catalog.services import load_matrix
from servicedesk.tickets.models import Ticket
from servicedesk.tickets.priority import DEFAULT_MATRIX

ROLES = ["requester", "vendor", "agent", "expert", "manager", "admin"]
ALLOWED = {"manager", "admin"}


@pytest.fixture
def login_as(login_as, db):
    """Commit the setup first: ``login_as`` opens a request context whose teardown rolls back
    whatever is still uncommitted."""

    def _login(user):
        db.commit()
        return login_as(user)

    return _login


def html(resp) -> str:
    return resp.get_data(as_text=True)


def matrix_form(matrix):
    return {f"cell_{i}_{u}": str(p) for (i, u), p in matrix.items()}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("url", ["/admin/matrix", "/admin/services", "/admin/categories"])
def test_catalog_admin_is_for_managers_and_admins(make, login_as, db, role, url):
    client = login_as(make.user(Role(role)))
    assert client.get(url).status_code == (200 if role in ALLOWED else 403)
    data = matrix_form({**DEFAULT_MATRIX, (3, 3): 1}) if url.endswith("matrix") \
        else {"name": f"Made by {role}", "criticality": "3", "expert_group_id": ""}
    resp = client.post(url, data=data)
    assert resp.status_code == (302 if role in ALLOWED else 403)
    if role not in ALLOWED:
        assert load_matrix(db)[(3, 3)] == DEFAULT_MATRIX[(3, 3)]
        assert db.scalar(sa.select(Service).where(Service.name.like("Made by%"))) is None


def test_matrix_page_shows_nine_cells(make, login_as):
    page = html(login_as(make.manager()).get("/admin/matrix"))
    assert page.count('<select class="form-select form-select-sm"') == 9


def test_saved_matrix_drives_the_intake_priority(make, login_as, db):
    client = login_as(make.manager())
    new = {**DEFAULT_MATRIX, (3, 3): 2}
    assert client.post("/admin/matrix", data=matrix_form(new)).status_code == 302
    assert load_matrix(db) == new
    agent = make.agent()
    resp = login_as(agent).post("/tickets/new", data={
        "caller_email": "c@example.com", "caller_name": "C", "channel": "phone",
        "impact": "3", "urgency": "3", "title": "Mouse broken", "description": "Left button"})
    assert resp.status_code == 302
    assert db.scalar(sa.select(Ticket).order_by(Ticket.id.desc())).priority == 2


@pytest.mark.parametrize("cell,value", [("cell_1_1", "5"), ("cell_2_3", "x"),
                                        ("cell_3_3", "")])
def test_bad_matrix_values_change_nothing(make, login_as, db, cell, value):
    data = {**matrix_form({**DEFAULT_MATRIX, (1, 2): 1}), cell: value}
    resp = login_as(make.admin()).post("/admin/matrix", data=data)
    assert resp.status_code == 422 and "is-invalid" in html(resp)
    assert load_matrix(db) == DEFAULT_MATRIX


def test_create_service_with_expert_group(make, login_as, db):
    group = make.group(tier=2)
    resp = login_as(make.manager()).post("/admin/services", data={
        "name": "Terminal 2 catering system", "criticality": "2",
        "expert_group_id": str(group.id), "description": "Orders and stock"})
    assert resp.status_code == 302
    service = db.scalar(sa.select(Service).where(Service.name == "Terminal 2 catering system"))
    assert service.criticality == 2 and service.expert_group is group


@pytest.mark.parametrize("data,message", [
    ({"name": "Existing"}, "already exists"),
    ({"name": ""}, "Name is required."),
    ({"criticality": "0"}, "Not a valid choice"),
    ({"expert_group_id": "999999"}, "Not a valid choice"),
])
def test_service_form_errors(make, login_as, db, data, message):
    make.service(name="Existing")
    client = login_as(make.manager())
    before = db.scalar(sa.select(sa.func.count(Service.id)))
    form = {"name": "New", "criticality": "3", "expert_group_id": "", "description": ""}
    form.update(data)
    resp = client.post("/admin/services", data=form)
    assert resp.status_code == 422 and message in html(resp)
    assert db.scalar(sa.select(sa.func.count(Service.id))) == before


def test_create_category_and_duplicate(make, login_as, db):
    client = login_as(make.manager())
    assert client.post("/admin/categories", data={"name": "Network"}).status_code == 302
    assert db.scalar(sa.select(Category).where(Category.name == "Network"))
    resp = client.post("/admin/categories", data={"name": "Network"})
    assert resp.status_code == 422 and "already exists" in html(resp)
    assert "Network" in html(client.get("/admin/categories"))


def test_catalog_names_are_escaped(make, login_as):
    make.service(name="<i>Radar</i>")
    page = html(login_as(make.admin()).get("/admin/services"))
    assert "<i>Radar</i>" not in page and "&lt;i&gt;Radar&lt;/i&gt;" in page
