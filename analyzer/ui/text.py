"""Plain-language labels for the dashboard, and escaping for anything a user supplied.

Filenames and catalog titles come from users: they are shown through :func:`md_escape` (Streamlit
renders markdown in most text elements) and never passed to ``unsafe_allow_html``.
"""

from __future__ import annotations

import re
from typing import Any

from analyzer.config import Marketplace
from analyzer.results import CheckResult, Flag, sort_flags

CHECK_LABELS: dict[str, str] = {
    "sharpness": "Sharpness",
    "exposure": "Exposure & colour",
    "background": "Background",
    "framing": "Framing & fill",
    "clutter": "Clutter",
    "resolution": "Resolution & format",
    "overlays": "Text & overlays",
    "search": "Search rank",
    "differentiation": "Stands out",
}

CHECK_HELP: dict[str, str] = {
    "sharpness": "Shoppers zoom in; a soft photo reads as a cheap or second-hand product.",
    "exposure": "Too dark, blown out or tinted photos misrepresent the product's colour.",
    "background": "Most marketplaces require or reward a pure white (255,255,255) background.",
    "framing": "The product should fill the frame (Amazon: 85%) and not be cut off.",
    "clutter": "Props and busy backgrounds pull the eye and the visual search away from the "
               "product.",
    "resolution": "Below the zoom size the listing loses the zoom feature; some formats are "
                  "refused.",
    "overlays": "Text, logos, watermarks, inset pictures and borders are forbidden on most main "
                "images.",
}

# Material Symbols ship with Streamlit's own font, so they render in every browser (emoji need a
# colour-emoji font that many servers and headless browsers lack).
SEVERITY_ICONS = {"error": ":material/block:", "warning": ":material/warning:",
                  "info": ":material/info:"}
SEVERITY_COLORS = {"error": "red", "warning": "orange", "info": "blue"}
OK_ICON = ":material/check_circle:"
SEVERITY_LABELS = {"error": "Must fix", "warning": "Should fix", "info": "Tip"}

GRADE_COLORS = {"A": "#15803d", "B": "#65a30d", "C": "#ca8a04", "D": "#ea580c", "F": "#dc2626"}
GRADE_WORDS = {
    "A": "Ready to list",
    "B": "Good, small fixes",
    "C": "Needs work",
    "D": "Poor",
    "F": "Will hurt sales",
}

# Characters with a meaning in CommonMark or in Streamlit's markdown extensions
# (":emoji:", "$math$", "~strike~").
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~:$&])")


def md_escape(text: Any) -> str:
    """Escape user text so Streamlit markdown shows it literally (no links, HTML or emphasis)."""
    s = str(text).replace("\r", " ").replace("\n", " ")
    return _MD_SPECIAL.sub(r"\\\1", s)


def check_label(name: str) -> str:
    return CHECK_LABELS.get(name, name.replace("_", " ").capitalize())


def grade_color(grade: str) -> str:
    return GRADE_COLORS.get(grade, "#6b7280")


def score_color(score: float | None) -> str:
    """Traffic-light colour of a 0-100 score, on the grade bands of thresholds.yaml."""
    from analyzer.config import thresholds

    if score is None:
        return "#9ca3af"
    bands = thresholds()["overall"]["grades"]
    for g in ("A", "B", "C", "D"):
        if score >= bands[g]:
            return GRADE_COLORS[g]
    return GRADE_COLORS["F"]


def _sentence(s: str) -> str:
    s = s.strip()
    return s[:1].upper() + s[1:] if s else s


def sentence(s: str, capitalize: bool = False) -> str:
    """Ending with a full stop (library messages are clauses); capitalised on request (not when
    the message may start with a file name)."""
    s = _sentence(str(s)) if capitalize else str(s).strip()
    return s if not s or s[-1] in ".!?" else s + "."


def weak_without_flag(result: CheckResult) -> bool:
    """No flag, but a score under grade B's floor: the measures are below par without crossing
    any flag's line (an exposure of 28/100 must not read as "no problem")."""
    from analyzer.config import thresholds

    return not result.flags and result.score < float(thresholds()["overall"]["grades"]["B"])


def check_icon(result: CheckResult) -> str:
    """The expander's icon: the worst flag's severity, an info sign for a weak score without a
    flag, a tick otherwise."""
    if result.flags:
        return SEVERITY_ICONS.get(sort_flags(result.flags)[0].severity, "•")
    return SEVERITY_ICONS["info"] if weak_without_flag(result) else OK_ICON


def check_headline(name: str, result: CheckResult) -> str:
    """One plain-language line per check.

    The worst flag's message already states the measured value and the rule ("background is 71%
    pure white; Amazon requires 100%"), so it is the headline; a check with no flag says it passed,
    unless its score is under grade B's floor.
    """
    label = check_label(name)
    if result.flags:
        return f"{label}: {sort_flags(result.flags)[0].message}"
    if result.metrics.get("cover_art"):
        return f"{label}: not judged: you said this photo is the cover art, edge to edge"
    if weak_without_flag(result):
        return (f"{label}: no single problem flagged, but it scores only "
                f"{result.score:.0f}/100 (the measurements below say where)")
    return f"{label}: no problem found ({result.score:.0f}/100)"


def rule_text(name: str, mkt: Marketplace) -> str | None:
    """The marketplace rule a check is held to, in words, or None when it sets none."""
    def r(key: str) -> Any:
        return mkt.value(key)

    if name == "background":
        v = r("white_background")
        if v is None:
            return None
        return f"{mkt.label}: white background {v}" + (
            " (RGB 255,255,255)" if v == "required" else "")
    if name == "framing":
        v = r("fill_target")
        return None if v is None else f"{mkt.label}: product fills ≥ {float(v):.0%} of the frame"
    if name == "resolution":
        parts = []
        if r("min_long_side"):
            parts.append(f"≥ {r('min_long_side')} px long side")
        if r("zoom_long_side"):
            parts.append(f"{r('zoom_long_side')} px for zoom")
        if r("formats"):
            parts.append("/".join(r("formats")))
        return f"{mkt.label}: " + ", ".join(parts) if parts else None
    if name == "overlays":
        v = r("overlays")
        return None if v is None else f"{mkt.label}: text, logos, watermarks, borders {v}"
    return None


def flag_line(flag: Flag) -> str:
    """Markdown for one flag: icon, severity and the message (escaped: messages quote filenames)."""
    icon = SEVERITY_ICONS.get(flag.severity, "•")
    sev = SEVERITY_LABELS.get(flag.severity, flag.severity)
    color = SEVERITY_COLORS.get(flag.severity, "gray")
    return f":{color}[{icon} **{sev}**] · {md_escape(_sentence(flag.message))}"


def fix_bullets(fix: str) -> list[str]:
    """A fix as one or more actionable bullets (fixes are written as sentences joined by '; ')."""
    parts = [p.strip() for p in re.split(r";\s+|\n+", fix or "") if p.strip()]
    return [_sentence(p) for p in parts]


def pct(x: float | None, digits: int = 0) -> str:
    if x is None:
        return "–"  # noqa: RUF001
    return f"{100.0 * float(x):.{digits}f}%"


def ordinal(n: float) -> str:
    """41 -> '41st', 12 -> '12th' (percentiles read better as ordinals)."""
    i = int(round(float(n)))
    suffix = "th" if 10 <= i % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(i % 10, "th")
    return f"{i}{suffix}"
