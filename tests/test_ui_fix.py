"""The dashboard's Fix it action and the fixed-photos zip, driven through Streamlit's AppTest
(the component on its own: no models, no catalog, no ../shared)."""

from __future__ import annotations

import io
import zipfile

import pytest

pytest.importorskip("streamlit.testing.v1")
from streamlit.testing.v1 import AppTest  # noqa: E402

from analyzer.fix.runner import FixOutcome  # noqa: E402
from analyzer.ui.fix_panel import fixed_zip, position_text  # noqa: E402


def _page() -> None:
    from analyzer.engine import analyze
    from analyzer.ui.fix_panel import render_fix, render_fix_all
    from analyzer.ui.state import SearchHandle, Settings
    from tests.fix_helpers import grey_product_jpeg

    data = grey_product_jpeg()
    settings = Settings("amazon", use_model=False, catalog=None)
    report = analyze(data, name="grey.jpg", use_model=False, keep_image=True)
    # A search flag of the original (the page's report is enriched): the fixed photo is graded
    # without a search, so this flag must not read as "cleared".
    from analyzer.results import Flag

    report.flags.append(Flag("OUTSIDE_CATALOG", "info", "no close match", "add it", "search"))
    render_fix(report, data, settings, SearchHandle(None))
    render_fix_all(["only"], lambda item: (report, data), settings, "b1")


def _page_by_marketplace() -> None:
    import streamlit as st

    from analyzer.engine import analyze
    from analyzer.ui.fix_panel import render_fix_all
    from analyzer.ui.state import Settings
    from tests.fix_helpers import grey_product_jpeg

    data = grey_product_jpeg()
    mkt = st.session_state.get("mkt", "amazon")
    report = analyze(data, name="grey.jpg", use_model=False, keep_image=True, marketplace=mkt)
    render_fix_all(["only"], lambda item: (report, data), Settings(mkt, use_model=False,
                                                                   catalog=None), "b1")


def _page_twins() -> None:
    from types import SimpleNamespace

    from analyzer.engine import analyze
    from analyzer.ui.fix_panel import render_fix_all
    from analyzer.ui.state import Settings
    from tests.fix_helpers import grey_product_jpeg

    data = grey_product_jpeg()
    # two uploads of the same bytes share one cached report, named after the first
    report = analyze(data, name="store.zip/01_bottle.jpg", use_model=False, keep_image=True)
    items = [SimpleNamespace(name="store.zip/01_bottle.jpg"),
             SimpleNamespace(name="Bouteille été 水筒 (1).jpg")]
    render_fix_all(items, lambda item: (report, data), Settings("amazon", use_model=False,
                                                                catalog=None), "b2")


def test_fix_all_keeps_each_uploads_own_name() -> None:
    """A thirteenth new user's try: a photo uploaded beside a zip holding the same bytes came
    back in the fixed zip under the zip member's name, its own ("été 水筒") lost."""
    at = AppTest.from_function(_page_twins, default_timeout=180)
    at.run()
    at.button(key="fix-all").click().run()
    assert not at.exception, at.exception
    data = at.session_state["fixzip-b2-amazon-False"]
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        import json

        listing = json.loads(z.read("fixes.json"))
        names = sorted(z.namelist())
    assert [d["file"] for d in listing] == ["store.zip/01_bottle.jpg",
                                            "Bouteille été 水筒 (1).jpg"]
    assert "Bouteille été 水筒 (1)_fixed.jpg" in names, names
    assert list(at.dataframe[0].value["Photo"]) == [d["file"] for d in listing]


def test_fixed_photos_of_another_marketplace_are_said_to_be_kept() -> None:
    """Found by a new user: switching the marketplace made the Fix all table and zip vanish
    without a word."""
    at = AppTest.from_function(_page_by_marketplace, default_timeout=180)
    at.run()
    at.button(key="fix-all").click().run()
    assert not at.exception, at.exception
    at.session_state["mkt"] = "etsy"
    at.run()
    assert not at.exception, at.exception
    assert "Fixed photos made for Amazon are kept" in _texts(at)
    assert "fixzip-b1-amazon-False" in at.session_state


