"""The dashboard driven through Streamlit's AppTest (no browser): render, upload, bad file."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import pytest

from analyzer.config import marketplace, marketplace_keys

pytest.importorskip("streamlit.testing.v1")
from streamlit.testing.v1 import AppTest  # noqa: E402

APP = str(Path(__file__).resolve().parents[1] / "app.py")
TIMEOUT = 240  # cold model loads (u2netp, the embedder) on a shared 2-core machine
GRADE_RE = re.compile(r'data-testid="ll-grade"[^>]*>([A-F])<')


def _app(catalog: str = "none") -> AppTest:
    """The app after its first run; ``catalog`` is the sidebar choice (demo, folder, none).

    The quality tests run without a catalog: the search simulation has its own test.
    """
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, at.exception
    if catalog != "demo":
        at.radio(key="catalog-choice").set_value(catalog)
        at.run()
        assert not at.exception, at.exception
    return at


def _grades(at: AppTest) -> list[str]:
    return [m.group(1) for md in at.markdown if (m := GRADE_RE.search(md.value))]


def _texts(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    parts += [e.value for e in at.error] + [e.value for e in at.info]
    return "\n".join(parts)


@pytest.fixture(scope="module")
def photo(studio_photos: list[Path]) -> tuple[str, bytes]:
    p = studio_photos[0]
    return p.name, p.read_bytes()


def test_page_renders_with_no_upload() -> None:
    at = _app()
    assert len(at.file_uploader) == 1
    assert at.file_uploader[0].accept_multiple_files
    assert ".zip" in at.file_uploader[0].allowed_type
    assert at.selectbox(key="marketplace").options == [marketplace(k).label
                                                       for k in marketplace_keys()]
    assert at.selectbox(key="marketplace").value == "amazon"
    text = _texts(at)
    assert "Will shoppers find and pick your product?" in text
    assert "Drop your photos" in text
    assert _grades(at) == []  # no report card without an upload
    assert not at.error


@pytest.mark.slow
def test_upload_of_a_real_photo_shows_report_card_with_scores(photo: tuple[str, bytes]) -> None:
    at = _app()
    at.file_uploader[0].set_value((photo[0], photo[1], "image/jpeg"))
    at.run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    grades = _grades(at)
    assert len(grades) == 1 and grades[0] in "ABCDF"
    text = _texts(at)
    assert re.search(r"\d+ / 100 overall", text)
    assert "Check by check" in text
    # one expander per check, headed by a plain-language line ("Sharpness: ...")
    labels = [e.label.replace("\\", "") for e in at.expander]  # labels are markdown-escaped
    for name in ("Sharpness", "Background", "Framing & fill", "Resolution & format"):
        assert any(f" {name}: " in lbl for lbl in labels), labels
    # the store audit has one row with the same grade
    df = _audit_table(at)
    assert len(df) == 1 and df["grade"].iloc[0] == grades[0]
    assert 0 <= float(df["overall"].iloc[0]) <= 100


def _audit_table(at: AppTest):  # type: ignore[no-untyped-def]
    """The store audit's table (the one data frame with a grade and an overall column)."""
    tables = [d.value for d in at.dataframe
              if {"file", "grade", "overall"} <= set(d.value.columns)]
    assert len(tables) == 1, [list(d.value.columns) for d in at.dataframe]
    return tables[0]


@pytest.mark.slow
def test_a_catalog_folder_that_is_not_there_is_said_on_the_page(photo: tuple[str, bytes]
                                                                 ) -> None:
    """A thirteenth new user's try: a wrong catalog path was named in the sidebar, while the
    page said "No catalog selected", as if none had been chosen."""
    at = _app("folder")
    at.text_input(key="catalog-path").set_value("/no/such/catalog")
    at.toggle(key="use-model").set_value(False)
    at.file_uploader[0].set_value((photo[0], photo[1], "image/jpeg"))
    at.run()
    assert not at.exception, at.exception
    text = _texts(at).replace("\\.", ".")  # markdown-escaped full stops
    assert "No catalog selected" not in text and "Pick the demo catalog" not in text
    assert "No folder at /no/such/catalog. The search simulation is off." in text, text
    assert "the catalog could not be used (see the note above the tabs)" in text


