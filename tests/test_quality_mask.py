"""The product mask: u2netp at a smaller, dynamic input size, the classical fallback, alpha."""

from __future__ import annotations

import numpy as np
import pytest
from quality_controls import rgb_of

from analyzer.vision import mask as M


def iou(a: np.ndarray, b: np.ndarray) -> float:
    u = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / u) if u else 1.0


def _synthetic() -> tuple[np.ndarray, np.ndarray]:
    """A red mug-like block with a handle on a white backdrop, and its true mask."""
    rgb = np.full((240, 320, 3), 255, np.uint8)
    truth = np.zeros((240, 320), bool)
    truth[60:190, 100:200] = True
    truth[90:150, 200:230] = True
    rgb[truth] = (190, 30, 40)
    return rgb, truth


needs_model = pytest.mark.skipif(not M.model_available(), reason="u2netp is not installed")


def test_classical_mask_finds_a_plain_product() -> None:
    rgb, truth = _synthetic()
    r = M.product_mask(rgb, use_model=False)
    assert r.source == "classical"
    assert iou(r.binary, truth) > 0.9
    assert r.bbox == pytest.approx((100, 60, 230, 190), abs=3)


def test_classical_mask_on_a_grey_noisy_backdrop() -> None:
    rgb, truth = _synthetic()
    rng = np.random.default_rng(1)
    noise = rng.normal(0, 4, rgb.shape)
    rgb = np.where(truth[..., None], rgb, 150 + noise).clip(0, 255).astype(np.uint8)
    assert iou(M.product_mask(rgb, use_model=False).binary, truth) > 0.85


def test_grabcut_settings_come_from_config_unless_given(monkeypatch) -> None:
    """benchmarks/bench_mask.py's grid passes GrabCut's side and iterations; the analysis uses
    ``segmentation.mask.grabcut_side`` / ``grabcut_iters``."""
    rgb, truth = _synthetic()
    rgb = np.where(truth[..., None], rgb, 150).astype(np.uint8)  # grey backdrop: GrabCut runs
    seen: list[tuple[int, int]] = []
    real = M._grabcut

    def spy(small, fg, side, iters):  # type: ignore[no-untyped-def]
        seen.append((side, iters))
        return real(small, fg, side, iters)

    monkeypatch.setattr(M, "_grabcut", spy)
    M.classical_prob(rgb)
    M.classical_prob(rgb, grabcut_side=128, grabcut_iters=1)
    cfg = M._cfg()
    assert seen == [(int(cfg["grabcut_side"]), int(cfg["grabcut_iters"])), (128, 1)]


def test_alpha_channel_wins_over_any_model() -> None:
    rgb, truth = _synthetic()
    alpha = np.where(truth, 255, 0).astype(np.uint8)
    r = M.product_mask(rgb, alpha, use_model=True)
    assert r.source == "alpha"
    assert np.array_equal(r.binary, truth)
    # An opaque alpha channel is no cut-out: the mask comes from the pixels.
    assert M.product_mask(rgb, np.full_like(alpha, 255), use_model=False).source == "classical"


