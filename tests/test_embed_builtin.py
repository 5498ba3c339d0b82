"""The built-in embedder: shape, normalisation, determinism, colour, and multi-view retrieval on
real luma photos."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from analyzer.embed import get_embedder
from analyzer.embed.backbone import letterbox
from analyzer.embed.color import DIM as COLOR_DIM
from analyzer.embed.color import HSV_DIM, color_descriptor
from analyzer.embed.views import crop_box, product_view
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
    assert emb.dim == 1280 + HSV_DIM   # the default: head (whole image) + HSV histogram
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
    """An alternate view ranks its own product's main image first for most of five products of
    different kinds, mean rank <= 1.4 (chance: 3). The previous default put every view first or
    second (3 + 2 x 2 = 7 at worst); the head (the default since 2026-12-03) puts four first and
    the tee's view third, behind the short and the tank (all three dark sportswear)."""
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
    assert (ranks == 1).sum() >= 3 and ranks.sum() <= 7, np.round(sims, 3)
    same = np.diag(sims).mean()
    other = (sims.sum() - np.trace(sims)) / (sims.size - len(keys))
    assert same > other + 0.1


V2_ID = "builtin:effnet-lite0-imagenet:global+crop0.1cutx1+color0.2:gem3:v2"


def test_recipe_tags_round_trip_and_old_ids_still_resolve():
    from dataclasses import replace

    from analyzer.embed.builtin import DEFAULT_CONFIG, V2_CONFIG, BuiltinConfig

    assert V2_CONFIG.tag() == "global+crop0.1cutx1+color0.2:gem3"
    for cfg in (V2_CONFIG, DEFAULT_CONFIG, BuiltinConfig(crop=False, color=False),
                replace(V2_CONFIG, flip=True, w_grey=0.5, tap=10, w_tap=0.3, w_color=0.1),
                replace(V2_CONFIG, cutout=False, crop_pad=0.2, whiten="x1")):
        assert BuiltinConfig.from_tag(cfg.tag()) == cfg
    for bad in ("", "global", "crop0.1x1:gem3", "global+sparkle:gem3", "global+b3x0.2:gem3",
                "global+color0.20:gem3"):
        with pytest.raises(ValueError):
            BuiltinConfig.from_tag(bad)
    # A catalog built with the v2 default stores this id: it must still give that embedder.
    old = get_embedder(V2_ID, device="cpu")
    assert old.id == V2_ID and old.dim == 1280 + COLOR_DIM
    assert get_embedder("builtin:global+crop+color", device="cpu").id == V2_ID
    assert get_embedder("builtin:" + DEFAULT_CONFIG.tag(), device="cpu").id == \
        get_embedder("builtin", device="cpu").id
    with pytest.raises(ListingLensError) as e:     # same recipe, a preprocessing version we lack
        get_embedder(V2_ID.replace(":v2", ":v1"), device="cpu")
    assert e.value.code == ErrorCode.EMBEDDER_UNAVAILABLE


def test_mirror_averaging_makes_a_mirrored_photo_embed_alike():
    from analyzer.embed.builtin import GLOBAL_ONLY, BuiltinEmbedder

    # An asymmetric product: a triangle off to one side with a bar on the right.
    img, mask = _shape_image((30, 120, 200), "tri", shift=30, size=(200, 260))
    img[40:160, 230:245] = (200, 40, 40)
    mirror = np.ascontiguousarray(img[:, ::-1])
    plain = BuiltinEmbedder("cpu", GLOBAL_ONLY).embed([img, mirror])
    from dataclasses import replace

    flipped = BuiltinEmbedder("cpu", replace(GLOBAL_ONLY, flip=True)).embed([img, mirror])
    assert flipped[0] @ flipped[1] > 0.995 > plain[0] @ plain[1]


def test_greyscale_pass_brings_colour_variants_closer():
    from dataclasses import replace

    from analyzer.embed.builtin import GLOBAL_ONLY, BuiltinEmbedder

    red, m1 = _shape_image((210, 30, 30), "rect")
    green, m2 = _shape_image((40, 170, 60), "rect")
    plain = BuiltinEmbedder("cpu", GLOBAL_ONLY).embed([red, green])
    grey = BuiltinEmbedder("cpu", replace(GLOBAL_ONLY, w_grey=2.0)).embed([red, green])
    assert grey[0] @ grey[1] > plain[0] @ plain[1] + 0.02


def test_catalog_built_with_an_older_recipe_gets_its_own_embedder(tmp_path):
    """The manifest says only "builtin", which now means another recipe: the catalog must
    re-create the embedder named by its id, not the current default."""
    import json

    from analyzer.search.catalog import Catalog, build_catalog
    from tests.catalog_helpers import write_products

    write_products(tmp_path / "src", n_products=2, views=1)
    build_catalog(tmp_path / "src", tmp_path / "cat", embedder="builtin:global", progress=False)
    manifest = tmp_path / "cat" / "manifest.json"
    m = json.loads(manifest.read_text())
    m["embedder_spec"] = "builtin"
    manifest.write_text(json.dumps(m))
    cat = Catalog.open(tmp_path / "cat")
    emb = cat.embedder("cpu")
    assert emb.id == cat.embedder_id == get_embedder("builtin:global", device="cpu").id
    assert emb.id != get_embedder("builtin", device="cpu").id
    # Asking for another embedder explicitly is still refused.
    with pytest.raises(ListingLensError) as e:
        cat.embedder("cpu", spec="builtin")
    assert e.value.code == ErrorCode.CATALOG_MISMATCH


