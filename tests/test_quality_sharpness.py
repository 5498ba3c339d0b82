"""Sharpness: the product's edge blur, on synthetic edges, synthetic controls and real photos."""

from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
from PIL import Image, ImageFilter

from analyzer.config import marketplace
from analyzer.io import resampling
from analyzer.io.loader import load_image
from analyzer.quality import sharpness
from analyzer.quality.context import ImageContext
from analyzer.vision.edge_blur import EdgeBlurSettings, measure_edge_blur


def _ctx(im: Image.Image, use_model: bool = False) -> ImageContext:
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    return ImageContext(load_image(buf.getvalue(), name="t.png"), marketplace("amazon"),
                        use_model=use_model)


def _blurred(im: Image.Image, sigma_at_1000: float) -> Image.Image:
    return im.filter(ImageFilter.GaussianBlur(sigma_at_1000 * max(im.size) / 1000))


def _resized(im: Image.Image, long_side: int) -> Image.Image:
    s = long_side / max(im.size)
    return im.resize((round(im.width * s), round(im.height * s)), Image.Resampling.LANCZOS)


@pytest.fixture(scope="module")
def photo(studio_photo) -> Image.Image:
    return Image.open(studio_photo).convert("RGB")


def test_edge_blur_estimate_follows_applied_blur():
    # A vertical step edge blurred by a known sigma: the estimate must grow with it and be close
    # to the true value once the blur dominates the pixel grid's own.
    est = []
    for s in (0.0, 1.0, 2.0, 3.0):
        img = np.zeros((128, 128), np.float32)
        img[:, 64:] = 0.8
        img += 0.1
        if s > 0:
            img = cv2.GaussianBlur(img, (0, 0), s)
        eb = measure_edge_blur(img, np.ones_like(img, bool), (0, 0, 128, 128),
                                         canonical_long_side=512, min_edge_contrast=0.02)
        assert len(eb.sigma) > 50
        est.append(float(np.median(eb.sigma)))
    assert est == sorted(est)
    assert est[0] < 1.0
    assert est[3] == pytest.approx(3.0, rel=0.25)


def test_edge_blur_is_contrast_invariant():
    vals = []
    for contrast in (0.1, 0.8):
        img = np.full((128, 128), 0.1, np.float32)
        img[:, 64:] += contrast
        img = cv2.GaussianBlur(img, (0, 0), 1.5)
        eb = measure_edge_blur(img, np.ones_like(img, bool), (0, 0, 128, 128),
                                         min_edge_contrast=0.01)
        vals.append(float(np.median(eb.sigma)))
    assert vals[0] == pytest.approx(vals[1], rel=0.1)


def test_blurred_photo_is_flagged_and_original_is_not(photo):
    sharp = sharpness.check(_ctx(photo))
    blurry = sharpness.check(_ctx(_blurred(photo, 2.5)))
    assert not [f for f in sharp.flags if f.code == "BLURRY"]
    assert [f for f in blurry.flags if f.code == "BLURRY"]
    assert sharp.score >= 90
    assert blurry.score <= sharp.score - 40
    msg = next(f for f in blurry.flags if f.code == "BLURRY")
    assert "px" in msg.message and msg.fix and msg.severity == "error"


def test_blur_grows_monotonically(photo):
    scores = [sharpness.check(_ctx(_blurred(photo, s))).metrics["edge_blur_px"]
              for s in (0.0001, 1.5, 3.0, 5.0)]
    assert scores == sorted(scores)


def test_scale_aware_same_photo_800_and_2000(photo):
    small = sharpness.check(_ctx(_resized(photo, 800)))
    large = sharpness.check(_ctx(_resized(photo, 2000)))
    assert small.score == pytest.approx(large.score, abs=5)
    assert small.metrics["edge_blur_px"] == pytest.approx(large.metrics["edge_blur_px"],
                                                          rel=0.15)
    blurred_small = sharpness.check(_ctx(_blurred(_resized(photo, 800), 2.5)))
    blurred_large = sharpness.check(_ctx(_blurred(_resized(photo, 2000), 2.5)))
    assert blurred_small.score == pytest.approx(blurred_large.score, abs=12)


