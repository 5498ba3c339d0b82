"""The audit PDF: parsed with pypdf (page count, cover text) and rendered with pdftoppm."""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from analyzer.engine import analyze
from analyzer.quality.priority import rank_fix_first
from analyzer.report.pdf import build_pdf

HOSTILE_NAME = "<b>bold</b> & <font size=40>big</font> Çà.jpg"


@pytest.fixture(scope="module")
def audited(studio_photos: list[Path], amateur_photos: list[Path]):
    """Real analyses of 10 photos, thumbnails keyed by content hash, plus a broken file."""
    results, thumbs = [], {}
    paths = studio_photos[:5] + amateur_photos[:5]
    for i, p in enumerate(paths):
        name = HOSTILE_NAME if i == 7 else p.name
        rep = analyze(p, name=name, keep_image=True)
        im = Image.fromarray(rep.image.rgb)
        im.thumbnail((200, 200))
        buf = io.BytesIO()
        im.save(buf, "JPEG")
        thumbs[rep.content_hash] = buf.getvalue()
        d = rep.to_dict()
        d.update(product_id=f"SKU-{i}", title=f"Product {i}")
        results.append(d)
    bad = analyze(b"", name="empty.jpg").to_dict()
    bad.update(product_id="", title="")
    results.append(bad)
    return results, thumbs


def _text(pdf: Path | bytes) -> list[str]:
    from pypdf import PdfReader

    src = io.BytesIO(pdf) if isinstance(pdf, bytes) else pdf
    return [p.extract_text() or "" for p in PdfReader(src).pages]


def test_cover_has_store_figures_and_fix_first_list(audited, tmp_path: Path) -> None:
    results, thumbs = audited
    out = tmp_path / "report.pdf"
    build_pdf(results, out, store_name="Luma & Friends", marketplace="amazon",
              thumbnails=thumbs, skipped=[{"name": "notes.txt", "reason": "not an image file"}])
    pages = _text(out)
    cover = pages[0]
    assert "Luma & Friends" in cover and "Amazon" in cover
    assert "11 images" in cover and "images in the store" in cover
    assert "Fix these first" in cover
    # The fix-first images appear on the cover, in gain order.
    top = rank_fix_first([r for r in results if r["ok"]], 10)
    assert top, "real photos should have something worth fixing"
    positions = [cover.find(r["file"][:20]) for r, _ in top[:3] if "<" not in r["file"]]
    assert all(p >= 0 for p in positions) and positions == sorted(positions)
    everything = "\n".join(pages)
    # The hostile file name is printed literally, not interpreted as markup.
    assert "<b>bold</b>" in everything.replace("\n", "")
    assert "Files that could not be audited" in everything and "EMPTY_FILE" in everything
    assert "notes.txt" in everything


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="pdftoppm not installed")
def test_pdf_renders_to_non_blank_pages(audited, tmp_path: Path) -> None:
    results, thumbs = audited
    out = tmp_path / "report.pdf"
    build_pdf(results, out, store_name="Render test", marketplace="amazon", thumbnails=thumbs)
    subprocess.run(["pdftoppm", "-r", "40", "-png", "-f", "1", "-l", "2", str(out),
                    str(tmp_path / "page")], check=True, timeout=120)
    pngs = sorted(tmp_path.glob("page-*.png"))
    assert len(pngs) == 2
    for png in pngs:
        arr = np.asarray(Image.open(png).convert("L"), dtype=np.float32)
        assert arr.shape[0] > arr.shape[1]  # portrait A4
        ink = float((arr < 200).mean())
        assert 0.01 < ink < 0.6, f"{png.name} looks blank or solid ({ink:.3f})"
    # The cover carries the charts and thumbnails: colour, not just text.
    rgb = np.asarray(Image.open(pngs[0]).convert("RGB"), dtype=np.int16)
    chroma = np.abs(rgb[..., 0] - rgb[..., 1]) + np.abs(rgb[..., 1] - rgb[..., 2])
    assert float((chroma > 60).mean()) > 0.005


