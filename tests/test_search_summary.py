"""The typed search figures that the CSV, the PDF and the dashboard headline read."""

from __future__ import annotations

from analyzer.search.summary import SearchSummary

RESULT = {
    "scores": {"search": 61.5, "differentiation": 40.0},
    "search": {
        "primary_k": 10, "n_products": 199, "n_queries": 32, "median_rank": 4.0,
        "top_k_share": {"4": 0.5, "10": 0.75, "20": 0.9}, "percentile": 62.0,
        "visual": {"median_rank": 2.0, "top_k_share": {"10": 0.8}, "percentile": 70.0},
        "stage2": {"suppression": {"suppressed": False}},
        "what_if": {"fixes": ["whiten_background"], "median_rank": 2.0,
                    "top_k_share": {"10": 0.9}},
        "outside_catalog": False,
    },
    "differentiation": {"nearest": [{"product_id": "MH01", "title": "Hoodie",
                                     "similarity": 0.91, "item_id": 7}],
                        "near_duplicates": [{}, {}]},
}


def test_summary_reads_every_headline_figure() -> None:
    sm = SearchSummary.from_result(RESULT)
    assert sm is not None
    assert (sm.primary_k, sm.n_products, sm.n_queries) == (10, 199, 32)
    assert (sm.expected.median_rank, sm.expected.top_k_share, sm.expected.percentile) == \
        (4.0, 0.75, 62.0)
    assert sm.visual is not None and sm.visual.median_rank == 2.0
    assert sm.visual.top_k_share == 0.8
    assert sm.suppressed is False and sm.outside_catalog is False
    assert sm.what_if is not None and sm.what_if.fixes == ("whiten_background",)
    assert sm.what_if.figures.top_k_share == 0.9
    assert sm.nearest[0].product_id == "MH01" and sm.nearest[0].item_id == 7
    assert sm.near_duplicates == 2 and sm.search_score == 61.5


def test_summary_of_partial_or_old_results_is_lenient() -> None:
    assert SearchSummary.from_result({"ok": True, "scores": {}}) is None
    sm = SearchSummary.from_result({"search": {"median_rank": "n/a", "top_k_share": None}})
    assert sm is not None and sm.expected.median_rank is None
    assert sm.expected.top_k_share is None and sm.visual is None and sm.what_if is None
    assert sm.suppressed is None and sm.nearest == () and sm.near_duplicates is None
