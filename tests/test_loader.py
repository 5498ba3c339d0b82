"""The loader on the hostile corpus: the exact code for each bad file, right pixels for the rest."""

from __future__ import annotations

import functools
import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from corpus import (
    Case,
    _huge_jpeg,
    good_photo_sources,
    icc_profile,
    make_corpus,
    product_photo,
    shared_or_none,
)
from PIL import Image, ImageDraw, ImageOps

import analyzer.io.loader as loader_mod
from analyzer.errors import ErrorCode, ListingLensError
from analyzer.io.loader import iter_image_paths, load_image

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, request) -> dict[str, Case]:
    good = good_photo_sources(shared_or_none(request))
    cases = make_corpus(tmp_path_factory.mktemp("corpus"), good, huge=False)
    return {c.name: c for c in cases}


def _jpeg_bytes(im: Image.Image, **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=92, **kw)
    return buf.getvalue()


def test_every_corpus_case_gives_its_exact_outcome(corpus):
    wrong = {}
    for name, case in corpus.items():
        try:
            img = load_image(case.path)
            got = None
            assert img.rgb.dtype == np.uint8 and img.rgb.ndim == 3 and img.rgb.shape[2] == 3
            assert max(img.rgb.shape[:2]) <= 1024
        except ListingLensError as e:
            got = e.code.value
            assert e.message and "Traceback" not in e.message
        if got != case.expect_code:
            wrong[name] = (case.expect_code, got)
    assert not wrong, wrong
    assert sum(c.expect_ok for c in corpus.values()) >= 20  # the good files really were there


def test_the_loader_raises_only_the_project_error_type(corpus):
    # Bytes input as well as paths: the dashboard passes bytes.
    for case in corpus.values():
        try:
            img = load_image(case.path.read_bytes(), name=case.name)
            assert case.expect_ok and img.name == case.name
        except ListingLensError as e:
            assert e.code.value == case.expect_code


def test_exif_orientation_matches_pillows_reference(corpus):
    for o in (6, 8):
        path = corpus[f"exif_orientation_{o}.jpg"].path
        img = load_image(path)
        ref = np.asarray(ImageOps.exif_transpose(Image.open(path)).convert("RGB"))
        assert (img.width, img.height) == (400, 600)
        assert img.rgb.shape == ref.shape
        assert np.abs(img.rgb.astype(int) - ref).mean() < 2
        assert img.exif_orientation == o


def test_exif_orientation_uses_original_size_when_working_copy_is_smaller():
    ex = Image.Exif()
    ex[0x0112] = 6
    img = load_image(_jpeg_bytes(product_photo((3000, 2000), seed=2), exif=ex))
    assert (img.width, img.height) == (2000, 3000)
    assert img.rgb.shape[:2] == (1024, 683)


def test_broken_exif_is_a_note_not_a_failure(corpus):
    img = load_image(corpus["broken_exif.jpg"].path)
    assert any("EXIF" in n for n in img.notes) and img.exif_orientation == 1


def test_non_srgb_profile_is_converted(corpus):
    img = load_image(corpus["adobe_rgb.jpg"].path)
    assert "Wide Gamut Test RGB" in (img.icc_profile_name or "")
    assert any("converted to sRGB" in n for n in img.notes)
    # Adobe RGB's green primary is far more saturated than sRGB's: the same numbers (60,160,60)
    # are a purer green, which in sRGB needs red near 0 (lcms gives about (0, 161, 48)).
    swatch = _jpeg_bytes(Image.new("RGB", (64, 64), (60, 160, 60)), icc_profile=icc_profile())
    r, g, b = load_image(swatch).rgb[32, 32].astype(int)
    assert r < 20 and 150 < g < 170 and 35 < b < 60
    naive = np.asarray(Image.open(corpus["bad_icc.jpg"].path).convert("RGB")).astype(int)
    bad = load_image(corpus["bad_icc.jpg"].path)
    assert np.abs(bad.rgb.astype(int) - naive).mean() < 1
    assert any("unreadable" in n for n in bad.notes)


def test_cmyk_and_16_bit_are_converted_with_notes(corpus):
    ref = load_image(corpus["jpeg_named.png"].path).rgb.astype(int)  # the same photo as RGB
    cmyk = load_image(corpus["cmyk.jpg"].path)
    assert cmyk.original_mode == "CMYK" and any("CMYK" in n for n in cmyk.notes)
    assert np.abs(cmyk.rgb.astype(int) - ref).mean() < 12
    for name in ("grey16.png", "rgb16.png"):
        img = load_image(corpus[name].path)
        assert img.bit_depth == 16 and any("16-bit" in n for n in img.notes)
        assert 60 < img.rgb.mean() < 250  # scaled by 1/257, not clipped to white
    rgb16 = load_image(corpus["rgb16.png"].path).rgb.astype(int)
    assert np.abs(rgb16 - ref).mean() < 6


