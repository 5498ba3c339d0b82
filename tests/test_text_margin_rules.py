"""The margin each candidate word needs (text.required_margin, text.in_margin) and how
find_text picks the words that pass: by each word's margin over its own need."""

from __future__ import annotations

import numpy as np
import pytest

from analyzer.config import check_thresholds
from analyzer.quality.overlays import text as text_mod

TH = check_thresholds("overlays")


def test_a_word_in_the_frames_margin_on_the_backdrop_needs_the_edge_margin() -> None:
    H, W = 600, 800
    plain = np.ones((H, W), bool)
    plain[100:500, 200:600] = False  # the product
    corner = (10, 560, 170, 585)       # small print in the lower left corner
    middle = (300, 290, 460, 315)      # a word on the product's middle
    far = (60, 200, 190, 225)          # beside the product, 60 px from the edge (10%)
    edge = text_mod.in_margin([corner, middle, far], (H, W), plain, TH,
                              np.array([12.0, 12.0, 12.0]))
    assert edge.tolist() == [True, False, False]
    # the same corner word on a floor (no plain backdrop there), or of grain-sized glyphs: not,
    no_plain = np.zeros((H, W), bool)
    assert not text_mod.in_margin([corner], (H, W), no_plain, TH, np.array([12.0]))[0]
    assert not text_mod.in_margin([corner], (H, W), plain, TH,
                                  np.array([TH["edge_min_h"] - 1.0]))[0]
    # ... nor a blob a tenth of the frame tall (grain grouped on a small photo): not small print
    assert not text_mod.in_margin([corner], (H, W), plain, TH,
                                  np.array([TH["edge_max_h_frac"] * H + 1.0]))[0]
    # a plain map at another size is resized to the words' working size
    small = plain[::2, ::2]
    assert text_mod.in_margin([corner], (H, W), small, TH, np.array([12.0]))[0]
    need = text_mod.required_margin(np.array([0.0, 0.0, 1.0]), TH,
                                    np.array([True, False, True]))
    assert need.tolist() == [TH["verify_margin_edge"], TH["verify_margin"],
                             TH["verify_margin_inside"]]  # on the product: its own margin
    assert TH["verify_margin_edge"] < TH["verify_margin"] < TH["verify_margin_inside"]


def test_a_word_on_the_product_under_its_need_does_not_hide_one_beside_it(monkeypatch) -> None:
    """Words are taken by their margin over their own need: a word on the product with the
    highest margin but under its (higher) need used to end the search, and the word beside the
    product that passed its own was never counted (no flag, though the evidence said text)."""
    words = [text_mod.Word(np.array([1]), 4, (100, 100, 200, 120)),
             text_mod.Word(np.array([2]), 5, (300, 20, 420, 40))]
    feats = [{"inside": 1.0, "h": 12.0}, {"inside": 0.0, "h": 12.0}]
    inside_need = TH["verify_margin_inside"]
    margins = np.array([inside_need - 0.25, TH["verify_margin"] + 0.25])
    monkeypatch.setattr(text_mod, "candidates", lambda *a, **k: (1.0, words, feats, (400, 600)))
    monkeypatch.setattr(text_mod, "verifier_margin", lambda f, *a: margins)
    found = text_mod.find_text(np.zeros((400, 600, 3), np.uint8), np.zeros((400, 600), bool), TH)
    assert found.evidence == pytest.approx(0.25)
    assert found.n_words == 1 and found.boxes == [(300, 20, 420, 40)]
    assert found.n_on_product == 0 and found.text_area > 0


def _find(monkeypatch, boxes: list[tuple[int, int, int, int]], heights: list[float],
          margins: list[float]) -> text_mod.TextFinding:
    """find_text on a 400 x 600 frame whose candidate words are these (all off the product)."""
    words = [text_mod.Word(np.array([i + 1]), 3, b) for i, b in enumerate(boxes)]
    feats = [{"inside": 0.0, "h": h} for h in heights]
    monkeypatch.setattr(text_mod, "candidates", lambda *a, **k: (1.0, words, feats, (400, 600)))
    monkeypatch.setattr(text_mod, "verifier_margin", lambda f, *a: np.array(margins))
    return text_mod.find_text(np.zeros((400, 600, 3), np.uint8), np.zeros((400, 600), bool), TH)


def test_a_lone_word_of_glyphs_just_over_the_floor_is_not_text(monkeypatch) -> None:
    """One short word whose glyphs are under lone_word_min_h_frac of the frame (a floor's
    specks) passes its margin but is not found; its evidence still ranks the photo."""
    floor = TH["lone_word_min_h_frac"] * 400
    passing = TH["verify_margin"] + 0.5
    speck = (100, 100, 116, 105)
    found = _find(monkeypatch, [speck], [floor - 0.5], [passing])
    assert found.n_words == 0 and found.text_area == 0.0 and not found.map.any()
    assert found.evidence == pytest.approx(0.5)
    # ... found at two gradient thresholds, it is still one word
    found = _find(monkeypatch, [speck, (101, 100, 115, 105)], [floor - 0.5] * 2, [passing] * 2)
    assert found.n_words == 0
    # a lone word of legible glyphs is text, and so are two small words
    assert _find(monkeypatch, [speck], [floor + 0.5], [passing]).n_words == 1
    two = _find(monkeypatch, [speck, (300, 200, 316, 205)], [floor - 0.5] * 2, [passing] * 2)
    assert two.n_words == 2 and two.text_area > 0
