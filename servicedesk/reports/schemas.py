"""The shapes of /api/v1/reports answers, for the OpenAPI document.

``dashboard.to_json`` and the table views build the answers; these models describe them (a test
validates real answers against them with unknown fields forbidden, so the document cannot drift
from what is sent). ReportDurations are seconds, rates percent (0-100), instants ISO 8601 UTC, money
decimal strings; ``null`` where a figure has nothing to count.
"""
from __future__ import annotations

from typing import Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, RootModel

Key = Union[int, str, None]


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ReportPeriod(_Out):
    start: str
    end: str


class ReportCompliance(_Out):
    judged: int
    met: int
    breached: int
    percent: Optional[float]


class ReportDimensionCompliance(ReportCompliance):
    key: Key
    label: str


class ReportKindCompliance(_Out):
    """One clock kind: the total and a row per value of each dimension."""
    total: ReportCompliance
    priority: list[ReportDimensionCompliance]
    group: list[ReportDimensionCompliance]
    service: list[ReportDimensionCompliance]
    category: list[ReportDimensionCompliance]
    tier: list[ReportDimensionCompliance]
    channel: list[ReportDimensionCompliance]


class ReportHeadline(_Out):
    response_compliance: Optional[float]
    resolution_compliance: Optional[float]
    breaches: Optional[float]
    created: Optional[float]
    resolved: Optional[float]
    mtta_business_median: Optional[float]
    mttr_business_median: Optional[float]
    fcr_rate: Optional[float]
    reopen_rate: Optional[float]
    csat_mean: Optional[float]
    unmet: Optional[float]


class ReportTrendPoint(ReportCompliance):
    bucket: str


class ReportBreach(_Out):
    ticket: str
    ticket_id: int
    kind: str
    breached_at: str
    late_business_seconds: int
    tier: Optional[int]
    escalated_in_time: bool


class ReportBreaches(_Out):
    total: int
    latest: list[ReportBreach]


class ReportAtRiskClock(_Out):
    ticket: str
    ticket_id: int
    kind: str
    due_at: str


class ReportAtRisk(_Out):
    total: int
    soonest: list[ReportAtRiskClock]


class ReportBacklogBand(_Out):
    age: str
    open: int


class ReportFlowPoint(_Out):
    bucket: str
    created: int
    resolved: int


class ReportDurations(_Out):
    count: int
    business_median: Optional[float]
    business_p90: Optional[float]
    wall_median: Optional[float]
    wall_p90: Optional[float]


class ReportResolution(_Out):
    resolved: int
    reopened: int
    fcr: int
    fcr_kb: int
    reopen_rate: Optional[float]
    fcr_rate: Optional[float]
    fcr_kb_rate: Optional[float]


class ReportEscalation(_Out):
    tier: int
    at_tier: int
    escalated: int
    rate: Optional[float]


class ReportVendorSpend(_Out):
    vendor_id: int
    vendor: str
    engagements: int
    spent: str


class ReportBudgetUse(_Out):
    start: str
    end: str
    amount: str
    spent: str


class ReportVendors(_Out):
    by_state: dict[str, int]
    requested: int
    decisions: int
    turnaround_median: Optional[float]
    turnaround_p90: Optional[float]
    ola: dict[Literal["ola_response", "ola_fix"], ReportCompliance]
    spent: str
    spend: list[ReportVendorSpend]
    budgets: list[ReportBudgetUse]


class ReportCsat(_Out):
    answers: int
    mean: Optional[float]
    by_score: dict[str, int]
    low: int
    sent: int
    response_rate: Optional[float]


class ReportUnmetCategory(_Out):
    category: str
    label: str
    count: int


class ReportUnmetPoint(_Out):
    bucket: str
    count: int


class ReportUnmet(_Out):
    total: int
    by_category: list[ReportUnmetCategory]
    trend: list[ReportUnmetPoint]


class ReportTopArticle(_Out):
    article_id: int
    title: str
    resolutions: int


class ReportSearchGap(_Out):
    query: str
    searches: int


class ReportMustRead(_Out):
    article_id: int
    title: str
    targets: int
    acknowledged: int
    percent: Optional[float]


class ReportKnowledge(_Out):
    resolutions: int
    articles: int
    top: list[ReportTopArticle]
    searches: int
    deflected: int
    deflection_rate: Optional[float]
    gaps: list[ReportSearchGap]
    must_read: list[ReportMustRead]


class ReportPerson(_Out):
    user_id: int
    name: str
    role: str
    handled: int
    fcr_rate: Optional[float]
    mttr_business: Optional[float]
    sla_met: Optional[float]
    csat: Optional[float]
    csat_answers: int


class ReportTeam(_Out):
    handled: int
    handled_per_person: Optional[float]
    fcr_rate: Optional[float]
    mttr_business: Optional[float]
    sla_met: Optional[float]
    csat: Optional[float]


class ReportPeople(_Out):
    rows: list[ReportPerson]
    team: ReportTeam


class ReportDefinition(_Out):
    label: str
    text: str


class ReportDefinitions(RootModel[dict[str, ReportDefinition]]):
    """{figure: {label, text}}: what each figure counts, as the dashboard explains it."""


class ReportDashboard(_Out):
    """Every dashboard figure for the period; ``previous`` is the headline of the period of the
    same length just before, ``deltas`` = headline - previous."""
    period: ReportPeriod
    previous_period: ReportPeriod
    unit: Literal["day", "week", "month"]
    now: str
    target: float
    headline: ReportHeadline
    previous: ReportHeadline
    deltas: ReportHeadline
    compliance: dict[Literal["response", "resolution"], ReportKindCompliance]
    trend: dict[Literal["response", "resolution"], list[ReportTrendPoint]]
    breaches: ReportBreaches
    at_risk: ReportAtRisk
    backlog: list[ReportBacklogBand]
    flow: list[ReportFlowPoint]
    mtta: ReportDurations
    mttr: ReportDurations
    resolution: ReportResolution
    escalation: list[ReportEscalation]
    vendors: ReportVendors
    csat: ReportCsat
    unmet: ReportUnmet
    knowledge: ReportKnowledge
    people: Optional[ReportPeople]
    definitions: dict[str, ReportDefinition]


class ReportTable(_Out):
    """One report table: ``columns`` name the cells of each row; large tables are paged."""
    table: str
    title: str
    period: ReportPeriod
    columns: list[str]
    rows: list[list[Union[int, float, str, bool, None]]]
    page: Optional[int] = None
    per_page: Optional[int] = None