def test_white_margins_do_not_make_a_sharp_photo_blurry(photo):
    # The same product on three times the white canvas: the whole-image Laplacian variance
    # collapses (most of the frame is empty); the product-based measure does not move.
    w, h = photo.size
    canvas = Image.new("RGB", (w * 3, h * 3), (255, 255, 255))
    canvas.paste(photo, (w, h))
    canvas = _resized(canvas, max(w, h))
    product = photo.resize((w // 3, h // 3), Image.Resampling.LANCZOS)
    base = sharpness.check(_ctx(product))
    padded = sharpness.check(_ctx(canvas))
    assert padded.score == pytest.approx(base.score, abs=8)
    assert not padded.flags

    def lapvar(im: Image.Image) -> float:
        g = np.asarray(im.convert("L"), np.float32) / 255
        return float(cv2.Laplacian(g, cv2.CV_32F).var())

    assert lapvar(canvas) < 0.5 * lapvar(_resized(photo, max(w, h)))


def test_blur_map_marks_the_blurred_half(photo):
    im = np.asarray(_resized(photo, 1000)).copy()
    h, w = im.shape[:2]
    im[:, w // 2:] = cv2.GaussianBlur(im[:, w // 2:], (0, 0), 4)
    res = sharpness.check(_ctx(Image.fromarray(im)))
    bmap = res.maps["blur"]
    assert bmap.shape == im.shape[:2] and bmap.dtype == np.float32
    assert bmap.min() >= 0.0 and bmap.max() <= 1.0
    left, right = bmap[:, : w // 2 - 20], bmap[:, w // 2 + 20:]
    assert right[right > 0].mean() > left[left > 0].mean() + 0.2


def test_blank_image_is_not_called_blurry():
    res = sharpness.check(_ctx(Image.new("RGB", (600, 600), (250, 250, 250))))
    assert res.score == 100 and not res.flags
    assert res.metrics["n_edges"] < EdgeBlurSettings.load().min_edges


@pytest.mark.shared
def test_real_photos_sharp_ones_are_not_flagged(luma_main_images, clothing_images):
    luma = [sharpness.check(_ctx(Image.open(p).convert("RGB"))) for p in luma_main_images[:40:4]]
    assert sum(bool(r.flags) for r in luma) <= 1
    cloth = [sharpness.check(_ctx(Image.open(p).convert("RGB"))) for p in clothing_images[:60:6]]
    assert sum(bool(r.flags) for r in cloth) <= 5  # amateur, but mostly in focus


@pytest.mark.slow
def test_neural_mask_gives_the_same_verdicts(photo):
    sharp = sharpness.check(_ctx(photo, use_model=True))
    blurry = sharpness.check(_ctx(_blurred(photo, 2.5), use_model=True))
    assert not sharp.flags and blurry.flags


# ---- direction-aware blur and missing detail (issue 14), on synthetic products ---------------

def _pink_product(side: int = 1000, seed: int = 0) -> np.ndarray:
    """A textured product on white: 1/f noise (a natural image's spectrum, Field 1987) in a
    box, with lines in every direction so every edge orientation has support."""
    rng = np.random.default_rng(seed)
    n = side
    fy = np.fft.fftfreq(n)[:, None]
    fx = np.fft.fftfreq(n)[None, :]
    amp = 1.0 / np.maximum(np.hypot(fx, fy), 1.0 / n)
    tex = np.real(np.fft.ifft2(amp * np.exp(2j * np.pi * rng.random((n, n)))))
    # through a lens: optics never pass white noise at the pixel scale, which is what the noise
    # measure rightly reads as grain (NOISY); sigma 0.7 px keeps the detail share of a sharp photo
    tex = cv2.GaussianBlur(tex.astype(np.float32), (0, 0), 0.7)
    tex = (tex - tex.mean()) / tex.std()
    img = np.full((n, n, 3), 255, np.float32)
    m = np.zeros((n, n), np.uint8)
    cv2.rectangle(m, (n // 5, n // 6), (4 * n // 5, 5 * n // 6), 1, -1)
    base = np.array([60, 90, 150], np.float32)
    prod = base + 40.0 * tex[..., None]
    for k in range(24):  # strokes at every angle
        a = np.pi * k / 24
        c = (n // 2 + int(rng.integers(-n // 5, n // 5)),
             n // 2 + int(rng.integers(-n // 4, n // 4)))
        d = (int(np.cos(a) * n // 8), int(np.sin(a) * n // 8))
        cv2.line(prod, (c[0] - d[0], c[1] - d[1]), (c[0] + d[0], c[1] + d[1]), (240, 230, 200), 3)
    img[m > 0] = prod[m > 0]
    return np.clip(img, 0, 255).astype(np.uint8)


def _motion(rgb: np.ndarray, length: float, angle: float) -> np.ndarray:
    n = int(np.ceil(length / 2)) + 1
    k = np.zeros((2 * n + 1, 2 * n + 1), np.float32)
    t = np.deg2rad(angle)
    for s in np.linspace(-length / 2, length / 2, int(length * 4)):
        k[int(round(n - s * np.sin(t))), int(round(n + s * np.cos(t)))] += 1
    return cv2.filter2D(rgb, -1, k / k.sum(), borderType=cv2.BORDER_REFLECT)


def _ctx_rgb(rgb: np.ndarray) -> ImageContext:
    return _ctx(Image.fromarray(rgb))


@pytest.fixture(scope="module")
def pink() -> np.ndarray:
    return _pink_product()


def test_directional_blur_takes_the_worst_supported_direction():
    theta = np.r_[np.full(200, 0.1), np.full(200, 1.6), np.full(10, 2.6)]
    sigma = np.r_[np.full(200, 0.8), np.full(200, 2.0), np.full(10, 5.0)].astype(np.float32)
    worst, ang, n, best = sharpness.directional_blur(sigma, theta.astype(np.float32), 30, 6, 40,
                                                     0.05)
    assert worst == pytest.approx(2.0) and n == 200 and 90 <= ang <= 120
    assert best == pytest.approx(0.8)  # the 10 edges at 150 deg are too few to have a say
    # the pooled 30th percentile hides the smear behind the crisp edges across it
    assert float(np.percentile(sigma, 30)) < 1.0


def test_sharp_synthetic_product_is_not_flagged(pink):
    res = sharpness.check(_ctx_rgb(pink))
    assert not res.flags, [f.message for f in res.flags]
    assert res.score >= 90


@pytest.mark.parametrize("angle", [0.0, 35.0, 90.0, 140.0])
def test_motion_blur_at_any_angle_is_flagged(pink, angle):
    res = sharpness.check(_ctx_rgb(_motion(pink, 15.0, angle)))  # 1.5% of the long side
    assert [f for f in res.flags if f.code == "BLURRY"], res.metrics
    assert res.metrics["edge_blur_worst_dir_px"] > res.metrics["edge_blur_px"]
    assert res.score < 70


def test_blur_cause_names_a_smear_only_when_one_direction_is_clearly_worst():
    th = {"sigma_flag": 1.15, "dir_sigma_flag": 1.1, "dir_spread_min": 1.3,
          "half_sigma_flag": 1.1, "half_uneven_flag": 0.95, "half_uneven_ratio": 1.3}
    m = {"edge_blur_px": 1.0, "edge_blur_worst_dir_px": 1.5, "edge_blur_best_dir_px": 0.9,
         "edge_blur_worst_half_px": 1.2}
    assert sharpness.blur_cause(m, th) is sharpness.BlurCause.ONE_DIRECTION
    assert sharpness.blur_cause(m | {"edge_blur_best_dir_px": 1.2}, th) is (
        sharpness.BlurCause.SOFT)
    assert sharpness.blur_cause(m | {"edge_blur_px": 1.2}, th) is sharpness.BlurCause.EVERYWHERE
    assert sharpness.blur_cause(m | {"edge_blur_worst_dir_px": 1.05}, th) is (
        sharpness.BlurCause.PART)
    assert sharpness.blur_cause(m, th, measurable=False) is None
    assert sharpness.blur_cause(m | {"edge_blur_worst_dir_px": 1.0,
                                     "edge_blur_worst_half_px": 1.0}, th) is None


def test_a_reading_just_past_its_line_never_prints_as_the_line():
    assert sharpness.past_line(1.127, 1.1) == "1.13"
    assert sharpness.past_line(1.104, 1.1) == "1.104"
    assert sharpness.past_line(1.1004, 1.1) == "1.100"  # three decimals is as far as it goes
    assert sharpness.past_line(0.9, 1.1) == "0.90"


def test_an_even_blur_is_not_called_camera_shake_but_a_smear_is(pink):
    # A Gaussian blur whose worst orientation passes the line before the pooled edges do: the
    # flag stands, and it no longer tells the seller to steady a camera that did not move.
    soft = sharpness.check(_ctx_rgb(cv2.GaussianBlur(pink, (0, 0), 1.6)))
    msg = next(f.message for f in soft.flags if f.code == "BLURRY")
    assert "soft in every direction" in msg and "one direction" not in msg
    assert soft.metrics["edge_blur_px"] <= 1.15 and soft.metrics["edge_blur_worst_dir_px"] > 1.1
    smear = sharpness.check(_ctx_rgb(_motion(pink, 10.0, 35.0)))
    msg = next(f.message for f in smear.flags if f.code == "BLURRY")
    # the way in words, not degrees (35 deg: between side to side and diagonal, 30 deg sectors)
    assert ("smeared side to side" in msg or "smeared diagonally" in msg) and " deg " not in msg
    m = smear.metrics
    assert m["edge_blur_worst_dir_px"] >= 1.3 * m["edge_blur_best_dir_px"]


def test_upscaled_product_is_flagged_with_its_effective_size(pink):
    small = cv2.resize(pink, (300, 300), interpolation=cv2.INTER_AREA)
    up = cv2.resize(small, (1000, 1000), interpolation=cv2.INTER_CUBIC)
    sharp = sharpness.check(_ctx_rgb(pink))
    res = sharpness.check(_ctx_rgb(up))
    codes = [f.code for f in res.flags]
    assert "UPSCALED" in codes or "BLURRY" in codes
    assert res.metrics["detail_share"] < 0.5 * sharp.metrics["detail_share"]
    assert res.metrics["effective_factor"] < 0.7 <= sharp.metrics["effective_factor"]
    if "UPSCALED" in codes:
        msg = next(f for f in res.flags if f.code == "UPSCALED").message
        assert "px photo enlarged to 1000 px" in msg


def test_noise_sigma_reads_the_added_noise_and_not_texture_or_edges(pink):
    rng = np.random.default_rng(3)
    flat = np.full((300, 300), 0.5, np.float32)
    box = (0, 0, 300, 300)
    region = np.ones((300, 300), bool)
    for sd in (3.0, 8.0):
        noisy = flat + rng.normal(0, sd / 255.0, flat.shape).astype(np.float32)
        assert sharpness.noise_sigma(noisy, region, box) == pytest.approx(sd, rel=0.15)
    # A textured product (fine 1/f texture, strokes, its outline on white) is not grain: read
    # over the whole product, as the check does, and on one central window, as before.
    gray = cv2.cvtColor(pink, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255.0
    h, w = gray.shape
    box = (w // 5, h // 6, 4 * w // 5, 5 * h // 6)
    region = np.zeros((h, w), bool)
    region[box[1]:box[3], box[0]:box[2]] = True
    assert sharpness.noise_sigma(gray, region, box) < 2.0
    assert sharpness.noise_sigma(gray, np.ones((h, w), bool), (0, 0, w, h), tiles=1) < 1.5


def test_noise_is_read_over_the_whole_product_not_its_centre():
    """Spread windows: a grainy product with a clean, smooth print across its centre reads as
    grainy; the one central window of the measure before read mostly the print (and so gave a
    photo and its reframed copy, the product shown larger, different grain)."""
    rng = np.random.default_rng(5)
    n = 800
    img = np.full((n, n), 0.55, np.float32)
    img[n // 2 - 60:n // 2 + 60, :] = 0.35  # a plain dark band across the centre ...
    img += rng.normal(0, 4.0 / 255.0, img.shape).astype(np.float32)  # ... and grain everywhere
    img[n // 2 - 60:n // 2 + 60, :] = 0.35  # the band itself is clean (a smooth print)
    region = np.ones((n, n), bool)
    whole = sharpness.noise_sigma(img, region, (0, 0, n, n))
    central = sharpness.noise_sigma(img, region, (0, 0, n, n), tiles=1)
    assert whole == pytest.approx(4.0, rel=0.2)
    assert central < 2.0  # the old single window sat on the band


def test_grainy_product_is_flagged_noisy(pink):
    rng = np.random.default_rng(4)
    noisy = np.clip(pink + rng.normal(0, 10.0, pink.shape[:2])[..., None], 0, 255)
    res = sharpness.check(_ctx_rgb(noisy.astype(np.uint8)))
    assert [f for f in res.flags if f.code == "NOISY"], res.metrics
    assert res.metrics["noise_sd"] > 6.0
    clean = sharpness.check(_ctx_rgb(pink))
    assert clean.metrics["noise_sd"] < 2.0 and res.score < clean.score - 30
    # a quiet product: the scale test is skipped, the judged noise is the read noise
    assert np.isnan(clean.metrics["noise_scale_ratio"])
    assert clean.metrics["noise_sd"] == clean.metrics["noise_sd_read"]
    assert np.isfinite(res.metrics["noise_scale_ratio"])


def test_a_busy_print_is_not_grain_but_grain_on_it_still_is():
    """The scale test: white noise halves at half size, a print coarser than a pixel does not
    (an aztec or floral print on an amateur photo read 4-12 grey levels of "noise" and scored
    sharpness 2, grade D, on a crisp photo)."""
    rng = np.random.default_rng(11)
    n = 400
    yy, xx = np.mgrid[:n, :n].astype(np.float32)
    # a print: random marks 2-4 px across, in hard-edged colours of the fabric
    marks = (rng.random((n // 2 + 1, n // 2 + 1)) > 0.55).astype(np.float32)
    motif = cv2.resize(marks, (n, n), interpolation=cv2.INTER_NEAREST)
    stripes = (np.sin(xx / 2.2 + yy / 3.1) > 0.3).astype(np.float32)
    printed = 0.35 + 0.25 * motif + 0.15 * stripes
    printed = cv2.GaussianBlur(printed, (0, 0), 0.6)  # a lens: edges 1-2 px wide
    region = np.ones((n, n), bool)
    box = (0, 0, n, n)
    read, ratio = sharpness.noise_scale_ratio(printed, region, box)
    th = {"noise_texture_ratio_lo": 1.0, "noise_texture_ratio_hi": 1.3}
    assert read > 3.45 and ratio > 1.3 and sharpness.texture_weight(ratio, th) == 0.0
    grain = np.full((n, n), 0.5, np.float32) + rng.normal(0, 6 / 255.0, (n, n)).astype(np.float32)
    read, ratio = sharpness.noise_scale_ratio(grain, region, box)
    assert read == pytest.approx(6.0, rel=0.15) and ratio < 0.7
    assert sharpness.texture_weight(ratio, th) == 1.0
    # through the check: the print is not NOISY, the raw reading is kept for the record
    rgb = np.repeat(np.rint(printed * 255).astype(np.uint8)[..., None], 3, axis=2)
    res = sharpness.check(_ctx_rgb(rgb))
    assert not [f for f in res.flags if f.code == "NOISY"], res.metrics
    assert res.metrics["noise_sd_read"] > 3.45 and res.metrics["noise_sd"] < 1.0
    # under the level where no verdict can change, the half-size read is skipped: no ratio
    quiet, skipped = sharpness.noise_scale_ratio(grain, region, box, min_sigma=read + 0.1)
    assert quiet == read and np.isnan(skipped)
    assert sharpness.noise_scale_ratio(grain, region, box, min_sigma=read - 0.1)[1] < 0.7


def test_pixelated_enlargement_is_caught_and_a_clean_photo_or_flat_product_is_not(pink):
    """A nearest-neighbour enlargement keeps hard steps that read as sharp (a tester's blocky
    upscale scored sharpness 100, grade A): the comb its repeated pixels leave is read on the
    file's own pixels, before the loader's resize to the working size would blur it."""
    small = Image.fromarray(pink).resize((400, 400), Image.Resampling.LANCZOS)
    blocky = small.resize((1600, 1600), Image.Resampling.NEAREST)  # 4x, over the working size
    rep = resampling.repetition(np.asarray(blocky.convert("L")))
    assert rep.depth > 0.8 and rep.ratio > 20 and rep.period == pytest.approx(4.0, abs=0.1)
    res = sharpness.check(_ctx(blocky))
    up = [f for f in res.flags if f.code == "UPSCALED"]
    assert up and "pixelated" in up[0].message and "~400 px photo is enlarged to 1600" in \
        up[0].message, [f.message for f in res.flags]
    assert res.score < 10
    # the clean photo, a smooth (bicubic) enlargement and a flat product's outline: no comb
    assert resampling.repetition(cv2.cvtColor(pink, cv2.COLOR_RGB2GRAY)).depth < 0.2
    smooth = small.resize((1000, 1000), Image.Resampling.BICUBIC)
    assert resampling.repetition(np.asarray(smooth.convert("L"))).depth < 0.2
    flat = np.full((800, 800), 255, np.uint8)
    cv2.circle(flat, (400, 400), 250, 90, -1)
    r = resampling.repetition(flat)
    assert r.depth < 0.25 or r.ratio < 5.0
    assert not [f for f in sharpness.check(_ctx_rgb(pink)).flags if f.code == "UPSCALED"]


def test_an_enlarged_photo_is_not_ready_to_list(pink):
    """UPSCALED is an error like BLURRY (Amazon suppresses "blurry or pixelated" main images):
    as a warning, a photo enlarged from a quarter of its size was still graded B, even A.
    A clean photo stays unflagged and keeps its grade."""
    from analyzer.engine import analyze

    small = Image.fromarray(pink).resize((400, 400), Image.Resampling.LANCZOS)
    for name, resample in (("blocky", Image.Resampling.NEAREST),
                           ("smooth", Image.Resampling.BICUBIC)):
        buf = io.BytesIO()
        small.resize((1600, 1600), resample).save(buf, format="PNG")
        rep = analyze(buf.getvalue(), name=f"{name}.png", use_model=False)
        up = [f for f in rep.flags if f.code in ("UPSCALED", "BLURRY")]
        assert up and all(f.severity == "error" for f in up), (name, rep.flags)
        assert rep.grade in ("C", "D", "F"), (name, rep.grade, rep.scores)
    buf = io.BytesIO()
    Image.fromarray(pink).save(buf, format="PNG")
    clean = analyze(buf.getvalue(), name="clean.png", use_model=False)
    assert not [f for f in clean.flags if f.code in ("UPSCALED", "BLURRY")]


def test_heavy_jpeg_blocks_are_not_called_pixelated(pink):
    """The 8 x 8 block grid of a quality-20 save makes a comb of its own: it is COMPRESSED, not
    an enlargement."""
    buf = io.BytesIO()
    Image.fromarray(pink).save(buf, format="JPEG", quality=20)
    ctx = ImageContext(load_image(buf.getvalue(), name="q20.jpg"), marketplace("amazon"),
                       use_model=False)
    res = sharpness.check(ctx)
    codes = [f.code for f in res.flags]
    assert "COMPRESSED" in codes
    assert not [f for f in res.flags if "pixelated" in f.message]


def _codec_blocks(amp: float, seed: int = 0, size: int = 512) -> np.ndarray:
    """A smooth texture with a small level step on each 4 x 4 block: the trace of a 4 x 4
    transform codec (lossy WebP, AVIF, HEIC) on a plain product."""
    g = np.random.default_rng(seed)
    tex = cv2.GaussianBlur(g.normal(128, 25, (size, size)).astype(np.float32), (0, 0), 1.2)
    off = np.kron(g.normal(0, amp, (size // 4, size // 4)), np.ones((4, 4))).astype(np.float32)
    return np.clip(tex + off, 0, 255).astype(np.uint8)


def test_the_repetition_profile_is_numpys_mean_absolute_difference_exactly():
    # OpenCV's byte differences and integer sums stand in for numpy's int16 differences and
    # float32 mean: the same float32 values, not merely close ones
    rng = np.random.default_rng(0)
    for h, w in ((64, 64), (300, 517), (1024, 1024), (1023, 999)):
        g = rng.integers(0, 256, (h, w), dtype=np.uint8)
        for a in (g, g // 64 * 64, g[:, ::-1]):
            for axis in (0, 1):
                sub = a[::2] if axis == 1 else a[:, ::2]
                want = np.abs(np.diff(sub.astype(np.int16), axis=axis)).mean(
                    axis=1 - axis, dtype=np.float32)
                got = resampling.profile(a, axis)
                assert got.dtype == np.float32 and np.array_equal(got, want)


def test_a_webp_block_grid_is_not_called_pixelated_but_pixels_repeated_4_times_are():
    """A clean photo saved as WebP at 90-95 read as pixels repeated in 4 px blocks (2 of 80
    studio and 2 of 120 amateur and catalogue photos at 90 were "pixelated" and scored ~10):
    on files of the 4 x 4 codecs the codec's grid is tested too; 4x repeated pixels leave a
    deeper comb and are still caught."""
    blocks = _codec_blocks(4.0)
    plain = resampling.repetition(blocks)
    assert plain.depth >= 0.25 and not plain.grid_like  # what the JPEG-only test said
    assert resampling.repetition(blocks, codec_grid_4=True).grid_like
    g = np.random.default_rng(1)
    small = cv2.GaussianBlur(g.normal(128, 30, (128, 128)).astype(np.float32), (0, 0), 0.8)
    nn4 = np.clip(np.kron(small, np.ones((4, 4))) + g.normal(0, 1.0, (512, 512)), 0, 255)
    rep = resampling.repetition(nn4.astype(np.uint8), codec_grid_4=True)
    assert rep.depth > 0.5 and not rep.grid_like
    # the loader turns the codec's grid test on by the file's format
    rgb = Image.fromarray(np.repeat(blocks[..., None], 3, axis=2))
    webp, png = io.BytesIO(), io.BytesIO()
    rgb.save(webp, format="WEBP", lossless=True)
    rgb.save(png, format="PNG")
    assert load_image(webp.getvalue(), name="b.webp").repetition.grid_like
    assert not load_image(png.getvalue(), name="b.png").repetition.grid_like


def test_a_large_pixelated_jpeg_is_read_at_full_size(pink):
    """Over 2,048 px the loader decodes a JPEG at a reduced scale, which averages repeated pixels
    away; the repetition is read on its luminance decoded again at full size (a photo enlarged
    3x to pass a zoom size was graded A before)."""
    small = Image.fromarray(pink).resize((800, 800), Image.Resampling.LANCZOS)
    big = small.resize((2400, 2400), Image.Resampling.NEAREST)
    buf = io.BytesIO()
    big.save(buf, format="JPEG", quality=80)
    img = load_image(buf.getvalue(), name="big.jpg")
    assert img.rgb.shape[0] < 2400  # the working copy is the reduced decode ...
    assert img.repetition.depth > 0.3 and img.repetition.period == pytest.approx(3.0, abs=0.1)
    res = sharpness.check(ImageContext(img, marketplace("amazon"), use_model=False))
    assert [f for f in res.flags if f.code == "UPSCALED" and "pixelated" in f.message]
    # ... and the same photo enlarged smoothly is not called pixelated
    buf = io.BytesIO()
    small.resize((2400, 2400), Image.Resampling.BICUBIC).save(buf, format="JPEG", quality=80)
    assert load_image(buf.getvalue(), name="smooth.jpg").repetition.depth < 0.2


def test_half_of_the_product_out_of_focus_is_blurry(pink):
    """The sharpest part used to decide, so a product whose far half was out of focus passed
    (a tester's half-defocused shots: 1 of 8 flagged); its worst half now has a say."""
    sigma = np.r_[np.full(300, 0.7), np.full(300, 1.6)].astype(np.float32)
    xs = np.r_[np.arange(300) % 250, 260 + np.arange(300) % 240]  # left sharp, right soft
    ys = np.arange(600) % 400
    worst, which, best = sharpness.regional_blur(sigma, ys, xs, (400, 500), 30, 50, 0.15)
    assert which == "right" and worst == pytest.approx(1.6) and best == pytest.approx(0.7)
    assert float(np.percentile(sigma, 30)) < 1.0  # the pooled figure hides it
    # through the check: the right half of the photo under a defocus disk
    k = np.zeros((9, 9), np.float32)
    cv2.circle(k, (4, 4), 4, 1.0, -1)
    soft = cv2.filter2D(pink, -1, k / k.sum(), borderType=cv2.BORDER_REFLECT)
    half = pink.copy()
    half[:, 500:] = soft[:, 500:]
    res = sharpness.check(_ctx_rgb(half))
    msgs = [f.message for f in res.flags if f.code == "BLURRY"]
    assert msgs and "part of the product is out of focus: its right half" in msgs[0], msgs
    assert not [f for f in sharpness.check(_ctx_rgb(pink)).flags if f.code == "BLURRY"]


def test_a_half_only_a_little_soft_is_out_of_focus_when_the_halves_differ(pink):
    """A phone photo half out of focus is often only a little past the studio line on its
    worst half (1.1 px) while its halves differ by 1.5x: its uneven halves flag it from a lower
    line (0.95), and it is scored as at the line. A photo soft all over (halves alike) is not
    called part out of focus there; that line is the other readings'."""
    soft = cv2.GaussianBlur(pink, (0, 0), 1.3)
    half = pink.copy()
    half[:, 500:] = soft[:, 500:]
    res = sharpness.check(_ctx_rgb(half))
    m = res.metrics
    assert 0.95 < m["edge_blur_worst_half_px"] <= 1.1  # under the studio line alone
    assert m["edge_blur_worst_half_px"] >= 1.3 * m["edge_blur_best_half_px"]
    msgs = [f.message for f in res.flags if f.code == "BLURRY"]
    assert msgs and "its right half" in msgs[0] and "times as blurred" in msgs[0], msgs
    assert res.score <= 87.5 + 1e-6  # the score the studio line gets, not 100
    th = {"sigma_flag": 1.15, "dir_sigma_flag": 1.1, "dir_spread_min": 1.3,
          "half_sigma_flag": 1.1, "half_uneven_flag": 0.95, "half_uneven_ratio": 1.3}
    m = {"edge_blur_px": 0.8, "edge_blur_worst_dir_px": 0.9, "edge_blur_best_dir_px": 0.8}
    part = sharpness.BlurCause.PART
    assert sharpness.blur_cause(m | {"edge_blur_worst_half_px": 1.0,
                                     "edge_blur_best_half_px": 0.7}, th) is part
    # halves alike: soft all over, not a part out of focus
    assert sharpness.blur_cause(m | {"edge_blur_worst_half_px": 1.0,
                                     "edge_blur_best_half_px": 0.9}, th) is None
    # uneven, but under the lower line: a fold's soft side, not a focus missed
    assert sharpness.blur_cause(m | {"edge_blur_worst_half_px": 0.93,
                                     "edge_blur_best_half_px": 0.5}, th) is None
    # the studio line needs no unevenness
    assert sharpness.blur_cause(m | {"edge_blur_worst_half_px": 1.15,
                                     "edge_blur_best_half_px": 1.1}, th) is part


def _falloff(rgb: np.ndarray, start: float, smax: float) -> np.ndarray:
    """Sharp left of ``start`` (a share of the width), then a Gaussian blur growing to ``smax``
    px at the right edge (a tilted focal plane), blended between seven blurred copies."""
    a = rgb.astype(np.float32)
    w = a.shape[1]
    level = np.clip((np.arange(w, dtype=np.float32) / w - start) / (1 - start), 0, 1) * 6
    copies = [a] + [cv2.GaussianBlur(a, (0, 0), float(s)) for s in np.linspace(0, smax, 7)[1:]]
    lo = np.minimum(np.floor(level).astype(int), 5)
    f = (level - lo)[None, :, None]
    out = np.zeros_like(a)
    for i in range(6):
        out = np.where((lo == i)[None, :, None], copies[i] * (1 - f) + copies[i + 1] * f, out)
    return np.clip(out, 0, 255).astype(np.uint8)


def test_focus_falling_off_to_one_side_is_read_on_the_far_side(pink):
    """A focus that falls off across the product blurs its far side most; a half averages that
    side with the part still near the focus (worst half 0.84 px, under both half lines), the
    outer band reads it (1.16 px, 1.7x the sharpest band): ``BLURRY``, naming the side."""
    res = sharpness.check(_ctx_rgb(_falloff(pink, 0.5, 5.0)))
    m = res.metrics
    assert m["edge_blur_worst_half_px"] < 0.95
    assert m["edge_blur_worst_band_px"] > 1.1
    assert sharpness.BANDS[int(m["worst_band"])] == "right side"
    msgs = [f.message for f in res.flags if f.code == "BLURRY"]
    assert msgs and "the edges of its right side" in msgs[0] and "times as blurred" in msgs[0]
    assert res.score <= 87.5 + 1e-6
    # the same photo in focus everywhere: its bands alike
    sharp = sharpness.check(_ctx_rgb(pink)).metrics
    assert sharp["edge_blur_worst_band_px"] < 1.3 * sharp["edge_blur_best_band_px"]


def test_a_shallow_comb_on_a_lossless_file_needs_exact_copies(pink):
    """Repeated pixels in a PNG are exact copies; a smoothly enlarged JPEG saved as PNG keeps
    its old block grid, whose harmonics read as a shallow comb with none (a 1.49x enlargement
    was called "pixelated ... a ~502 px photo" in the sixth new user's try)."""
    small = Image.fromarray(pink).resize((400, 400), Image.Resampling.LANCZOS)
    blocky = np.asarray(small.resize((1000, 1000), Image.Resampling.NEAREST).convert("L"))
    assert resampling.repetition(blocky).exact > 0.4  # 2.5x: 3 lines in 5 repeat the last
    smooth = np.asarray(small.resize((1000, 1000), Image.Resampling.BICUBIC).convert("L"))
    assert resampling.repetition(smooth).exact < 0.05
    from analyzer.config import check_thresholds

    th = check_thresholds("sharpness")
    comb = {"pixel_repeat_depth": 0.27, "pixel_repeat_ratio": 22.0, "pixel_repeat_grid": 0.0,
            "jpeg_quality": float("nan")}
    assert sharpness.pixelated({**comb, "lossless_file": 0.0}, th)  # a JPEG: as before
    assert not sharpness.pixelated({**comb, "lossless_file": 1.0, "pixel_repeat_exact": 0.0}, th)
    assert sharpness.pixelated({**comb, "lossless_file": 1.0, "pixel_repeat_exact": 0.3}, th)
    # a deep comb on a PNG (a pixelated JPEG saved as PNG later: no exact copies) still counts
    deep = {**comb, "pixel_repeat_depth": 0.8, "lossless_file": 1.0, "pixel_repeat_exact": 0.0}
    assert sharpness.pixelated(deep, th)
    # through the loader and the check: a nearest-neighbour PNG is still caught
    png = io.BytesIO()
    small.resize((1600, 1600), Image.Resampling.NEAREST).save(png, format="PNG")
    ctx = ImageContext(load_image(png.getvalue(), name="blocky.png"), marketplace("amazon"),
                       use_model=False)
    res = sharpness.check(ctx)
    assert res.metrics["lossless_file"] == 1.0 and res.metrics["pixel_repeat_exact"] > 0.5
    assert [f for f in res.flags if f.code == "UPSCALED" and "pixelated" in f.message]


def _cut_onto_white(rgb: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``rgb`` where ``mask``, pure white elsewhere: a background remover's hard cut."""
    out = np.full_like(rgb, 255)
    out[mask > 0] = rgb[mask > 0]
    return out


def _printed_garment(n: int = 400) -> tuple[np.ndarray, np.ndarray]:
    """(a plain blue garment with a print on its upper half only, its oval mask): below the
    print the product's only edges are its outline, as on a plain garment's lower half."""
    rng = np.random.default_rng(3)
    oval = np.zeros((n, n), np.uint8)
    cv2.ellipse(oval, (n // 2, n // 2), (int(0.28 * n), int(0.34 * n)), 0, 0, 360, 1, -1)
    fabric = np.zeros((n, n, 3), np.float32)
    fabric[:] = (60, 90, 150)
    for y in range(70, 200, 28):
        cv2.line(fabric, (0, y), (n, y + 10), (150, 170, 210), 2)
    for _ in range(40):
        centre = (int(rng.integers(100, 300)), int(rng.integers(80, 190)))
        cv2.circle(fabric, centre, 3, (230, 230, 240), -1)
    return fabric, oval


def _feathered(fabric: np.ndarray, oval: np.ndarray, feather: float) -> np.ndarray:
    """``fabric`` cut out by ``oval`` onto pure white, the cut's edge feathered by a Gaussian
    of ``feather`` px: an app's "soften edge"."""
    a = cv2.GaussianBlur(oval.astype(np.float32), (0, 0), feather)[..., None]
    return np.clip(fabric * a + 255.0 * (1.0 - a), 0, 255).astype(np.uint8)


@pytest.mark.parametrize("feather", [1.0, 2.0, 3.0])
def test_a_feathered_cut_out_of_a_sharp_photo_is_not_blurry(feather):
    """A sharp photo cut out onto white with its edge feathered over 1-3 px: the outline is
    soft all round and carried the readings of the whole view (the print-free lower half,
    where the outline is all there is, read as a part out of focus: BLURRY, "retake it in
    focus"); the surface is sharp. The same cut of the photo blurred by 1 px is blurry."""
    fabric, oval = _printed_garment()
    ctx = _ctx_rgb(_feathered(fabric, oval, feather))
    res = sharpness.check(ctx)
    m, th = res.metrics, ctx.thresholds(sharpness.NAME)
    # the whole view alone would call it blurry; the outline reads far softer than the surface
    assert sharpness._view_cause(m, th) is not None
    assert m["edge_blur_outline_px"] >= 1.3 * m["edge_blur_inside_px"]
    assert sharpness.cut_edge_only(m, th)
    assert not [f for f in res.flags if f.code in ("BLURRY", "UPSCALED")], res.flags
    assert res.score >= 85
    blurred = sharpness.check(_ctx_rgb(_feathered(cv2.GaussianBlur(fabric, (0, 0), 1.0), oval,
                                                  feather)))
    assert [f for f in blurred.flags if f.code == "BLURRY"], blurred.metrics
    assert not sharpness.cut_edge_only(blurred.metrics, th)
    assert blurred.score < 50


def test_a_soft_outline_is_a_cut_only_around_a_sharp_surface_with_detail():
    """The rule on readings: each condition of :func:`sharpness.cut_edge_only` can fail it."""
    th = {"outline_ratio": 1.3, "inside_sigma_flag": 1.05, "surface_sigma_flag": 0.9,
          "surface_dir_sigma_flag": 1.0, "surface_min_floor": 0.035, "dir_spread_min": 1.3,
          "half_sigma_flag": 1.1, "half_uneven_flag": 0.95, "half_uneven_ratio": 1.3}
    m = {"edge_blur_outline_px": 1.4, "edge_blur_inside_px": 0.6, "inside_edge_floor": 0.05,
         "edge_blur_inside_worst_dir_px": 0.7, "edge_blur_inside_best_dir_px": 0.6,
         "edge_blur_inside_worst_half_px": 0.65, "edge_blur_inside_best_half_px": 0.6,
         "edge_blur_inside_worst_band_px": 0.7, "edge_blur_inside_best_band_px": 0.6,
         "edge_blur_outline_worst_half_px": 1.5, "edge_blur_outline_best_half_px": 1.3,
         "edge_blur_outline_worst_dir_px": 1.5, "edge_blur_outline_best_dir_px": 1.3}
    assert sharpness.cut_edge_only(m, th)
    for change in ({"edge_blur_outline_px": 0.75},            # the outline no softer
                   {"edge_blur_inside_px": 0.95},             # the surface blurred ...
                   {"edge_blur_inside_worst_dir_px": 1.05},   # ... in one direction
                   {"edge_blur_inside_worst_half_px": 1.15},  # ... in one half
                   {"inside_edge_floor": 0.02},               # faint specks, no detail
                   {"edge_blur_outline_worst_half_px": 2.0},  # the outline soft on one side
                   {"edge_blur_outline_worst_dir_px": 2.0},   # ... or in one direction
                   {"edge_blur_inside_px": float("nan")}):    # no surface read
        assert not sharpness.cut_edge_only(m | change, th), change
    # every condition but the floor: the surface cannot vouch for the photo (FAINT); any other
    # condition failing is no cut at all
    cut = sharpness.CutEdge
    assert sharpness.cut_edge_read(m, th) is cut.CUT
    assert sharpness.cut_edge_read(m | {"inside_edge_floor": 0.02}, th) is cut.FAINT
    for change in ({"edge_blur_outline_px": 0.75}, {"edge_blur_inside_worst_half_px": 1.15},
                   {"edge_blur_outline_worst_dir_px": 2.0}):
        assert sharpness.cut_edge_read(m | change | {"inside_edge_floor": 0.02}, th) is None


def test_a_soft_outline_around_a_plain_surface_says_what_it_cannot_tell():
    """A plain garment whose only surface detail is a faint weave (a few grey levels), cut out
    with a feathered edge: the surface reads sharp but is too faint to vouch for the photo, so
    the photo stays BLURRY as the whole view reads it, and the flag names the soft outline and
    both of its causes (an app's feathered cut, a camera's blur) instead of a camera's blur
    alone; its fix starts with the cut-out's edge."""
    n = 400
    oval = np.zeros((n, n), np.uint8)
    cv2.ellipse(oval, (n // 2, n // 2), (int(0.28 * n), int(0.34 * n)), 0, 0, 360, 1, -1)
    fabric = np.zeros((n, n, 3), np.float32)
    fabric[:] = (60, 90, 150)
    for y in range(0, n, 6):  # the weave: lines 10 levels lighter
        cv2.line(fabric, (0, y), (n, y), (70, 100, 160), 1)
    ctx = _ctx_rgb(_feathered(fabric, oval, 2.0))
    res = sharpness.check(ctx)
    m, th = res.metrics, ctx.thresholds(sharpness.NAME)
    assert m["inside_edge_floor"] < float(th["surface_min_floor"])
    assert sharpness.cut_edge_read(m, th) is sharpness.CutEdge.FAINT
    assert sharpness.blur_cause(m, th) is sharpness.BlurCause.SOFT_OUTLINE
    (flag,) = [f for f in res.flags if f.code == "BLURRY"]
    assert "outline is soft all round" in flag.message and "soften edge" in flag.message
    assert "times its surface's" in flag.message
    assert "out of focus" in flag.message
    assert flag.fix.startswith("If you removed the background") and "hard edge" in flag.fix


def test_a_surface_under_a_crisp_cut_is_read_by_its_own_lines_and_named(pink):
    """Where the outline is crisper than the surface (a hard cut of a blurred photo), the
    surface's worst direction has a line of its own and is named a smear or soft as the whole
    view's is; where the two agree, only the surface's pooled line counts."""
    th = {"outline_ratio": 1.5, "inside_sigma_flag": 1.05, "surface_sigma_flag": 0.9,
          "surface_dir_sigma_flag": 1.0, "dir_spread_min": 1.3}
    crisp = {"edge_blur_outline_px": 0.5, "edge_blur_inside_px": 0.85,
             "edge_blur_inside_worst_dir_px": 1.2, "edge_blur_inside_best_dir_px": 0.7,
             "inside_worst_dir_deg": 45.0}
    assert sharpness.outline_read(crisp, th) is sharpness.OutlineRead.CRISPER
    smear = sharpness.BlurCause.SURFACE_ONE_DIRECTION
    assert sharpness.surface_cause(crisp, th, sharpness.OutlineRead.CRISPER) is smear
    assert sharpness.surface_cause(crisp | {"edge_blur_inside_best_dir_px": 1.0}, th,
                                   sharpness.OutlineRead.CRISPER) is (
        sharpness.BlurCause.SURFACE_SOFT)
    assert sharpness.surface_cause(crisp | {"edge_blur_inside_px": 0.95}, th,
                                   sharpness.OutlineRead.CRISPER) is sharpness.BlurCause.INSIDE
    # the outline agreeing with the surface: no direction line, the pooled line is 1.05
    agree = crisp | {"edge_blur_outline_px": 0.8}
    assert sharpness.outline_read(agree, th) is None
    assert sharpness.surface_cause(agree, th, None) is None
    assert sharpness.surface_cause(agree | {"edge_blur_inside_px": 1.1}, th, None) is (
        sharpness.BlurCause.INSIDE)
    flag = sharpness._surface_flag(_ctx_rgb(pink), crisp, th, smear, 512)
    assert flag.code == "BLURRY"
    assert "outline is crisp" in flag.message and "smeared diagonally" in flag.message
    assert " deg " not in flag.message and "1 px or less" in flag.message
    assert "before removing the background" in flag.fix


def test_a_blurred_photo_cut_out_onto_white_is_blurry_by_its_surface(pink):
    """A blurred phone photo whose background an app removed keeps an outline as crisp as the
    cut: the outline's edges, the strongest and most numerous, carried every reading (sharp),
    and the blurred surface's weak edges fell under the contrast floor they set. The edges
    inside the outline, read with their own floor, show the blur; the same cut of the sharp
    photo is not flagged."""
    n = pink.shape[0]
    oval = np.zeros(pink.shape[:2], np.uint8)  # an outline in every direction, as a garment's
    cv2.ellipse(oval, (n // 2, n // 2), (int(0.28 * n), int(0.31 * n)), 0, 0, 360, 1, -1)
    # a fabric's low-contrast print (30% of the test product's), as on most garments
    p = pink.astype(np.float32)
    mean = p[oval > 0].mean(axis=0)
    fabric = np.clip(mean + 0.3 * (p - mean), 0, 255).astype(np.uint8)
    sharp = _cut_onto_white(fabric, oval)
    soft = _cut_onto_white(cv2.GaussianBlur(fabric, (0, 0), 2.0), oval)
    res = sharpness.check(_ctx_rgb(soft))
    m = res.metrics
    # every other reading is the crisp outline's (the surface's edges under its floor) ...
    assert m["edge_blur_px"] <= 1.15 and m["edge_blur_worst_dir_px"] <= 1.1
    assert m["edge_blur_worst_half_px"] <= 0.95 and m["edge_blur_worst_band_px"] <= 1.1
    # ... the surface read on its own shows the blur, on more edges than the outline has
    assert m["edge_blur_inside_px"] > 1.2 and m["n_edges_inside"] > 2 * m["n_edges"]
    msgs = [f.message for f in res.flags if f.code == "BLURRY"]
    assert msgs and "the product itself is blurred though its outline is crisp" in msgs[0], msgs
    assert res.score < 100.0
    clean = sharpness.check(_ctx_rgb(sharp))
    assert clean.metrics["edge_blur_inside_px"] < 1.0
    assert not [f for f in clean.flags if f.code == "BLURRY"]
    # the rule on readings: past the line only; nothing read (too few edges inside) is no flag
    th = {"sigma_flag": 1.15, "dir_sigma_flag": 1.1, "dir_spread_min": 1.3,
          "half_sigma_flag": 1.1, "half_uneven_flag": 0.95, "half_uneven_ratio": 1.3,
          "inside_sigma_flag": 1.0}
    base = {"edge_blur_px": 0.8, "edge_blur_worst_dir_px": 0.9, "edge_blur_best_dir_px": 0.8,
            "edge_blur_worst_half_px": 0.85, "edge_blur_best_half_px": 0.8}
    inside = sharpness.BlurCause.INSIDE
    assert sharpness.blur_cause(base | {"edge_blur_inside_px": 1.05}, th) is inside
    assert sharpness.blur_cause(base | {"edge_blur_inside_px": 0.95}, th) is None
    assert sharpness.blur_cause(base | {"edge_blur_inside_px": float("nan")}, th) is None
    assert sharpness.blur_cause(base, th) is None


def _bottle() -> np.ndarray:
    """A tall product on white whose edges run mostly up and down (a bottle: a long body, a
    short cap, a label with vertical print), 1000 x 1300 px."""
    rgb = np.full((1300, 1000, 3), 250, np.uint8)
    cv2.rectangle(rgb, (380, 260), (620, 1120), (70, 110, 160), -1)  # the body
    cv2.rectangle(rgb, (440, 170), (560, 260), (40, 40, 40), -1)     # the cap
    for x in range(400, 600, 24):                                     # the label's print
        cv2.line(rgb, (x, 520), (x, 860), (235, 235, 235), 5)
    return rgb


def _smear_vertical(rgb: np.ndarray, length: int) -> np.ndarray:
    k = np.zeros((length, length), np.float32)
    k[:, length // 2] = 1.0 / length
    return cv2.filter2D(rgb, -1, k, borderType=cv2.BORDER_REPLICATE)


def test_outline_cover_finds_the_band_with_no_edges_left():
    points = np.array([300, 40, 200, 200, 40, 300])
    hits = np.array([290, 30, 2, 0, 30, 295])
    cover, across, deg, n = sharpness.outline_cover(points, hits, 100)
    assert cover == pytest.approx(2 / 400) and n == 400 and deg == pytest.approx(90.0)
    assert across == pytest.approx((295 + 290) / 600)
    # too few contrasty outline points in every band: nothing to say
    assert np.isnan(sharpness.outline_cover(points // 10, hits // 10, 100)[0])


@pytest.mark.parametrize("length", [40, 60, 90])
def test_a_long_smear_that_erases_the_edges_along_it_is_still_blurry(length):
    """A thirteenth new user's try: a bottle smeared 25-40 px up and down read sharpness 100,
    grade A, where 9-15 px were flagged: the edges along the smear had faded under the
    contrast floor, and the crisp ones across it were all that was left to measure."""
    sharp = sharpness.check(_ctx_rgb(_bottle()))
    assert not sharp.flags, [f.message for f in sharp.flags]
    res = sharpness.check(_ctx_rgb(_smear_vertical(_bottle(), length)))
    blurry = [f for f in res.flags if f.code == "BLURRY"]
    assert blurry and "smeared up and down" in blurry[0].message, res.metrics
    assert res.score < sharp.score - 50


def test_smear_words_name_the_way_it_runs():
    assert sharpness.smear_words(0.0) == sharpness.smear_words(170.0) == "side to side"
    assert sharpness.smear_words(90.0) == "up and down"
    assert sharpness.smear_words(45.0) == sharpness.smear_words(135.0) == "diagonally"
