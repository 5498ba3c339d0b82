"""The store audit PDF: a cover a seller can act on, then one section per image that needs work.

Made with reportlab's platypus (layout) and matplotlib (the cover charts, rendered to PNG).
Structure:

1. Cover: images audited, grade distribution, the most common issues with how many listings each
   affects, and the ten images most worth fixing first, ranked by expected gain
   (:mod:`analyzer.quality.priority`), not by low score, with why.
2. All images in a compact table (grade, score, top issue, gain), up to ``summary_limit`` rows;
   the CSV has every row.
3. One section per image with an error or warning, highest gain first, up to ``detail_limit``:
   thumbnail, grade, score bars, flags with their fixes, search figures, lookalike thumbnails.
4. Files that could not be audited (with the reason) and files that were skipped.

Every user-supplied string (file names, titles, messages) is XML-escaped before it reaches a
Paragraph, whose mini-markup would otherwise interpret ``<``, ``>`` and ``&``. Text uses DejaVu
Sans (shipped with matplotlib) so accented and Cyrillic/Greek names print; it falls back to
Helvetica.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
from collections import Counter
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, BinaryIO
from xml.sax.saxutils import escape

from reportlab.graphics.shapes import Drawing, Rect, String
from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import (
    CondPageBreak,
    Flowable,
    HRFlowable,
    Image,
    KeepTogether,
    LongTable,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from analyzer.codes import issue_name
from analyzer.quality.overall import GRADE_ORDER
from analyzer.quality.priority import Gain, expected_gain, rank_fix_first
from analyzer.quality.registry import CHECK_MODULES
from analyzer.report.csv import grade_cap_text
from analyzer.results import judged_as_cover_art
from analyzer.search.summary import SearchSummary

ThumbSource = dict[str, Any] | Callable[[dict[str, Any]], Any] | None

DETAIL_LIMIT = 150      # per-image sections (a 30,000-image store must not print 30,000 pages)
SUMMARY_LIMIT = 2000    # rows of the all-images table; the CSV has the rest
FIX_FIRST_N = 10

GRADE_COLORS = {"A": "#2e7d32", "B": "#7cb342", "C": "#f9a825", "D": "#ef6c00", "F": "#c62828"}
SEV_COLORS = {"error": "#c62828", "warning": "#ef6c00", "info": "#546e7a"}
INK = colors.HexColor("#212121")
MUTED = colors.HexColor("#616161")
RULE = colors.HexColor("#bdbdbd")
PAGE_W, PAGE_H = A4
MARGIN = 15 * mm
CONTENT_W = PAGE_W - 2 * MARGIN


# --------------------------------------------------------------------------------------------
# Fonts and styles


@lru_cache(maxsize=1)
def _fonts() -> tuple[str, str]:
    """(regular, bold) font names: DejaVu Sans when available (wide Unicode), else Helvetica."""
    try:
        import matplotlib
        from reportlab.pdfbase import pdfmetrics
        from reportlab.pdfbase.ttfonts import TTFont

        ttf = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
        pdfmetrics.registerFont(TTFont("LL-Sans", str(ttf / "DejaVuSans.ttf")))
        pdfmetrics.registerFont(TTFont("LL-Sans-Bold", str(ttf / "DejaVuSans-Bold.ttf")))
        from reportlab.pdfbase.pdfmetrics import registerFontFamily

        registerFontFamily("LL-Sans", normal="LL-Sans", bold="LL-Sans-Bold",
                           italic="LL-Sans", boldItalic="LL-Sans-Bold")
        return "LL-Sans", "LL-Sans-Bold"
    except Exception:  # pragma: no cover - matplotlib is a dependency
        return "Helvetica", "Helvetica-Bold"


@lru_cache(maxsize=1)
def _styles() -> dict[str, ParagraphStyle]:
    reg, bold = _fonts()
    base = getSampleStyleSheet()["Normal"]

    def s(name: str, **kw: Any) -> ParagraphStyle:
        kw.setdefault("fontName", reg)
        kw.setdefault("textColor", INK)
        return ParagraphStyle(name, parent=base, alignment=TA_LEFT, **kw)

    return {
        "title": s("title", fontName=bold, fontSize=22, leading=27, spaceAfter=2),
        "subtitle": s("subtitle", fontSize=10.5, leading=14, textColor=MUTED, spaceAfter=8),
        "h1": s("h1", fontName=bold, fontSize=15, leading=19, spaceBefore=4, spaceAfter=6,
                keepWithNext=1),
        "h2": s("h2", fontName=bold, fontSize=11.5, leading=15, spaceBefore=8, spaceAfter=4,
                keepWithNext=1),
        "body": s("body", fontSize=9.5, leading=12.5),
        "small": s("small", fontSize=8, leading=10),
        "muted": s("muted", fontSize=8, leading=10, textColor=MUTED),
        "cell": s("cell", fontSize=7.8, leading=9.6),
        "cellb": s("cellb", fontName=bold, fontSize=7.8, leading=9.6),
        "tile_n": s("tile_n", fontName=bold, fontSize=18, leading=21),
        "tile_l": s("tile_l", fontSize=7.8, leading=9.5, textColor=MUTED),
        "sec": s("sec", fontName=bold, fontSize=10.5, leading=13),
    }


def _p(text: Any, style: str = "body") -> Paragraph:
    """A Paragraph of user text, escaped so it can never inject markup."""
    return Paragraph(escape(str(text)), _styles()[style])


def _pm(markup: str, style: str = "body") -> Paragraph:
    """A Paragraph of markup we wrote ourselves (user parts already escaped)."""
    return Paragraph(markup, _styles()[style])


# The longest flag message or fix a detail page prints whole: the longest of 4,176 flags on
# 1,480 audited real photos was 305 characters, the sharpness check's part-out-of-focus and
# surface messages run to 230-250 (480 is ~8 lines of the table's narrow column).
FLAG_TEXT_MAX = 480


def _short(text: str, n: int) -> str:
    """At most ``n`` characters, cut at a word boundary when one is in the second half."""
    text = str(text)
    if len(text) <= n:
        return text
    cut = text[: n - 1]
    space = cut.rfind(" ")
    if space > n // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:") + "…"


def _short_path(text: str, n: int) -> str:
    """Shorten a path from the left: the file name is the informative end."""
    text = str(text)
    return text if len(text) <= n else "…" + text[-(n - 1):]


# --------------------------------------------------------------------------------------------
# Images


def _image_bytes(src: Any) -> bytes | None:
    if src is None:
        return None
    if isinstance(src, (bytes, bytearray, memoryview)):
        return bytes(src)
    try:
        p = Path(src)
        return p.read_bytes() if p.is_file() else None
    except (OSError, TypeError, ValueError):
        return None


def _thumb_for(result: dict[str, Any], thumbnails: ThumbSource) -> bytes | None:
    if thumbnails is None:
        return None
    try:
        if callable(thumbnails):
            return _image_bytes(thumbnails(result))
        for key in (result.get("content_hash"), result.get("file")):
            if key and key in thumbnails:
                return _image_bytes(thumbnails[key])
    except Exception:  # a thumbnail must never stop the report
        return None
    return None


def _fit_image(data: bytes | None, max_w: float, max_h: float) -> Flowable | None:
    """A reportlab Image scaled to fit the box, re-encoded small (thumbnails stay light)."""
    if not data:
        return None
    try:
        from PIL import Image as PILImage

        im = PILImage.open(io.BytesIO(data))
        im.draft("RGB", (int(max_w * 3), int(max_h * 3)))
        im = im.convert("RGB")
        # ~200 dpi at the printed size is sharp on paper and keeps the PDF small.
        px = (max(1, int(max_w / 72 * 200)), max(1, int(max_h / 72 * 200)))
        im.thumbnail(px, PILImage.Resampling.LANCZOS)
        buf = io.BytesIO()
        im.save(buf, "JPEG", quality=80, optimize=True)
        buf.seek(0)
        w, h = im.size
        s = min(max_w / w, max_h / h)
        return Image(buf, width=w * s, height=h * s)
    except Exception:
        return None


def _placeholder(w: float, h: float, text: str = "no preview") -> Drawing:
    reg, _ = _fonts()
    d = Drawing(w, h)
    d.add(Rect(0, 0, w, h, fillColor=colors.HexColor("#f5f5f5"), strokeColor=RULE))
    d.add(String(w / 2, h / 2 - 3, text, fontName=reg, fontSize=7, fillColor=MUTED,
                 textAnchor="middle"))
    return d


def _png(fig: Any) -> io.BytesIO:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=200, bbox_inches="tight", facecolor="white")
    import matplotlib.pyplot as plt

    plt.close(fig)
    buf.seek(0)
    return buf


def _mpl() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    plt.rcParams.update({"font.family": "DejaVu Sans", "font.size": 9,
                         "axes.spines.top": False, "axes.spines.right": False})
    return plt


def grade_chart(grades: Counter, n_failed: int, width: float, height: float) -> Image:
    """Bar chart of how many images got each grade (plus failed)."""
    plt = _mpl()
    labels = list(GRADE_ORDER) + (["failed"] if n_failed else [])
    values = [grades.get(g, 0) for g in GRADE_ORDER] + ([n_failed] if n_failed else [])
    cols = [GRADE_COLORS[g] for g in GRADE_ORDER] + (["#9e9e9e"] if n_failed else [])
    fig, ax = plt.subplots(figsize=(width / 72, height / 72))
    bars = ax.bar(labels, values, color=cols, width=0.65)
    ax.bar_label(bars, labels=[str(v) for v in values], padding=2, fontsize=9)
    ax.set_title("Images by grade", fontsize=10, loc="left", fontweight="bold")
    ax.set_yticks([])
    ax.spines["left"].set_visible(False)
    ax.set_ylim(0, max(values + [1]) * 1.22)
    ax.tick_params(axis="x", labelsize=10)
    return Image(_png(fig), width=width, height=height)


def issues_chart(issues: list[tuple[str, str, int]], total: int, width: float,
                 height: float) -> Image:
    """Horizontal bars: the most common flags and the share of listings each affects."""
    plt = _mpl()
    top = issues[:8][::-1]
    fig, ax = plt.subplots(figsize=(width / 72, height / 72))
    if top:
        names = [_short(issue_name(c), 26) for c, _, _ in top]
        vals = [n for _, _, n in top]
        cols = [SEV_COLORS.get(s, "#546e7a") for _, s, _ in top]
        bars = ax.barh(names, vals, color=cols, height=0.65)
        ax.bar_label(bars, labels=[f"{v} ({100 * v / max(total, 1):.0f}%)" for v in vals],
                     padding=3, fontsize=8)
        ax.set_xlim(0, max(vals) * 1.35)
    else:
        ax.text(0.5, 0.5, "no issues found", ha="center", va="center", transform=ax.transAxes)
        ax.set_yticks([])
    ax.set_xticks([])
    ax.spines["bottom"].set_visible(False)
    ax.tick_params(axis="y", labelsize=8)
    ax.set_title("Most common issues (listings affected)", fontsize=10, loc="left",
                 fontweight="bold")
    return Image(_png(fig), width=width, height=height)


class ScoreBars(Flowable):
    """0-100 bars for each score, drawn as vector shapes (crisp on paper)."""

    def __init__(self, scores: dict[str, float], width: float, keys: Sequence[str]) -> None:
        super().__init__()
        self.scores = scores
        self.keys = [k for k in keys if scores.get(k) is not None]
        self.width = width
        self.row = 11.5
        self.height = self.row * len(self.keys) + 2

    def wrap(self, aw: float, ah: float) -> tuple[float, float]:
        return self.width, self.height

    def draw(self) -> None:
        reg, bold = _fonts()
        c = self.canv
        label_w = 78
        num_w = 24
        bar_w = self.width - label_w - num_w
        for i, k in enumerate(self.keys):
            v = float(self.scores[k])
            y = self.height - (i + 1) * self.row + 2
            c.setFont(bold if k == "overall" else reg, 7.8)
            c.setFillColor(INK)
            c.drawString(0, y + 1.5, k.capitalize())
            c.setFillColor(colors.HexColor("#eeeeee"))
            c.rect(label_w, y, bar_w, 8, stroke=0, fill=1)
            col = ("#2e7d32" if v >= 85 else "#7cb342" if v >= 70 else "#f9a825" if v >= 55
                   else "#ef6c00" if v >= 40 else "#c62828")
            c.setFillColor(colors.HexColor(col))
            c.rect(label_w, y, bar_w * max(0.0, min(v, 100.0)) / 100.0, 8, stroke=0, fill=1)
            c.setFillColor(INK)
            c.drawRightString(self.width, y + 1.5, f"{v:.0f}")


class GradeBadge(Flowable):
    def __init__(self, grade: str, size: float = 30) -> None:
        super().__init__()
        self.grade = grade or "-"
        self.size = size

    def wrap(self, aw: float, ah: float) -> tuple[float, float]:
        return self.size, self.size

    def draw(self) -> None:
        _, bold = _fonts()
        c = self.canv
        c.setFillColor(colors.HexColor(GRADE_COLORS.get(self.grade, "#9e9e9e")))
        c.roundRect(0, 0, self.size, self.size, 4, stroke=0, fill=1)
        c.setFillColor(colors.white)
        c.setFont(bold, self.size * 0.62)
        c.drawCentredString(self.size / 2, self.size * 0.24, self.grade)


# --------------------------------------------------------------------------------------------
# Sections


def _table_style(header: bool = True, zebra: bool = True) -> list[tuple]:
    _, bold = _fonts()
    st: list[tuple] = [
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
        ("LINEBELOW", (0, 0), (-1, -1), 0.25, RULE),
    ]
    if header:
        st += [("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eceff1")),
               ("FONTNAME", (0, 0), (-1, 0), bold)]
    if zebra:
        st.append(("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white,
                                                       colors.HexColor("#fafafa")]))
    return st


def _tiles(items: list[tuple[str, str]]) -> Table:
    cells = [[_pm(f"{escape(v)}", "tile_n"), ] for v, _ in items]
    labels = [_pm(escape(lbl), "tile_l") for _, lbl in items]
    data = [[c[0] for c in cells], labels]
    w = CONTENT_W / len(items)
    t = Table(data, colWidths=[w] * len(items), hAlign="LEFT")
    t.setStyle(TableStyle([
        ("BOX", (0, 0), (-1, -1), 0.5, RULE),
        ("LINEAFTER", (0, 0), (-2, -1), 0.5, RULE),
        ("TOPPADDING", (0, 0), (-1, 0), 6),
        ("BOTTOMPADDING", (0, -1), (-1, -1), 6),
        ("LEFTPADDING", (0, 0), (-1, -1), 7),
    ]))
    return t


def _issue_counts(results: Sequence[dict[str, Any]]
                  ) -> list[tuple[str, dict[str, int], int, str]]:
    """(code, listings affected by severity, listings affected, a typical fix), most listings
    first (the worst severity first among equals). A code's severity can differ by listing
    (``PRODUCT_TOO_SMALL`` is an error under half the target fill, a warning above): each
    count is said, not the worst alone (a thirteenth new user's PDF read "error, 16" for 2
    errors and 14 warnings)."""
    n: Counter = Counter()
    sev: dict[str, Counter] = {}
    fix: dict[str, str] = {}
    for r in results:
        seen: dict[str, str] = {}
        for f in r.get("flags") or []:
            code, s = f.get("code", ""), f.get("severity", "info")
            if code not in seen or _sev_rank(s) < _sev_rank(seen[code]):
                seen[code] = s  # a listing counts once, at its worst
            fix.setdefault(code, f.get("fix", ""))
        for code, s in seen.items():
            n[code] += 1
            sev.setdefault(code, Counter())[s] += 1

    def worst(code: str) -> int:
        return min(_sev_rank(s) for s in sev[code])

    return [(c, dict(sorted(sev[c].items(), key=lambda kv: _sev_rank(kv[0]))), k, fix[c])
            for c, k in sorted(n.items(), key=lambda kv: (-kv[1], worst(kv[0]), kv[0]))]


def _sev_rank(s: str) -> int:
    return {"error": 0, "warning": 1, "info": 2}.get(s, 3)


def _cover(results: Sequence[dict[str, Any]], gains: list[Gain], *, store_name: str,
           marketplace_label: str, thumbnails: ThumbSource, skipped: list[dict[str, str]],
           generated: str) -> list[Flowable]:
    ok = [r for r in results if r.get("ok")]
    failed = len(results) - len(ok)
    grades = Counter(r.get("grade", "") for r in ok)
    blocking = sum(1 for r in ok if any(f.get("severity") == "error"
                                        for f in r.get("flags") or []))
    avg = sum(float(r["scores"].get("overall", 0)) for r in ok) / len(ok) if ok else 0.0
    good = grades.get("A", 0) + grades.get("B", 0)
    issues = _issue_counts(ok)
    # photos the seller declared cover art (--cover-art): their backdrop and props went unjudged
    covers = sum(1 for r in ok if judged_as_cover_art(r))
    judged_as = (f" &#183; {covers} judged as cover art, as declared (backdrop and props not "
                 "judged)") if covers else ""

    story: list[Flowable] = [
        _pm(f"Listing photo audit: {escape(_short(store_name, 60))}", "title"),
        _pm(f"{escape(marketplace_label)} main-image rules &#183; {len(results)} images "
            f"&#183; {escape(generated)}{judged_as}", "subtitle"),
        _tiles([
            (f"{len(results)}", "images in the store"),
            (f"{avg:.0f}", "average score (0-100)"),
            (f"{100 * good / max(len(ok), 1):.0f}%",
             "grade A or B" + (f" (of the {len(ok)} read)" if failed else "")),
            (f"{blocking}", "with a blocking error"),
            (f"{failed}", "could not be read"),
        ]),
        Spacer(1, 8),
    ]
    chart_h = 128
    charts = Table([[grade_chart(grades, failed, CONTENT_W * 0.38, chart_h),
                     issues_chart([(c, next(iter(s)), k) for c, s, k, _ in issues], len(ok),
                                  CONTENT_W * 0.60, chart_h)]],
                   colWidths=[CONTENT_W * 0.39, CONTENT_W * 0.61], hAlign="LEFT")
    charts.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"),
                                ("LEFTPADDING", (0, 0), (-1, -1), 0)]))
    story += [charts, Spacer(1, 4)]

    # Fix first, ranked by expected gain.
    top = rank_fix_first([r for r in ok], FIX_FIRST_N)
    story.append(_pm("Fix these first", "h2"))
    story.append(_pm("Ranked by expected gain: the overall-score points each photo would win if "
                     "its flagged problems were fixed (blocking errors count most), not simply "
                     "by the lowest score. The grade after the arrow is for every flag fixed, "
                     "most by a re-shoot; when the audit ran the automatic fix, what it reached is "
                     "shown under it.", "muted"))
    story.append(Spacer(1, 3))
    if top:
        rows = [[_pm("#", "cellb"), "", _pm("Image", "cellb"), _pm("Grade", "cellb"),
                 _pm("Gain", "cellb"), _pm("Why", "cellb")]]
        for i, (r, g) in enumerate(top, 1):
            thumb = _fit_image(_thumb_for(r, thumbnails), 11 * mm, 11 * mm) or _placeholder(
                11 * mm, 11 * mm, "")
            name = escape(_short_path(r.get("file", ""), 44))
            meta = " &#183; ".join(escape(_short(str(x), 34)) for x in
                                   (r.get("product_id"), r.get("title")) if x)
            extra = f"<br/><font color='#616161'>{meta}</font>" if meta else ""
            why = "<br/>".join(
                f"<b>{escape(issue_name(x['code']))}</b> (+{x['points']:.0f}): "
                f"{escape(_short(x['fix'], 78))}" for x in g.reasons[:2]) or escape(g.why())
            grade = escape(g.grade_now) + (f" &#8594; {escape(g.grade_after)}"
                                           if g.grade_steps > 0 else "")
            fx = r.get("fix")
            if isinstance(fx, dict) and fx.get("ok") and fx.get("after"):
                grade += (f"<br/><font color='#616161'>auto-fix: "
                          f"{escape(str(fx['after'].get('grade', '')))}</font>")
            rows.append([_pm(str(i), "cell"), thumb, _pm(name + extra, "cell"),
                         _pm(grade, "cell"), _pm(f"+{g.points:.0f}", "cellb"),
                         _pm(why, "cell")])
        t = Table(rows, colWidths=[6 * mm, 13 * mm, 50 * mm, 14 * mm, 11 * mm,
                                   CONTENT_W - 94 * mm], repeatRows=1, hAlign="LEFT")
        t.setStyle(TableStyle(_table_style()))
        story.append(t)
    else:
        story.append(_p("Nothing to fix: every audited image is clean.", "body"))

    # Issues with listing counts.
    story.append(_pm("Most common issues", "h2"))
    if issues:
        rows = [[_pm("Issue", "cellb"), _pm("Severity", "cellb"), _pm("Listings", "cellb"),
                 _pm("What to do", "cellb")]]
        for code, sevs, k, fix in issues[:12]:
            # one severity: its word; mixed: each with its count ("error 2", "warning 14")
            sev_text = "<br/>".join(
                f"<font color='{SEV_COLORS.get(s, '#546e7a')}'>{escape(s)}"
                + (f" {c}" if len(sevs) > 1 else "") + "</font>" for s, c in sevs.items())
            rows.append([_p(issue_name(code), "cell"), _pm(sev_text, "cell"),
                         _p(f"{k} ({100 * k / max(len(ok), 1):.0f}%)", "cell"),
                         _p(_short(fix, 160), "cell")])
        t = Table(rows, colWidths=[38 * mm, 20 * mm, 20 * mm, CONTENT_W - 78 * mm], repeatRows=1,
                  hAlign="LEFT")
        t.setStyle(TableStyle(_table_style()))
        story.append(t)
    else:
        story.append(_p("No issues were flagged.", "body"))
    if skipped:
        names = ", ".join(_short(s.get("name", ""), 40) for s in skipped[:8])
        more = f" and {len(skipped) - 8} more" if len(skipped) > 8 else ""
        story.append(Spacer(1, 4))
        story.append(_p(f"{len(skipped)} files in the source were not images and were skipped: "
                        f"{names}{more}.", "muted"))
    return story


def _search_lines(r: dict[str, Any]) -> list[str]:
    """Plain-language search figures (markup, user parts escaped)."""
    out: list[str] = []
    sm = SearchSummary.from_result(r)
    if sm is None:
        return out
    ex = sm.expected
    if r.get("search") and sm.outside_catalog:
        # ranks against a catalog that does not cover the product mean nothing: say that
        out.append("<b>Search by photo</b>: this catalog does not cover the product, so its "
                   "simulated ranks are not meaningful; build a reference catalog of your "
                   "category (My catalog, or <i>listing-lens catalog build</i> from "
                   "competitors' image URLs).")
    elif r.get("search"):
        line = f"<b>Search by photo</b> (score {sm.search_score or 0:.0f}/100): "
        if ex.median_rank is not None:
            line += f"median rank {ex.median_rank:g} of {sm.n_products + 1} products"
        if ex.top_k_share is not None:
            line += (f"; on the first page (top {sm.primary_k}) for "
                     f"{100 * ex.top_k_share:.0f}% of {sm.n_queries or ''} simulated shopper "
                     "photos")
        if ex.percentile is not None:
            line += f"; better than {ex.percentile:.0f}% of catalog products"
        if sm.visual is not None and sm.visual.median_rank is not None:
            line += (f" (expected search position; visual match rank alone: median "
                     f"{sm.visual.median_rank:g})")
        if sm.suppressed:
            line += "; suppressed: this marketplace hides main images that break its rules"
        out.append(line + ".")
        wi = sm.what_if
        if wi is not None and wi.figures.median_rank is not None:
            fixes = " + ".join(escape(f.replace("_", " ")) for f in wi.fixes)
            share = wi.figures.top_k_share
            tail = f", first page for {100 * share:.0f}%" if share is not None else ""
            out.append(f"<b>If fixed</b> ({fixes}): median rank {wi.figures.median_rank:g}"
                       f"{tail}.")
    if r.get("differentiation") and not sm.outside_catalog:
        # Outside the catalog the "closest lookalike" is of another category (bags for a
        # cardigan): the dashboard hides it as not meaningful, and so does the report.
        line = f"<b>Differentiation</b> {sm.differentiation_score or 0:.0f}/100"
        top = sm.nearest[0] if sm.nearest else None
        if top is not None and top.product_id:
            # a near-copy is left out of the lookalikes: "other" keeps the two from clashing
            other = " besides its near-copies" if sm.near_duplicates else ""
            line += f"; closest lookalike{other} {escape(top.product_id)}"
            if top.similarity is not None:
                line += f" (similarity {top.similarity:.2f})"
        if sm.near_duplicates:
            line += f"; {sm.near_duplicates} near-duplicate(s) in the catalog"
        out.append(line + ".")
    return out


def _lookalike_hits(r: dict[str, Any]) -> list[dict[str, Any]]:
    if (r.get("search") or {}).get("outside_catalog"):
        return []  # lookalikes of another category (see _search_lines)
    dz = r.get("differentiation") or {}
    v = dz.get("nearest")
    return [h for h in v if isinstance(h, dict)] if isinstance(v, list) else []


def _fix_block(r: dict[str, Any]) -> Flowable | None:
    """``audit --fix``: the fixed photo beside its before -> after grade, changes and notes."""
    fx = r.get("fix")
    if not isinstance(fx, dict):
        return None
    if not fx.get("ok"):
        err = fx.get("error") or {}
        return _pm(f"<b>Fixed photo</b>: not made ({escape(str(err.get('code', '')))}: "
                   f"{escape(_short(str(err.get('message', '')), 160))})", "small")
    b, a = fx.get("before") or {}, fx.get("after") or {}

    def _g(x: dict[str, Any]) -> str:
        ov = x.get("overall")
        return f"{escape(str(x.get('grade', '')))} ({float(ov):.0f})" if ov is not None else "-"

    lines = [f"<b>Fixed photo</b>: grade {_g(b)} &#8594; <b>{_g(a)}</b>"]
    lines += [escape(_short(c.get("message", ""), 160)) for c in fx.get("changes") or []]
    notes = fx.get("notes") or []
    lines += [f"<i>{escape(_short(n, 160))}</i>" for n in notes[:4]]
    if len(notes) > 4:
        lines.append(f"<i>{len(notes) - 4} more note(s) in the CSV (fix_notes)</i>")
    if fx.get("output"):
        lines.append(escape(_short_path(str(fx["output"]), 90)))
    img = None
    with contextlib.suppress(OSError):
        img = _fit_image(Path(fx["output"]).read_bytes(), 30 * mm, 30 * mm) \
            if fx.get("output") else None
    text = _pm("<br/>".join(lines), "small")
    if img is None:
        return text
    t = Table([[img, text]], colWidths=[34 * mm, None], hAlign="LEFT")
    t.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"),
                           ("LEFTPADDING", (0, 0), (-1, -1), 0)]))
    return t


def _bar_keys(r: dict[str, Any]) -> list[str]:
    """The score bars of one result's page, in order."""
    keys = ["overall", *CHECK_MODULES, "search", "differentiation"]
    if (r.get("search") or {}).get("outside_catalog"):
        # A catalog that lacks the product gives it no meaningful search or differentiation
        # score: a "Search 0" bar would read as a verdict on the photo (the text says why).
        keys = keys[:-2]
    return keys