def _texts(at: AppTest) -> str:
    return "\n".join([m.value for m in at.markdown] + [c.value for c in at.caption])


def test_fix_it_shows_the_fixed_photo_regraded_and_offers_downloads() -> None:
    at = AppTest.from_function(_page, default_timeout=180)
    at.run()
    assert not at.exception, at.exception
    assert "Re-graded" not in _texts(at)  # nothing is fixed until asked
    at.button(key=[b.key for b in at.button if b.key.startswith("fix-")
                   and b.key != "fix-all"][0]).click().run()
    assert not at.exception, at.exception
    text = _texts(at)
    assert "Re-graded:" in text
    cleared = text.split("Cleared:")[1].split("\n")[0]
    assert "Background not white" in cleared  # plain labels, not codes
    assert "Outside catalog" not in cleared and "OUTSIDE_CATALOG" not in cleared
    assert "background made pure white" in text
    stored = at.session_state["ll-fixes"]
    (outcome,) = stored.values()
    assert outcome.ok and outcome.jpeg[:2] == b"\xff\xd8"
    assert outcome.after.overall > outcome.before.overall
    # The store audit's zip: made on request.
    at.button(key="fix-all").click().run()
    assert not at.exception, at.exception
    data = at.session_state["fixzip-b1-amazon-False"]
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert sorted(z.namelist()) == ["fixes.csv", "fixes.json", "grey_fixed.jpg"]
    # Each photo's grades and changes are listed, and stay listed after the next click.
    for _ in range(2):
        (table,) = at.dataframe
        row = table.value.iloc[0]
        assert row["Photo"] == "grey.jpg" and row["Before"] == outcome.before.grade
        assert row["After"] == outcome.after.grade and row["Changed"].startswith(
            "background made white")
        assert "1 of 1 photos fixed" in _texts(at)
        at.run()


def test_fixed_zip_numbers_clashing_names_and_lists_failures() -> None:
    from analyzer.fix.runner import Grade

    ok = FixOutcome(file="a/p.jpg", ok=True, jpeg=b"\xff\xd8x",
                    before=Grade("C", 61.5, ["BACKGROUND_NOT_WHITE"]), after=Grade("A", 92.0, []))
    ok2 = FixOutcome(file="b/p.png", ok=True, jpeg=b"\xff\xd8y")
    bad = FixOutcome(file="c.jpg", ok=False, error={"code": "NO_PRODUCT_FOUND", "message": "m"})
    with zipfile.ZipFile(io.BytesIO(fixed_zip([ok, ok2, bad]))) as z:
        assert sorted(z.namelist()) == ["fixes.csv", "fixes.json", "p_fixed.jpg", "p_fixed_2.jpg"]
        assert b"NO_PRODUCT_FOUND" in z.read("fixes.json")
        import csv
        import json

        listing = json.loads(z.read("fixes.json"))
        assert [d["output"] for d in listing] == ["p_fixed.jpg", "p_fixed_2.jpg", None]
        # the spreadsheet: the CLI's fix columns, one row per photo, failures included
        rows = list(csv.DictReader(io.StringIO(z.read("fixes.csv").decode("utf-8-sig"))))
        assert [r["file"] for r in rows] == ["a/p.jpg", "b/p.png", "c.jpg"]
        assert (rows[0]["fixed_file"], rows[0]["fix_grade_before"], rows[0]["fix_grade_after"],
                rows[0]["fix_overall_after"]) == ("p_fixed.jpg", "C", "A", "92.0")
        assert rows[2]["fix_error"] == "NO_PRODUCT_FOUND" and rows[2]["fixed_file"] == ""


def test_fix_summary_rows_say_why_a_photo_was_not_fixed() -> None:
    from analyzer.fix.runner import Grade
    from analyzer.ui.fix_panel import fix_summary_rows

    ok = FixOutcome(file="p.jpg", ok=True, before=Grade("C", 60.0, ["BACKGROUND_NOT_WHITE"]),
                    after=Grade("A", 90.0, []), notes=["kept the shadow"])
    bad = FixOutcome(file="c.jpg", ok=False, error={"code": "NO_PRODUCT_FOUND",
                                                    "message": "no product in the frame"})
    a, b = fix_summary_rows([ok, bad])
    assert (a["Before"], a["After"], a["Changed"], a["Note"]) == (
        "C", "A", "only re-saved as JPEG", "kept the shadow")
    assert (b["After"], b["Changed"], b["Note"]) == ("-", "not fixed", "no product in the frame")


