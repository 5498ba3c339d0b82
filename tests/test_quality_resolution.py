"""Resolution and file rules against each marketplace's rules data."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageDraw

from analyzer.config import check_thresholds, marketplace
from analyzer.engine import analyze
from analyzer.io.loader import LoadedImage
from analyzer.quality import resolution
from analyzer.results import Flag


def _img(w: int, h: int, fmt: str = "JPEG", mode: str = "RGB", mb: float = 0.5,
         animated: bool = False) -> LoadedImage:
    return LoadedImage(name="x", rgb=np.zeros((8, 8, 3), np.uint8), alpha=None, width=w,
                       height=h, format=fmt, original_mode=mode, bit_depth=8,
                       file_size=int(mb * 1024 * 1024), content_hash="0",
                       is_animated=animated, n_frames=3 if animated else 1)


def _run(img: LoadedImage, mkt: str) -> tuple[float, list[Flag]]:
    m = marketplace(mkt)

    def flag(code: str, message: str, fix: str) -> Flag:
        return Flag(code, m.severity(code), message, fix, "resolution")

    return resolution.evaluate(img, m, check_thresholds("resolution"), flag)


def _codes(flags: list[Flag]) -> list[str]:
    return [f.code for f in flags]


def test_below_minimum_names_value_rule_and_marketplace():
    score, flags = _run(_img(480, 360), "amazon")
    assert _codes(flags) == ["LOW_RESOLUTION"]
    msg = flags[0].message
    assert "480 px" in msg and "500 px" in msg and "1000 px for zoom" in msg and "Amazon" in msg
    assert flags[0].severity == "error" and flags[0].fix
    assert score == check_thresholds("resolution")["score_below_min"]


def test_zoom_and_recommended_sizes_on_amazon():
    s800, f800 = _run(_img(800, 800), "amazon")
    assert _codes(f800) == ["NO_ZOOM"] and "1000 px" in f800[0].message
    s1200, f1200 = _run(_img(1200, 1200), "amazon")
    assert f1200 == [] and 85 <= s1200 < 100
    s2000, f2000 = _run(_img(2000, 2000), "amazon")
    assert f2000 == [] and s2000 == 100
    assert s800 < s1200 < s2000


def test_google_min_short_side():
    _, flags = _run(_img(1600, 400), "google")
    assert _codes(flags) == ["LOW_RESOLUTION"] and "500 px on every side" in flags[0].message


def test_marketplace_without_minimum_does_not_flag_size():
    _, flags = _run(_img(300, 300), "etsy")
    assert "LOW_RESOLUTION" not in _codes(flags)


@pytest.mark.parametrize("fmt,mkt,bad", [("WEBP", "amazon", True), ("MPO", "amazon", False),
                                         ("PNG", "walmart", False), ("GIF", "walmart", True),
                                         ("HEIF", "ebay", False), ("TIFF", "google", False)])
def test_formats(fmt, mkt, bad):
    _, flags = _run(_img(2200, 2200, fmt=fmt), mkt)
    assert ("FORMAT_NOT_ACCEPTED" in _codes(flags)) == bad
    if bad:
        f = next(f for f in flags if f.code == "FORMAT_NOT_ACCEPTED")
        assert fmt in f.message and marketplace(mkt).label in f.message


def test_file_size_megapixels_and_max_side():
    _, flags = _run(_img(2200, 2200, mb=6.2), "walmart")
    f = next(f for f in flags if f.code == "FILE_TOO_BIG_FOR_MARKETPLACE")
    assert "6.2 MB" in f.message and "5 MB" in f.message
    _, flags = _run(_img(9000, 8000), "google")
    assert "72 megapixels" in next(f.message for f in flags
                                   if f.code == "FILE_TOO_BIG_FOR_MARKETPLACE")
    _, flags = _run(_img(5000, 5000), "shopify")
    assert any("4472 px" in f.message for f in flags)


def test_animated_cmyk_and_aspect():
    _, flags = _run(_img(1600, 1600, fmt="GIF", animated=True), "google")
    assert "ANIMATED" in _codes(flags)
    _, flags = _run(_img(2200, 2200, mode="CMYK"), "walmart")
    f = next(f for f in flags if f.code == "CMYK")
    assert f.severity == "error" and "RGB" in f.message
    _, flags = _run(_img(2200, 2600), "walmart")
    assert "ASPECT_RATIO" in _codes(flags)
    _, flags = _run(_img(2400, 1800), "etsy")  # 4:3 is allowed on Etsy
    assert "ASPECT_RATIO" not in _codes(flags)
    _, flags = _run(_img(2400, 1000), "etsy")
    assert "ASPECT_RATIO" in _codes(flags)


def test_parse_aspects():
    assert resolution.parse_aspects("square") == [1.0]
    assert resolution.parse_aspects(["4:3", "5:4", "1:1"]) == pytest.approx([4 / 3, 1.25, 1.0])
    assert resolution.parse_aspects("bogus") == []
    assert resolution.parse_aspects([243]) == pytest.approx([4 / 3])  # YAML 1.1 read of 4:3


def _bytes(im: Image.Image, **kw) -> bytes:  # type: ignore[no-untyped-def]
    buf = io.BytesIO()
    im.save(buf, **kw)
    return buf.getvalue()


def test_real_files_through_the_engine():
    rng = np.random.default_rng(0)
    px = rng.integers(0, 255, (300, 400, 3), dtype=np.uint8)
    small = analyze(_bytes(Image.fromarray(px), format="JPEG"), name="small.jpg",
                    use_model=False)
    assert small.ok and "LOW_RESOLUTION" in {f.code for f in small.flags}
    assert small.checks["resolution"].metrics["long_side"] == 400
    cmyk = analyze(_bytes(Image.fromarray(px).convert("CMYK"), format="JPEG"), name="c.jpg",
                   use_model=False)
    assert "CMYK" in {f.code for f in cmyk.flags}
    frames = [Image.fromarray(np.roll(px, k, axis=1)) for k in range(3)]
    gif = _bytes(frames[0], format="GIF", save_all=True, append_images=frames[1:])
    anim = analyze(gif, name="a.gif", marketplace="google", use_model=False)
    assert "ANIMATED" in {f.code for f in anim.flags}


def test_animated_gif_is_refused_where_not_accepted():
    """Amazon takes GIF but not an animated one: the flag is an error there and the grade is
    capped (an animated GIF of a clean product was graded A with a warning), while eBay, whose
    rules name no such limit, raises nothing."""
    im = Image.new("RGB", (1200, 1200), "white")
    ImageDraw.Draw(im).ellipse((200, 150, 1000, 1050), fill=(30, 90, 160))
    frames = [im, im.rotate(2, fillcolor="white")]
    gif = _bytes(frames[0], format="GIF", save_all=True, append_images=frames[1:])
    amazon = analyze(gif, name="a.gif", marketplace="amazon", use_model=False)
    f = next(f for f in amazon.flags if f.code == "ANIMATED")
    assert f.severity == "error" and "Amazon" in f.message
    assert amazon.grade not in ("A", "B")
    ebay = analyze(gif, name="a.gif", marketplace="ebay", use_model=False)
    assert "ANIMATED" not in {f.code for f in ebay.flags}
