"""Stage 2 of the search simulation: suppression, the quality prior, the category restriction."""

from __future__ import annotations

import numpy as np
import pytest

from analyzer.config import marketplace
from analyzer.results import Flag
from analyzer.search.market_rank import QualityPrior, Stage2, expected_positions, suppression
from analyzer.search.rank import ProductGroups, virtual_ranks

# 4 products, one image each; two queries.
GROUPS = ProductGroups.from_ids(["a", "b", "c", "d"])
SIMS = np.array([[0.90, 0.80, 0.70, 0.60],
                 [0.50, 0.85, 0.95, 0.40]], np.float32)
LISTING = np.array([0.75, 0.80], np.float32)


def test_zero_prior_over_all_products_is_the_visual_rank():
    st = Stage2(QualityPrior(weight=0.0), quality=30.0)
    exp = expected_positions(SIMS, LISTING, GROUPS, None, None, st)
    assert exp.tolist() == virtual_ranks(SIMS, LISTING, GROUPS).tolist() == [3, 3]


def test_quality_prior_moves_the_listing_by_its_score_shift():
    prior = QualityPrior(weight=0.3, reference=80.0)
    good = Stage2(prior, quality=100.0)      # +0.06
    bad = Stage2(prior, quality=0.0)         # -0.24
    assert good.boost == pytest.approx(0.06) and bad.boost == pytest.approx(-0.24)
    assert expected_positions(SIMS, LISTING, GROUPS, None, None, good).tolist() == [2, 2]
    assert expected_positions(SIMS, LISTING, GROUPS, None, None, bad).tolist() == [5, 3]
    # unknown quality: no shift
    assert Stage2(prior, quality=None).boost == 0.0


def test_stage1_keeps_only_products_of_the_category():
    st = Stage2(QualityPrior(weight=0.0), quality=None)
    in_cat = np.array([False, True, True, True])   # "a" is another category
    assert expected_positions(SIMS, LISTING, GROUPS, None, in_cat, st).tolist() == [2, 3]
    excl = np.array([False, False, True, False])
    assert expected_positions(SIMS, LISTING, GROUPS, excl, in_cat, st).tolist() == [2, 2]


def test_a_suppressed_listing_comes_after_every_product():
    st = Stage2(QualityPrior(), quality=100.0,
                suppress=suppression(marketplace("amazon"),
                                     [Flag("BACKGROUND_NOT_WHITE", "error", "m", "f")]))
    assert st.suppress.suppressed and st.suppress.codes == ("BACKGROUND_NOT_WHITE",)
    assert st.suppress.kind == "official" and st.suppress.source.startswith("https://")
    assert expected_positions(SIMS, LISTING, GROUPS, None, None, st).tolist() == [5, 5]


def test_suppression_needs_a_listed_error_on_a_marketplace_that_suppresses():
    amazon = marketplace("amazon")
    # a warning is not a broken hard rule; an unlisted error does not suppress
    assert not suppression(amazon, [Flag("PRODUCT_TOO_SMALL", "warning", "m", "f")]).suppressed
    assert not suppression(amazon, [Flag("CMYK", "error", "m", "f")]).suppressed
    assert suppression(amazon, [Flag("BLURRY", "error", "m", "f")]).suppressed
    # Amazon's "Image issues" page: pixelation and props (additional items) suppress too
    assert suppression(amazon, [Flag("UPSCALED", "error", "m", "f")]).suppressed
    assert suppression(amazon, [Flag("CLUTTERED_BACKGROUND", "error", "m", "f")]).suppressed
    # Etsy documents no such rule
    assert not suppression(marketplace("etsy"),
                           [Flag("BACKGROUND_NOT_WHITE", "error", "m", "f")]).suppressed


def test_prior_is_read_from_thresholds_and_can_be_overridden():
    from analyzer.search.search_config import SearchConfig

    cfg = SearchConfig.from_thresholds()
    d = cfg.prior.describe()
    assert d["name"] == "image_quality_ctr" and "1511.06746" in d["source"]
    assert cfg.prior.weight > 0
    over = SearchConfig.from_thresholds({"prior": {"weight": 0.5}})
    assert over.prior.weight == 0.5 and over.prior.reference == cfg.prior.reference


