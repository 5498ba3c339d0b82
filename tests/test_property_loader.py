"""Property-based: whatever bytes arrive, the loader and the checks raise only ListingLensError.

Three generators: raw random bytes; random bytes behind a real format signature (so the parsers
go past identification); and random small images in many modes and formats, optionally cut off
or with bytes flipped. Bounded example counts keep this under a minute on two cores.
"""

from __future__ import annotations

import importlib
import importlib.util
import io

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from PIL import Image

from analyzer.config import marketplace
from analyzer.errors import ListingLensError
from analyzer.io.loader import LoadedImage, load_image

SETTINGS = settings(max_examples=200, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])

SIGNATURES = [
    b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", b"\xff\xd8\xff\xe1", b"\x89PNG\r\n\x1a\n",
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", b"GIF89a", b"GIF87a", b"II*\x00", b"MM\x00*",
    b"BM", b"RIFF\x00\x00\x00\x00WEBPVP8 ", b"RIFF\x00\x00\x00\x00WEBPVP8L",
    b"\x00\x00\x00\x1cftypheic", b"\x00\x00\x00\x1cftypavif", b"<svg", b"%PDF-", b"PK\x03\x04",
]

MODES = ["1", "L", "LA", "P", "RGB", "RGBA", "CMYK", "I;16", "I", "F"]
FORMATS = ["PNG", "JPEG", "GIF", "WEBP", "TIFF", "BMP"]


def _assert_loaded(img: LoadedImage) -> None:
    assert img.rgb.dtype == np.uint8 and img.rgb.ndim == 3 and img.rgb.shape[2] == 3
    assert img.rgb.flags["C_CONTIGUOUS"]
    assert img.width >= 16 and img.height >= 16
    if img.alpha is not None:
        assert img.alpha.shape == img.rgb.shape[:2] and img.alpha.dtype == np.uint8


def _load_or_project_error(data: bytes) -> LoadedImage | None:
    try:
        img = load_image(data, name="fuzz")
    except ListingLensError as e:
        assert e.message
        return None
    _assert_loaded(img)
    return img


@SETTINGS
@given(st.binary(min_size=0, max_size=4096))
def test_random_bytes(data):
    _load_or_project_error(data)


@SETTINGS
@given(st.sampled_from(SIGNATURES), st.binary(min_size=0, max_size=2048))
def test_random_bytes_behind_a_real_signature(sig, tail):
    _load_or_project_error(sig + tail)


@st.composite
def small_images(draw, min_side: int = 1, damage: bool = True) -> bytes:
    mode = draw(st.sampled_from(MODES))
    fmt = draw(st.sampled_from(FORMATS))
    w = draw(st.integers(min_side, 96))
    h = draw(st.integers(min_side, 96))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    kind = draw(st.sampled_from(["noise", "flat", "blocks"]))
    im = Image.new(mode, (w, h))
    if fmt == "PNG" and mode == "I":
        mode = "I;16"  # Pillow 13 drops writing mode I as PNG; I;16 is what PNG files hold
    if mode in ("RGB", "RGBA", "CMYK", "LA", "L", "P", "1"):
        bands = len(Image.new(mode, (1, 1)).getbands())
        if kind == "noise":
            arr = rng.integers(0, 256, (h, w, bands), dtype=np.uint8)
        elif kind == "flat":
            arr = np.broadcast_to(rng.integers(0, 256, bands, dtype=np.uint8), (h, w, bands))
        else:
            arr = np.kron(rng.integers(0, 256, (2, 2, bands), dtype=np.uint8),
                          np.ones(((h + 1) // 2, (w + 1) // 2, 1), np.uint8))[:h, :w]
        base = Image.fromarray(np.ascontiguousarray(arr[:, :, 0] if bands == 1 else arr),
                               "L" if bands == 1 else None)
        im = base.convert(mode) if base.mode != mode else base
    elif mode in ("I;16", "I"):
        im = Image.fromarray(rng.integers(0, 65535, (h, w), dtype=np.uint16)).convert(mode)
    else:  # F
        im = Image.fromarray(rng.standard_normal((h, w)).astype(np.float32) * 1000)
    buf = io.BytesIO()
    try:
        im.save(buf, fmt)
    except (OSError, ValueError, KeyError, TypeError):
        assume(False)  # that mode cannot be written in that format: not an input anyone has
    data = buf.getvalue()
    damage = draw(st.sampled_from(["none", "truncate", "flip"] if damage else ["none"]))
    if damage == "truncate":
        data = data[: draw(st.integers(0, max(0, len(data) - 1)))]
    elif damage == "flip":
        b = bytearray(data)
        for _ in range(draw(st.integers(1, 8))):
            i = draw(st.integers(0, len(b) - 1))
            b[i] ^= draw(st.integers(1, 255))
        data = bytes(b)
    return data


@SETTINGS
@given(small_images())
def test_random_small_images_load_or_fail_cleanly(data):
    _load_or_project_error(data)


def _available_checks():
    from analyzer.quality import registry

    for mod in registry.CHECK_MODULES:
        if importlib.util.find_spec(f"analyzer.quality.{mod}") is not None:
            importlib.import_module(f"analyzer.quality.{mod}")
    return dict(registry._CHECKS)


@pytest.mark.slow
@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(small_images(min_side=16, damage=False))
def test_checks_never_raise_on_whatever_the_loader_accepts(data):
    """Every registered check (classical mask, no model) on every loadable random image."""
    from analyzer.quality.context import ImageContext

    img = _load_or_project_error(data)
    assume(img is not None)
    ctx = ImageContext(image=img, marketplace=marketplace(None), use_model=False)
    for name, fn in _available_checks().items():
        try:
            res = fn(ctx)
        except ListingLensError:
            continue
        assert 0 <= float(res.score) <= 100, (name, res.score)
