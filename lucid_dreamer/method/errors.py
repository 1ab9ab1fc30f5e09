"""The one exception type for user mistakes, and the bounds of the settings a user can give.

The CLI prints a `UserError` as a single line (no traceback unless `--debug`); anything else
is a bug and keeps its traceback.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


class UserError(Exception):
    """Bad input from the user: a missing file, a wrong shape, an impossible setting."""


@dataclass(frozen=True)
class AtLeast:
    """The smallest value a setting may take."""

    low: float
    """The bound."""
    strict: bool = False
    """The value must exceed `low` rather than reach it."""

    def check(self, name: str, value) -> None:
        """A one-line `UserError` naming `name` if `value` is out of bounds."""
        if value > self.low or (value == self.low and not self.strict):
            return
        need = "positive" if self.strict and self.low == 0 else f"{'above' if self.strict else 'at least'} {self.low:g}"
        raise UserError(f"{name} must be {need}, got {value}")


@dataclass(frozen=True)
class Within(AtLeast):
    """The smallest and the largest value a setting may take: beyond `high` a run would exhaust the
    memory or never end, so the setting is refused before any work."""

    high: float = math.inf
    """The largest value."""
    why: str = ""
    """What the largest value is measured against, for the message (e.g. "; the paper uses 32")."""

    def check(self, name: str, value) -> None:
        """A one-line `UserError` naming `name` if `value` is out of bounds."""
        super().check(name, value)
        if value > self.high:
            raise UserError(f"{name} must be at most {self.high:g}, got {value}{self.why}")


def check_bounds(config) -> None:
    """Check each field of a config dataclass against its class's `BOUNDS` (field -> `AtLeast`)."""
    for field, bound in type(config).BOUNDS.items():
        bound.check(field, getattr(config, field))