def test_16_bit_grey_larger_than_working_size_is_resized():
    arr = (np.linspace(0, 65535, 2400 * 1600).reshape(1600, 2400)).astype(np.uint16)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, "PNG")
    img = load_image(buf.getvalue())
    assert img.rgb.shape == (683, 1024, 3) and img.bit_depth == 16
    assert img.rgb[0, 0, 0] < 5 and img.rgb[-1, -1, 0] > 250


def test_transparency_is_composited_on_white(corpus):
    t = load_image(corpus["transparent.png"].path)
    assert t.alpha is not None and t.alpha.max() == 0 and t.rgb.min() == 255
    p = load_image(corpus["palette_transparent.png"].path)
    assert p.alpha is not None and (p.alpha == 0).any() and (p.alpha == 255).any()
    assert (p.rgb[p.alpha == 0] == 255).all()
    c = load_image(corpus["cutout.png"].path)
    assert c.alpha[300, 300] == 255 and c.alpha[10, 10] == 0


def test_animated_gif_and_mpo(corpus):
    g = load_image(corpus["animated.gif"].path)
    assert g.is_animated and g.n_frames == 3 and g.format == "GIF"
    frames = [product_photo((500, 400), seed=s) for s in range(2)]
    buf = io.BytesIO()
    frames[0].save(buf, "MPO", save_all=True, append_images=frames[1:])
    m = load_image(buf.getvalue())
    # Phone cameras write MPO (a JPEG plus a hidden view): it is a JPEG, not an animation.
    assert m.format == "JPEG" and not m.is_animated


def test_big_png_is_shrunk_to_working_size():
    big = product_photo((3000, 1500), seed=5)
    buf = io.BytesIO()
    big.save(buf, "PNG")
    img = load_image(buf.getvalue())
    assert (img.width, img.height) == (3000, 1500) and img.rgb.shape == (512, 1024, 3)
    assert 0.34 < img.scale < 0.35


def test_file_errors(tmp_path, monkeypatch):
    with pytest.raises(ListingLensError) as e:
        load_image(tmp_path / "missing.jpg")
    assert e.value.code == ErrorCode.FILE_NOT_FOUND
    with pytest.raises(ListingLensError) as e:
        load_image(tmp_path)
    assert e.value.code == ErrorCode.NOT_AN_IMAGE
    data = _jpeg_bytes(product_photo((400, 400)))
    small = dict(loader_mod.limits(), max_file_mb=len(data) / 1024 / 1024 / 2)
    monkeypatch.setattr(loader_mod, "limits", lambda: small)
    p = tmp_path / "a.jpg"
    p.write_bytes(data)
    for src in (p, data):
        with pytest.raises(ListingLensError) as e:
            load_image(src)
        assert e.value.code == ErrorCode.FILE_TOO_LARGE


@pytest.mark.parametrize("magic,code", [
    (b"8BPS\x00\x01" + b"\x00" * 100, "UNSUPPORTED_FORMAT"),
    (b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n", "UNSUPPORTED_FORMAT"),
    (b"\x00\x00\x00\x0cJXL \r\n\x87\n" + b"\x00" * 64, "UNSUPPORTED_FORMAT"),
    (b"PK\x03\x04" + b"\x00" * 64, "NOT_AN_IMAGE"),
    (b"\xff\xd8\xff\xe0" + b"\x00" * 10, "CORRUPT_IMAGE"),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 30, "CORRUPT_IMAGE"),
    (b"GIF89a" + b"\xff" * 3, "CORRUPT_IMAGE"),
])
def test_other_formats_are_named(magic, code):
    with pytest.raises(ListingLensError) as e:
        load_image(magic)
    assert e.value.code.value == code


def test_a_zip_is_pointed_to_the_audit():
    with pytest.raises(ListingLensError) as e:
        load_image(b"PK\x03\x04" + b"\x00" * 64, name="store.zip")
    assert "listing-lens audit" in e.value.message and "zip archive" in e.value.message


def test_bomb_is_refused_from_the_header_alone(corpus):
    with pytest.raises(ListingLensError) as e:
        load_image(corpus["bomb_50000.png"].path)
    assert e.value.code == ErrorCode.IMAGE_TOO_LARGE and "150 MP" in e.value.message
    with pytest.raises(ListingLensError) as e:
        load_image(corpus["bomb_13000.png"].path)
    assert "13,000 x 12,000" in e.value.message


def test_exotic_icc_profile_builder_is_valid():
    from PIL import ImageCms

    prof = ImageCms.ImageCmsProfile(io.BytesIO(icc_profile()))
    assert "Wide Gamut" in ImageCms.getProfileDescription(prof)


