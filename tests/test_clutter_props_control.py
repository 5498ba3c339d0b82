"""The props families' control (scripts/quality_families.py ``props_none``, issue 14 item 3): the
product re-laid out as the props families do, with no prop pasted, so a props measure can be told
from a measure of the layout."""

from __future__ import annotations

import random
import sys
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

import quality_families as qf  # noqa: E402


def _studio_shot() -> Image.Image:
    """A dark-red 'product' (a disc and a bar) on a white backdrop, 300 x 400 px."""
    a = np.full((400, 300, 3), 255, np.uint8)
    cv2.circle(a, (150, 170), 90, (150, 20, 30), -1)
    cv2.rectangle(a, (120, 250), (180, 350), (150, 20, 30), -1)
    return Image.fromarray(a)


def _objects(im: Image.Image) -> tuple[int, int]:
    """(number of objects off the white backdrop, their pixel count)."""
    fg = (np.asarray(im.convert("L")) < 235).astype(np.uint8)
    n, _, st, _ = cv2.connectedComponentsWithStats(fg, connectivity=8)
    big = st[1:, cv2.CC_STAT_AREA] >= 20
    return int(big.sum()), int(st[1:, cv2.CC_STAT_AREA][big].sum())


def test_props_none_is_the_props_layout_without_props() -> None:
    im = _studio_shot()
    n0, area0 = _objects(im)
    prop = qf.cutout(Image.fromarray(np.pad(np.full((60, 60, 3), (20, 60, 200), np.uint8),
                                            ((20, 20), (20, 20), (0, 0)),
                                            constant_values=255)))
    out = qf.props_none(im, random.Random(3), [prop])
    assert out.size == im.size
    n, area = _objects(out)
    assert n0 == 1 and n == 1  # the product alone: the blue prop offered is never pasted
    # shrunk to 50-75% of its size on each side: 25-56% of its area (a little slack for the
    # cut-out's soft edge)
    assert 0.2 * area0 <= area <= 0.6 * area0, (area, area0)
    blue = np.asarray(out).astype(int)
    assert not ((blue[..., 2] > 150) & (blue[..., 0] < 80)).any()
    # seeded: the same rng seed gives the same image (the evaluation caches it by name)
    assert np.array_equal(np.asarray(out), np.asarray(qf.props_none(im, random.Random(3), [prop])))


def test_props_families_do_paste_props_where_the_control_does_not() -> None:
    im = _studio_shot()
    prop = qf.cutout(Image.fromarray(np.pad(np.full((60, 60, 3), (20, 60, 200), np.uint8),
                                            ((20, 20), (20, 20), (0, 0)),
                                            constant_values=255)))
    for fam in (qf.props_behind, qf.props_overlap):
        a = np.asarray(fam(im, random.Random(3), [prop])).astype(int)
        assert ((a[..., 2] > 150) & (a[..., 0] < 80)).sum() > 100, fam.__name__
