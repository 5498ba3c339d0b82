"""Plotly figures for the dashboard: pure builders from results to ``go.Figure``.

Every builder takes plain data (reports, dicts, arrays, data frames) and returns a figure, so the
tests can check what a chart shows (bar values, colours, highlighted points) without a browser.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from analyzer.config import Marketplace, thresholds
from analyzer.results import SEVERITY_ORDER, ImageReport
from analyzer.ui.text import (
    GRADE_COLORS,
    check_headline,
    check_label,
    rule_text,
    score_color,
)

FONT = "Inter, -apple-system, Segoe UI, Roboto, sans-serif"
ACCENT = "#2563eb"
MUTED = "#94a3b8"


def _layout(fig: go.Figure, height: int, **kw: Any) -> go.Figure:
    base: dict[str, Any] = {
        "height": height, "margin": {"l": 10, "r": 10, "t": 30, "b": 10},
        "font": {"family": FONT, "size": 13, "color": "#0f172a"},
        "paper_bgcolor": "rgba(0,0,0,0)", "plot_bgcolor": "rgba(0,0,0,0)"}
    fig.update_layout(**{**base, **kw})
    return fig


def score_gauge(score: float, grade: str) -> go.Figure:
    """The overall score as a gauge with the grade bands of thresholds.yaml."""
    bands = thresholds()["overall"]["grades"]
    edges = [0, bands["D"], bands["C"], bands["B"], bands["A"], 100]
    colors = [GRADE_COLORS[g] for g in ("F", "D", "C", "B", "A")]
    steps = [{"range": [edges[i], edges[i + 1]], "color": _tint(colors[i], 0.25)}
             for i in range(5)]
    fig = go.Figure(go.Indicator(
        mode="gauge+number", value=round(float(score), 1),
        number={"suffix": " / 100", "font": {"size": 26}},
        gauge={"axis": {"range": [0, 100], "tickvals": edges, "tickfont": {"size": 10}},
               "bar": {"color": GRADE_COLORS.get(grade, ACCENT), "thickness": 0.35},
               "steps": steps, "borderwidth": 0},
        domain={"x": [0, 1], "y": [0, 1]}))
    return _layout(fig, 190, margin={"l": 25, "r": 25, "t": 10, "b": 0})


def check_rows(report: ImageReport, mkt: Marketplace) -> list[dict[str, Any]]:
    """One row per check: name, label, score, headline (measured value + rule), rule, flags."""
    rows = []
    for name, res in report.checks.items():
        rows.append({
            "check": name, "label": check_label(name), "score": float(res.score),
            "headline": check_headline(name, res), "rule": rule_text(name, mkt) or "",
            "n_flags": len(res.flags),
        })
    return rows


def check_bars(report: ImageReport, mkt: Marketplace) -> go.Figure:
    """Horizontal bars, one per check, coloured by score band; hover shows value and rule."""
    rows = check_rows(report, mkt)
    rows = list(reversed(rows))  # plotly draws bottom-up; keep the registry order top-down
    pass_line = thresholds()["overall"]["grades"]["B"]
    hover = [f"<b>{_html(r['label'])}</b>: {r['score']:.0f}/100<br>{_wrap(_html(r['headline']))}"
             + (f"<br><i>{_html(r['rule'])}</i>" if r["rule"] else "") for r in rows]
    fig = go.Figure(go.Bar(
        x=[r["score"] for r in rows], y=[r["label"] for r in rows], orientation="h",
        marker={"color": [score_color(r["score"]) for r in rows], "cornerradius": 4},
        text=[f"{r['score']:.0f}" for r in rows], textposition="outside", cliponaxis=False,
        hovertext=hover, hoverinfo="text", name="score"))
    fig.add_vline(x=pass_line, line={"color": MUTED, "dash": "dot", "width": 1},
                  annotation_text="good", annotation_position="top",
                  annotation_font={"size": 10, "color": MUTED})
    fig.update_xaxes(range=[0, 108], showgrid=True, gridcolor="#eef2f7", zeroline=False,
                     tickvals=[0, 25, 50, 75, 100])
    fig.update_yaxes(showgrid=False)
    return _layout(fig, 40 + 34 * len(rows), showlegend=False, bargap=0.35)


def rank_histogram(ranks: Sequence[int], first_screen: int, max_rank: int | None = None
                   ) -> go.Figure:
    """Distribution of the listing's rank over the simulated searches; first screen shaded."""
    r = np.asarray([x for x in ranks if x is not None], dtype=float)
    top = int(max_rank or (np.nanmax(r) if len(r) else first_screen * 2))
    top = max(top, first_screen + 1)
    bins = min(40, top)
    fig = go.Figure()
    fig.add_vrect(x0=0.5, x1=first_screen + 0.5, fillcolor="#bbf7d0", opacity=0.7, line_width=0,
                  annotation_text=f"first screen (top {first_screen})",
                  annotation_position="outside top left",
                  # the text starts at the band's left edge: anchored on its right (Plotly's
                  # default there) a narrow band near the axis cut it to "reen (top 10)"
                  annotation_xanchor="left",
                  annotation_font={"size": 11, "color": "#15803d"})
    fig.add_trace(go.Histogram(
        x=r, xbins={"start": 0.5, "end": top + 0.5, "size": max(1, round(top / bins))},
        marker={"color": ACCENT, "line": {"color": "white", "width": 1}},
        hovertemplate="ranks %{x}<br>%{y} searches<extra></extra>"))
    fig.update_xaxes(title="rank of your listing in a simulated search (1 = top)",
                     range=[0.5, top + 0.5], gridcolor="#eef2f7")
    fig.update_yaxes(title="searches", gridcolor="#eef2f7")
    return _layout(fig, 280, showlegend=False, bargap=0.05)


