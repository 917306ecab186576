"""Account administration services (servicedesk/accounts/admin.py)."""
from __future__ import annotations

import pytest

from servicedesk.accounts import admin
from servicedesk.accounts.models import Role
from servicedesk.errors import Conflict, PermissionDenied, ValidationError


@pytest.mark.parametrize("role", [Role.requester, Role.vendor, Role.agent, Role.expert,
                                  Role.manager])
def test_only_admins_manage_accounts(db, make, clock, role):
    actor = make.user(role)
    user, group = make.agent(), make.group()
    with pytest.raises(PermissionDenied):
        admin.create_account(db, actor=actor, email="x@example.com", name="X",
                             role=Role.agent, now=clock.now())
    with pytest.raises(PermissionDenied):
        admin.update_user(db, user, actor=actor, name="Y", role=Role.admin)
    with pytest.raises(PermissionDenied):
        admin.set_active(db, user, actor=actor, active=False)
    with pytest.raises(PermissionDenied):
        admin.update_group(db, group, actor=actor, members=[actor])
    with pytest.raises(PermissionDenied):
        admin.add_vendor(db, actor=actor, name="V")
    assert user.is_active_account and user.role is Role.agent and group.members == []


def test_create_account_with_groups(db, make, clock):
    group = make.group()
    user = admin.create_account(db, actor=make.admin(), email="A@Example.com", name=" Ann ",
                                role=Role.expert, now=clock.now(), password="long enough",
                                groups=[group], phone=" +1 555 ")
    assert (user.email, user.name, user.phone, user.groups) == (
        "a@example.com", "Ann", "+1 555", [group])


def test_requesters_never_join_groups(db, make, clock):
    actor, group = make.admin(), make.group()
    with pytest.raises(ValidationError) as err:
        admin.create_account(db, actor=actor, email="r@example.com", name="R",
                             role=Role.requester, now=clock.now(), groups=[group])
    assert "groups" in err.value.fields
    with pytest.raises(ValidationError) as err:
        admin.update_group(db, group, actor=actor, members=[make.requester()])
    assert "members" in err.value.fields


def test_vendor_is_dropped_for_non_vendor_roles(db, make, clock):
    vendor = make.vendor()
    user = admin.create_account(db, actor=make.admin(), email="e@example.com", name="E",
                                role=Role.expert, now=clock.now(), vendor=vendor)
    assert user.vendor is None
    vendor_user = make.vendor_user(vendor)
    admin.update_user(db, vendor_user, actor=make.admin(), name="V", role=Role.agent,
                      vendor=vendor)
    assert vendor_user.vendor is None and vendor_user.role is Role.agent


def test_update_user_rules(db, make):
    actor = make.admin()
    user = make.agent()
    with pytest.raises(ValidationError, match="vendor"):
        admin.update_user(db, user, actor=actor, name="X", role=Role.vendor)
    with pytest.raises(ValidationError, match="Name is required"):
        admin.update_user(db, user, actor=actor, name="  ", role=Role.agent)
    with pytest.raises(ValidationError, match="Phone is too long"):
        admin.update_user(db, user, actor=actor, name="X", role=Role.agent, phone="9" * 41)
    with pytest.raises(ValidationError, match="yourself"):
        admin.update_user(db, actor, actor=actor, name="Me", role=Role.manager)
    old_hash = user.password_hash
    admin.update_user(db, user, actor=actor, name="New", role=Role.manager,
                      password="brand new password")
    assert user.name == "New" and user.role is Role.manager and user.password_hash != old_hash


def test_set_active_but_never_on_yourself(db, make):
    actor, user = make.admin(), make.agent()
    admin.set_active(db, user, actor=actor, active=False)
    assert not user.is_active_account and not user.is_active
    admin.set_active(db, user, actor=actor, active=True)
    assert user.is_active_account
    with pytest.raises(ValidationError):
        admin.set_active(db, actor, actor=actor, active=False)
    assert actor.is_active_account


def test_update_profile_checks_the_zone(db, make):
    user = make.requester()
    admin.update_profile(db, user, name=" Grace ", timezone="Europe/Oslo")
    assert (user.name, user.timezone) == ("Grace", "Europe/Oslo")
    with pytest.raises(ValidationError) as err:
        admin.update_profile(db, user, name="Grace", timezone="Europe/Atlantis")
    assert "timezone" in err.value.fields and user.timezone == "Europe/Oslo"


def test_update_group_keeps_the_dispatcher_a_member(db, make):
    actor, group = make.admin(), make.group()
    dispatcher, member, manager = make.agent(), make.agent(), make.manager()
    admin.update_group(db, group, actor=actor, members=[member, member],
                       dispatcher=dispatcher, manager=manager, description=" Desk ")
    assert group.members == [member, dispatcher] and group.dispatcher is dispatcher
    assert group.manager is manager and group.description == "Desk"
    with pytest.raises(ValidationError, match="manager"):
        admin.update_group(db, group, actor=actor, members=[], manager=make.agent())
    with pytest.raises(ValidationError, match="dispatcher"):
        admin.update_group(db, group, actor=actor, members=[],
                           dispatcher=make.vendor_user())


def test_add_vendor_refuses_duplicates(db, make):
    actor = make.admin()
    vendor = admin.add_vendor(db, actor=actor, name=" SkyTech ", cost_model="hourly", rate=90)
    assert vendor.name == "SkyTech"
    with pytest.raises(Conflict):
        admin.add_vendor(db, actor=actor, name="SkyTech")


def test_ids_to_rows_name_the_unknown_one(db, make):
    a, b = make.agent(), make.agent()
    assert admin.users_by_ids(db, [b.id, a.id], "members") == [b, a]
    with pytest.raises(ValidationError) as err:
        admin.users_by_ids(db, [a.id, 999999], "members")
    assert "members" in err.value.fields
    with pytest.raises(ValidationError):
        admin.groups_by_ids(db, [999999])


def test_user_tokens_lists_active_first(db, make, clock):
    from servicedesk.accounts.services import issue_token, revoke_token

    user = make.agent()
    old, _ = issue_token(db, user, name="old", now=clock.now())
    clock.advance(minutes=5)
    new, _ = issue_token(db, user, name="new", now=clock.now())
    revoke_token(db, user, new.id, now=clock.now())
    issue_token(db, make.agent(), name="someone else's", now=clock.now())
    assert [t.name for t in admin.user_tokens(db, user)] == ["old", "new"]