def _detail(r: dict[str, Any], g: Gain, thumbnails: ThumbSource,
            lookalike: Callable[[dict[str, Any]], Any] | None) -> Flowable:
    name = r.get("file", "")
    head = escape(_short_path(name, 90))
    meta = [x for x in (r.get("product_id"), r.get("title")) if x]
    sub = " &#183; ".join(escape(_short(str(x), 70)) for x in meta)
    size = f"{r.get('width', 0)} x {r.get('height', 0)} px {escape(r.get('format', ''))}"
    thumb_w = 36 * mm
    thumb = _fit_image(_thumb_for(r, thumbnails), thumb_w, thumb_w) or _placeholder(
        thumb_w, thumb_w)

    bars = ScoreBars(r.get("scores") or {}, CONTENT_W - thumb_w - 50 * mm, _bar_keys(r))
    badge = GradeBadge(r.get("grade", ""), 30)
    gain_txt = (f"Expected gain <b>+{g.points:.0f}</b>"
                + (f"<br/>grade {escape(g.grade_now)} &#8594; {escape(g.grade_after)} "
                   f"with every flag fixed" if g.grade_steps > 0 else ""))
    side = Table([[badge], [_pm(gain_txt, "small")], [_pm(size, "muted")]],
                 colWidths=[44 * mm], hAlign="LEFT")
    side.setStyle(TableStyle([("LEFTPADDING", (0, 0), (-1, -1), 0),
                              ("TOPPADDING", (0, 0), (-1, -1), 1),
                              ("BOTTOMPADDING", (0, 0), (-1, -1), 2)]))
    top = Table([[thumb, side, bars]], colWidths=[thumb_w + 4 * mm, 46 * mm, None],
                hAlign="LEFT")
    top.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"),
                             ("LEFTPADDING", (0, 0), (-1, -1), 0)]))

    parts: list[Flowable] = [
        HRFlowable(width="100%", thickness=0.6, color=RULE, spaceBefore=0, spaceAfter=5),
        _pm(head, "sec"),
    ]
    if sub:
        parts.append(_pm(sub, "muted"))
    parts += [Spacer(1, 3), top, Spacer(1, 4)]
    why = grade_cap_text(r)
    if why:  # why an 86 is a B: the report card's sentence, checks named as the bars are
        parts += [_pm(f"<b>Grade {escape(r.get('grade', ''))}</b>: {escape(why)}", "small"),
                  Spacer(1, 3)]

    flags = r.get("flags") or []
    if flags:
        rows = [[_pm("Level", "cellb"), _pm("Issue", "cellb"), _pm("How to fix", "cellb")]]
        # a message is cut only past FLAG_TEXT_MAX: its numbers and the line it passed come
        # last ("... while sharp photos measure 1.05 px or less"), so 220 lost them
        for f in flags:
            sev = f.get("severity", "")
            rows.append([_pm(f"<font color='{SEV_COLORS.get(sev, '#546e7a')}'><b>"
                             f"{escape(sev)}</b></font>", "cell"),
                         _pm(f"<b>{escape(issue_name(f.get('code', '')))}</b>: "
                             f"{escape(_short(f.get('message', ''), FLAG_TEXT_MAX))}", "cell"),
                         _p(_short(f.get("fix", ""), FLAG_TEXT_MAX), "cell")])
        t = Table(rows, colWidths=[16 * mm, (CONTENT_W - 16 * mm) * 0.55,
                                   (CONTENT_W - 16 * mm) * 0.45], repeatRows=1, hAlign="LEFT")
        t.setStyle(TableStyle(_table_style(zebra=False)))
        parts.append(t)
    lines = _search_lines(r)
    if lines:
        parts += [Spacer(1, 3), _pm("<br/>".join(lines), "small")]
    fixed = _fix_block(r)
    if fixed is not None:
        parts += [Spacer(1, 3), fixed]
    hits = _lookalike_hits(r)[:5]
    if hits and lookalike is not None:
        cells, caps = [], []
        for h in hits:
            img = None
            try:
                img = _fit_image(_image_bytes(lookalike(h)), 20 * mm, 20 * mm)
            except Exception:
                img = None
            cells.append(img or _placeholder(20 * mm, 20 * mm))
            sim = h.get("similarity")
            cap = _short(str(h.get("title") or h.get("product_id") or ""), 26)
            if isinstance(sim, (int, float)):
                cap += f" ({float(sim):.2f})"
            caps.append(_p(cap, "muted"))
        lt = Table([cells, caps], colWidths=[30 * mm] * len(cells), hAlign="LEFT")
        lt.setStyle(TableStyle([("LEFTPADDING", (0, 0), (-1, -1), 0),
                                ("VALIGN", (0, 0), (-1, -1), "TOP")]))
        parts += [Spacer(1, 2), _pm("Closest lookalikes in the catalog:", "small"), lt]
    parts.append(Spacer(1, 8))
    return KeepTogether(parts)