def topk_bars(now: dict[str, float | None], after: dict[str, float | None] | None,
              primary_k: int, labels: dict[str, str] | None = None) -> go.Figure:
    """Cumulative rank distribution: share of simulated searches with the listing in the top k,
    for each k, now and (when simulated) after the fixes. The primary k is the first screen."""
    ks = sorted(now, key=lambda k: int(k))
    names = [(labels or {}).get(k) or f"top {k}" for k in ks]
    names = [n + ("<br><b>first screen</b>" if int(k) == primary_k else "")
             for n, k in zip(names, ks, strict=True)]
    vals = [100.0 * float(now[k] or 0.0) for k in ks]
    data = [go.Bar(name="your photo now", x=names, y=vals, marker_color=ACCENT,
                   text=[f"{v:.0f}%" for v in vals], textposition="outside", cliponaxis=False,
                   hovertemplate="%{x}: %{y:.0f}% of searches<extra>now</extra>")]
    if after:
        av = [100.0 * float(after.get(k) or 0.0) for k in ks]
        data.append(go.Bar(name="after the fixes (simulated)", x=names, y=av,
                           marker_color="#16a34a", text=[f"{v:.0f}%" for v in av],
                           textposition="outside", cliponaxis=False,
                           hovertemplate="%{x}: %{y:.0f}% of searches<extra>after</extra>"))
    fig = go.Figure(data)
    fig.update_yaxes(title="share of shopper searches", range=[0, 112], ticksuffix="%",
                     gridcolor="#eef2f7")
    return _layout(fig, 300, barmode="group",
                   legend={"orientation": "h", "y": 1.14, "x": 0})


def whatif_bars(scenarios: list[dict[str, Any]], metric_label: str = "first-screen share"
                ) -> go.Figure:
    """Before/after bars per fix: ``scenarios`` = [{label, before, after}] (shares in 0..1)."""
    labels = [s["label"] for s in scenarios]
    before = [float(s["before"]) * 100 for s in scenarios]
    after = [float(s["after"]) * 100 for s in scenarios]
    fig = go.Figure([
        go.Bar(name="now", y=labels, x=before, orientation="h", marker_color=MUTED,
               text=[f"{v:.0f}%" for v in before], textposition="outside", cliponaxis=False),
        go.Bar(name="after the fix", y=labels, x=after, orientation="h", marker_color="#16a34a",
               text=[f"{v:.0f}%" for v in after], textposition="outside", cliponaxis=False),
    ])
    fig.update_xaxes(title=metric_label, range=[0, 112], ticksuffix="%", gridcolor="#eef2f7")
    fig.update_yaxes(autorange="reversed")
    return _layout(fig, 90 + 56 * len(scenarios), barmode="group",
                   legend={"orientation": "h", "y": 1.12, "x": 0})


