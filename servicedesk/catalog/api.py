"""/api/v1/services, /categories, /groups, /priority-matrix: catalog lookups for integrations."""
from __future__ import annotations

from typing import Annotated

import pydantic
import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from servicedesk.accounts import permissions
from servicedesk.accounts.models import Group
from servicedesk.catalog.services import (
    active_categories, active_services, load_matrix, set_matrix,
)
from servicedesk.db import transaction
from servicedesk.errors import ValidationError
from servicedesk.extensions import db
from servicedesk.tickets.priority import LEVELS
from servicedesk.web.api import (
    ApiModel, GroupRef, OutModel, UserRef, api_blueprint, api_user, documented, group_ref,
    parse_body, user_ref,
)

bp = api_blueprint("catalog_api", __name__)


# --- shapes ----------------------------------------------------------------------------------

class ServiceOut(OutModel):
    """Something a fault can affect."""

    id: int
    name: str
    description: str
    criticality: int
    """1 critical, 2 high, 3 normal."""
    expert_group: GroupRef | None
    """The tier-2 group that takes functional escalations for this service."""


class ServiceList(OutModel):
    """Active services by name."""

    items: list[ServiceOut]


class CategoryOut(OutModel):
    id: int
    name: str


class CategoryList(OutModel):
    """Active categories by name."""

    items: list[CategoryOut]


class GroupOut(OutModel):
    """An assignment group: the desk (tier 1), an expert team (2) or a vendor queue (3)."""

    id: int
    name: str
    description: str
    tier: int
    """1 service desk, 2 experts, 3 vendor."""
    email: str | None
    dispatcher: UserRef | None
    """The single interface person who accepts and assigns the group's tickets."""
    manager: UserRef | None
    members: list[UserRef] | None
    """Staff only; null for requesters and vendors."""


class GroupList(OutModel):
    """Assignment groups by tier and name."""

    items: list[GroupOut]


class MatrixCell(ApiModel):
    """One cell of the matrix: (impact, urgency) -> priority."""

    impact: Annotated[int, pydantic.Field(strict=True, ge=1, le=3)]
    """1 (widespread) .. 3 (one person)."""
    urgency: Annotated[int, pydantic.Field(strict=True, ge=1, le=3)]
    """1 (work stopped now) .. 3 (can wait)."""
    priority: Annotated[int, pydantic.Field(strict=True, ge=1, le=4)]
    """1 (P1, most urgent) .. 4."""


class MatrixIn(ApiModel):
    """The whole matrix: each of the nine (impact, urgency) cells exactly once."""

    cells: Annotated[list[MatrixCell], pydantic.Field(min_length=9, max_length=9)]

    def check_fields(self) -> None:
        seen = {(c.impact, c.urgency) for c in self.cells}
        if len(seen) != len(LEVELS) ** 2:
            raise ValidationError("Give each (impact, urgency) cell exactly once.",
                                  field="cells")


class MatrixOut(OutModel):
    """The priority matrix, all nine cells."""

    cells: list[MatrixCell]


def _matrix_out(matrix: dict[tuple[int, int], int]) -> dict:
    cells = [MatrixCell(impact=i, urgency=u, priority=p) for (i, u), p in sorted(matrix.items())]
    return MatrixOut(cells=cells).model_dump(mode="json")


# --- views -----------------------------------------------------------------------------------

@bp.get("/services")
@documented("Services", description="Active services by name: what a fault can affect.",
            response=ServiceList, tag="catalog")
def list_services():
    items = [ServiceOut(id=s.id, name=s.name, description=s.description,
                        criticality=s.criticality, expert_group=group_ref(s.expert_group))
             for s in active_services(db.session)]
    return ServiceList(items=items).model_dump(mode="json")


@bp.get("/categories")
@documented("Categories", description="Active categories by name.", response=CategoryList,
            tag="catalog")
def list_categories():
    items = [CategoryOut(id=c.id, name=c.name) for c in active_categories(db.session)]
    return CategoryList(items=items).model_dump(mode="json")


@bp.get("/groups")
@documented("Assignment groups",
            description="By tier, then name; members are listed for staff only.",
            response=GroupList, tag="catalog")
def list_groups():
    staff = permissions.can_see_internal(api_user())
    groups = db.session.scalars(
        sa.select(Group).order_by(Group.tier, Group.name)
        .options(selectinload(Group.members), selectinload(Group.dispatcher),
                 selectinload(Group.manager)))
    items = [GroupOut(id=g.id, name=g.name, description=g.description, tier=g.tier,
                      email=g.email, dispatcher=user_ref(g.dispatcher),
                      manager=user_ref(g.manager),
                      members=[user_ref(m) for m in g.members] if staff else None)
             for g in groups]
    return GroupList(items=items).model_dump(mode="json")


@bp.get("/priority-matrix")
@documented("The priority matrix", description="Priority for each impact x urgency cell.",
            response=MatrixOut, tag="catalog")
def get_matrix():
    return _matrix_out(load_matrix(db.session))


@bp.put("/priority-matrix")
@documented("Replace the priority matrix",
            description="All nine cells; applies to tickets logged or re-prioritised from now "
                        "on.",
            body=MatrixIn, response=MatrixOut, errors=(403,), roles="managers and admins",
            tag="catalog")
def put_matrix():
    permissions.ensure(permissions.can_edit_matrix(api_user()),
                       "Only managers and admins change the priority matrix.")
    body = parse_body(MatrixIn)
    with transaction(db.session):
        matrix = set_matrix(db.session, {(c.impact, c.urgency): c.priority for c in body.cells})
        out = _matrix_out(matrix)
    return out
