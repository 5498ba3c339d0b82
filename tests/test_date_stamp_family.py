"""The ``date_stamp`` family (scripts/quality_families.py): a camera's amber date imprint in the
lower right corner, seeded, on every copy."""

from __future__ import annotations

import random
import sys
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

import quality_families as qf  # noqa: E402


def test_date_stamp_draws_amber_digits_in_the_lower_right_corner() -> None:
    im = Image.new("RGB", (400, 530), (128, 128, 128))
    base = np.asarray(im).astype(int)
    for seed in range(40):
        out = np.asarray(qf.date_stamp(im, random.Random(seed))).astype(int)
        assert out.shape == base.shape
        changed = np.abs(out - base).max(axis=2) > 40
        ys, xs = np.nonzero(changed)
        assert len(ys) >= 20, f"seed {seed}: nothing drawn"
        # all of it in the lower right corner, the height of a date line
        assert ys.min() > 0.8 * 530 and xs.min() > 0.3 * 400, f"seed {seed}"
        assert ys.max() - ys.min() < 0.08 * 530
        # amber: red high, blue low on the drawn pixels' strongest ones
        core = out[changed]
        amber = (core[:, 0] > 200) & (core[:, 2] < 90)
        assert amber.mean() > 0.3, f"seed {seed}: not amber"
    # seeded: the same draw twice
    a = np.asarray(qf.date_stamp(im, random.Random(7)))
    b = np.asarray(qf.date_stamp(im, random.Random(7)))
    assert (a == b).all()
    assert "date_stamp" in qf.GENERATORS