def catalog_scatter(coords: np.ndarray, hover: Sequence[str], categories: Sequence[str] | None,
                    upload_xy: np.ndarray | None = None, upload_label: str = "your photo",
                    neighbors: Sequence[int] = ()) -> go.Figure:
    """The catalog in 2-D (PCA of embeddings); hover names the product; the upload is a star."""
    cats = list(categories) if categories is not None else ["catalog"] * len(coords)
    df = pd.DataFrame({"x": coords[:, 0], "y": coords[:, 1], "hover": list(hover),
                       "cat": [c or "other" for c in cats]})
    fig = go.Figure()
    palette = ["#60a5fa", "#f472b6", "#34d399", "#fbbf24", "#a78bfa", "#f87171", "#2dd4bf",
               "#fb923c", "#94a3b8", "#c084fc"]
    top = df["cat"].value_counts().index.tolist()
    keep = set(top[: len(palette) - 1])
    df["cat"] = [c if c in keep else "other" for c in df["cat"]]
    for i, (cat, g) in enumerate(df.groupby("cat", sort=False)):
        fig.add_trace(go.Scattergl(
            x=g["x"], y=g["y"], mode="markers", name=str(cat)[:30],
            marker={"size": 7, "color": palette[i % len(palette)], "opacity": 0.75},
            hovertext=[_html(h) for h in g["hover"]], hoverinfo="text"))
    nb = [i for i in neighbors if 0 <= i < len(coords)]
    if nb:
        fig.add_trace(go.Scatter(
            x=coords[nb, 0], y=coords[nb, 1], mode="markers", name="nearest lookalikes",
            marker={"size": 13, "color": "rgba(0,0,0,0)", "line": {"color": "#ea580c",
                                                                   "width": 2}},
            hovertext=[_html(df["hover"].iloc[i]) for i in nb], hoverinfo="text"))
    if upload_xy is not None:
        xy = np.atleast_2d(upload_xy)
        fig.add_trace(go.Scatter(
            x=xy[:, 0], y=xy[:, 1], mode="markers+text", name="your photo",
            text=["you"] * len(xy), textposition="top center",
            textfont={"size": 12, "color": "#dc2626"},
            marker={"size": 20, "symbol": "star", "color": "#dc2626",
                    "line": {"color": "white", "width": 1.5}},
            hovertext=[_html(upload_label)] * len(xy), hoverinfo="text"))
    fig.update_xaxes(showticklabels=False, showgrid=False, zeroline=False, title="")
    fig.update_yaxes(showticklabels=False, showgrid=False, zeroline=False, title="")
    return _layout(fig, 430, legend={"font": {"size": 11}, "itemsizing": "constant"},
                   plot_bgcolor="#f8fafc")


def grade_distribution(grades: Sequence[str]) -> go.Figure:
    order = ["A", "B", "C", "D", "F"]
    counts = pd.Series(list(grades)).value_counts().reindex(order, fill_value=0)
    fig = go.Figure(go.Bar(
        x=order, y=counts.values, marker={"color": [GRADE_COLORS[g] for g in order],
                                          "cornerradius": 4},
        text=counts.values, textposition="outside", cliponaxis=False,
        hovertemplate="grade %{x}: %{y} photos<extra></extra>"))
    fig.update_yaxes(title="photos", gridcolor="#eef2f7", rangemode="tozero",
                     **_int_ticks(int(counts.max()) if len(counts) else 0))
    return _layout(fig, 260, showlegend=False)


def issue_counts(issues: pd.DataFrame, top: int = 10) -> go.Figure:
    """Most common issues: ``issues`` has one row per flag with columns code, severity, label."""
    if issues.empty:
        counts = pd.DataFrame({"label": [], "n": [], "severity": []})
    else:
        # One bar per issue, coloured by its most severe occurrence: grouping by severity too
        # drew two bars on one label (cut off as a warning on one photo, info on another).
        worst = issues.assign(_r=issues["severity"].map(SEVERITY_ORDER).fillna(9))
        counts = (worst.groupby("label").agg(n=("label", "size"), _r=("_r", "min"))
                  .reset_index().sort_values(["n", "_r"], ascending=[False, True]).head(top))
        by_rank = {v: k for k, v in SEVERITY_ORDER.items()}
        counts["severity"] = counts["_r"].map(by_rank).fillna("")
    sev_color = {"error": "#dc2626", "warning": "#f59e0b", "info": "#60a5fa"}
    fig = go.Figure(go.Bar(
        x=counts["n"], y=counts["label"], orientation="h",
        marker={"color": [sev_color.get(s, MUTED) for s in counts["severity"]],
                "cornerradius": 4},
        text=counts["n"], textposition="outside", cliponaxis=False,
        hovertemplate="%{y}: %{x} photos<extra></extra>"))
    fig.update_yaxes(autorange="reversed")
    top_n = int(counts["n"].max()) if len(counts) else 0
    fig.update_xaxes(gridcolor="#eef2f7", rangemode="tozero", **_int_ticks(top_n))
    # room at the bottom for the count axis' tick labels (10 px cut them off)
    return _layout(fig, 70 + 30 * max(1, len(counts)), showlegend=False,
                   margin={"l": 10, "r": 30, "t": 10, "b": 30})


def _int_ticks(max_count: int) -> dict[str, Any]:
    """Whole-number ticks for counts (no '0.2 photos')."""
    return {"dtick": 1, "tickformat": ",d"} if max_count <= 8 else {"tickformat": ",d"}


def _tint(hex_color: str, alpha: float) -> str:
    h = hex_color.lstrip("#")
    r, g, b = (int(h[i:i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


def _html(s: str) -> str:
    """Plotly hover text is HTML: escape anything that came from a user or a file."""
    import html

    return html.escape(str(s), quote=False)


def _wrap(s: str, width: int = 60) -> str:
    import textwrap

    return "<br>".join(textwrap.wrap(s, width)) or s
