"""The trained residual head and the whole-image HSV histogram as parts of a built-in recipe."""

from __future__ import annotations

import numpy as np
import pytest

from analyzer.embed import builtin
from analyzer.embed.base import l2_normalize
from analyzer.embed.builtin import BuiltinConfig, apply_head, combine
from analyzer.embed.color import HSV_DIM, hsv_histogram
from analyzer.errors import ListingLensError


def test_recipe_tag_names_the_head_and_the_hsv_weight_and_reads_back():
    cfg = BuiltinConfig(crop=False, color=False, pool="rmac", head="ssl", w_hsv=0.3)
    assert cfg.tag() == "global+head-ssl+hsv0.3:rmac"
    assert BuiltinConfig.from_tag(cfg.tag()) == cfg
    assert cfg.dim == builtin.FEATURE_DIM + HSV_DIM
    assert not cfg.needs_mask   # whole image only: no product mask to compute


def test_head_is_the_residual_map_and_changes_the_vectors(monkeypatch):
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(1280, 8)).astype(np.float32), rng.normal(size=(8, 1280)).astype(
        np.float32) * 0.01
    monkeypatch.setattr(builtin, "head_weights", lambda name: (a, b, 0.3))
    f = l2_normalize(rng.random((3, 1280)).astype(np.float32))
    out = apply_head(f, "t")
    np.testing.assert_allclose(out, l2_normalize(f + 0.3 * (f @ a) @ b), rtol=1e-5)
    assert np.abs(out - f).max() > 1e-4
    np.testing.assert_array_equal(apply_head(f, None), f)
    cfg = BuiltinConfig(crop=False, color=False, head="t", w_hsv=0.3)
    hsv = np.stack([hsv_histogram(rng.integers(0, 255, (40, 30, 3), dtype=np.uint8))
                    for _ in range(3)])
    v = combine(f, None, None, cfg, hsv=hsv)
    assert v.shape == (3, 1280 + HSV_DIM)
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, rtol=1e-5)
    # the colour part carries weight 0.3: its dot product with the histogram is 0.3
    np.testing.assert_allclose((v[:, 1280:] * hsv).sum(axis=1), 0.3, rtol=1e-4)


def test_a_missing_head_is_a_clear_error():
    with pytest.raises(ListingLensError) as e:
        builtin.head_weights("no-such-head")
    assert e.value.code.name == "EMBEDDER_UNAVAILABLE"


def test_hsv_histogram_is_a_unit_colour_signature():
    red = np.zeros((20, 20, 3), np.uint8)
    red[..., 0] = 220
    blue = np.zeros((20, 20, 3), np.uint8)
    blue[..., 2] = 220
    hr, hb = hsv_histogram(red), hsv_histogram(blue)
    assert hr.shape == (HSV_DIM,) and abs(float(np.linalg.norm(hr)) - 1) < 1e-5
    assert float(hr @ hb) < 0.01 and float(hr @ hsv_histogram(red.copy())) > 0.999


def test_the_shipped_head_makes_the_builtin_head_embedder():
    from analyzer.embed import get_embedder
    from analyzer.embed.builtin import HEAD_CONFIG, head_weights

    a, b, alpha = head_weights(HEAD_CONFIG.head)
    assert a.shape[0] == b.shape[1] == builtin.FEATURE_DIM and a.shape[1] == b.shape[0] <= 256
    assert 0 < alpha <= 1 and np.abs(b).max() > 0   # trained: B starts at zero
    emb = get_embedder("builtin:head", "cpu")
    assert emb.id.endswith(f":{HEAD_CONFIG.tag()}:{builtin.VERSION}") and emb.dim == HEAD_CONFIG.dim
    rgb = np.full((64, 48, 3), 200, np.uint8)
    rgb[16:48, 12:36] = (180, 30, 30)
    v = emb.embed([rgb])
    assert v.shape == (1, emb.dim) and abs(float(np.linalg.norm(v)) - 1) < 1e-5
