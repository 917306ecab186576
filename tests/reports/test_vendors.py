"""Vendor figures: engagements, approval turnaround, OLA compliance, spend against budgets."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from servicedesk.escalation.models import Budget, EngagementState as E
from servicedesk.reports import queries as q
from servicedesk.sla.models import ClockKind, ClockState, SLAClock
from tests.reports.conftest import NOW, PERIOD, at


def test_vendor_figures(db, make, clock):
    vendor = make.vendor(name="SkyTech")
    manager = make.manager()
    cal = make.always_calendar()

    def engagement(created, state, decided=None, estimate=500, actual=None):
        clock.set(created)
        e = make.engagement(make.ticket(), vendor, state=state, estimated_cost=estimate)
        e.decided_at, e.decided_by_id, e.actual_cost = decided, manager.id if decided else None, \
            actual
        return e

    e1 = engagement(at(3, 2, 10), E.verified, at(3, 2, 12), 500, Decimal("450"))  # 2 h
    engagement(at(3, 3, 9), E.rejected, at(3, 3, 9, 30))  # 30 min, no spend
    engagement(at(3, 4, 9), E.requested)  # not decided
    engagement(at(2, 27, 10), E.approved, at(3, 2, 8), 300)  # 70 h, decided in the period
    db.add(Budget(period_start=date(2026, 3, 1), period_end=date(2026, 3, 31),
                  amount=Decimal("5000")))
    for kind, stopped, breached in ((ClockKind.ola_response, at(3, 2, 12, 30), None),
                                    (ClockKind.ola_fix, at(3, 3, 12), at(3, 3, 10))):
        db.add(SLAClock(ticket_id=e1.ticket_id, engagement_id=e1.id, calendar_id=cal.id,
                        kind=kind, state=ClockState.stopped, target_seconds=3600,
                        started_at=at(3, 2, 12), stopped_at=stopped, breached_at=breached,
                        elapsed_before=1800.0, is_cancelled=False))
    db.flush()

    v = q.vendor_figures(db, PERIOD, NOW)
    # requested in the period: e1 (verified), e2 (rejected), e3 (requested)
    assert v["requested"] == 3
    assert {k: n for k, n in v["by_state"].items() if n} == {"verified": 1, "rejected": 1,
                                                             "requested": 1}
    # decisions in the period: 1800, 7200, 252000 s
    assert v["decisions"] == 3
    assert v["turnaround_median"] == pytest.approx(7200)
    assert v["turnaround_p90"] == pytest.approx(7200 + 0.8 * 244800)
    assert (v["ola"]["ola_response"].judged, v["ola"]["ola_response"].percent) == (1, 100.0)
    assert (v["ola"]["ola_fix"].judged, v["ola"]["ola_fix"].percent) == (1, 0.0)
    # spend: e1's actual 450 + e4's estimate 300, both approved in the period
    assert v["spend"] == [{"vendor_id": vendor.id, "vendor": "SkyTech", "engagements": 2,
                           "spent": Decimal("750.00")}]
    assert v["spent"] == Decimal("750.00")
    assert [(b["amount"], b["spent"]) for b in v["budgets"]] == [(Decimal("5000.00"),
                                                                   Decimal("750.00"))]
    # ticket compliance ignores vendor clocks
    assert q.compliance_totals(db, PERIOD, NOW)["resolution"].judged == 0