def test_whatif_note_explains_two_after_figures() -> None:
    from analyzer.ui.fix_panel import whatif_note

    before = {"top_k_share": {"10": 0.31}, "primary_k": 10,
              "what_if": {"top_k_share": {"10": 0.44}}}
    note = whatif_note(before, {"top_k_share": {"10": 0.41}, "primary_k": 10})
    assert note and "44%" in note and "41%" in note
    assert whatif_note(before, {"top_k_share": {"10": 0.44}, "primary_k": 10}) is None
    assert whatif_note({"top_k_share": {"10": 0.31}}, {"top_k_share": {"10": 0.41}}) is None


def test_the_offer_says_what_this_photo_would_get() -> None:
    from analyzer.results import Flag, ImageReport
    from analyzer.ui.fix_panel import offer_text

    def rep(*codes: str) -> ImageReport:
        return ImageReport(file="x.jpg", ok=True, error=None, width=10, height=10,
                           format="JPEG", scores={}, grade="C", metrics={},
                           flags=[Flag(c, "warning", "m", "", "") for c in codes])

    t = offer_text(rep("BACKGROUND_NOT_WHITE", "PRODUCT_TOO_SMALL"))
    assert "pure white" in t and "reframe" in t and "colour" not in t
    t = offer_text(rep("BLURRY"))
    assert "pure white" not in t and "only save" in t
    # a flag the saved JPEG itself answers is not "nothing a fix answers" (a new user's try)
    t = offer_text(rep("CMYK"))
    assert "nothing a fix answers" not in t and "from CMYK" in t and "answers CMYK" in t
    t = offer_text(rep("BACKGROUND_TRANSPARENT", "BLURRY"))
    assert "filled with white" in t and "answers BACKGROUND_TRANSPARENT" in t


def test_capped_grade_is_explained() -> None:
    from analyzer.fix.runner import Grade
    from analyzer.results import Flag, ImageReport
    from analyzer.ui.fix_panel import capped_by

    after = ImageReport(file="x.jpg", ok=True, error=None, width=10, height=10, format="JPEG",
                        scores={}, grade="C", metrics={},
                        flags=[Flag("LOW_RESOLUTION", "error", "too small", "", "resolution")])
    o = FixOutcome(file="x.jpg", ok=True, before=Grade("C", 60.0, []),
                   after=Grade("C", 90.0, ["LOW_RESOLUTION"]), after_report=after)
    note = capped_by(o)
    assert note and "caps it at C" in note and "resolution" in note.lower()
    o.after = Grade("C", 60.0, ["LOW_RESOLUTION"])  # the score itself is a C: nothing to explain
    assert capped_by(o) is None
    # a warning whose check scored low caps it at B (thresholds.yaml cap_grade_with_warning)
    after = ImageReport(file="x.jpg", ok=True, error=None, width=10, height=10, format="JPEG",
                        scores={"overall": 90.0, "exposure": 30.0}, grade="B", metrics={},
                        flags=[Flag("UNDEREXPOSED", "warning", "crushed", "", "exposure")])
    o = FixOutcome(file="x.jpg", ok=True, before=Grade("B", 90.0, []),
                   after=Grade("B", 90.0, ["UNDEREXPOSED"]), after_report=after)
    note = capped_by(o)
    assert note and "caps it at B" in note and "should-fix" in note
    assert "underexposed" in note.lower() or "dark" in note.lower()


def test_position_text() -> None:
    before = {"median_rank": 14.0, "top_k_share": {"10": 0.31}, "primary_k": 10}
    after = {"median_rank": 5.0, "top_k_share": {"10": 0.62}, "primary_k": 10}
    t = position_text(before, after)
    assert "14" in t and "**5**" in t and "31%" in t and "**62%**" in t
    assert position_text(before, None) is None
    assert "median rank **5**" in position_text(None, after)
