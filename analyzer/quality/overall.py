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

from collections.abc import Mapping

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
