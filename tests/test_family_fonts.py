"""The overlay families draw text on every copy (scripts/quality_families.py): faces without
Latin glyphs (DejaVu's ``*Display.ttf``) left about 1 text or watermark copy in 20 blank, and
each was counted as a miss of the text finder."""

from __future__ import annotations

import random
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

import quality_families as qf  # noqa: E402


def test_every_listed_face_draws_latin_letters() -> None:
    faces = qf.font_files()
    if not faces:
        pytest.skip("no DejaVu or Liberation faces installed")
    assert all(qf.draws_latin(p) for p in faces)


@pytest.mark.parametrize("family", [qf.text, qf.watermark])
def test_every_seeded_copy_carries_the_overlay(family) -> None:  # type: ignore[no-untyped-def]
    if not qf.font_files():
        pytest.skip("no DejaVu or Liberation faces installed")
    # a colour far from every mark colour (black, white, grey 90, red): a 15% mark moves it >= 16
    im = Image.new("RGB", (300, 360), (170, 200, 60))
    base = np.asarray(im).astype(int)
    blank = [seed for seed in range(120)
             if (np.abs(np.asarray(family(im, random.Random(seed))).astype(int) - base)
                 .max(axis=2) > 8).sum() < 20]
    assert not blank, f"copies with nothing drawn: seeds {blank}"
