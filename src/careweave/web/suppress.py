"""Small-number suppression for the commissioners' pseudonymised population pages.

Rule (applied to every count shown, before any percentage is worked out):
- 0 is shown as 0;
- 1 to 7 is shown as "<8" and takes no part in percentages or rates;
- 8 and over is rounded to the nearest 5.
Percentages are computed from the rounded counts, so no suppressed value can
be recovered by subtracting a shown figure from a shown total. Spend per head
is shown only where the group's count is shown.
"""

from __future__ import annotations

from dataclasses import dataclass

THRESHOLD = 8
ROUND_TO = 5


@dataclass(frozen=True)
class Cell:
    """A count as shown: ``value`` is None when suppressed."""

    value: int | None

    @property
    def text(self) -> str:
        return f"<{THRESHOLD}" if self.value is None else f"{self.value:,}"


def count(n: int) -> Cell:
    if n <= 0:
        return Cell(0)
    if n < THRESHOLD:
        return Cell(None)
    return Cell(int(ROUND_TO * round(n / ROUND_TO)))


def share(part: Cell, whole: Cell) -> str:
    if part.value is None or not whole.value:
        return "–"
    return f"{100 * part.value / whole.value:.1f}%"
