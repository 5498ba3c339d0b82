"""The overall 0-100 score and the A-F grade.

overall = sum_i w_i * s_i / sum_i w_i over the checks that ran, with the weights from
thresholds.yaml. A flag of severity ``error`` on the chosen marketplace caps the grade
(``cap_grade_with_error``): an image the marketplace can reject is not an A, however sharp it is.
A flag in ``fail_codes`` (a frame with no product in it) caps the score itself at ``fail_score``,
below grade D: the weighted mean would otherwise credit an empty frame for being sharp, well
exposed and on white (a blank canvas scored 69, grade C).
"""

from __future__ import annotations

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


def grade_for(score: float, flags: list[Flag]) -> str:
    cfg = thresholds()["overall"]
    grade = "F"
    for g in GRADE_ORDER[:-1]:
        if score >= cfg["grades"][g]:
            grade = g
            break
    cap = cfg.get("cap_grade_with_error")
    if cap and any(f.severity == "error" for f in flags):
        grade = max(grade, cap, key=GRADE_ORDER.index)
    return grade
