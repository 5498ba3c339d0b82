"""Plotly figure builders: check what each chart shows."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analyzer.config import marketplace
from analyzer.results import CheckResult, Flag, ImageReport
from analyzer.ui import charts
from analyzer.ui.text import GRADE_COLORS


def _report() -> ImageReport:
    flag = Flag("BACKGROUND_NOT_WHITE", "error",
                "background is 71% pure white; Amazon requires 100% <b>", "use a white sweep",
                "background")
    checks = {"sharpness": CheckResult("sharpness", 92.0),
              "background": CheckResult("background", 31.0, flags=[flag])}
    return ImageReport(file="a.jpg", ok=True, checks=checks, flags=[flag], grade="C",
                       scores={"overall": 61.0, "sharpness": 92.0, "background": 31.0})


def test_check_bars_show_scores_in_registry_order_with_band_colours() -> None:
    fig = charts.check_bars(_report(), marketplace("amazon"))
    bar = fig.data[0]
    # plotly draws bottom-up, so the first check is last
    assert list(bar.y) == ["Background", "Sharpness"]
    assert list(bar.x) == [31.0, 92.0]
    assert bar.marker.color[0] == GRADE_COLORS["F"] and bar.marker.color[1] == GRADE_COLORS["A"]
    # the hover carries the measured value and the rule, HTML-escaped
    assert "71% pure white" in bar.hovertext[0] and "&lt;b&gt;" in bar.hovertext[0]
    assert "Amazon: white background required" in bar.hovertext[0]


def test_score_gauge_value_and_grade_colour() -> None:
    fig = charts.score_gauge(61.04, "C")
    assert fig.data[0].value == 61.0
    assert fig.data[0].gauge.bar.color == GRADE_COLORS["C"]


def test_rank_histogram_keeps_all_ranks() -> None:
    ranks = [1, 2, 2, 5, 30, 41]
    fig = charts.rank_histogram(ranks, first_screen=20)
    assert list(fig.data[0].x) == [float(r) for r in ranks]
    assert fig.layout.shapes[0].x1 == 20.5  # first screen shaded up to rank 20


def test_whatif_bars_before_after_in_percent() -> None:
    fig = charts.whatif_bars([{"label": "fix the background", "before": 0.12, "after": 0.47}])
    now, after = fig.data
    assert list(now.x) == [12.0] and list(after.x) == [47.0]
    assert after.text[0] == "47%"


def test_catalog_scatter_highlights_upload_and_neighbours() -> None:
    coords = np.random.default_rng(0).normal(size=(30, 2)).astype(np.float32)
    fig = charts.catalog_scatter(coords, [f"p{i}" for i in range(30)], ["a", "b"] * 15,
                                 upload_xy=np.array([0.5, -0.5]), upload_label="<me>.jpg",
                                 neighbors=[3, 7])
    names = [t.name for t in fig.data]
    assert "nearest lookalikes" in names
    star = fig.data[-1]
    assert star.marker.symbol == "star" and list(star.x) == [0.5]
    assert star.hovertext[0] == "&lt;me&gt;.jpg"
    nb = fig.data[names.index("nearest lookalikes")]
    assert list(nb.x) == [float(coords[3, 0]), float(coords[7, 0])]
    total = sum(len(t.x) for t in fig.data if t.name in ("a", "b"))
    assert total == 30


def test_grade_distribution_counts_every_grade() -> None:
    fig = charts.grade_distribution(["A", "C", "C", "F"])
    assert list(fig.data[0].x) == ["A", "B", "C", "D", "F"]
    assert list(fig.data[0].y) == [1, 0, 2, 0, 1]


def test_issue_counts_sorted_most_common_first() -> None:
    df = pd.DataFrame({"label": ["Blurry", "Cmyk", "Blurry"],
                       "severity": ["error", "warning", "error"], "code": ["B", "C", "B"]})
    fig = charts.issue_counts(df)
    assert list(fig.data[0].y) == ["Blurry", "Cmyk"] and list(fig.data[0].x) == [2, 1]
    # One issue at two severities is one bar of 2, coloured by the worse (found by a new user:
    # a bar reaching 2 labelled "1").
    df = pd.DataFrame({"label": ["Product cut off", "Product cut off", "Cmyk"],
                       "severity": ["info", "warning", "warning"], "code": ["P", "P", "C"]})
    fig = charts.issue_counts(df)
    assert list(fig.data[0].y) == ["Product cut off", "Cmyk"] and list(fig.data[0].x) == [2, 1]
    assert list(fig.data[0].text) == [2, 1]
    assert fig.data[0].marker.color[0] == "#f59e0b"  # the warning's colour


def test_audit_frame_is_in_fix_first_order_and_csv_is_safe() -> None:
    from analyzer.engine import error_report
    from analyzer.errors import ListingLensError
    from analyzer.ui.tables import audit_csv, audit_frame, filter_frame

    good = ImageReport(file="=good.jpg", ok=True, grade="A", content_hash="1" * 64,
                       scores={"overall": 95.0, "sharpness": 95.0})
    bad = _report()
    broken = error_report("x.png", ListingLensError("NOT_AN_IMAGE", "x.png is a text file"))
    df = audit_frame([good, bad, broken])
    assert list(df["file"]) == ["x.png", "a.jpg", "=good.jpg"]
    assert df.loc[1, "errors"] == 1 and "71% pure white" in df.loc[1, "top issue"]
    assert df.loc[0, "errors"] == 1  # an unreadable file is a must-fix, as the page counts it
    assert df.loc[1, "gain if fixed"] > 0
    assert list(filter_frame(df, ["A"])["file"]) == ["=good.jpg"]
    assert list(filter_frame(df, text="GOOD")["file"]) == ["=good.jpg"]
    assert list(filter_frame(df, only_problems=True)["file"]) == ["x.png", "a.jpg"]
    csv = audit_csv([good, bad, broken]).decode("utf-8-sig")
    assert "'=good.jpg" in csv and "\n=good" not in csv   # no formula injection
