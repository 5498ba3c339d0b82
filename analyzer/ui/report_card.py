"""The report card of one image: photo with overlays, grade, per-check bars, flags with fixes."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

import numpy as np
import streamlit as st

from analyzer.config import Marketplace
from analyzer.results import Flag, ImageReport, sort_flags
from analyzer.ui import charts, overlays
from analyzer.ui.tables import issue_label
from analyzer.ui.text import (
    CHECK_HELP,
    GRADE_WORDS,
    OK_ICON,
    SEVERITY_ICONS,
    check_headline,
    check_icon,
    check_label,
    fix_bullets,
    flag_line,
    grade_color,
    md_escape,
    rule_text,
)


def grade_badge_html(grade: str, score: float) -> str:
    """The big grade letter (HTML built only from the grade and score, never from user text)."""
    g = grade if grade in GRADE_WORDS else "?"
    color = grade_color(g)
    words = GRADE_WORDS.get(g, "")
    return (
        f'<div class="ll-grade-card" data-testid="ll-grade-card">'
        f'<div class="ll-grade" data-testid="ll-grade" style="background:{color}">{g}</div>'
        f'<div class="ll-grade-text"><div class="ll-grade-words">{words}</div>'
        f'<div class="ll-grade-score" data-testid="ll-score">{score:.0f} / 100 overall</div>'
        f"</div></div>"
    )


def file_caption(report: ImageReport) -> str:
    img = report.image
    size = f"{report.width} × {report.height} px"  # noqa: RUF001
    parts = [size, report.format or "?"]
    if img is not None:
        parts.append(f"{img.file_size / 1024:.0f} KB" if img.file_size < 1024 * 1024
                     else f"{img.file_size / 1024 / 1024:.1f} MB")
    return " · ".join(parts)


def summary_line(report: ImageReport) -> str:
    flags = report.flags
    n_err = sum(f.severity == "error" for f in flags)
    n_warn = sum(f.severity == "warning" for f in flags)
    n_info = sum(f.severity == "info" for f in flags)
    if not flags:
        return f":green[{OK_ICON} No issues found for this marketplace.]"
    parts = []
    if n_err:
        parts.append(f":red[{SEVERITY_ICONS['error']} **{n_err} must fix**]")
    if n_warn:
        parts.append(f":orange[{SEVERITY_ICONS['warning']} **{n_warn} should fix**]")
    if n_info:
        parts.append(f":blue[{SEVERITY_ICONS['info']} {n_info} tip{'s' if n_info > 1 else ''}]")
    return " · ".join(parts)


def render_photo(report: ImageReport, mkt: Marketplace,
                 get_mask: Callable[[ImageReport], np.ndarray | None], key: str) -> None:
    """The photo with an overlay switch; overlays that cannot be drawn are listed with why."""
    if report.image is None:
        st.info("The photo is no longer in memory; upload it again to see the overlays.")
        return
    mask = get_mask(report)  # the checks' own mask, kept with the report: never recomputed
    opts = overlays.available_overlays(report, mask)
    usable = [o for o in opts if o.available]
    labels = {o.key: o.label for o in usable}
    fill_target = float(mkt.value("fill_target", 0.85) or 0.85)
    labels["fill"] = f"Fill box ({fill_target:.0%} target)" if "fill" in labels else ""
    labels = {k: v for k, v in labels.items() if v}
    choice = st.radio(
        "Overlay", options=list(labels), format_func=lambda k: labels[k], index=0,
        horizontal=True, key=f"overlay-{key}", label_visibility="collapsed") or "photo"
    arr = overlays.render_overlay(report, choice, mask, fill_target=fill_target)
    st.image(arr, width="stretch")
    legend = overlays.OVERLAY_LEGENDS.get(choice, "")
    if choice == "fill":
        box, scale = overlays.report_bbox(report, mask)
        work_box = None if box is None else tuple(int(v / scale) for v in box)
        measured = report.metrics.get("framing.fill")
        if measured is None:
            measured = overlays.bbox_fill(work_box, report.image.rgb.shape)
        scale = report.metrics.get("framing.display_scale", 1.0)
        own = report.metrics.get("framing.fill_frame")
        if measured is not None and scale < 1.0 and own is not None:
            legend = ("Blue: the product's bounding box. Dashed orange: a square around the "
                      f"product that it fills at the {fill_target:.0%} target. The product "
                      f"spans {float(own):.0%} of the photo's frame, but a search tile shrinks "
                      f"this photo's shape to {float(scale):.0%}: it spans {float(measured):.0%} "
                      f"of the tile.")
        elif measured is not None:
            legend += (f" The product spans {float(measured):.0%} of the frame; the target is "
                       f"{fill_target:.0%}.")
    missing = [o for o in opts if not o.available]
    note = "; ".join(f"{o.label}: {o.reason}" for o in missing)
    st.caption(legend + (f"  \nNot available: {note}." if note else ""))


def search_line(report: ImageReport) -> str | None:
    """One line on how the photo does in the search simulation, when it ran."""
    s = report.search or {}
    pk = s.get("primary_k", 10)
    share = (s.get("top_k_share") or {}).get(str(pk))
    if share is None:
        return None
    if s.get("outside_catalog"):
        # a rank against a catalog that does not cover the product means nothing: say that
        return (":material/travel_explore: **Not covered by this catalog**: its search figures "
                "are not meaningful for this product (Search simulation tab)")
    line = f":material/travel_explore: On the first screen of **{share:.0%}** of shopper searches"
    wi = s.get("what_if") or {}
    after = (wi.get("top_k_share") or {}).get(str(pk))
    if after is not None and after > share:
        line += f" · **{after:.0%}** after the fixes"
    return line


def cap_text(grade: str, overall: float | None, flags: list[Flag],
             scores: Mapping[str, float]) -> str | None:
    """Why ``grade`` is below what ``overall`` alone gives (:func:`analyzer.quality.overall.
    grade_cap`), in the card's names of issues and checks; None when the score alone gives
    it."""
    from analyzer.quality.overall import cap_sentence, grade_cap

    cap = grade_cap(grade, overall, flags, scores)
    return None if cap is None else cap_sentence(cap, scores, issue_label, check_label)


def cap_line(report: ImageReport) -> str | None:
    """:func:`cap_text` of a report."""
    return cap_text(report.grade, report.scores.get("overall"), report.flags, report.scores)


def render_grade(report: ImageReport) -> None:
    st.markdown(grade_badge_html(report.grade, report.scores.get("overall", 0.0)),
                unsafe_allow_html=True)
    st.markdown(summary_line(report))
    capped = cap_line(report)
    if capped:
        st.caption(capped)
    line = search_line(report)
    if line:
        st.markdown(line)


def render_flags(report: ImageReport, limit: int | None = None) -> None:
    """Flags, most severe first, each with its fix as bullet points."""
    flags = sort_flags(report.flags)
    if not flags:
        st.success("Nothing to fix: this photo meets the checked rules.", icon=OK_ICON)
        return
    for f in flags[:limit]:
        with st.container(border=True):
            st.markdown(flag_line(f))
            bullets = fix_bullets(f.fix)
            if bullets:
                st.markdown("\n".join(f"- {md_escape(b)}" for b in bullets))


def render_check_bars(report: ImageReport, mkt: Marketplace) -> None:
    st.plotly_chart(charts.check_bars(report, mkt), config={"displayModeBar": False},
                    key=f"bars-{report.content_hash}")


def render_checks(report: ImageReport, mkt: Marketplace) -> None:
    for name, res in report.checks.items():
        icon = check_icon(res)
        with st.expander(f"{icon} {md_escape(check_headline(name, res))}"):
            if CHECK_HELP.get(name):
                st.caption(CHECK_HELP[name])
            rule = rule_text(name, mkt)
            rule_meta = _rule_source(name, mkt)
            if rule:
                st.markdown(f"**Rule** · {md_escape(rule)}" + (f" · {rule_meta}" if rule_meta
                                                               else ""))
            if res.metrics:
                st.dataframe(
                    {"measure": list(res.metrics), "value": [_fmt(v) for v in
                                                            res.metrics.values()]},
                    hide_index=True, width="stretch")
            st.caption(f"{check_label(name)} score: {res.score:.0f} / 100")


def _rule_source(name: str, mkt: Marketplace) -> str:
    key = {"background": "white_background", "framing": "fill_target",
           "resolution": "min_long_side", "overlays": "overlays"}.get(name)
    r = mkt.rule(key) if key else None
    if r is None:
        return ""
    kind = "official page" if r.kind == "official" else "seller guides (secondary source)"
    return f"[source]({r.source}) · {kind}, checked {r.checked}"


def _fmt(v: object) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "not measured"  # e.g. the JPEG quality of a PNG: "nan" means nothing to a seller
    if isinstance(v, float):
        return f"{v:.3g}"
    return str(v)


def render_report_card(report: ImageReport, mkt: Marketplace,
                       get_mask: Callable[[ImageReport], np.ndarray | None]) -> None:
    """The whole card for one analysed image."""
    key = report.content_hash[:16]
    left, right = st.columns([1.1, 1], gap="large")
    with left:
        render_photo(report, mkt, get_mask, key)
    with right:
        render_grade(report)
        render_check_bars(report, mkt)
        st.markdown("##### What to fix")
        render_flags(report)
    for n in report.notes:
        st.caption(f":material/info: {md_escape(n)}")
    st.markdown("#### Check by check")
    render_checks(report, mkt)