def test_dashboard_shows_both_ranks_and_the_assumption():
    from analyzer.search.search_config import SearchConfig
    from analyzer.ui.search_panel import two_stage_lines

    prior = SearchConfig.from_thresholds().prior
    search = {"primary_k": 10, "median_rank": 200.0, "top_k_share": {"10": 0.0},
              "visual": {"median_rank": 3.0, "top_k_share": {"10": 0.9}},
              "stage2": {"quality_prior": prior.describe(), "quality": 61.0,
                         "score_shift": prior.boost(61.0), "marketplace": "amazon",
                         "suppression": {"suppressed": True, "codes": ["BLURRY"],
                                         "kind": "secondary", "source": "https://x"}}}
    lines = two_stage_lines(search)
    assert "median rank 3" in lines[0] and "median rank 200" in lines[1]
    assert any("Suppressed" in ln and "BLURRY" in ln for ln in lines)
    assert any("image_quality_ctr" in ln and "1511.06746" in ln for ln in lines)
    assert two_stage_lines({"median_rank": 1.0}) == []   # an old report: nothing to show


def test_no_whatif_message_warns_when_the_listing_is_suppressed() -> None:
    """Found by a new user: a heavily compressed photo (hidden from search on Amazon) got a
    green "No simulated fix applies" in the what-if panel, which reads as all clear."""
    from analyzer.ui.search_panel import no_whatif_message

    hidden = {"stage2": {"marketplace": "amazon",
                         "suppression": {"suppressed": True, "codes": ["COMPRESSED"]}}}
    kind, text = no_whatif_message(hidden)
    assert kind == "warning" and "COMPRESSED" in text and text.startswith("Amazon hides")
    assert no_whatif_message({})[0] == "success"
    assert no_whatif_message({"stage2": {"suppression": {"suppressed": False}}})[0] == "success"


def test_marketplace_named_as_the_rules_spell_it() -> None:
    """Found by a new user: "Ebay hides this photo" (the key capitalised). The stored label is
    used, and a result saved before the label was stored falls back to the rules' label."""
    from analyzer.ui.search_panel import no_whatif_message, two_stage_lines

    sup = {"suppressed": True, "codes": ["BLURRY"], "kind": "official", "source": "https://x"}
    old = {"stage2": {"marketplace": "ebay", "suppression": sup}}
    new = {"stage2": {"marketplace": "ebay", "marketplace_label": "eBay", "suppression": sup}}
    for res in (old, new):
        assert no_whatif_message(res)[1].startswith("eBay hides")
    search = {"primary_k": 10, "median_rank": 9.0, "top_k_share": {"10": 0.5},
              "visual": {"median_rank": 3.0, "top_k_share": {"10": 0.9}}, **new}
    assert any(ln.startswith("Suppressed: eBay hides") for ln in two_stage_lines(search))
    unknown = {"stage2": {"marketplace": "nowhere", "suppression": sup}}
    assert no_whatif_message(unknown)[1].startswith("The marketplace hides")


def test_whatif_lines_say_what_the_simulated_fixes_leave_hidden_and_read_a_drop() -> None:
    """A thirteenth new user's try: "All fixes together: stays at 0%" on a photo hidden for its
    props (which no simulated fix removes), and a crop that lowered the share read as advice."""
    from analyzer.ui.search_panel import change_text, still_hidden_text

    hidden = {"stage2": {"marketplace": "amazon", "marketplace_label": "Amazon", "suppression": {
        "suppressed": True, "codes": ["BACKGROUND_NOT_WHITE", "CLUTTERED_BACKGROUND"]}},
              "what_if": {"suppressed": True}}   # still hidden after the simulated fixes
    text = still_hidden_text(hidden)
    assert text and text.startswith("Amazon would still hide") and "CLUTTERED_BACKGROUND" in text
    # the simulated fixes lift it (their own re-grade): nothing to warn of
    lifted = {**hidden, "what_if": {"suppressed": False}}
    assert still_hidden_text(lifted) is None and still_hidden_text({}) is None
    assert still_hidden_text({"stage2": hidden["stage2"]}) is None   # no what-if ran
    assert "rule still asks for it" in change_text(0.69, 0.56)
    assert "rule" not in change_text(0.5, 0.7)
