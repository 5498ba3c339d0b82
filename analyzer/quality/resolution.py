"""Pixel size, file format, file size, colour mode, animation and aspect ratio against the chosen
marketplace's rules (analyzer/data/marketplaces.yaml).

Everything here is about the *original* file (``LoadedImage.width/height/format/file_size/
original_mode/is_animated``), never the working copy. A rule the marketplace does not set (value
null) is simply not checked. Each flag's message quotes the measured value, the rule's value and
the marketplace, e.g. "image is 480 px on its long side; Amazon requires at least 500 px (1000 px
for zoom)".

Score: the lowest of the per-problem scores in thresholds.yaml (``score_below_min`` under the
minimum size, ``score_below_zoom`` under the zoom size, ...), 100 when nothing is wrong; between the
zoom and the recommended size it rises linearly from ``score_below_recommended`` to 100.
"""

from __future__ import annotations

from fractions import Fraction

from analyzer.config import Marketplace
from analyzer.io.loader import LoadedImage
from analyzer.quality.context import ImageContext
from analyzer.quality.registry import register
from analyzer.results import CheckResult, Flag

NAME = "resolution"

# Containers that are another format in disguise: an iPhone MPO is a JPEG with extra frames.
FORMAT_ALIASES = {"MPO": "JPEG", "JPG": "JPEG", "HEIC": "HEIF", "TIF": "TIFF"}


def normalise_format(fmt: str) -> str:
    f = (fmt or "").upper()
    return FORMAT_ALIASES.get(f, f)


def parse_aspects(value: object) -> list[float]:
    """Allowed width/height ratios from a rule value: "square", "4:3" or a list of them."""
    items = value if isinstance(value, (list, tuple)) else [value]
    out = []
    for it in items:
        if isinstance(it, int) and not isinstance(it, bool) and it >= 60:
            # YAML 1.1 reads an unquoted 4:3 as the base-60 integer 243.
            it = f"{it // 60}:{it % 60}"
        s = str(it).strip().lower()
        if s in ("square", "1:1"):
            out.append(1.0)
        elif ":" in s:
            a, b = s.split(":", 1)
            try:
                out.append(float(Fraction(int(a), int(b))))
            except (ValueError, ZeroDivisionError):
                continue
    return out


def measure(img: LoadedImage) -> dict[str, float]:
    return {
        "width": float(img.width),
        "height": float(img.height),
        "long_side": float(img.long_side),
        "short_side": float(img.short_side),
        "megapixels": img.width * img.height / 1e6,
        "file_mb": img.file_size / (1024 * 1024),
        "aspect": img.width / max(img.height, 1),
        "is_animated": float(bool(img.is_animated)),
        "is_cmyk": float(img.original_mode == "CMYK"),
    }


def _fmt_list(v: object) -> str:
    return ", ".join(str(x) for x in v) if isinstance(v, (list, tuple)) else str(v)


