"""Which images are most worth fixing first: the expected gain of fixing an image's flags.

A low score alone is a poor to-do list: an image at 40 whose only problem is mild and costly to
fix matters less than an image at 75 with one blocking error that a re-export removes. The gain
counts what fixing the flagged problems would return.

For one analysed image with check scores ``s_c``, overall weights ``w_c`` (thresholds.yaml
``overall.weights``, ``W = sum_c w_c``) and flags grouped by the check that raised them::

    points_c = (w_c / W) * (100 - s_c)                 overall points recovered if check c is fixed
    gain     = sum_c  sev(c) * points_c                 severity-weighted points
             + step_points * grade_steps                grade steps won (e.g. C -> A) when all
                                                        flags are fixed (the error cap is lifted)
             + sum_s sev(s) * search_weight * (100 - score_s)   for flagged search figures
                                                        (s in search, differentiation)

``sev(c)`` is the weight of the most severe flag of check ``c`` (``error`` 1.0, ``warning`` 0.6,
``info`` 0.25): an error can get the listing suppressed, an info note rarely costs a click.
Only flagged checks count, because a flag is what comes with a fix. All constants live in
thresholds.yaml under ``checks.audit_priority``. The result is in overall-score points, so
"+18" reads as "this image would gain about 18 points".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from analyzer.codes import FlagCode
from analyzer.config import check_thresholds, thresholds
from analyzer.quality.overall import GRADE_ORDER

SEARCH_KEYS = ("search", "differentiation")

_DEFAULTS: dict[str, Any] = {
    "severity_weight": {"error": 1.0, "warning": 0.6, "info": 0.25},
    "step_points": 5.0,
    "search_weight": 0.15,
    "unknown_flag_points": 3.0,
}


def _cfg() -> dict[str, Any]:
    cfg = dict(_DEFAULTS)
    cfg.update(check_thresholds("audit_priority"))
    return cfg


def check_of(code: str, check: str = "") -> str:
    """The check that raised a flag (its ``check`` field, else the code's own check, for results
    written before flags named their check); '' for a code this version does not know (a
    results file written by another version is data, not a bug)."""
    if check:
        return check
    try:
        return FlagCode(code).check
    except ValueError:
        return ""


@dataclass
class Gain:
    """Expected gain of fixing one image, with the reasons in order of what they return."""

    points: float
    grade_now: str
    grade_after: str
    reasons: list[dict[str, Any]] = field(default_factory=list)  # {code, check, points, fix}

    @property
    def grade_steps(self) -> int:
        if self.grade_now not in GRADE_ORDER or self.grade_after not in GRADE_ORDER:
            return 0
        return GRADE_ORDER.index(self.grade_now) - GRADE_ORDER.index(self.grade_after)

    def why(self, n: int = 2) -> str:
        """One line for a report: the biggest fixes and what they return."""
        parts = [f"{r['code'].replace('_', ' ').lower()} (+{r['points']:.0f})"
                 for r in self.reasons[:n]]
        s = "fix " + ", ".join(parts) if parts else "no fixable issue"
        if self.grade_steps > 0:
            s += f"; grade {self.grade_now} -> {self.grade_after}"
        return s


def _grade_for_score(score: float) -> str:
    bands = thresholds()["overall"]["grades"]
    for g in GRADE_ORDER[:-1]:
        if score >= bands[g]:
            return g
    return "F"


def expected_gain(result: dict[str, Any]) -> Gain:
    """The :class:`Gain` of an analyze-JSON result (0 for failed images and clean ones)."""
    if not result.get("ok"):
        return Gain(0.0, "", "")
    cfg = _cfg()
    sev_w: dict[str, float] = cfg["severity_weight"]
    weights: dict[str, float] = thresholds()["overall"]["weights"]
    scores: dict[str, float] = {k: float(v) for k, v in (result.get("scores") or {}).items()
                                if v is not None}
    present = [c for c in weights if c in scores]
    total_w = sum(weights[c] for c in present) or 1.0

    # The worst flag per check decides its severity weight; keep its fix as the reason.
    worst: dict[str, dict[str, Any]] = {}
    unknown: list[dict[str, Any]] = []
    for f in result.get("flags") or []:
        c = check_of(f.get("code", ""), f.get("check", ""))
        w = float(sev_w.get(f.get("severity", "info"), 0.0))
        if not c or (c not in scores and c not in weights):
            unknown.append({**f, "_w": w})
            continue
        if c not in worst or w > worst[c]["_w"]:
            worst[c] = {**f, "_w": w}

    reasons: list[dict[str, Any]] = []
    raw_points = 0.0  # unweighted points: used for the grade after fixing
    for c, f in worst.items():
        s = scores.get(c)
        if s is None:
            continue
        if c in weights:
            pts = weights[c] / total_w * (100.0 - s)
            raw_points += pts
        elif c in SEARCH_KEYS:
            pts = float(cfg["search_weight"]) * (100.0 - s)
        else:
            continue
        reasons.append({"code": f["code"], "check": c, "severity": f.get("severity", ""),
                        "points": f["_w"] * pts, "fix": f.get("fix", "")})
    for f in unknown:
        reasons.append({"code": f.get("code", ""), "check": "", "severity": f.get("severity", ""),
                        "points": f["_w"] * float(cfg["unknown_flag_points"]),
                        "fix": f.get("fix", "")})

    overall = float(scores.get("overall", 0.0))
    grade_now = result.get("grade") or _grade_for_score(overall)
    grade_after = _grade_for_score(min(100.0, overall + raw_points))
    if grade_now in GRADE_ORDER and (
            GRADE_ORDER.index(grade_after) > GRADE_ORDER.index(grade_now)):
        grade_after = grade_now  # fixing never makes the grade worse
    steps = (GRADE_ORDER.index(grade_now) - GRADE_ORDER.index(grade_after)
             if grade_now in GRADE_ORDER else 0)
    points = sum(r["points"] for r in reasons) + float(cfg["step_points"]) * max(steps, 0)
    reasons.sort(key=lambda r: -r["points"])
    return Gain(round(points, 2), grade_now, grade_after, reasons)


MIN_GAIN = 1.0  # overall-score points: under it a photo is not listed as one to fix first


def rank_fix_first(results: list[dict[str, Any]], n: int = 10) -> list[tuple[dict, Gain]]:
    """The ``n`` results most worth fixing: highest gain first, ties to the lower score; only
    those a fix would win at least ``MIN_GAIN`` points (a "+0" row under "Fix these first", a
    new user's try found, is not worth a seller's time there)."""
    scored = [(r, expected_gain(r)) for r in results if r.get("ok")]
    scored = [(r, g) for r, g in scored if g.points >= MIN_GAIN]
    scored.sort(key=lambda rg: (-rg[1].points, float(rg[0]["scores"].get("overall", 0.0))))
    return scored[:n]