def _summary_table(rows_in: Sequence[tuple[dict[str, Any], Gain]], limit: int) -> list[Flowable]:
    with_pid = any(r.get("product_id") for r, _ in rows_in[:limit])
    head = ["Image"] + (["Product"] if with_pid else []) + ["Grade", "Score", "Gain",
                                                              "Top issue"]
    rows: list[list[Any]] = [[_pm(h, "cellb") for h in head]]
    for r, g in rows_in[:limit]:
        flags = r.get("flags") or []
        top = issue_name(flags[0]["code"]) if flags else "-"
        grade = r.get("grade", "")
        row = [_p(_short_path(r.get("file", ""), 48 if with_pid else 70), "cell")]
        if with_pid:
            row.append(_p(_short(r.get("product_id", "") or "", 22), "cell"))
        row += [
            _pm(f"<font color='{GRADE_COLORS.get(grade, '#212121')}'><b>{escape(grade)}</b>"
                "</font>", "cell"),
            _p(f"{float(r['scores'].get('overall', 0)):.0f}", "cell"),
            _p(f"+{g.points:.0f}" if round(g.points) > 0 else "-", "cell"),  # no "+0"
            _p(top, "cell"),
        ]
        rows.append(row)
    fixed = [12 * mm, 12 * mm, 12 * mm]
    widths = ([62 * mm, 30 * mm] if with_pid else [92 * mm]) + fixed
    widths.append(CONTENT_W - sum(widths))
    t = LongTable(rows, colWidths=widths, repeatRows=1, hAlign="LEFT")
    t.setStyle(TableStyle(_table_style()))
    out: list[Flowable] = [t]
    if len(rows_in) > limit:
        out.append(Spacer(1, 4))
        out.append(_p(f"{len(rows_in) - limit} more images are in report.csv.", "muted"))
    return out