def test_rmac_regions_and_pooling():
    import torch

    from analyzer.embed.backbone import rmac, rmac_regions

    regions = rmac_regions(7, 7)
    assert regions[0] == (0, 0, 7, 7) and len(regions) == len(set(regions)) == 14
    assert all(0 <= y0 < y1 <= 7 and 0 <= x0 < x1 <= 7 and y1 - y0 == x1 - x0
               for y0, x0, y1, x1 in regions)
    # One active channel at one cell: each region that holds the cell adds exactly 1 to it.
    fmap = torch.zeros(1, 3, 7, 7)
    fmap[0, 1, 0, 0] = 5.0
    holding = sum(1 for y0, x0, y1, x1 in regions if y0 == 0 and x0 == 0)
    out = rmac(fmap)
    assert out.shape == (1, 3) and float(out[0, 1]) == pytest.approx(holding)
    assert float(out[0, 0]) == 0.0 == float(out[0, 2])


RMAC_CROP_ID = "builtin:effnet-lite0-imagenet:global+crop0.1cutx1+color0.2:rmac:v2"


def test_default_recipe_is_the_head_and_a_missing_whitening_is_a_clear_error():
    from analyzer.embed.builtin import DEFAULT_CONFIG, HEAD_CONFIG, RMAC_CROP_CONFIG, V2_CONFIG

    emb = get_embedder("builtin", device="cpu")
    assert DEFAULT_CONFIG == HEAD_CONFIG and DEFAULT_CONFIG not in (V2_CONFIG, RMAC_CROP_CONFIG)
    assert emb.id == "builtin:effnet-lite0-imagenet:global+head-ssl+hsv0.4:rmac:v2"
    assert emb.id == get_embedder("builtin:head", device="cpu").id
    # Catalogs built with the previous default (R-MAC + crop + colour) store this id: it must
    # still give that embedder, not the new default.
    old = get_embedder(RMAC_CROP_ID, device="cpu")
    assert old.id == RMAC_CROP_ID and old.config == RMAC_CROP_CONFIG and old.dim == 1280 + COLOR_DIM
    with pytest.raises(ListingLensError) as e:
        get_embedder("builtin:global+pw-not-shipped:gem3", device="cpu")
    assert e.value.code == ErrorCode.EMBEDDER_UNAVAILABLE


def test_inference_backbone_matches_the_plain_model():
    """The backbone runs with its batch norms folded into the convolutions, symmetric paddings
    inside them and the channels_last layout, for speed; its pooled features must be the plain
    package model's to float rounding, so catalogs embedded before still rank the same (a wrong
    fold or padding, or a transposed input, would move them by O(1))."""
    import torch

    from analyzer.embed.backbone import (
        feature_maps,
        load_backbone,
        load_weights,
        rmac,
        to_input,
    )

    model = load_backbone("cpu")
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules())
    rng = np.random.default_rng(3)
    views = [rng.integers(0, 256, (180, 240, 3), dtype=np.uint8) for _ in range(2)]
    x = to_input(views, 224)
    assert x.is_contiguous(memory_format=torch.channels_last)
    plain = load_weights()
    with torch.inference_mode():
        fa, fb = feature_maps(model, x)[0], feature_maps(plain, x.contiguous())[0]
        a, b = rmac(fa), rmac(fb)
    assert fa.shape == fb.shape == (2, 1280, 7, 7)
    assert torch.allclose(a, b, rtol=1e-4, atol=1e-4)
    assert a.abs().max() > 0.1
    # The in-place activations must not touch a tensor read again (a block's input, a kept tap):
    # the second call on the same input gives the same features.
    assert all(m.inplace for m in model.modules() if isinstance(m, torch.nn.ReLU6))
    with torch.inference_mode():
        again, kept = feature_maps(model, x, (7,))
        again2, kept2 = feature_maps(model, x, (7,))
    assert torch.equal(again, fa) and torch.equal(again2, fa) and torch.equal(kept[7], kept2[7])


def test_search_layer_runs_numpy_with_one_blas_thread():
    """OpenBLAS's spinning second thread cost ~20% of enrich()'s CPU on its small products:
    loading the embedder limits numpy's BLAS to one thread (LISTING_LENS_BLAS_THREADS)."""
    from threadpoolctl import threadpool_info, threadpool_limits

    from analyzer.embed.base import configure_torch_threads

    with threadpool_limits(limits=2, user_api="blas"):
        configure_torch_threads()
        blas = [d for d in threadpool_info() if d["user_api"] == "blas"]
        assert blas and all(d["num_threads"] == 1 for d in blas)
