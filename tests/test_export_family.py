"""The store-export control family (scripts/quality_families.py ``export``): a clean photo
shrunk, sharpened and saved once at JPEG 55-90 as a web store's export leaves it, which the
sharpness check must *not* flag (a single save at 60 read as an earlier save at 30 did:
analyzer/io/jpeg.py)."""

from __future__ import annotations

import random
import sys
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

import evaluate_quality as eq  # noqa: E402
import quality_families as qf  # noqa: E402


def _photo(w: int = 1200, h: int = 900) -> Image.Image:
    g = np.random.default_rng(0)
    a = np.full((h, w, 3), 250, np.uint8)
    a[h // 4: 3 * h // 4, w // 4: 3 * w // 4] = g.integers(40, 200, (h // 2, w // 2, 3))
    return Image.fromarray(a)


def test_export_is_seeded_never_enlarges_and_sometimes_shrinks_or_sharpens() -> None:
    im = _photo()
    sizes, changed = set(), 0
    for seed in range(16):
        x = qf.export(im, random.Random(seed))
        y = qf.export(im, random.Random(seed))
        assert x.size == y.size and np.array_equal(np.asarray(x), np.asarray(y))
        assert x.size == im.size or 800 <= max(x.size) < max(im.size)
        sizes.add(x.size)
        changed += x.size != im.size or not np.array_equal(np.asarray(x), np.asarray(im))
    assert len(sizes) >= 3 and 8 <= changed < 16  # each step half of the time
    small = Image.new("RGB", (198, 198), (255, 255, 255))  # an icon is never enlarged
    assert all(qf.export(small, random.Random(s)).size == (198, 198) for s in range(8))


def test_export_saves_at_a_web_quality_and_is_judged_on_the_sharpness_flags() -> None:
    qs = {qf.SAVE_QUALITY["export"](random.Random(s)) for s in range(200)}
    assert min(qs) >= 55 and max(qs) <= 90 and len(qs) > 20
    spec = eq.family_specs()["export"]
    assert spec.check == "sharpness"
    assert {"COMPRESSED", "BLURRY", "UPSCALED", "NOISY"} == set(spec.codes)