def evaluate(img: LoadedImage, mkt: Marketplace, th: dict,
             flag: callable) -> tuple[float, list[Flag]]:  # type: ignore[valid-type]
    """(score, flags) of ``img`` under ``mkt``; ``flag(code, message, fix)`` builds a Flag."""
    m = measure(img)
    lab = mkt.label
    long_side, short_side = int(m["long_side"]), int(m["short_side"])
    scores = [100.0]
    out: list[Flag] = []
    mn = mkt.value("min_long_side")
    zoom = mkt.value("zoom_long_side")
    rec = mkt.value("recommended_long_side")
    min_short = mkt.value("min_short_side")
    rec_short = mkt.value("recommended_short_side")
    zoom_txt = f" ({zoom} px for zoom)" if zoom else ""
    if mn and long_side < mn:
        scores.append(float(th["score_below_min"]))
        out.append(flag(
            "LOW_RESOLUTION",
            f"image is {long_side} px on its long side; {lab} requires at least {mn} px"
            f"{zoom_txt}",
            f"Use the camera's original file (at least {zoom or mn} px on the long side); do not "
            "upscale a small image, retake it closer or with a better camera."))
    elif min_short and short_side < min_short:
        scores.append(float(th["score_below_min"]))
        out.append(flag(
            "LOW_RESOLUTION",
            f"image is {img.width} x {img.height} px; {lab} requires at least {min_short} px on "
            "every side",
            f"Upload an image at least {min_short} x {min_short} px (the camera's original "
            "file); do not upscale."))
    elif zoom and long_side < zoom:
        scores.append(float(th["score_below_zoom"]))
        out.append(flag(
            "NO_ZOOM",
            f"image is {long_side} px on its long side; {lab} enables zoom from {zoom} px",
            f"Upload {zoom} px or more on the long side so shoppers can zoom into details."))
    elif rec and long_side < rec:
        lo = float(zoom or 0)
        t = (long_side - lo) / max(rec - lo, 1)
        scores.append(float(th["score_below_recommended"])
                      + (100 - float(th["score_below_recommended"])) * max(0.0, min(1.0, t)))
    if rec_short and short_side < rec_short:
        t = short_side / rec_short
        scores.append(float(th["score_below_zoom"])
                      + (100 - float(th["score_below_zoom"])) * max(0.0, min(1.0, t)))

    mx = mkt.value("max_long_side")
    if mx and long_side > mx:
        scores.append(float(th["score_below_min"]))
        out.append(flag(
            "FILE_TOO_BIG_FOR_MARKETPLACE",
            f"image is {long_side} px on its long side; {lab} accepts at most {mx} px",
            f"Resize it to {mx} px or less on the long side before uploading."))
    max_mp = mkt.value("max_megapixels")
    if max_mp and m["megapixels"] > max_mp:
        scores.append(float(th["score_below_min"]))
        out.append(flag(
            "FILE_TOO_BIG_FOR_MARKETPLACE",
            f"image is {m['megapixels']:.0f} megapixels; {lab} accepts at most {max_mp} MP",
            f"Resize it below {max_mp} megapixels."))
    max_mb = mkt.value("max_file_mb")
    if max_mb and m["file_mb"] > max_mb:
        scores.append(float(th["score_below_min"]))
        out.append(flag(
            "FILE_TOO_BIG_FOR_MARKETPLACE",
            f"file is {m['file_mb']:.1f} MB; {lab} accepts at most {max_mb} MB",
            "Save it as JPEG at quality 85-90 (or resize it); that keeps the detail at a "
            "fraction of the size."))

    fmt = normalise_format(img.format)
    formats = mkt.value("formats")
    if formats and fmt not in {normalise_format(f) for f in formats}:
        scores.append(float(th["score_below_min"]))
        out.append(flag(
            "FORMAT_NOT_ACCEPTED",
            f"the file is {img.format}; {lab} accepts {_fmt_list(formats)}",
            "Save or export it as JPEG (or PNG) before uploading."))
    if img.is_animated and mkt.value("animated_allowed") is False:
        scores.append(float(th["score_animated"]))
        out.append(flag(
            "ANIMATED",
            f"the file is an animated {img.format} ({img.n_frames} frames); {lab} does not "
            "accept animated images",
            "Upload a single still frame as JPEG or PNG."))
    if img.original_mode == "CMYK":
        mode_rule = mkt.value("color_mode")
        rule_txt = (f"{lab} requires {mode_rule}" if mode_rule
                    else "web browsers show CMYK colours wrongly")
        scores.append(float(th["score_cmyk"]))
        out.append(flag(
            "CMYK",
            f"the image is in CMYK colour (print); {rule_txt}",
            "Convert it to sRGB (RGB) when exporting: in most editors, Export for Web / "
            "Convert to Profile sRGB."))
    aspect_rule = mkt.value("aspect")
    aspects = parse_aspects(aspect_rule) if aspect_rule else []
    if aspects:
        a = m["aspect"]
        tol = float(th["aspect_tolerance"])
        ok = any(abs(a - t) / t <= tol or abs(1 / a - t) / t <= tol for t in aspects)
        if not ok:
            scores.append(float(th["score_wrong_aspect"]))
            out.append(flag(
                "ASPECT_RATIO",
                f"image is {img.width} x {img.height} px (aspect {a:.2f}); {lab} asks for "
                f"{_fmt_list(aspect_rule)}",
                "Pad it to the asked shape with the same background colour (never stretch it), "
                "with the product centred."))
    return float(min(scores)), out


@register(NAME)
def check(ctx: ImageContext) -> CheckResult:
    th = ctx.thresholds(NAME)

    def flag(code: str, message: str, fix: str) -> Flag:
        return ctx.flag(code, message, fix, NAME)

    s, fl = evaluate(ctx.image, ctx.marketplace, th, flag)
    return CheckResult(name=NAME, score=s, metrics=measure(ctx.image), flags=fl)
