"""The held-out text recipe (scripts/quality_families.py ``text_unseen``, issue 14): faces, words
and styles that no verifier was fitted on, so its rows say how far the text finder carries past
the recipe it learnt from."""

from __future__ import annotations

import random
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

import quality_families as qf  # noqa: E402


def _plain(w: int = 320, h: int = 400) -> Image.Image:
    return Image.new("RGB", (w, h), (250, 250, 250))


def test_unseen_faces_are_none_of_the_fitted_ones() -> None:
    fitted = {p.name for p in qf.font_files()}
    unseen = {p.name for p in qf.unseen_font_files()}
    if not unseen:
        pytest.skip("matplotlib's fonts are not installed")
    assert not fitted & unseen
    assert not set(qf.WORDS) & set(qf.UNSEEN_WORDS)


def test_text_unseen_is_seeded_and_draws_something() -> None:
    im = _plain()
    a = np.asarray(qf.text_unseen(im, random.Random(3)))
    b = np.asarray(qf.text_unseen(im, random.Random(3)))
    assert a.shape == (400, 320, 3)
    assert np.array_equal(a, b)
    assert (np.abs(a.astype(int) - 250).max(axis=2) > 40).sum() > 30  # glyphs or a plate


def test_every_style_occurs_and_fits_the_frame() -> None:
    """Over many seeds each of the four styles shows (a plate: a large flat non-backdrop area;
    plain or shadowed words: only thin strokes), and nothing is drawn out of the frame."""
    im = _plain(200, 150)  # small: tiles must be shrunk to fit, never fail
    plates = words = 0
    for seed in range(40):
        a = np.asarray(qf.text_unseen(im, random.Random(seed))).astype(int)
        changed = (np.abs(a - 250).max(axis=2) > 20).mean()
        plates += changed > 0.04
        words += 0 < changed <= 0.04
    assert plates >= 5 and words >= 5
