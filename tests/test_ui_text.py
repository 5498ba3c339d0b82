"""Labels, escaping and the config file."""

from __future__ import annotations

from pathlib import Path

import pytest

from analyzer.config import limits, marketplace
from analyzer.results import CheckResult, Flag
from analyzer.ui.text import check_headline, fix_bullets, flag_line, md_escape, rule_text

REPO = Path(__file__).resolve().parents[1]


def test_md_escape_neutralises_markdown_links_html_and_shortcodes() -> None:
    hostile = "**bold** [x](javascript:alert(1)) <img src=x onerror=1> :material/home: $x$\nnext"
    out = md_escape(hostile)
    for ch in "*[]()<>:$":
        # every special character is preceded by a backslash
        idx = [i for i, c in enumerate(out) if c == ch]
        assert idx and all(out[i - 1] == "\\" for i in idx), ch
    assert "\n" not in out


def test_check_headline_uses_worst_flag_message() -> None:
    res = CheckResult("background", 30.0, flags=[
        Flag("BACKGROUND_OFF_WHITE", "info", "slightly off-white", "x"),
        Flag("BACKGROUND_NOT_WHITE", "error", "background is 71% pure white; Amazon requires 100%",
             "y")])
    assert check_headline("background", res) == (
        "Background: background is 71% pure white; Amazon requires 100%")
    assert "no problem found (95/100)" in check_headline("sharpness",
                                                         CheckResult("sharpness", 95.0))
    # A weak score without a flag is not "no problem" (found by a new user: exposure 28/100
    # with a green tick).
    from analyzer.ui.text import OK_ICON, SEVERITY_ICONS, check_icon

    weak = CheckResult("exposure", 28.0)
    assert "scores only 28/100" in check_headline("exposure", weak)
    assert check_icon(weak) == SEVERITY_ICONS["info"]
    assert check_icon(CheckResult("sharpness", 95.0)) == OK_ICON


def test_flag_line_escapes_message_and_fix_bullets_split() -> None:
    line = flag_line(Flag("BLURRY", "warning", "file *evil*.jpg is soft", "a; b"))
    assert "\\*evil\\*" in line and "Should fix" in line
    assert fix_bullets("Use a white sweep; light it evenly\nre-shoot") == [
        "Use a white sweep", "Light it evenly", "Re-shoot"]


def test_rule_text_follows_marketplace() -> None:
    assert "85%" in rule_text("framing", marketplace("amazon"))
    assert "required" in rule_text("background", marketplace("amazon"))
    assert rule_text("sharpness", marketplace("amazon")) is None


def test_streamlit_config_matches_loader_limits() -> None:
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    cfg = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text())
    # the biggest single upload is a zip; each image inside is held to max_file_mb by the loader
    assert cfg["server"]["maxUploadSize"] == limits()["max_zip_mb"]
    assert limits()["max_file_mb"] <= cfg["server"]["maxUploadSize"]
    assert cfg["browser"]["gatherUsageStats"] is False
    assert cfg["server"]["headless"] is True
    assert cfg["theme"]["base"] == "light"
    # A served dashboard does not watch its own source tree (under load the watcher flooded
    # the log with "Inotify queue overflowed") and never re-runs itself on a file save.
    assert cfg["server"]["fileWatcherType"] == "none"
    assert cfg["server"]["runOnSave"] is False


def test_ordinal() -> None:
    from analyzer.ui.text import ordinal

    assert [ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 41.4, 100)] == [
        "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "41st", "100th"]


def test_near_duplicates_are_one_warning_per_catalog_product() -> None:
    from analyzer.ui.search_panel import duplicate_lines

    dups = [{"product_id": "MH01", "title": "Chaz *Hoodie*", "similarity": 0.89,
             "phash_distance": 12, "registered": None},
            {"product_id": "MH01", "title": "Chaz *Hoodie*", "similarity": 0.79,
             "phash_distance": 20, "registered": {"inliers": 130, "mirrored": True}},
            {"product_id": "MJ02", "title": "Jacket", "similarity": 0.7, "phash_distance": 30,
             "registered": {"inliers": 41, "mirrored": False}, "same_file": False}]
    lines = duplicate_lines(dups)
    assert len(lines) == 2
    assert "Chaz \\*Hoodie\\*" in lines[0] and "similarity 0.89, pHash distance 12/64" in lines[0]
    assert "also copies 1 other photo of that listing" in lines[0]
    assert "line up with a resized or cropped copy of that photo at 41 matching points" in lines[1]
    assert "mirrored" not in lines[1] and "also copies" not in lines[1]


def test_card_search_line_gives_no_rank_for_a_product_the_catalog_lacks() -> None:
    from analyzer.results import ImageReport
    from analyzer.ui.report_card import search_line

    rep = ImageReport(file="shoe.jpg", ok=True)
    rep.search = {"primary_k": 10, "top_k_share": {"10": 0.0}, "outside_catalog": False,
                  "what_if": {"top_k_share": {"10": 0.25}}}
    assert "**0%** of shopper searches" in search_line(rep) and "25%" in search_line(rep)
    rep.search["outside_catalog"] = True
    line = search_line(rep)
    assert "Not covered by this catalog" in line and "%" not in line


def test_a_measure_that_was_not_taken_reads_as_such_on_the_card():
    """The JPEG quality of a PNG is NaN in the metrics (None in the JSON): the card's
    measurements table says "not measured", not "nan"."""
    from analyzer.ui.report_card import _fmt

    assert _fmt(float("nan")) == "not measured" and _fmt(None) == "not measured"
    assert _fmt(0.12345) == "0.123" and _fmt(3) == "3"


def test_card_says_which_cap_holds_the_grade_down() -> None:
    """A grade below what the score gives is explained on the card: a should-fix issue from a
    check that scored low (its check and score named), or a must-fix issue; none when the score
    alone gives the grade."""
    from analyzer.results import ImageReport
    from analyzer.ui.report_card import cap_line

    def rep(grade: str, overall: float, flags: list[Flag],
            scores: dict[str, float]) -> ImageReport:
        return ImageReport(file="x.jpg", ok=True, error=None, width=10, height=10,
                           format="JPEG", scores={"overall": overall, **scores}, grade=grade,
                           metrics={}, flags=flags)

    mono = Flag("MONOCHROME", "warning", "no colour", "", "exposure")
    line = cap_line(rep("B", 90.0, [mono], {"exposure": 20.0}))
    assert line and "caps it at B" in line and "Exposure" in line and "20" in line
    err = Flag("TEXT_OR_WATERMARK", "error", "text", "", "overlays")
    line = cap_line(rep("C", 90.0, [err], {"overlays": 40.0}))
    assert line and "must-fix" in line and "caps it at C" in line
    assert cap_line(rep("B", 80.0, [mono], {"exposure": 20.0})) is None  # the score's own B
    assert cap_line(rep("A", 95.0, [], {"exposure": 100.0})) is None
