import pytest

from servicedesk.catalog.services import load_matrix, set_matrix
from servicedesk.errors import ValidationError
from servicedesk.tickets.priority import DEFAULT_MATRIX, priority_for


@pytest.mark.parametrize("impact,urgency,expected", [
    (1, 1, 1), (1, 2, 2), (1, 3, 3), (2, 1, 2), (2, 2, 3), (2, 3, 4), (3, 1, 3), (3, 2, 4),
    (3, 3, 4),
])
def test_default_matrix(impact, urgency, expected):
    assert priority_for(impact, urgency) == expected


@pytest.mark.parametrize("impact,urgency", [(0, 1), (1, 4), (4, 4), (-1, 2)])
def test_out_of_range_levels_are_refused(impact, urgency):
    with pytest.raises(ValueError):
        priority_for(impact, urgency)


def test_configured_matrix_overrides_cells(db):
    assert load_matrix(db) == DEFAULT_MATRIX
    matrix = set_matrix(db, {(2, 2): 2})
    assert matrix[(2, 2)] == 2 and matrix[(1, 1)] == 1
    assert priority_for(2, 2, load_matrix(db)) == 2


def test_matrix_refuses_bad_priority(db):
    with pytest.raises(ValidationError) as err:
        set_matrix(db, {(1, 1): 5})
    assert "cell_1_1" in err.value.fields


def test_ticket_priority_follows_configured_matrix(db, make):
    set_matrix(db, {(3, 3): 3})
    assert make.ticket(impact=3, urgency=3).priority == 3
