"""The weekly report: last week's figures to every active manager, exactly once."""
from __future__ import annotations

import sqlalchemy as sa

from servicedesk.notifications.models import OutboundEmail
from servicedesk.reports.models import WeeklyReport
from servicedesk.reports.weekly import last_week, send_weekly_report
from tests.reports.conftest import NOW, at


def test_last_week_is_the_previous_monday_to_sunday():
    week = last_week(at(3, 9, 9))  # a Monday
    assert (week.first_day.isoformat(), week.last_day.isoformat()) == ("2026-03-02", "2026-03-08")
    assert last_week(at(3, 15, 23)).first_day.isoformat() == "2026-03-02"  # the Sunday after


def test_weekly_report_mails_every_manager_once(app, desk, db, make):
    other = make.manager()
    make.manager().is_active_account = False
    with app.app_context():  # templates render in the app; leaving it would roll back
        assert send_weekly_report(db, NOW) == (last_week(NOW).first_day, 2)
        mails = db.scalars(sa.select(OutboundEmail).where(
            OutboundEmail.subject.like("Service desk weekly report%"))).all()
        assert sorted(m.to_address for m in mails) == sorted([desk.manager.email, other.email])
        mail = mails[0]
        # the week 03-02..03-08 also judges T8's resolution (met at Sat 00:00): 4 of 6 met
        assert "resolution SLA 66.7 %" in mail.subject
        assert "Breaches           4" in mail.body_text
        assert "<svg" in mail.body_html and "People" not in mail.body_html
        assert "/reports?from=2026-03-02&amp;to=2026-03-08" in mail.body_html
        assert send_weekly_report(db, NOW) is None  # once per week
        assert db.scalar(sa.select(WeeklyReport.recipients)) == 2
        assert db.scalar(sa.select(sa.func.count(OutboundEmail.id)).where(
            OutboundEmail.subject.like("Service desk weekly report%"))) == 2


def test_no_managers_no_report(db):
    assert send_weekly_report(db, NOW) is None
    assert db.scalar(sa.select(sa.func.count(WeeklyReport.id))) == 0
