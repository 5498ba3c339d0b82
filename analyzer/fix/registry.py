"""The one place the fixes are registered: each :class:`FixKind` and the function that applies
it, ``(FixState) -> Change | None``, in the order they run (FixKind's order). The output step
(encoding the file) is the runner's last step and has no entry here."""

from __future__ import annotations

from collections.abc import Callable

from analyzer.fix import background, color, framing, props
from analyzer.fix.types import Change, FixKind, FixState

FixFn = Callable[[FixState], "Change | None"]

FIXES: dict[FixKind, FixFn] = {m.KIND: m.apply for m in (color, props, background, framing)}


def ordered(kinds: set[FixKind] | tuple[FixKind, ...]) -> tuple[FixKind, ...]:
    """``kinds`` in the order they run."""
    return tuple(k for k in FixKind if k in set(kinds))
