"""Steps the ``choose_*.py`` scripts share: a line of rates per set, and the trade-off a grid
of rules reaches (the most defect copies found at each false-flag rate), as they print them."""

from __future__ import annotations

from typing import Any


def rates_line(r: dict[tuple[str, str], float], unit: str = "") -> str:
    """``split/set rate`` for each set of ``r`` (% flagged), ``unit`` after each rate."""
    return "  ".join(f"{sp}/{kind} {v:5.1f}{unit}" for (sp, kind), v in r.items())


class TradeOff:
    """The most copies found at each false-flag rate (rounded to 0.01%) a grid of rules reaches,
    and the rule that found them (the first of equals, in the grid's order)."""

    def __init__(self) -> None:
        self._best: dict[float, tuple[float, Any]] = {}

    def add(self, false_pct: float, found: float, rule: Any) -> None:
        f = round(false_pct, 2)
        if f not in self._best or found > self._best[f][0]:
            self._best[f] = (found, rule)

    def lines(self) -> list[str]:
        """``false% -> found%  rule``, each rate only where it finds more than every lower one."""
        out, top = [], 0.0
        for f in sorted(self._best):
            found, rule = self._best[f]
            if found > top:
                top = found
                out.append(f"  {f:5.2f}% -> {found:5.1f}%  {rule}")
        return out