def test_missing_model_falls_back_to_classical(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("LISTING_LENS_U2NETP", str(tmp_path / "absent.onnx"))
    M._model.cache_clear()
    try:
        assert not M.model_available()
        rgb, truth = _synthetic()
        r = M.product_mask(rgb, use_model=True)
        assert r.source == "classical" and iou(r.binary, truth) > 0.9
    finally:
        monkeypatch.delenv("LISTING_LENS_U2NETP")
        M._model.cache_clear()


@needs_model
def test_dynamic_graph_has_symbolic_spatial_dims() -> None:
    onnx = pytest.importorskip("onnx")
    path = M.u2netp_path()
    assert path is not None
    g = onnx.load_from_string(M.dynamic_graph(path.read_bytes())).graph
    dims = g.input[0].type.tensor_type.shape.dim
    assert [d.dim_value for d in dims[:2]] == [1, 3]
    assert (dims[2].dim_param, dims[3].dim_param) == ("height", "width")
    assert len(g.value_info) == 0


@needs_model
def test_dynamic_model_is_cached_once(monkeypatch, tmp_path) -> None:
    pytest.importorskip("onnx")
    monkeypatch.setenv("LISTING_LENS_CACHE", str(tmp_path))
    path = M.u2netp_path()
    first = M._dynamic_model(path)
    files = list(tmp_path.glob("u2netp-*.onnx"))
    assert first == str(files[0]) and len(files) == 1
    stamp = files[0].stat().st_mtime_ns
    assert M._dynamic_model(path) == first
    assert files[0].stat().st_mtime_ns == stamp  # reused, not rewritten


@needs_model
def test_u2netp_finds_the_synthetic_product() -> None:
    rgb, truth = _synthetic()
    r = M.product_mask(rgb, use_model=True)
    assert r.source == "u2netp"
    assert r.prob.shape == truth.shape and r.prob.dtype == np.float32
    assert r.prob.min() >= 0.0 and r.prob.max() <= 1.0
    assert iou(r.binary, truth) > 0.8


@needs_model
@pytest.mark.shared
@pytest.mark.slow
def test_fast_mask_agrees_with_the_320_mask_on_real_photos(luma_main_images,
                                                           clothing_images) -> None:
    """The configured input size against u2netp's native 320 on studio and amateur photos."""
    import onnxruntime as ort

    size = M.model_size()
    src = M._dynamic_model(M.u2netp_path())
    sess = ort.InferenceSession(src, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(7)
    paths = ([luma_main_images[i] for i in rng.choice(len(luma_main_images), 5, replace=False)]
             + [clothing_images[i] for i in rng.choice(len(clothing_images), 5, replace=False)])
    scores = []
    for p in paths:
        rgb = rgb_of(p, 512)
        fast = M.product_mask(rgb).binary
        x = M.cv2.resize(rgb, (320, 320), interpolation=M.cv2.INTER_AREA).astype(np.float32)
        x = (x / max(float(x.max()), 1.0) - M._MEAN) / M._STD
        out = sess.run(None, {sess.get_inputs()[0].name: x.transpose(2, 0, 1)[None]})[0][0, 0]
        out = (out - out.min()) / max(float(out.max() - out.min()), 1e-6)
        ref = M.cv2.resize(out, rgb.shape[1::-1]) >= 0.5
        scores.append(iou(fast, ref))
    # An ambiguous photo (which of two objects is "the" product) may flip; most must agree.
    assert np.median(scores) > 0.95, (size, scores)
    assert sum(s > 0.85 for s in scores) >= 8, (size, scores)


@needs_model
@pytest.mark.shared
def test_classical_mask_agrees_with_u2netp_on_studio_shots(luma_main_images) -> None:
    """The fallback is meant for plain backdrops: there it must find what u2netp finds.

    (A full-bleed close-up whose product runs off several edges is its known weak spot.)
    """
    rng = np.random.default_rng(2)
    scores = []
    for i in rng.choice(len(luma_main_images), 6, replace=False):
        rgb = rgb_of(luma_main_images[i], 512)
        scores.append(iou(M.product_mask(rgb, use_model=False).binary,
                          M.product_mask(rgb, use_model=True).binary))
    assert np.median(scores) > 0.85, scores
    assert sum(s > 0.75 for s in scores) >= 4, scores


def test_fill_holes_matches_scipy_binary_fill_holes() -> None:
    """The classical mask's hole filling (one 4-connected labelling) gives exactly what
    scipy.ndimage.binary_fill_holes gives, on random masks of every density and on the edge
    cases (nothing, everything, one pixel, one row)."""
    from scipy.ndimage import binary_fill_holes

    from analyzer.vision.mask_ops import fill_holes

    rng = np.random.default_rng(0)
    masks = [rng.random(tuple(rng.integers(1, 40, 2))) < rng.random() for _ in range(500)]
    ring = np.zeros((9, 9), bool)
    ring[2:7, 2:7] = True
    ring[4, 4] = False  # a 1-px hole: filled
    notch = ring.copy()
    notch[4, 2:5] = False  # the hole opens to the outside through a channel: kept
    masks += [ring, notch, np.zeros((5, 5), bool), np.ones((5, 5), bool), np.ones((1, 1), bool),
              np.zeros((1, 7), bool), ring.T[:, ::-1]]  # the last one not C-contiguous
    for m in masks:
        got = fill_holes(m)
        assert got.dtype == bool and np.array_equal(got, binary_fill_holes(m))
    assert fill_holes(ring)[4, 4] and not fill_holes(notch)[4, 3]


def test_label_is_opencvs_labelling_in_16_bits_when_it_fits() -> None:
    """mask_ops.label: the same count and label numbers as cv2.connectedComponents (8- and
    4-connected), in 16 bits, and 32 bits when there are more components than 16 bits hold."""
    import cv2

    from analyzer.vision.mask_ops import label

    rng = np.random.default_rng(3)
    for density in (0.05, 0.3, 0.6):
        m = (rng.random((240, 320)) < density).astype(np.uint8)
        for conn in (8, 4):
            n, lab = label(m, conn)
            n_ref, ref = cv2.connectedComponents(m, connectivity=conn)
            assert n == n_ref and lab.dtype == np.uint16 and np.array_equal(lab, ref)
    speckle = np.zeros((800, 800), np.uint8)
    speckle[::2, ::2] = 1  # 160,000 isolated pixels
    n, lab = label(speckle, 8)
    assert n == 160_001 and lab.dtype == np.int32 and int(lab.max()) == 160_000
    # with statistics: the same labels, stats and centroids as OpenCV's, in both widths
    from analyzer.vision.mask_ops import label_with_stats

    for mask, dtype in ((m, np.uint16), (speckle, np.int32)):
        for algo in (cv2.CCL_DEFAULT, cv2.CCL_GRANA):
            got = label_with_stats(mask, 8, algo)
            ref = cv2.connectedComponentsWithStatsWithAlgorithm(mask, 8, cv2.CV_32S, algo)
            assert got[0] == ref[0] and got[1].dtype == dtype
            assert all(np.array_equal(a, b) for a, b in zip(got[1:], ref[1:], strict=True))


def test_component_areas_are_the_label_counts_in_both_widths() -> None:
    """mask_ops.component_areas: each component's pixel count, as a bincount of the labels gives,
    whether the labels are 16-bit (OpenCV's histogram) or 32-bit (more than 65,535 parts)."""
    from analyzer.vision.mask_ops import component_areas, label

    rng = np.random.default_rng(5)
    big = np.zeros((1500, 1209), bool)
    big[100:1400, 200:1000] = True  # one part of 1.04 M pixels, as a full-size product mask
    speckle = np.zeros((800, 800), bool)
    speckle[::2, ::2] = True
    for m in (rng.random((240, 320)) < 0.3, big, speckle, np.zeros((5, 5), bool)):
        n, lab, areas = component_areas(m)
        n_ref, ref = label(m.view(np.uint8), 8)
        assert n == n_ref and np.array_equal(lab, ref)
        assert areas.dtype == np.int64
        assert np.array_equal(areas, np.bincount(ref.ravel(), minlength=n)[1:])
    assert component_areas(big)[2].tolist() == [1300 * 800]


def test_convex_hull_from_outlines_is_the_hull_of_every_pixel():
    import cv2

    from analyzer.vision.mask_ops import convex_hull

    def every_pixel(part: np.ndarray) -> np.ndarray:  # the definition, over all pixels
        out = np.zeros(part.shape, np.uint8)
        pts = cv2.findNonZero(part.astype(np.uint8))
        if pts is not None:
            cv2.fillConvexPoly(out, cv2.convexHull(pts), 1)
        return out > 0

    rng = np.random.default_rng(0)
    for _ in range(60):  # several parts, holes from overlaps, single-pixel specks
        m = np.zeros((200, 160), np.uint8)
        for _ in range(int(rng.integers(1, 5))):
            c = tuple(int(v) for v in rng.integers(0, 160, 2))
            ax = tuple(int(v) for v in rng.integers(1, 70, 2))
            cv2.ellipse(m, c, ax, float(rng.uniform(0, 180)), 0, 360, 1, -1)
        m[rng.random(m.shape) < 0.001] = 1
        assert np.array_equal(convex_hull(m > 0), every_pixel(m > 0))
    assert not convex_hull(np.zeros((10, 10), bool)).any()