def _failed_table(failed: Sequence[dict[str, Any]], limit: int) -> list[Flowable]:
    rows = [[_pm("File", "cellb"), _pm("Error", "cellb"), _pm("Message", "cellb")]]
    for r in failed[:limit]:
        e = r.get("error") or {}
        rows.append([_p(_short_path(r.get("file", ""), 60), "cell"), _p(e.get("code", ""), "cell"),
                     _p(_short(e.get("message", ""), 200), "cell")])
    t = LongTable(rows, colWidths=[60 * mm, 34 * mm, CONTENT_W - 94 * mm], repeatRows=1,
                  hAlign="LEFT")
    t.setStyle(TableStyle(_table_style()))
    out: list[Flowable] = [t]
    if len(failed) > limit:
        out.append(_p(f"{len(failed) - limit} more are listed in report.csv.", "muted"))
    return out


# --------------------------------------------------------------------------------------------
# The document


def _catalog_lookalike(catalog: str | Path | None) -> Callable[[dict[str, Any]], Any] | None:
    if not catalog:
        return None
    try:
        from analyzer.search.catalog import Catalog

        cat = Catalog.open(catalog)
    except Exception:
        return None

    def get(hit: dict[str, Any]) -> Any:
        if hit.get("item_id") is not None:
            return cat.thumbnail_path(int(hit["item_id"]))
        if hit.get("thumb"):
            return Path(cat.root) / str(hit["thumb"])
        return None

    return get


