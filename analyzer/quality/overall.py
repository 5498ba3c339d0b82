"""The overall 0-100 score and the A-F grade.

overall = sum_i w_i * s_i / sum_i w_i over the checks that ran, with the weights from
thresholds.yaml. A flag of severity ``error`` on the chosen marketplace caps the grade
(``cap_grade_with_error``): an image the marketplace can reject is not an A, however sharp it is.
A ``warning`` from a check that scored under ``cap_warning_below`` caps it at
``cap_grade_with_warning``: A says "Ready to list", and a photo whose own check says its product
is 93% crushed to black (exposure 40) or runs off the frame on every side (framing 0) is not,
though the weighted mean, where one check weighs 10-20%, kept it at 86-88 (a new user's try,
README). A mild warning (a check still at 50 or more) leaves the grade to the score.
A flag in ``fail_codes`` (a frame with no product in it) caps the score itself at ``fail_score``,
below grade D: the weighted mean would otherwise credit an empty frame for being sharp, well
exposed and on white (a blank canvas scored 69, grade C).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from analyzer.config import thresholds
from analyzer.results import CheckResult, Flag

GRADE_ORDER = ("A", "B", "C", "D", "F")


def weighted_score(results: dict[str, CheckResult]) -> float:
    weights = thresholds()["overall"]["weights"]
    num = sum(weights.get(n, 0.0) * r.score for n, r in results.items())
    den = sum(weights.get(n, 0.0) for n in results)
    return float(num / den) if den > 0 else 0.0


def overall_score(results: dict[str, CheckResult], flags: list[Flag]) -> float:
    """The weighted score, capped at ``fail_score`` when a ``fail_codes`` flag was raised."""
    cfg = thresholds()["overall"]
    score = weighted_score(results)
    if any(f.code in cfg.get("fail_codes", ()) for f in flags):
        score = min(score, float(cfg["fail_score"]))
    return score


def grade_caps(flags: list[Flag], scores: Mapping[str, float] | None = None
               ) -> list[tuple[str, list[Flag]]]:
    """The caps on the grade the flags set, each with the flags that set it: an ``error``
    (``cap_grade_with_error``) and a ``warning`` whose check scored under ``cap_warning_below``
    (``cap_grade_with_warning``; read only with the checks' ``scores``)."""
    cfg = thresholds()["overall"]
    out = []
    cap = cfg.get("cap_grade_with_error")
    errors = [f for f in flags if f.severity == "error"]
    if cap and errors:
        out.append((str(cap), errors))
    cap = cfg.get("cap_grade_with_warning")
    if cap and scores:
        below = float(cfg["cap_warning_below"])
        low = [f for f in flags if f.severity == "warning" and f.check in scores
               and float(scores[f.check]) < below]
        if low:
            out.append((str(cap), low))
    return out


def grade_for(score: float, flags: list[Flag], scores: Mapping[str, float] | None = None
              ) -> str:
    """The grade of ``score``, capped by the flags (:func:`grade_caps`; ``scores``: each check's
    score, by name)."""
    cfg = thresholds()["overall"]
    grade = "F"
    for g in GRADE_ORDER[:-1]:
        if score >= cfg["grades"][g]:
            grade = g
            break
    for cap, _ in grade_caps(flags, scores):
        grade = max(grade, cap, key=GRADE_ORDER.index)  # a cap never raises a grade
    return grade


@dataclass(frozen=True)
class GradeCap:
    """Why a report's grade is below what its score alone gives: the flags whose cap holds it
    there, an error (``must_fix``: the marketplace can suppress the listing) or warnings whose
    checks scored low."""

    grade: str
    must_fix: bool
    flags: tuple[Flag, ...]


def grade_cap(grade: str, overall: float | None, flags: list[Flag],
              scores: Mapping[str, float]) -> GradeCap | None:
    """The cap that gives ``grade`` (:func:`grade_caps`), or None when the score ``overall``
    alone gives it."""
    if overall is None or grade_for(overall, []) == grade:
        return None
    caps = [fl for cap, fl in grade_caps(flags, scores) if cap == grade]
    if not caps:
        return None
    return GradeCap(grade, caps[0][0].severity == "error", tuple(caps[0]))


def cap_sentence(cap: GradeCap, scores: Mapping[str, float],
                 issue_label: Callable[[str], str], check_label: Callable[[str], str]) -> str:
    """The plain sentence a report card, a PDF page and the fix panel give for ``cap``, with
    the caller's names of issues and checks (each medium names them as its own page does)."""
    if cap.must_fix:
        named = ", ".join(dict.fromkeys(issue_label(f.code) for f in cap.flags))
        return (f"The score alone would grade higher; a must-fix issue ({named}) caps it at "
                f"{cap.grade}: the marketplace can suppress the listing.")
    named = ", ".join(f"{issue_label(f.code)}: {check_label(f.check)} "
                      f"{float(scores.get(f.check) or 0.0):.0f}" for f in cap.flags)
    return (f"The score alone would grade higher; a should-fix issue whose check scores low "
            f"({named}) caps it at {cap.grade}: not ready to list until it is fixed.")


def result_grade_cap(result: Mapping[str, Any]) -> GradeCap | None:
    """:func:`grade_cap` of an analyze-JSON result (the dict the CSV and the PDF read); None for
    a failed image, and for flags this version does not know (an older report)."""
    if not result.get("ok"):
        return None
    scores = {k: float(v) for k, v in (result.get("scores") or {}).items() if v is not None}
    try:
        flags = [Flag(code=f.get("code", ""), severity=f.get("severity", "info"),
                      message=f.get("message", ""), fix=f.get("fix", ""),
                      check=f.get("check", "")) for f in result.get("flags") or []]
    except ValueError:
        return None
    return grade_cap(str(result.get("grade", "")), scores.get("overall"), flags, scores)
