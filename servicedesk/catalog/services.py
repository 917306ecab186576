"""Catalog operations: services, categories, the priority matrix. Flush, never commit."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from servicedesk.catalog.models import Category, PriorityRule, Service
from servicedesk.errors import Conflict, ValidationError
from servicedesk.tickets.priority import DEFAULT_MATRIX, LEVELS, PRIORITIES


def load_matrix(session: Session) -> dict[tuple[int, int], int]:
    """The configured matrix, with the default for any cell not stored."""
    matrix = dict(DEFAULT_MATRIX)
    for rule in session.scalars(sa.select(PriorityRule)):
        matrix[(rule.impact, rule.urgency)] = rule.priority
    return matrix


def set_matrix(session: Session, cells: dict[tuple[int, int], int]) -> dict[tuple[int, int], int]:
    """Store the given cells (impact, urgency) -> priority. Flushes; returns the full matrix."""
    for (impact, urgency), priority in cells.items():
        if impact not in LEVELS or urgency not in LEVELS:
            raise ValidationError("Impact and urgency are 1..3.", field=f"cell_{impact}_{urgency}")
        if priority not in PRIORITIES:
            raise ValidationError("Priority is 1..4.", field=f"cell_{impact}_{urgency}")
        rule = session.get(PriorityRule, (impact, urgency))
        if rule is None:
            session.add(PriorityRule(impact=impact, urgency=urgency, priority=priority))
        else:
            rule.priority = priority
    session.flush()
    return load_matrix(session)


def create_service(session: Session, *, name: str, description: str = "", criticality: int = 3,
                   expert_group=None) -> Service:
    name = (name or "").strip()
    if not name or len(name) > 120:
        raise ValidationError("Service name is required (120 characters at most).", field="name")
    if criticality not in (1, 2, 3):
        raise ValidationError("Criticality is 1..3.", field="criticality")
    if session.scalar(sa.select(Service).where(Service.name == name)):
        raise Conflict(f"A service named {name} already exists.", fields={"name": "taken"})
    service = Service(name=name, description=description, criticality=criticality,
                      expert_group=expert_group, is_active=True)
    session.add(service)
    session.flush()
    return service


def create_category(session: Session, *, name: str) -> Category:
    name = (name or "").strip()
    if not name or len(name) > 120:
        raise ValidationError("Category name is required (120 characters at most).", field="name")
    if session.scalar(sa.select(Category).where(Category.name == name)):
        raise Conflict(f"A category named {name} already exists.", fields={"name": "taken"})
    category = Category(name=name, is_active=True)
    session.add(category)
    session.flush()
    return category


def active_services(session: Session) -> list[Service]:
    return list(session.scalars(sa.select(Service).where(Service.is_active).order_by(Service.name)))


def active_categories(session: Session) -> list[Category]:
    return list(session.scalars(sa.select(Category).where(Category.is_active)
                                .order_by(Category.name)))
