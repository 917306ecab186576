"""The bell's unread count and the /notifications page: list, open, mark one or all read."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from servicedesk.accounts.models import Role
from servicedesk.notifications.models import Notification
from servicedesk.notifications.services import notify


@pytest.fixture
def login_as(login_as, db):
    def _login(user):
        db.commit()
        return login_as(user)

    return _login


def html(resp) -> str:
    return resp.get_data(as_text=True)


def notices(db, make, clock, user, n=3, ticket=None):
    return [notify(db, [user], kind="sla_warning", title=f"INC notice {i} <b>bold</b>",
                   body=f"Body {i}", now=clock.now(), ticket=ticket, email=False)[0]
            for i in range(n)]


def unread(db, user) -> int:
    return db.scalar(sa.select(sa.func.count()).select_from(Notification).where(
        Notification.user_id == user.id, Notification.read_at.is_(None)))


@pytest.mark.parametrize("role", [r.value for r in Role])
def test_every_signed_in_role_has_a_bell_with_its_unread_count(db, make, clock, login_as, role):
    user = make.user(Role(role))
    notices(db, make, clock, user, n=2)
    other = make.agent()
    notices(db, make, clock, other, n=5)
    page = html(login_as(user).get("/notifications"))
    assert 'aria-label="Notifications: 2 unread"' in page
    assert "data-unread-count>2<" in page


def test_no_badge_without_unread_notices(make, login_as):
    page = html(login_as(make.agent()).get("/queue"))
    assert 'aria-label="Notifications: 0 unread"' in page and "data-unread-count" not in page


def test_page_lists_only_my_notices_escaped_newest_first(db, make, clock, login_as):
    user = make.expert()
    mine = notices(db, make, clock, user)
    theirs = notices(db, make, clock, make.expert(), n=1)
    page = html(login_as(user).get("/notifications"))
    assert page.index(f'id="notification-{mine[2].id}"') < page.index(
        f'id="notification-{mine[0].id}"')
    assert f'id="notification-{theirs[0].id}"' not in page
    assert "&lt;b&gt;bold&lt;/b&gt;" in page and "<b>bold</b>" not in page


def test_mark_one_read(db, make, clock, login_as):
    user = make.agent()
    first, second, _ = notices(db, make, clock, user)
    resp = login_as(user).post(f"/notifications/{first.id}/read")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/notifications")
    db.refresh(first)
    db.refresh(second)
    assert first.read_at == clock.now() and second.read_at is None
    assert unread(db, user) == 2


def test_opening_a_notice_marks_it_read_and_goes_to_the_ticket(db, make, clock, login_as):
    user = make.agent()
    ticket = make.ticket()
    notice = notices(db, make, clock, user, n=1, ticket=ticket)[0]
    resp = login_as(user).post(f"/notifications/{notice.id}/read", data={"open": "1"})
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/tickets/{ticket.id}")
    assert unread(db, user) == 0


def test_requesters_are_sent_to_the_portal(db, make, clock, login_as):
    user = make.requester()
    ticket = make.ticket(requester=user)
    notice = notices(db, make, clock, user, n=1, ticket=ticket)[0]
    resp = login_as(user).post(f"/notifications/{notice.id}/read", data={"open": "1"})
    assert resp.headers["Location"].endswith(f"/portal/tickets/{ticket.id}")


def test_mark_all_read_touches_only_mine(db, make, clock, login_as):
    user, other = make.agent(), make.agent()
    notices(db, make, clock, user)
    notices(db, make, clock, other, n=2)
    resp = login_as(user).post("/notifications/read-all")
    assert resp.status_code == 302
    assert unread(db, user) == 0 and unread(db, other) == 2


def test_someone_elses_notice_is_404_and_stays_unread(db, make, clock, login_as):
    theirs = notices(db, make, clock, make.agent(), n=1)[0]
    assert login_as(make.agent()).post(f"/notifications/{theirs.id}/read").status_code == 404
    db.refresh(theirs)
    assert theirs.read_at is None


def test_unread_filter(db, make, clock, login_as):
    user = make.agent()
    first, second, _ = notices(db, make, clock, user)
    first.read_at = clock.now()
    page = html(login_as(user).get("/notifications?unread=1"))
    assert f'id="notification-{first.id}"' not in page
    assert f'id="notification-{second.id}"' in page


@pytest.mark.parametrize("method,url", [("get", "/notifications"),
                                        ("post", "/notifications/1/read"),
                                        ("post", "/notifications/read-all")])
def test_needs_login(client, method, url):
    resp = getattr(client, method)(url)
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
