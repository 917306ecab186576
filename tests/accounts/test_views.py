"""HTTP tests of login/logout, the profile page (API tokens) and the admin pages for users,
groups and vendors."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from servicedesk.accounts.models import ApiToken, Group, Role, User, Vendor
from servicedesk.accounts.services import user_for_token
from tests.factories import PASSWORD

ROLES = ["requester", "vendor", "agent", "expert", "manager", "admin"]


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


def count(db, model) -> int:
    return db.scalar(sa.select(sa.func.count()).select_from(model))


# --- login / logout ----------------------------------------------------------------------

@pytest.mark.parametrize("role,home", [
    ("requester", "/portal/"), ("vendor", "/vendor/tickets"), ("agent", "/queue"),
    ("expert", "/queue"), ("manager", "/queue"), ("admin", "/queue"),
])
def test_login_lands_each_role_on_its_home(make, client, db, role, home):
    user = make.user(Role(role))
    db.commit()
    resp = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert resp.status_code == 302 and resp.headers["Location"] == home
    assert client.get(home).status_code == 200


def test_wrong_password_is_401_with_an_inline_error(make, client, db):
    user = make.agent()
    db.commit()
    resp = client.post("/login", data={"email": user.email, "password": "nope nope"})
    assert resp.status_code == 401 and "Wrong e-mail or password." in html(resp)


@pytest.mark.parametrize("target,expected", [
    ("/tickets/new", "/tickets/new"), ("https://evil.example/", "/queue"),
    ("//evil.example/", "/queue"),
])
def test_login_follows_only_local_next(make, client, db, target, expected):
    user = make.agent()
    db.commit()
    resp = client.post("/login", query_string={"next": target},
                       data={"email": user.email, "password": PASSWORD})
    assert resp.headers["Location"] == expected


def test_logout_ends_the_session(make, login_as):
    client = login_as(make.agent())
    assert client.post("/logout").status_code == 302
    assert client.get("/queue").status_code == 302  # back to the login page


def test_deactivated_user_cannot_log_in(make, client, db):
    user = make.agent()
    user.is_active_account = False
    db.commit()
    resp = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert resp.status_code == 401


def test_navigation_follows_the_role(make, login_as):
    page = html(login_as(make.agent()).get("/queue"))
    assert 'href="/tickets/new"' in page and "Priority matrix" not in page
    page = html(login_as(make.manager()).get("/queue"))
    assert "Priority matrix" in page and 'href="/admin/users"' not in page
    page = html(login_as(make.admin()).get("/queue"))
    assert 'href="/admin/users"' in page and 'href="/admin/groups"' in page
    page = html(login_as(make.requester()).get("/portal/"))
    assert "My tickets" in page and 'href="/queue"' not in page
    assert 'name="csrf-token"' in page


# --- profile and tokens ------------------------------------------------------------------

@pytest.mark.parametrize("role", ROLES)
def test_every_role_has_a_profile(make, login_as, role):
    assert login_as(make.user(Role(role))).get("/profile").status_code == 200


def test_profile_needs_login(client):
    assert client.get("/profile").status_code == 302


def test_profile_saves_name_and_time_zone(make, login_as, db):
    user = make.agent()
    client = login_as(user)
    resp = client.post("/profile", data={"name": "Maya Chen", "timezone": "Asia/Shanghai"})
    assert resp.status_code == 302
    db.refresh(user)
    assert (user.name, user.timezone) == ("Maya Chen", "Asia/Shanghai")
    page = html(client.get("/profile"))
    assert re.search(r'<option selected value="Asia/Shanghai">|value="Asia/Shanghai" selected',
                     page)


@pytest.mark.parametrize("data,message", [
    ({"name": "", "timezone": "UTC"}, "Name is required."),
    ({"name": "Maya", "timezone": "Mars/Olympus"}, "Unknown time zone"),
])
def test_profile_errors_are_inline(make, login_as, db, data, message):
    user = make.agent(name="Before")
    resp = login_as(user).post("/profile", data=data)
    assert resp.status_code == 422 and message in html(resp)
    db.refresh(user)
    assert user.name == "Before" and user.timezone == "UTC"


def test_times_are_shown_in_the_viewers_zone(make, login_as, db):
    user = make.agent()
    user.timezone = "Asia/Shanghai"
    ticket = make.ticket()  # created at the frozen 09:00 UTC
    page = html(login_as(user).get(f"/tickets/{ticket.id}"))
    assert "2026-03-02 17:00 CST" in page


def test_token_secret_is_shown_once_and_works(make, login_as, db, clock):
    user = make.agent()
    client = login_as(user)
    resp = client.post("/profile/tokens", data={"name": "Zabbix T2"})
    assert resp.status_code == 200
    [secret] = re.findall(r'id="new-token-secret" value="(sdt_[^"]+)"', html(resp))
    assert user_for_token(db, secret, now=clock.now()) == user
    token = db.scalar(sa.select(ApiToken).where(ApiToken.user_id == user.id))
    assert token.token_hash != secret and secret.startswith(token.prefix)
    page = html(client.get("/profile"))
    assert secret not in page and token.prefix in page and "Zabbix T2" in page
    assert secret not in str(client.get_cookie("session").value)


def test_token_needs_a_name(make, login_as, db):
    resp = login_as(make.agent()).post("/profile/tokens", data={"name": ""})
    assert resp.status_code == 422 and "Give the token a name." in html(resp)
    assert count(db, ApiToken) == 0


def test_revoke_own_token_but_not_someone_elses(make, login_as, db, clock):
    from servicedesk.accounts.services import issue_token

    user, other = make.agent(), make.agent()
    mine, secret = issue_token(db, user, name="mine", now=clock.now())
    theirs, _ = issue_token(db, other, name="theirs", now=clock.now())
    client = login_as(user)
    assert client.post(f"/profile/tokens/{theirs.id}/revoke").status_code == 404
    assert client.post(f"/profile/tokens/{mine.id}/revoke").status_code == 302
    db.refresh(mine)
    db.refresh(theirs)
    assert mine.is_revoked and not theirs.is_revoked
    assert user_for_token(db, secret, now=clock.now()) is None
    assert "revoked" in html(client.get("/profile"))


# --- admin: users --------------------------------------------------------------------------

@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("url", ["/admin/users", "/admin/groups", "/admin/vendors"])
def test_user_group_vendor_admin_is_admin_only(make, login_as, role, url):
    client = login_as(make.user(Role(role)))
    assert client.get(url).status_code == (200 if role == "admin" else 403)
    assert client.post(url, data={"name": ""}).status_code == (
        403 if role != "admin" else 422)


def test_admin_creates_a_user_with_groups(make, login_as, db):
    group = make.group(name="Airside Systems", tier=2)
    resp = login_as(make.admin()).post("/admin/users", data={
        "email": "Ravi@Example.com", "name": "Ravi Patel", "role": "expert", "phone": "",
        "vendor_id": "", "groups": [str(group.id)], "password": "long enough"})
    assert resp.status_code == 302
    user = db.scalar(sa.select(User).where(User.email == "ravi@example.com"))
    assert user.role is Role.expert and user.groups == [group] and user.password_hash


def test_admin_creates_a_vendor_user(make, login_as, db):
    vendor = make.vendor(name="SkyTech")
    client = login_as(make.admin())
    data = {"email": "sam@skytech.test", "name": "Sam", "role": "vendor", "phone": "",
            "vendor_id": "", "password": ""}
    resp = client.post("/admin/users", data=data)
    assert resp.status_code == 422 and "belongs to a vendor" in html(resp)
    resp = client.post("/admin/users", data={**data, "vendor_id": str(vendor.id)})
    assert resp.status_code == 302
    assert db.scalar(sa.select(User).where(User.email == "sam@skytech.test")).vendor is vendor


@pytest.mark.parametrize("data,field,message", [
    ({"email": "taken@example.com"}, "email", "already exists"),
    ({"email": "nope"}, "email", "valid e-mail"),
    ({"name": ""}, "name", "Name is required."),
    ({"role": "overlord"}, "role", "Not a valid choice"),
    ({"password": "short"}, "password", "at least 8"),
    ({"groups": ["999999"]}, "groups", "is not a valid choice"),
])
def test_user_form_errors_are_inline(make, login_as, db, data, field, message):
    make.agent(email="taken@example.com")
    client = login_as(make.admin())
    users = count(db, User)
    form = {"email": "new@example.com", "name": "New", "role": "agent", "phone": "",
            "vendor_id": "", "password": ""}
    form.update(data)
    resp = client.post("/admin/users", data=form)
    assert resp.status_code == 422
    page = html(resp)
    assert message in page
    assert count(db, User) == users


def test_admin_edits_a_user(make, login_as, db):
    group = make.group()
    user = make.agent(name="Old Name")
    client = login_as(make.admin())
    assert client.get(f"/admin/users/{user.id}").status_code == 200
    resp = client.post(f"/admin/users/{user.id}", data={
        "name": "New Name", "role": "expert", "phone": "+1 555", "vendor_id": "",
        "groups": [str(group.id)], "password": ""})
    assert resp.status_code == 302
    db.refresh(user)
    assert (user.name, user.role, user.phone, user.groups) == (
        "New Name", Role.expert, "+1 555", [group])
    assert client.get("/admin/users/99999999").status_code == 404


def test_admin_cannot_demote_or_deactivate_themselves(make, login_as, db):
    admin = make.admin()
    client = login_as(admin)
    resp = client.post(f"/admin/users/{admin.id}", data={
        "name": admin.name, "role": "agent", "phone": "", "vendor_id": "", "password": ""})
    assert resp.status_code == 422 and "admin role away from yourself" in html(resp)
    resp = client.post(f"/admin/users/{admin.id}/active", data={"active": "0"})
    assert resp.status_code == 422
    db.refresh(admin)
    assert admin.role is Role.admin and admin.is_active_account


def test_admin_deactivates_and_reactivates(make, login_as, db):
    user = make.agent()
    client = login_as(make.admin())
    assert client.post(f"/admin/users/{user.id}/active", data={"active": "0"}).status_code == 302
    db.refresh(user)
    assert not user.is_active_account
    assert "deactivated" in html(client.get("/admin/users"))
    assert client.post(f"/admin/users/{user.id}/active", data={"active": "1"}).status_code == 302
    db.refresh(user)
    assert user.is_active_account


def test_deactivated_user_is_signed_out(make, login_as, db):
    user = make.agent()
    client = login_as(user)
    assert client.get("/queue").status_code == 200
    user.is_active_account = False
    db.commit()
    assert client.get("/queue").status_code == 302


# --- admin: groups and vendors -----------------------------------------------------------

def test_admin_creates_a_group_with_dispatcher_and_members(make, login_as, db):
    dispatcher, expert, manager = make.expert(), make.expert(), make.manager()
    resp = login_as(make.admin()).post("/admin/groups", data={
        "name": "Airside Systems", "tier": "2", "description": "Radar, fuel, lighting",
        "dispatcher_id": str(dispatcher.id), "manager_id": str(manager.id),
        "members": [str(expert.id)]})
    assert resp.status_code == 302
    group = db.scalar(sa.select(Group).where(Group.name == "Airside Systems"))
    assert group.tier == 2 and group.dispatcher is dispatcher and group.manager is manager
    assert set(group.members) == {expert, dispatcher}


@pytest.mark.parametrize("data,message", [
    ({"name": "Existing"}, "already exists"),
    ({"name": ""}, "Name is required."),
    ({"tier": "4"}, "Not a valid choice"),
])
def test_group_form_errors(make, login_as, db, data, message):
    make.group(name="Existing")
    client = login_as(make.admin())
    groups = count(db, Group)
    form = {"name": "New group", "tier": "1", "description": "", "dispatcher_id": "",
            "manager_id": ""}
    form.update(data)
    resp = client.post("/admin/groups", data=form)
    assert resp.status_code == 422 and message in html(resp)
    assert count(db, Group) == groups


def test_requesters_cannot_be_group_members(make, login_as, db):
    requester = make.requester()
    group = make.group()
    client = login_as(make.admin())
    resp = client.post(f"/admin/groups/{group.id}", data={
        "description": "", "dispatcher_id": "", "manager_id": "",
        "members": [str(requester.id)]})
    assert resp.status_code == 422  # not even offered as a choice
    db.refresh(group)
    assert group.members == []


def test_admin_edits_group_members(make, login_as, db):
    group = make.group()
    a, b = make.agent(), make.agent()
    group.members.append(a)
    resp = login_as(make.admin()).post(f"/admin/groups/{group.id}", data={
        "description": "Desk", "dispatcher_id": str(b.id), "manager_id": "",
        "members": [str(b.id)]})
    assert resp.status_code == 302
    db.refresh(group)
    assert group.members == [b] and group.dispatcher is b


def test_admin_registers_a_vendor(make, login_as, db):
    client = login_as(make.admin())
    data = {"name": "Nordic Radar", "contact_email": "ops@nordic.test", "cost_model": "hourly",
            "rate": "120.50", "ola_response_minutes": "30", "ola_fix_minutes": "240"}
    assert client.post("/admin/vendors", data=data).status_code == 302
    vendor = db.scalar(sa.select(Vendor).where(Vendor.name == "Nordic Radar"))
    assert vendor.cost_model == "hourly" and str(vendor.rate) == "120.50"
    vendors = count(db, Vendor)
    resp = client.post("/admin/vendors", data=data)
    assert resp.status_code == 422 and "already exists" in html(resp)
    resp = client.post("/admin/vendors", data={**data, "name": "Other",
                                               "contact_email": "not-an-email"})
    assert resp.status_code == 422 and "valid e-mail" in html(resp)
    assert count(db, Vendor) == vendors
