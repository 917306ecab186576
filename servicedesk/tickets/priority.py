"""Pure rule: priority from impact x urgency."""
from __future__ import annotations

from typing import Mapping

#: ITIL's usual matrix; impact 1 = widespread, urgency 1 = work stopped now.
DEFAULT_MATRIX: dict[tuple[int, int], int] = {
    (1, 1): 1, (1, 2): 2, (1, 3): 3,
    (2, 1): 2, (2, 2): 3, (2, 3): 4,
    (3, 1): 3, (3, 2): 4, (3, 3): 4,
}
LEVELS = (1, 2, 3)
PRIORITIES = (1, 2, 3, 4)


def priority_for(impact: int, urgency: int,
                 matrix: Mapping[tuple[int, int], int] = DEFAULT_MATRIX) -> int:
    """Priority 1..4 for an impact and urgency in 1..3; missing cells fall back to the default."""
    if impact not in LEVELS or urgency not in LEVELS:
        raise ValueError(f"impact and urgency must be 1..3, got {impact}, {urgency}")
    return matrix.get((impact, urgency), DEFAULT_MATRIX[(impact, urgency)])


def priority_label(priority: int) -> str:
    return f"P{priority}"
