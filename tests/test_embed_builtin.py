"""The built-in embedder: shape, normalisation, determinism, colour, and multi-view retrieval on
real luma photos."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from analyzer.embed import get_embedder
from analyzer.embed.builtin import crop_box, letterbox, product_view
from analyzer.embed.color import DIM as COLOR_DIM
from analyzer.embed.color import color_descriptor
from analyzer.errors import ErrorCode, ListingLensError


def _shape_image(color: tuple[int, int, int], kind: str, shift: int = 0,
                 size: tuple[int, int] = (180, 240)) -> tuple[np.ndarray, np.ndarray]:
    """A product-like picture (a coloured shape on white) and its mask."""
    import cv2

    h, w = size
    img = np.full((h, w, 3), 255, np.uint8)
    mask = np.zeros((h, w), np.uint8)
    cx, cy = w // 2 + shift, h // 2 + shift // 2
    if kind == "circle":
        cv2.circle(mask, (cx, cy), 55, 1, -1)
    elif kind == "rect":
        cv2.rectangle(mask, (cx - 70, cy - 35), (cx + 70, cy + 35), 1, -1)
    else:
        pts = np.array([[cx, cy - 60], [cx - 60, cy + 50], [cx + 60, cy + 50]], np.int32)
        cv2.fillPoly(mask, [pts], 1)
    img[mask > 0] = color
    # A little texture so the network sees more than a flat blob.
    rng = np.random.default_rng(abs(hash((color, kind))) % 2**32)
    noise = rng.integers(-12, 12, size=img.shape)
    img = np.where(mask[..., None] > 0, np.clip(img + noise, 0, 255), img).astype(np.uint8)
    return img, mask.astype(bool)


@pytest.fixture(scope="module")
def emb():
    return get_embedder("builtin", device="cpu")


def test_shape_normalisation_and_determinism(emb):
    ims, masks = zip(*[_shape_image((200, 30, 30), "circle"), _shape_image((30, 30, 200), "rect"),
                       _shape_image((30, 160, 30), "tri")], strict=True)
    a = emb.embed(list(ims), list(masks))
    b = emb.embed(list(ims), list(masks), batch_size=1)
    assert a.shape == (3, emb.dim) and a.dtype == np.float32
    assert emb.dim == 1280 + COLOR_DIM
    np.testing.assert_allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)
    # Batched and one-by-one give the same vectors (no batch-dependent state).
    np.testing.assert_allclose(a, b, atol=1e-4)
    assert emb.embed([]).shape == (0, emb.dim)


def test_id_names_configuration_and_cache():
    full = get_embedder("builtin", device="cpu")
    glob = get_embedder("builtin:global", device="cpu")
    assert full is get_embedder("builtin", device="cpu")      # cached per process
    assert full.id != glob.id and full.id.startswith("builtin:effnet-lite0")
    assert glob.dim == 1280


def test_same_object_closer_than_other_object(emb):
    red1, m1 = _shape_image((210, 20, 20), "circle")
    red2, m2 = _shape_image((210, 20, 20), "circle", shift=25, size=(200, 260))
    blue, m3 = _shape_image((20, 40, 210), "rect")
    v = emb.embed([red1, red2, blue], [m1, m2, m3])
    assert v[0] @ v[1] > v[0] @ v[2] + 0.05


def test_colour_descriptor_tells_red_from_blue():
    red, m = _shape_image((210, 20, 20), "circle")
    red2, m2 = _shape_image((190, 30, 25), "rect")
    blue, mb = _shape_image((20, 40, 210), "circle")
    r, r2, b = color_descriptor(red, m), color_descriptor(red2, m2), color_descriptor(blue, mb)
    assert r.shape == (COLOR_DIM,) and abs(np.linalg.norm(r) - 1) < 1e-5
    assert r @ r2 > 0.8 > 0.3 > r @ b
    # Without the mask the white background dominates and the colours look alike.
    assert color_descriptor(red) @ color_descriptor(blue) > r @ b


def test_crop_box_and_product_view():
    img, mask = _shape_image((200, 30, 30), "rect", size=(200, 300))
    box = crop_box(mask.astype(np.float32), pad=0.1)
    assert box is not None
    x0, y0, x1, y1 = box
    assert x0 < 80 and x1 > 220 and x0 >= 0 and x1 <= 300
    view = product_view(img, mask.astype(np.float32), 0.1, cutout=True)
    assert view.shape[0] == y1 - y0 and view.shape[1] == x1 - x0
    # No product: the whole image is used.
    assert crop_box(np.zeros((50, 50), np.float32), 0.1) is None
    assert letterbox(img).shape == (224, 224, 3)


def test_text_query_needs_clip(emb):
    with pytest.raises(ListingLensError) as e:
        emb.embed_text(["red bag"])
    assert e.value.code == ErrorCode.EMBEDDER_UNAVAILABLE


def test_unknown_spec():
    with pytest.raises(ListingLensError) as e:
        get_embedder("nonsense")
    assert e.value.code == ErrorCode.EMBEDDER_UNAVAILABLE
    with pytest.raises(ListingLensError):
        get_embedder("builtin:nope")


@pytest.mark.shared
@pytest.mark.slow
def test_luma_views_of_a_product_find_its_main_image(shared_data, emb):
    """An alternate view ranks its own product's main image first or second among five products
    of different kinds (a tank's back view and a short both look like dark sportswear)."""
    from analyzer.io.loader import load_image

    keys = ("24-UG07", "MT09", "24-WG03", "MSH08", "WS05")   # a ball, tank, watch, short, tee
    with open(shared_data / "luma" / "MANIFEST_products.csv", newline="") as f:
        rows = {r["product_key"]: r for r in csv.DictReader(f)}
    mains, alts = [], []
    for k in keys:
        imgs = rows[k]["images"].split("|")
        mains.append(load_image(shared_data / "luma" / imgs[0], working_long_side=512).rgb)
        alts.append(load_image(shared_data / "luma" / imgs[1], working_long_side=512).rgb)
    m, a = emb.embed(mains), emb.embed(alts)
    sims = a @ m.T
    # Rank of each view's own main image among the five (chance: 3 on average).
    ranks = (sims > np.diag(sims)[:, None]).sum(axis=1) + 1
    assert (ranks == 1).sum() >= 3 and ranks.max() <= 2, np.round(sims, 3)
    same = np.diag(sims).mean()
    other = (sims.sum() - np.trace(sims)) / (sims.size - len(keys))
    assert same > other + 0.1