def build_pdf(results: Sequence[dict[str, Any]], out: str | Path | BinaryIO, *,
              store_name: str = "My store", marketplace: str | None = None,
              thumbnails: ThumbSource = None, catalog: str | Path | None = None,
              lookalike_thumbnails: Callable[[dict[str, Any]], Any] | None = None,
              skipped: list[dict[str, str]] | None = None,
              detail_limit: int = DETAIL_LIMIT, summary_limit: int = SUMMARY_LIMIT,
              generated: str | None = None) -> None:
    """Write the audit PDF for ``results`` (analyze-JSON dicts, as in results.jsonl).

    ``out``: a path or a writable binary buffer (e.g. ``io.BytesIO`` for a download button).
    ``thumbnails``: a dict keyed by ``content_hash`` or ``file`` -> image bytes or path, or a
    callable ``result -> bytes | path | None``. ``catalog`` (a catalog folder) or
    ``lookalike_thumbnails`` (``hit dict -> bytes | path | None``) supply lookalike pictures.
    ``skipped``: source entries that were not images (``{name, reason}``).
    """
    from analyzer.config import marketplace as get_marketplace

    try:
        mkt_label = get_marketplace(marketplace).label
    except Exception:
        mkt_label = str(marketplace or "")
    generated = generated or dt.datetime.now().strftime("%d %b %Y %H:%M")
    results = list(results)
    gains = [expected_gain(r) for r in results]
    lookalike = lookalike_thumbnails or _catalog_lookalike(catalog)
    reg, _ = _fonts()

    def footer(canvas: Any, doc: Any) -> None:
        canvas.saveState()
        canvas.setFont(reg, 7.5)
        canvas.setFillColor(MUTED)
        canvas.drawString(MARGIN, 9 * mm, f"Listing Lens store audit · {_short(store_name, 60)}")
        canvas.drawRightString(PAGE_W - MARGIN, 9 * mm, f"page {doc.page}")
        canvas.restoreState()

    doc = SimpleDocTemplate(
        out if not isinstance(out, (str, Path)) else str(out), pagesize=A4,
        leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN, bottomMargin=16 * mm,
        title=f"Listing photo audit: {store_name}", author="Listing Lens",
        subject=f"{len(results)} images audited for {mkt_label}")

    story = _cover(results, gains, store_name=store_name, marketplace_label=mkt_label,
                   thumbnails=thumbnails, skipped=skipped or [], generated=generated)

    ok_pairs = [(r, g) for r, g in zip(results, gains, strict=True) if r.get("ok")]
    needing = [(r, g) for r, g in ok_pairs
               if any(f.get("severity") in ("error", "warning") for f in r.get("flags") or [])]
    needing.sort(key=lambda rg: (-rg[1].points, float(rg[0]["scores"].get("overall", 0))))
    failed = [r for r in results if not r.get("ok")]

    if needing:
        story.append(CondPageBreak(110 * mm))
        shown = needing[:detail_limit]
        story.append(_pm("Images that need work", "h1"))
        note = (f"{len(needing)} images have an error or a warning; "
                + (f"the {len(shown)} worth most are shown here, " if len(shown) < len(needing)
                   else "all are shown here, ")
                + "highest expected gain first. Every image is in the table at the end and in "
                  "report.csv.")
        story += [_p(note, "muted"), Spacer(1, 6)]
        for r, g in shown:
            story.append(_detail(r, g, thumbnails, lookalike))

    story.append(CondPageBreak(60 * mm))
    story.append(_pm("All images", "h1"))
    by_gain = sorted(ok_pairs, key=lambda rg: (-rg[1].points,
                                               float(rg[0]["scores"].get("overall", 0))))
    story.append(_p(f"{len(ok_pairs)} audited images, most worth fixing first.", "muted"))
    story.append(Spacer(1, 4))
    story += _summary_table(by_gain, summary_limit)

    if failed:
        story.append(CondPageBreak(50 * mm))
        story.append(_pm("Files that could not be audited", "h1"))
        what = "1 file" if len(failed) == 1 else f"{len(failed)} files"
        story.append(_p(f"{what} could not be read; re-export them as JPEG or PNG "
                        "and run the audit again (finished images are not redone).", "muted"))
        story.append(Spacer(1, 4))
        story += _failed_table(failed, summary_limit)
    if skipped:
        story.append(CondPageBreak(40 * mm))
        story.append(_pm("Skipped files", "h2"))
        rows = [[_pm("File", "cellb"), _pm("Why", "cellb")]] + [
            [_p(_short_path(s.get("name", ""), 80), "cell"), _p(s.get("reason", ""), "cell")]
            for s in skipped[:summary_limit]]
        t = LongTable(rows, colWidths=[100 * mm, CONTENT_W - 100 * mm], repeatRows=1,
                      hAlign="LEFT")
        t.setStyle(TableStyle(_table_style()))
        story.append(t)

    doc.build(story, onFirstPage=footer, onLaterPages=footer)
