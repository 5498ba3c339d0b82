"""Result types shared by the checks, the engine, the CLI, the dashboard and the reports."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from analyzer.codes import FlagCode, Severity

SEVERITY_ORDER = {s.value: s.rank for s in Severity}
SCORE_KEYS = ("overall", "sharpness", "exposure", "background", "framing", "clutter",
              "resolution", "overlays")


@dataclass(frozen=True)
class Flag:
    """One finding a seller can act on.

    ``message`` states the measured value and the rule ("background is 71% pure white; Amazon
    requires 100% (RGB 255,255,255)"); ``fix`` says what to do about it.
    """

    code: FlagCode
    severity: Severity
    message: str
    fix: str
    check: str = ""

    def __post_init__(self) -> None:
        # A plain string is accepted and checked: an unknown code or severity raises here.
        object.__setattr__(self, "code", FlagCode(self.code))
        object.__setattr__(self, "severity", Severity(self.severity))

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code.value, "severity": self.severity.value,
                "message": self.message, "fix": self.fix, "check": self.check}


@dataclass
class CheckResult:
    """What one check measured (``metrics``), its 0-100 ``score`` and its ``flags``.

    ``maps`` holds per-pixel arrays at working size for the dashboard's overlays (blur map, edge
    map, ...); they are never serialised.
    """

    name: str
    score: float
    metrics: dict[str, float] = field(default_factory=dict)
    flags: list[Flag] = field(default_factory=list)
    maps: dict[str, np.ndarray] = field(default_factory=dict, repr=False)


def _clean_number(v: Any) -> Any:
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        f = float(v)
        return None if math.isnan(f) or math.isinf(f) else round(f, 4)
    return v


def sort_flags(flags: list[Flag]) -> list[Flag]:
    return sorted(flags, key=lambda f: SEVERITY_ORDER.get(f.severity, 9))


@dataclass
class ImageReport:
    """The analysis of one image, serialisable as the CLI's JSON contract."""

    file: str
    ok: bool
    error: dict[str, str] | None = None
    width: int = 0
    height: int = 0
    format: str = ""
    scores: dict[str, float] = field(default_factory=dict)
    grade: str = ""
    metrics: dict[str, float] = field(default_factory=dict)
    flags: list[Flag] = field(default_factory=list)
    checks: dict[str, CheckResult] = field(default_factory=dict, repr=False)
    content_hash: str = ""
    notes: list[str] = field(default_factory=list)
    search: dict[str, Any] | None = None
    differentiation: dict[str, Any] | None = None
    # The seller's product title the checks were given ("" when none); not serialised here
    # (the audit writes it as its own column), kept so the search layer's what-if photos are
    # graded with it too.
    title: str = ""
    # The seller declared the photo cover art (analyzer.engine.analyze_loaded): kept, as the title
    # is, so re-analyses of it (the what-if and fixed photos) are graded the same way; a note on
    # the report says so wherever it is shown or serialised.
    cover_art: bool = False
    # Kept for the dashboard (overlays) and the reports (thumbnails); not serialised.
    image: Any = field(default=None, repr=False)
    # The product mask (uint8 0-255, working size), kept with the image so the search layer
    # does not run u2netp again; not serialised.
    mask: Any = field(default=None, repr=False)

    def light(self) -> ImageReport:
        """A copy without the per-pixel data (the image, the product mask, the checks' overlay
        maps): what the dashboard keeps for every photo of a store and the audit table reads."""
        return replace(self, image=None, mask=None,
                       checks={n: replace(c, maps={}) for n, c in self.checks.items()})

    def worst_severity(self) -> str | None:
        return sort_flags(self.flags)[0].severity if self.flags else None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "file": self.file,
            "ok": self.ok,
            "error": self.error,
            "width": int(self.width),
            "height": int(self.height),
            "format": self.format,
            "scores": {k: _clean_number(v) for k, v in self.scores.items()},
            "grade": self.grade,
            "metrics": {k: _clean_number(v) for k, v in self.metrics.items()},
            "flags": [f.to_dict() for f in sort_flags(self.flags)],
            "content_hash": self.content_hash,
            "notes": list(self.notes),
        }
        if self.search is not None:
            d["search"] = self.search
        if self.differentiation is not None:
            d["differentiation"] = self.differentiation
        return d


def judged_as_cover_art(result: dict[str, Any]) -> bool:
    """Whether an analyze-JSON result was judged as cover art, as its seller declared
    (:func:`analyzer.engine.analyze_loaded`): its background check's ``cover_art`` metric, or,
    in a result slimmed of its metrics for the PDF (:func:`analyzer.audit.runner.slim`), the
    ``cover_art`` key that slimming keeps."""
    if "cover_art" in result:
        return bool(result["cover_art"])
    return bool((result.get("metrics") or {}).get("background.cover_art"))