def test_iter_image_paths_skips_hidden_and_non_images(tmp_path):
    (tmp_path / "a.jpg").write_bytes(b"x")
    (tmp_path / ".hidden.jpg").write_bytes(b"x")
    (tmp_path / "notes.txt").write_bytes(b"x")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.PNG").write_bytes(b"x")
    assert [p.name for p in iter_image_paths([tmp_path])] == ["a.jpg", "b.PNG"]


# Peak RSS of a fresh interpreter from /proc (VmHWM, reset via clear_refs after the imports).
# Not ru_maxrss: Linux carries the parent's ru_maxrss into a child, which would hide the rise.
_PEAK_SCRIPT = """
import json, sys
from analyzer.io.loader import load_image

def status(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024

base = status("VmRSS")
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")
assert status("VmHWM") < base + 5
img = load_image(sys.argv[1])
print(json.dumps({"w": img.width, "h": img.height, "shape": list(img.rgb.shape),
                  "delta_mb": status("VmHWM") - base}))
"""


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="needs Linux /proc")
def test_huge_valid_jpeg_loads_within_bounded_memory(tmp_path):
    """12,000 x 12,000 (144 MP) is under the limit and must load; fully decoded it would take
    432 MB. libjpeg's DCT scaling decodes it at 1/8 size, so the peak RSS rise stays small."""
    p = tmp_path / "huge.jpg"
    p.write_bytes(_huge_jpeg())
    out = subprocess.run([sys.executable, "-c", _PEAK_SCRIPT, str(p)], capture_output=True,
                         text=True, cwd=REPO, timeout=300, check=True)
    r = json.loads(out.stdout)
    assert (r["w"], r["h"]) == (12_000, 12_000) and r["shape"] == [1024, 1024, 3]
    assert r["delta_mb"] < 150, r  # measured ~22 MB; a full decode would be >= 432 MB


def _reference_working(im: Image.Image, size: tuple[int, int]) -> np.ndarray:
    """Pillow's own full-size Lanczos resize of the RGBA image, composited on white."""
    r = np.asarray(im.convert("RGBA").resize(size, Image.Resampling.LANCZOS)).astype(float)
    a = r[:, :, 3:] / 255.0
    return r[:, :, :3] * a + 255.0 * (1 - a)


@functools.lru_cache(maxsize=1)
def _wide_cutout() -> Image.Image:
    """4,200 x 1,200: wide enough for the strip-wise 2x box reduction to run."""
    base = product_photo((4200, 1200), seed=8).convert("RGBA")
    a = np.zeros((1200, 4200), np.uint8)
    a[200:1000, 800:3400] = 255
    a[400:500, 1500:3000] = 128
    base.putalpha(Image.fromarray(a))
    return base


@pytest.mark.parametrize("mode", ["RGBA", "P", "LA", "RGB", "I;16", "1"])
def test_strip_shrink_matches_a_full_size_resize(mode):
    base = _wide_cutout()
    save_kw: dict = {"compress_level": 1}
    if mode == "P":
        im = base.convert("RGB").convert("P", palette=Image.Palette.ADAPTIVE, colors=64)
        save_kw["transparency"] = int(np.asarray(im)[0, 0])  # the background colour's index
    elif mode == "I;16":
        im = Image.fromarray(np.asarray(base.convert("L")).astype(np.uint16) * 257)
    elif mode == "1":
        im = base.convert("RGB").convert("1", dither=Image.Dither.NONE)
    else:
        im = base.convert(mode)
    buf = io.BytesIO()
    im.save(buf, "PNG", **save_kw)
    img = load_image(buf.getvalue())
    size = (1024, 293)
    assert img.rgb.shape == (size[1], size[0], 3)
    ref_im = Image.open(io.BytesIO(buf.getvalue()))
    if mode == "I;16":
        ref_im = Image.fromarray((np.asarray(ref_im).astype(float) / 257).round().astype(np.uint8))
    ref = _reference_working(ref_im, size)
    assert np.abs(img.rgb.astype(float) - ref).mean() < 1.5
    assert (img.alpha is not None) == (mode in ("RGBA", "P", "LA"))


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="needs Linux /proc")
def test_big_rgba_png_peak_memory_is_one_decoded_copy(tmp_path):
    """An 8,000 x 8,000 RGBA PNG decodes to 256 MB, which nothing can avoid; shrinking it must not
    add a second full-size copy (Pillow's resize premultiplies the whole image first: ~+256 MB)."""
    im = Image.new("RGBA", (8000, 8000), (255, 255, 255, 0))
    ImageDraw.Draw(im).rectangle([1500, 1500, 6500, 6500], fill=(200, 40, 40, 255))
    p = tmp_path / "big.png"
    im.save(p, compress_level=1)
    del im
    out = subprocess.run([sys.executable, "-c", _PEAK_SCRIPT, str(p)], capture_output=True,
                         text=True, cwd=REPO, timeout=300, check=True)
    r = json.loads(out.stdout)
    assert r["shape"] == [1024, 1024, 3]
    assert r["delta_mb"] < 256 + 120, r
