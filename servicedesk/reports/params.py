"""Query-string arguments shared by the report pages and the report API."""
from __future__ import annotations

from datetime import date, datetime
from typing import Literal

import pydantic

from servicedesk.errors import ValidationError
from servicedesk.reports import queries as q
from servicedesk.web.api import PageNumber

DEFAULT_DAYS = 30


class ReportQuery(pydantic.BaseModel):
    """Which period: ``from``/``to`` (UTC dates, inclusive) or the last ``days`` days."""

    model_config = pydantic.ConfigDict(extra="forbid", populate_by_name=True,
                                       use_attribute_docstrings=True)

    from_: date | None = pydantic.Field(None, alias="from")
    """First day of the period (UTC), with ``to``."""
    to: date | None = None
    """Last day of the period (UTC, included), with ``from``."""
    days: int | None = pydantic.Field(None, ge=1, le=q.MAX_PERIOD_DAYS)
    """The last N days up to today, when from/to are not given (default 30)."""
    unit: Literal["day", "week", "month"] | None = None
    """Trend bucket; default: day up to 45 days, week up to 200, else month."""

    def period(self, now: datetime) -> q.Period:
        if (self.from_ is None) != (self.to is None):
            missing = "to" if self.to is None else "from"
            raise ValidationError("Give both from and to, or neither.", field=missing)
        if self.from_ is not None:
            return q.Period.from_dates(self.from_, self.to)
        return q.Period.last_days(now, self.days or DEFAULT_DAYS)

    def trend_unit(self, period: q.Period) -> str:
        return self.unit or q.default_bucket(period)


class PagedQuery(ReportQuery):
    page: PageNumber = 1


class TableQuery(ReportQuery):
    format: Literal["json", "csv"] = "json"
    """csv streams every row; json returns one page of large tables."""
    page: PageNumber = 1
    per_page: int = pydantic.Field(100, ge=1, le=1000)


class DrillQuery(ReportQuery):
    """A dashboard figure and the narrowing its link carried."""

    figure: str
    kind: str | None = None
    dim: str | None = None
    value: str | None = pydantic.Field(None, max_length=40)
    bucket: str | None = pydantic.Field(None, max_length=10)
    age: str | None = pydantic.Field(None, max_length=20)
    tier: int | None = None
    user: int | None = pydantic.Field(None, ge=1, le=2**31 - 1)
    page: PageNumber = 1
