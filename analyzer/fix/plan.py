"""The plan step: the flags the checks raised -> the fixes that answer them, and what cannot be
fixed said plainly. The mapping is data (``flag_fixes`` and ``cannot_fix`` in fixes.yaml)."""

from __future__ import annotations

from dataclasses import dataclass, field

from analyzer.fix.registry import ordered
from analyzer.fix.rules import fix_rules
from analyzer.fix.types import FixKind


@dataclass(frozen=True)
class FixPlan:
    kinds: tuple[FixKind, ...]
    # fix -> the flag codes it answers
    reasons: dict[FixKind, tuple[str, ...]] = field(default_factory=dict)
    # flag code -> why it is not fixed
    cannot: dict[str, str] = field(default_factory=dict)

    @property
    def notes(self) -> list[str]:
        return self.notes_for(set(self.cannot))

    def notes_for(self, codes: set[str]) -> list[str]:
        """What cannot be fixed, for those of ``codes`` it names (in plan order)."""
        return [note for _, _, note in self.cannot_notes(codes)]

    def cannot_notes(self, codes: set[str]) -> list[tuple[str, str, str]]:
        """(code, why, note) of :meth:`notes_for`, for callers that word some notes their own
        way (in plan order)."""
        return [(code, why, f"{code}: not fixed: {why}") for code, why in self.cannot.items()
                if code in codes]


def plan(flag_codes: list[str] | set[str], rules: dict | None = None) -> FixPlan:
    """Which fixes run for these flags (each only when a flag it answers was raised), in run
    order; the output step always runs (every fixed photo is written as an sRGB JPEG)."""
    rules = rules or fix_rules()
    mapping: dict[str, list[str]] = rules.get("flag_fixes") or {}
    cannot_rules: dict[str, str] = rules.get("cannot_fix") or {}
    reasons: dict[FixKind, list[str]] = {}
    cannot: dict[str, str] = {}
    for code in flag_codes:
        for name in mapping.get(code, []):
            reasons.setdefault(FixKind(name), []).append(code)
        if code in cannot_rules:
            cannot[code] = cannot_rules[code]
    reasons.setdefault(FixKind.OUTPUT, [])
    kinds = ordered(set(reasons))
    return FixPlan(kinds=kinds, reasons={k: tuple(reasons[k]) for k in kinds}, cannot=cannot)
