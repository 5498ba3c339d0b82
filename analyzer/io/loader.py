"""Decode one image safely into the form every check works on.

One load per image is shared by all checks: the file is read once, its size and format recorded,
EXIF orientation applied, colour converted to 8-bit sRGB (the original mode is kept, since CMYK or
16-bit is itself a finding), alpha kept as its own channel, and a working copy made at most
``working_long_side`` pixels on its long side. Rules about pixel dimensions use the original size.
Every failure is a :class:`~analyzer.errors.ListingLensError` with a specific code.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageCms, ImageFile, ImageOps, UnidentifiedImageError

from analyzer.config import limits
from analyzer.errors import ErrorCode, ListingLensError

try:  # HEIC/HEIF (iPhone photos) when the wheel is available.
    import pillow_heif

    pillow_heif.register_heif_opener()
except Exception:  # pragma: no cover - optional
    pillow_heif = None

# Truncated files must raise, not decode half an image silently.
ImageFile.LOAD_TRUNCATED_IMAGES = False

SUPPORTED_FORMATS = ("JPEG", "PNG", "WEBP", "TIFF", "BMP", "GIF", "HEIF", "AVIF", "MPO")
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".jpe", ".png", ".webp", ".tif", ".tiff", ".bmp", ".gif",
                    ".heic", ".heif", ".avif")

_SRGB = ImageCms.createProfile("sRGB")


@dataclass
class LoadedImage:
    """A decoded image plus what the rules need to know about the original file.

    ``rgb`` is the working copy (uint8, H x W x 3, sRGB; transparent pixels composited on white,
    which is what a marketplace shows). ``alpha`` is the working-size alpha channel (uint8) or None.
    ``width``/``height`` are the original pixel size after EXIF rotation.
    """

    name: str
    rgb: np.ndarray
    alpha: np.ndarray | None
    width: int
    height: int
    format: str
    original_mode: str
    bit_depth: int
    file_size: int
    content_hash: str
    is_animated: bool = False
    n_frames: int = 1
    exif_orientation: int = 1
    icc_profile_name: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def scale(self) -> float:
        """Working size / original size (<= 1)."""
        return self.rgb.shape[1] / max(self.width, 1)

    @property
    def long_side(self) -> int:
        return max(self.width, self.height)

    @property
    def short_side(self) -> int:
        return min(self.width, self.height)


def _read_source(source: str | Path | bytes, name: str | None) -> tuple[bytes, str]:
    max_bytes = int(limits()["max_file_mb"] * 1024 * 1024)
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        label = name or "upload"
    else:
        path = Path(source)
        label = name or str(source)
        if not path.exists():
            raise ListingLensError(ErrorCode.FILE_NOT_FOUND, f"file not found: {label}")
        if not path.is_file():
            raise ListingLensError(ErrorCode.NOT_AN_IMAGE, f"not a regular file: {label}")
        size = path.stat().st_size
        if size > max_bytes:
            raise ListingLensError(
                ErrorCode.FILE_TOO_LARGE,
                f"file is {size / 1e6:.1f} MB; the limit is {limits()['max_file_mb']} MB",
            )
        data = path.read_bytes()
    if len(data) == 0:
        raise ListingLensError(ErrorCode.EMPTY_FILE, "the file is empty (0 bytes)")
    if len(data) > max_bytes:
        raise ListingLensError(
            ErrorCode.FILE_TOO_LARGE,
            f"file is {len(data) / 1e6:.1f} MB; the limit is {limits()['max_file_mb']} MB",
        )
    return data, label


def _sniff_non_image(data: bytes) -> str | None:
    """Name what a non-image file is, so the error can say so."""
    head = data[:512].lstrip().lower()
    if head.startswith(b"%pdf"):
        return "a PDF document"
    if head.startswith(b"<svg") or (head.startswith(b"<?xml") and b"<svg" in data[:4096].lower()):
        return "an SVG vector drawing"
    if head.startswith((b"<!doctype html", b"<html")):
        return "an HTML page"
    if head.startswith(b"pk\x03\x04"):
        return "a zip archive"
    try:
        data[:4096].decode("utf-8")
        return "a text file"
    except UnicodeDecodeError:
        return None


def _png_bit_depth(data: bytes) -> int | None:
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 25:
        return int(data[24])
    return None


def _to_rgb8(im: Image.Image, data: bytes) -> tuple[np.ndarray, np.ndarray | None, int, str | None]:
    """Convert any PIL mode to (rgb uint8, alpha uint8 | None, bit depth, icc name)."""
    mode = im.mode
    bit_depth = 8
    icc_name: str | None = None
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        arr = np.asarray(im).astype(np.float64)
        bit_depth = 16 if mode.startswith("I;16") or arr.max() > 255 else 8
        if arr.max() > 255:
            arr = arr / 257.0
        grey = np.clip(np.rint(arr), 0, 255).astype(np.uint8)
        return np.dstack([grey] * 3), None, bit_depth, None
    if mode == "F":
        arr = np.asarray(im).astype(np.float64)
        hi = arr.max() if arr.max() > 1.0 else 1.0
        grey = np.clip(np.rint(arr / hi * 255), 0, 255).astype(np.uint8)
        return np.dstack([grey] * 3), None, 32, None
    if mode == "1":
        im = im.convert("L")
    png_depth = _png_bit_depth(data)
    if png_depth == 16:
        bit_depth = 16

    has_alpha = mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        mode == "P" and "transparency" in im.info
    ) or (mode in ("RGB", "L") and "transparency" in im.info)
    alpha: np.ndarray | None = None
    if has_alpha:
        rgba = im.convert("RGBA")
        alpha = np.asarray(rgba)[:, :, 3].copy()
        rgb_im = rgba.convert("RGB")
    else:
        rgb_im = im

    icc = im.info.get("icc_profile")
    if icc:
        try:
            prof = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            icc_name = ImageCms.getProfileDescription(prof).strip() or None
            if mode == "CMYK" or (icc_name and "srgb" not in icc_name.lower()):
                src_mode = "CMYK" if rgb_im.mode == "CMYK" else "RGB"
                if rgb_im.mode not in ("CMYK", "RGB"):
                    rgb_im = rgb_im.convert("RGB")
                rgb_im = ImageCms.profileToProfile(
                    rgb_im, prof, _SRGB, outputMode="RGB",
                    renderingIntent=ImageCms.Intent.PERCEPTUAL,
                ) if rgb_im.mode == src_mode else rgb_im
        except Exception:
            # A broken or exotic profile must not lose the image: fall back to a plain convert.
            icc_name = icc_name or "unreadable ICC profile"
    if rgb_im.mode != "RGB":
        rgb_im = rgb_im.convert("RGB")
    rgb = np.asarray(rgb_im, dtype=np.uint8)
    if alpha is not None:
        # Composite on white: that is how a marketplace page shows a transparent PNG.
        a = alpha[:, :, None].astype(np.float32) / 255.0
        rgb = np.rint(rgb.astype(np.float32) * a + 255.0 * (1.0 - a)).astype(np.uint8)
    return rgb, alpha, bit_depth, icc_name


def load_image(source: str | Path | bytes, name: str | None = None,
               working_long_side: int | None = None) -> LoadedImage:
    """Read, validate and decode an image from a path or bytes.

    Raises :class:`ListingLensError` with one of FILE_NOT_FOUND, EMPTY_FILE, FILE_TOO_LARGE,
    NOT_AN_IMAGE, UNSUPPORTED_FORMAT, IMAGE_TOO_LARGE, IMAGE_TOO_SMALL, TRUNCATED_IMAGE,
    CORRUPT_IMAGE.
    """
    lim = limits()
    working = int(working_long_side or lim["working_long_side"])
    data, label = _read_source(source, name)
    content_hash = hashlib.sha256(data).hexdigest()
    max_pixels = int(lim["max_pixels"])
    notes: list[str] = []

    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        old_max = Image.MAX_IMAGE_PIXELS
        try:
            Image.MAX_IMAGE_PIXELS = max_pixels
            try:
                im = Image.open(io.BytesIO(data))
            except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
                raise ListingLensError(
                    ErrorCode.IMAGE_TOO_LARGE,
                    f"the image claims more than {max_pixels / 1e6:.0f} megapixels; refused "
                    "to protect memory (possible decompression bomb)",
                ) from e
            except UnidentifiedImageError as e:
                what = _sniff_non_image(data)
                if what:
                    raise ListingLensError(
                        ErrorCode.NOT_AN_IMAGE,
                        f"{label} is {what}, not a photo; upload a JPEG, PNG or WebP",
                    ) from e
                raise ListingLensError(
                    ErrorCode.NOT_AN_IMAGE,
                    f"{label} is not an image this tool can read (JPEG, PNG, WebP, TIFF, BMP, "
                    "GIF, HEIC)",
                ) from e

            fmt = (im.format or "").upper()
            if fmt not in SUPPORTED_FORMATS:
                raise ListingLensError(
                    ErrorCode.UNSUPPORTED_FORMAT,
                    f"{fmt or 'this'} images are not supported; save it as JPEG or PNG",
                )
            w0, h0 = im.size
            if w0 * h0 > max_pixels:
                raise ListingLensError(
                    ErrorCode.IMAGE_TOO_LARGE,
                    f"the image is {w0} x {h0} px ({w0 * h0 / 1e6:.0f} MP); the limit is "
                    f"{max_pixels / 1e6:.0f} MP",
                )
            n_frames = int(getattr(im, "n_frames", 1) or 1)
            is_animated = bool(getattr(im, "is_animated", False)) and n_frames > 1
            if is_animated:
                notes.append(f"animated {fmt} with {n_frames} frames: analysed the first frame")
            original_mode = im.mode

            # JPEG can decode at 1/2, 1/4, 1/8 scale for free: big photos load fast.
            if fmt == "JPEG" and max(w0, h0) > working * 2:
                im.draft(im.mode, (max(1, w0 * working // max(w0, h0)),
                                   max(1, h0 * working // max(w0, h0))))
            try:
                im.load()
            except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
                raise ListingLensError(ErrorCode.IMAGE_TOO_LARGE,
                                       "the image is too large to decode safely") from e
            except OSError as e:
                msg = str(e).lower()
                if "truncated" in msg or "premature" in msg or "incomplete" in msg:
                    raise ListingLensError(
                        ErrorCode.TRUNCATED_IMAGE,
                        f"{label} is cut off (truncated file); re-export or re-download it",
                    ) from e
                raise ListingLensError(ErrorCode.CORRUPT_IMAGE,
                                       f"{label} is damaged and cannot be decoded ({e})") from e
            except (ValueError, SyntaxError, IndexError, struct_error()) as e:
                raise ListingLensError(ErrorCode.CORRUPT_IMAGE,
                                       f"{label} is damaged and cannot be decoded ({e})") from e
        finally:
            Image.MAX_IMAGE_PIXELS = old_max

    orientation = 1
    try:
        exif = im.getexif()
        orientation = int(exif.get(0x0112, 1) or 1)
    except Exception:
        notes.append("the EXIF block is damaged; orientation could not be read")
    if orientation != 1:
        try:
            im = ImageOps.exif_transpose(im)
            notes.append(f"rotated upright from EXIF orientation {orientation}")
        except Exception:
            notes.append("the EXIF orientation could not be applied")
    # Original size after rotation, in original pixels (draft decoding shrank `im`).
    if orientation in (5, 6, 7, 8):
        w0, h0 = h0, w0

    if min(w0, h0) < int(lim["min_side"]):
        raise ListingLensError(
            ErrorCode.IMAGE_TOO_SMALL,
            f"the image is only {w0} x {h0} px; at least {lim['min_side']} px per side is needed "
            "to analyse it (marketplaces ask for 500 px or more)",
        )

    if max(im.size) > working:
        s = working / max(im.size)
        new_size = (max(1, round(im.size[0] * s)), max(1, round(im.size[1] * s)))
        if im.mode in ("P", "1"):
            im = im.convert("RGBA" if "transparency" in im.info else "RGB")
        im = im.resize(new_size, Image.Resampling.LANCZOS, reducing_gap=3.0)

    try:
        rgb, alpha, bit_depth, icc_name = _to_rgb8(im, data)
    except OSError as e:
        raise ListingLensError(ErrorCode.CORRUPT_IMAGE,
                               f"{label} could not be converted to RGB ({e})") from e
    if original_mode == "CMYK":
        notes.append("CMYK colour: converted to sRGB for analysis")
    if bit_depth > 8:
        notes.append(f"{bit_depth}-bit image: reduced to 8-bit for analysis")
    if icc_name and "srgb" not in icc_name.lower():
        notes.append(f"colour profile '{icc_name}' converted to sRGB")

    return LoadedImage(
        name=label,
        rgb=np.ascontiguousarray(rgb),
        alpha=alpha,
        width=int(w0),
        height=int(h0),
        format=fmt,
        original_mode=original_mode,
        bit_depth=bit_depth,
        file_size=len(data),
        content_hash=content_hash,
        is_animated=is_animated,
        n_frames=n_frames,
        exif_orientation=orientation,
        icc_profile_name=icc_name,
        notes=notes,
    )


def struct_error() -> type[Exception]:
    import struct

    return struct.error


def is_image_path(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_EXTENSIONS


def iter_image_paths(paths: list[str | Path]) -> list[Path]:
    """Expand folders (recursively, sorted) into image files; files are kept as given."""
    out: list[Path] = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            out.extend(sorted(q for q in p.rglob("*") if q.is_file() and is_image_path(q)
                              and not any(part.startswith(".") for part in q.relative_to(p).parts)))
        else:
            out.append(p)
    return out
