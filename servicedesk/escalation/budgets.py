"""Monthly vendor budgets as managers see them: set, spent, committed, remaining.

Writes go through ``escalation.services.set_budget`` (the approval check there uses the same
sum: remaining = amount - spent - committed). An engagement counts in the period in which a
manager approved it (``decided_at``):

- spent: fixed or verified engagements, at their actual cost (the estimate if none was given);
- committed: approved or engaged engagements not fixed yet, at their estimate.
"""
from __future__ import annotations

import calendar as _calendar
from dataclasses import dataclass
from datetime import date, datetime, time, timezone
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from servicedesk.accounts.models import User
from servicedesk.errors import ValidationError
from servicedesk.escalation.models import Budget, EngagementState, VendorEngagement
from servicedesk.escalation.services import set_budget

E = EngagementState
SPENT_STATES = (E.fixed, E.verified)
COMMITTED_STATES = (E.approved, E.engaged)
CENT = Decimal("0.01")


@dataclass(frozen=True)
class BudgetUsage:
    budget: Budget
    spent: Decimal
    committed: Decimal

    @property
    def month(self) -> str:
        return f"{self.budget.period_start:%Y-%m}"

    @property
    def remaining(self) -> Decimal:
        return self.budget.amount - self.spent - self.committed


def month_period(value: Any, field: str = "month") -> tuple[date, date]:
    """"2026-03" -> (2026-03-01, 2026-03-31); a ValidationError naming ``field`` otherwise."""
    text = value.strip() if isinstance(value, str) else ""
    try:
        year, month = (int(p) for p in text.split("-"))
        if len(text) != 7 or not 2000 <= year <= 2100:
            raise ValueError
        first = date(year, month, 1)
    except ValueError:
        raise ValidationError("Give a month as YYYY-MM (2000 .. 2100).", field=field) from None
    return first, date(year, month, _calendar.monthrange(year, month)[1])


def set_month_budget(session: Session, *, actor: User, month: Any, amount: Any) -> Budget:
    start, end = month_period(month)
    return set_budget(session, actor=actor, period_start=start, period_end=end, amount=amount)


def _instant(day: date, at: time) -> datetime:
    return datetime.combine(day, at).replace(tzinfo=timezone.utc)


def usage(session: Session, budget: Budget) -> BudgetUsage:
    """Spent and committed in one aggregate query over the period's approvals."""
    V = VendorEngagement
    actual = sa.func.coalesce(V.actual_cost, V.estimated_cost)
    spent = sa.func.sum(sa.case((V.state.in_(SPENT_STATES), actual), else_=0))
    committed = sa.func.sum(sa.case((V.state.in_(COMMITTED_STATES), V.estimated_cost), else_=0))
    row = session.execute(sa.select(spent, committed).where(
        V.state.in_(SPENT_STATES + COMMITTED_STATES),
        V.decided_at >= _instant(budget.period_start, time.min),
        V.decided_at <= _instant(budget.period_end, time.max))).one()
    return BudgetUsage(budget=budget, spent=Decimal(row[0] or 0).quantize(CENT),
                       committed=Decimal(row[1] or 0).quantize(CENT))


def overview(session: Session) -> list[BudgetUsage]:
    """Every budget, newest period first, with its usage."""
    budgets = session.scalars(sa.select(Budget).order_by(Budget.period_start.desc()))
    return [usage(session, b) for b in budgets]