def test_pdf_into_a_buffer_for_the_dashboard(audited) -> None:
    results, _ = audited
    buf = io.BytesIO()
    build_pdf(results, buf, store_name="Buffer", marketplace="amazon",
              thumbnails=lambda r: None)
    data = buf.getvalue()
    assert data.startswith(b"%PDF") and len(_text(data)) >= 2


def test_large_audit_stays_bounded(audited) -> None:
    """A big store gets detail pages only for the images worth most; the rest are table rows."""
    results, _ = audited
    ok = [r for r in results if r["ok"]]
    many = [{**r, "file": f"item-{i:04d}.jpg", "content_hash": f"{i:064x}"}
            for i in range(300) for r in [ok[i % len(ok)]]]
    buf = io.BytesIO()
    build_pdf(many, buf, store_name="Big store", marketplace="amazon", detail_limit=6,
              summary_limit=120)
    pages = _text(buf.getvalue())
    joined = "\n".join(pages)
    assert "300 images" in pages[0]
    assert "the 6 worth most are shown here" in joined.replace("\n", " ")
    assert "180 more images are in report.csv" in joined.replace("\n", " ")
    assert len(pages) < 15


def test_long_texts_are_cut_at_a_word_boundary() -> None:
    from analyzer.report.pdf import _short

    text = "Shoot on a white sweep or light tent with even light on the backdrop, or remove it"
    out = _short(text, 60)
    assert len(out) <= 60 and out.endswith("…")
    assert text.startswith(out[:-1]) and text[len(out) - 1] == " "  # a whole word kept
    assert _short("short", 60) == "short"
    assert _short("x" * 80, 10) == "x" * 9 + "…"  # no space: a hard cut


def test_a_long_flag_message_is_printed_whole_on_its_detail_page(audited) -> None:
    """A flag's numbers and the line it passed come at the end of its message; the detail
    page's table cut every message at 220 characters, so a seller read "... while sharp photos"
    and not the line. A message of the longest kind a check writes (~320) is printed whole."""
    results, thumbs = audited
    r = next(x for x in results if x["ok"] and x["flags"])
    long_msg = ("the product itself is blurred though its outline is crisp, as when the "
                "background of a blurred photo is removed: the edges inside its outline are "
                "blurred over about 1.31 px (at 512 px product size), while sharp photos "
                "measure 1.05 px or less there; and a little more so the message runs past "
                "three hundred characters, ENDMARK")
    assert len(long_msg) > 300
    flags = [{**r["flags"][0], "message": long_msg}] + r["flags"][1:]
    buf = io.BytesIO()
    build_pdf([{**r, "flags": flags}], buf, store_name="S", marketplace="amazon",
              thumbnails=thumbs)
    text = " ".join(_text(buf.getvalue())).replace("\n", " ")
    assert "ENDMARK" in text and "1.05 px or less there" in text


def test_most_common_issues_count_each_severity() -> None:
    """A thirteenth new user's PDF read "Product too small: error, 16" where 2 of the 16 were
    errors and 14 warnings (the code's severity follows how small the product is)."""
    from analyzer.report.pdf import _issue_counts

    def res(*flags: tuple[str, str]) -> dict:
        return {"ok": True, "flags": [{"code": c, "severity": s, "fix": "f"} for c, s in flags]}

    results = ([res(("PRODUCT_TOO_SMALL", "error"))] * 2
               + [res(("PRODUCT_TOO_SMALL", "warning"), ("PRODUCT_TOO_SMALL", "warning"))] * 14
               + [res(("BLURRY", "error"))] * 3)
    counts = _issue_counts(results)
    assert counts[0] == ("PRODUCT_TOO_SMALL", {"error": 2, "warning": 14}, 16, "f")
    assert counts[1] == ("BLURRY", {"error": 3}, 3, "f")