def test_bad_file_shows_an_error_and_the_page_goes_on(photo: tuple[str, bytes]) -> None:
    at = _app()
    at.file_uploader[0].set_value([
        ("notes.jpg", b"this is not a photo, just text", "image/jpeg"),
        ("broken.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "image/png"),
        (photo[0], photo[1], "image/jpeg"),
    ])
    at.run()
    assert not at.exception, at.exception
    errors = [e.value for e in at.error]
    assert len(errors) == 2, errors
    assert "notes\\.jpg" in errors[0] and "NOT_AN_IMAGE" in errors[0]
    assert errors[0].count("notes\\.jpg") == 1, errors[0]  # named once, in bold
    assert "**notes\\.jpg**" in errors[0]
    assert "broken\\.png" in errors[1]
    # the good photo still gets its report card
    assert len(_grades(at)) == 1
    # ... and the audit's count says it holds the unreadable files (a new user read it as
    # photos with errors)
    metrics = {m.label: m for m in at.metric}
    assert "With a must-fix issue" not in metrics
    must = metrics["Must-fix or unreadable"]
    assert "plus 2 files that could not be read" in must.help, must.help


@pytest.mark.slow
def test_zip_upload_audits_every_image_and_rerun_uses_the_cache(
        studio_photos: list[Path]) -> None:
    from analyzer.ui.resources import result_cache

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for p in studio_photos[1:3]:
            z.write(p, f"store/{p.name}")
        z.writestr("store/price-list.txt", "not an image")
    at = _app()
    at.file_uploader[0].set_value(("store.zip", buf.getvalue(), "application/zip"))
    at.run()
    assert not at.exception, at.exception
    df = _audit_table(at)
    assert sorted(df["file"]) == sorted(f"store.zip/store/{p.name}"
                                        for p in studio_photos[1:3])
    assert "skipped 1 entry" in _texts(at)
    cache = result_cache()
    misses = cache.misses
    at.run()  # a re-run (any click) must not analyse again
    assert cache.misses == misses
    assert len(_audit_table(at)) == 2


@pytest.mark.slow
def test_search_simulation_and_lookalikes_on_the_demo_catalog(
        photo: tuple[str, bytes], amateur_photos: list[Path]) -> None:
    from analyzer.errors import ListingLensError
    from analyzer.search.catalog import DEMO_CATALOG, Catalog

    try:
        Catalog.open(DEMO_CATALOG)
    except ListingLensError as e:
        pytest.skip(f"the demo catalog (assets/demo_catalog) is not usable: {e.message}")
    at = _app("demo")
    shopper = amateur_photos[0]
    at.file_uploader[0].set_value((shopper.name, shopper.read_bytes(), "image/jpeg"))
    at.run()
    assert not at.exception, at.exception
    metrics = {m.label: m.value for m in at.metric}
    share = metrics["First screen (top 10)"]
    assert re.fullmatch(r"\d+%", share), metrics
    assert re.fullmatch(r"\d+(st|nd|rd|th)", metrics["Percentile vs catalog"])
    assert re.fullmatch(r"\d+ / 100", metrics["Uniqueness"])
    text = _texts(at)
    assert "Where your listing ranks" in text and "Nearest lookalikes in the catalog" in text
    # a clothing photo on a floor is not on white: the what-if simulates the fix
    assert "Make the background pure white" in text or "All fixes together" in text


def test_the_cover_art_box_judges_a_cover_as_the_product() -> None:
    """The sidebar's cover-art box reaches the checks: a cover edge to edge is "not white" and
    "cluttered" until the seller says it is the cover art (the cached verdict is not reused)."""
    from test_cover_art import _cover

    at = _app()
    at.toggle(key="use-model").set_value(False)
    at.file_uploader[0].set_value(("cover.jpg", _cover(), "image/jpeg"))
    at.run()
    assert not at.exception, at.exception
    assert "pure white" in _texts(at) and "judged as cover art" not in _texts(at)
    at.checkbox(key="cover-art").check()
    at.run()
    assert not at.exception, at.exception
    assert "judged as cover art, as you said it is" in _texts(at)
    labels = " ".join(e.label for e in at.expander).replace("\\", "")
    assert "Background: not judged: you said this photo is the cover art" in labels
    assert "Clutter: not judged" in labels


def test_a_product_title_that_names_a_kit_clears_the_props_flag() -> None:
    """The sidebar's product title reaches the checks: three items on white are props until the
    title says they are a kit (and the cached verdict without the title is not reused)."""
    import numpy as np
    from PIL import Image

    canvas = np.full((600, 800, 3), 255, np.uint8)
    rng = np.random.default_rng(0)
    for (y, x, h, w), col in (((120, 270, 360, 260), (40, 60, 140)),
                              ((350, 60, 120, 150), (200, 40, 40)),
                              ((380, 640, 90, 90), (230, 180, 40))):
        canvas[y:y + h, x:x + w] = np.clip(np.array(col) + rng.normal(0, 12, (h, w, 1)), 0, 255)
    buf = io.BytesIO()
    Image.fromarray(canvas).save(buf, format="PNG")
    at = _app()
    at.toggle(key="use-model").set_value(False)
    at.file_uploader[0].set_value(("kit.png", buf.getvalue(), "image/png"))
    at.run()
    assert not at.exception, at.exception
    assert "other objects beside the product" in _texts(at)
    at.text_input(key="product-title").set_value("Yoga starter kit")
    at.run()
    assert not at.exception, at.exception
    assert "other objects beside the product" not in _texts(at)
    # a whole listing title pasted (366 characters: a browser drops a paste past max_chars)
    long_title = ("Yoga starter kit with mat, two blocks and strap, " * 8)[:366]
    field = at.text_input(key="product-title")
    assert not field.max_chars or field.max_chars >= len(long_title)   # 0: no limit
    field.set_value(long_title)
    at.run()
    assert not at.exception, at.exception
    assert "other objects beside the product" not in _texts(at)
