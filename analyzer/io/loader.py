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
from PIL import Image, ImageCms, ImageFile, UnidentifiedImageError

from analyzer.config import limits
from analyzer.errors import ErrorCode, ListingLensError
from analyzer.io import jpeg
from analyzer.io.resampling import NONE as NO_REPETITION
from analyzer.io.resampling import Repetition, repetition

try:  # HEIC/HEIF (iPhone photos) when the wheel is available.
    import pillow_heif

    pillow_heif.register_heif_opener()
except Exception:  # pragma: no cover - optional
    pillow_heif = None

# Truncated files must raise, not decode half an image silently.
ImageFile.LOAD_TRUNCATED_IMAGES = False
# Pillow's own decompression-bomb guard, set once to our limit (changing it per call would race
# between dashboard sessions, which run in threads). It raises above 2x the limit; between 1x and
# 2x it only warns, so load_image checks the pixel count itself and the warning is silenced.
Image.MAX_IMAGE_PIXELS = int(limits()["max_pixels"])
warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)
# A damaged EXIF block is reported as a note on the image, not as console noise.
warnings.filterwarnings("ignore", category=UserWarning, module=r"PIL\.TiffImagePlugin")

SUPPORTED_FORMATS = ("JPEG", "PNG", "WEBP", "TIFF", "BMP", "GIF", "HEIF", "AVIF", "MPO")
# Image formats that Pillow is never asked to parse: named from their magic bytes so the error can
# say what the file is (UNSUPPORTED_FORMAT) instead of a generic NOT_AN_IMAGE.
_OTHER_IMAGE_MAGIC = (
    (b"8BPS", "a Photoshop (PSD) file"),
    (b"%!PS", "a PostScript/EPS file"),
    (b"\xc5\xd0\xd3\xc6", "an EPS file"),
    (b"\x00\x00\x01\x00", "a Windows icon (ICO)"),
    (b"\x00\x00\x02\x00", "a Windows cursor (CUR)"),
    (b"icns", "a macOS icon (ICNS)"),
    (b"DDS ", "a DirectDraw texture (DDS)"),
    (b"qoif", "a QOI image"),
    (b"gimp xcf", "a GIMP (XCF) file"),
    (b"\x00\x00\x00\x0cjP  ", "a JPEG 2000 image"),
    (b"\xff\x4f\xff\x51", "a JPEG 2000 image"),
    (b"\xff\x0a", "a JPEG XL image"),
    (b"\x00\x00\x00\x0cJXL ", "a JPEG XL image"),
)
# EXIF orientation -> the transpose that makes the image upright (as ImageOps.exif_transpose).
_ORIENTATION = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".jpe", ".png", ".webp", ".tif", ".tiff", ".bmp", ".gif",
                    ".heic", ".heif", ".avif")

_SRGB = ImageCms.createProfile("sRGB")
UNREADABLE_ICC = "unreadable ICC profile"
Image.init()
_OPEN_FORMATS = [f for f in SUPPORTED_FORMATS if f in Image.OPEN]
_HEIF_BRANDS = (b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1")
_AVIF_BRANDS = (b"avif", b"avis")
_TRUNCATION_WORDS = ("truncated", "premature", "incomplete", "not enough data", "end of file")


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
    # IJG quality of the file's JPEG tables, and of an earlier save read from the pixels'
    # 8 x 8 grid (analyzer/io/jpeg.py); None when not a JPEG or when there is no evidence.
    jpeg_quality: float | None = None
    jpeg_history_quality: float | None = None
    # Pixels repeated in blocks (a nearest-neighbour enlargement), read on the file's own pixels
    # (analyzer/io/resampling.py; a large JPEG's luminance decoded again at full size); all
    # zeros when they could not be read (over 40 MP, a photo under 64 px, an odd mode).
    repetition: Repetition = NO_REPETITION
    # Grey (uint8) windows of the original pixels spread over the frame (_full_res_reads), kept
    # only when the working copy is smaller than the original: the detail a zoom shows, which
    # the working copy's shrink averages away (a photo enlarged 2-5x past the working size reads
    # as sharp there). Before any EXIF rotation (the detail measure does not care).
    full_res_tiles: np.ndarray | None = None

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
        with open(path, "rb") as f:  # bounded even if the file grows after stat()
            data = f.read(max_bytes + 1)
    if len(data) == 0:
        raise ListingLensError(ErrorCode.EMPTY_FILE, "the file is empty (0 bytes)")
    if len(data) > max_bytes:
        raise ListingLensError(
            ErrorCode.FILE_TOO_LARGE,
            f"file is {len(data) / 1e6:.1f} MB; the limit is {limits()['max_file_mb']} MB",
        )
    return data, label


def _supported_magic(data: bytes) -> str | None:
    """The supported format whose signature the bytes start with, if any."""
    for magic, fmt in ((b"\xff\xd8\xff", "JPEG"), (b"\x89PNG\r\n\x1a\n", "PNG"),
                       (b"GIF87a", "GIF"), (b"GIF89a", "GIF"), (b"II*\x00", "TIFF"),
                       (b"MM\x00*", "TIFF")):
        if data.startswith(magic):
            return fmt
    if data[:2] == b"BM" and data[6:10] == b"\x00\x00\x00\x00":  # reserved bytes are zero
        return "BMP"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WebP"
    brand = data[8:12] if data[4:8] == b"ftyp" else b""
    if brand in _HEIF_BRANDS and "HEIF" in _OPEN_FORMATS:
        return "HEIC"
    if brand in _AVIF_BRANDS and "AVIF" in _OPEN_FORMATS:
        return "AVIF"
    return None


def _sniff_other_image(data: bytes) -> str | None:
    """Name an image format this tool does not read (vector drawings, editor files, icons)."""
    head = data[:512].lstrip().lower()
    if head.startswith(b"<svg") or (head.startswith(b"<?xml") and b"<svg" in data[:4096].lower()):
        return "an SVG vector drawing"
    for magic, what in _OTHER_IMAGE_MAGIC:
        if data.startswith(magic):
            return what
    brand = data[8:12] if data[4:8] == b"ftyp" else b""
    if brand in _HEIF_BRANDS and "HEIF" not in _OPEN_FORMATS:
        return "a HEIC photo (this installation lacks the HEIC decoder, pillow-heif)"
    if brand in _AVIF_BRANDS and "AVIF" not in _OPEN_FORMATS:
        return "an AVIF photo (this installation's Pillow lacks AVIF support)"
    return None


def _sniff_non_image(data: bytes) -> str | None:
    """Name what a non-image file is, so the error can say so."""
    head = data[:512].lstrip().lower()
    if head.startswith(b"%pdf"):
        return "a PDF document"
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


def _to_rgb8(im: Image.Image, data: bytes, source_mode: str | None = None,
             ) -> tuple[np.ndarray, np.ndarray | None, int, str | None]:
    """Convert any PIL mode to (rgb uint8, alpha uint8 | None, bit depth, icc name).

    ``source_mode`` is the decoded mode before shrinking (a 16-bit image shrinks as mode I).
    """
    mode = im.mode
    source_mode = source_mode or mode
    bit_depth = 8
    icc_name: str | None = None
    if mode.startswith("I;16") or mode == "I":
        arr = np.asarray(im).astype(np.float64)
        hi = float(arr.max())
        bit_depth = 16 if source_mode.startswith("I;16") or hi > 255 else 8
        if not source_mode.startswith("I;16") and hi > 65535:
            arr = arr / hi * 255.0  # true 32-bit integer data: stretch to its own range
        elif bit_depth == 16:
            arr = arr / 257.0  # (Lanczos may overshoot 65535 slightly: clipped below)
        grey = np.clip(np.rint(arr), 0, 255).astype(np.uint8)
        return np.dstack([grey] * 3), None, bit_depth, None
    if mode == "F":
        arr = np.nan_to_num(np.asarray(im).astype(np.float64), nan=0.0, posinf=0.0, neginf=0.0)
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
            icc_name = icc_name or UNREADABLE_ICC
    if rgb_im.mode != "RGB":
        rgb_im = rgb_im.convert("RGB")
    rgb = np.asarray(rgb_im, dtype=np.uint8)
    if alpha is not None:
        # Composite on white: that is how a marketplace page shows a transparent PNG.
        a = alpha[:, :, None].astype(np.float32) / 255.0
        rgb = np.rint(rgb.astype(np.float32) * a + 255.0 * (1.0 - a)).astype(np.uint8)
    return rgb, alpha, bit_depth, icc_name


def _open(data: bytes, label: str, max_pixels: int) -> Image.Image:
    """Identify the image from its header only (no pixel decoding yet)."""
    try:
        # Only the formats we support are ever asked to parse the bytes: Pillow's other plugins
        # (some with lax magic checks) never see hostile input.
        return Image.open(io.BytesIO(data), formats=_OPEN_FORMATS)
    except Image.DecompressionBombError as e:
        raise ListingLensError(
            ErrorCode.IMAGE_TOO_LARGE,
            f"the image claims more than {2 * max_pixels / 1e6:.0f} megapixels, over twice the "
            f"{max_pixels / 1e6:.0f} MP limit; refused to protect memory (possible "
            "decompression bomb)",
        ) from e
    except UnidentifiedImageError as e:
        fmt = _supported_magic(data)
        if fmt:
            raise ListingLensError(
                ErrorCode.CORRUPT_IMAGE,
                f"{label}: damaged or cut-off {fmt} header; re-export or re-download it",
            ) from e
        other = _sniff_other_image(data)
        if other:
            raise ListingLensError(
                ErrorCode.UNSUPPORTED_FORMAT,
                f"{label} is {other}, which this tool cannot read; export it as JPEG or PNG",
            ) from e
        what = _sniff_non_image(data)
        if what:
            # a zip of photos is a store's: said where one is read (a thirteenth new user ran
            # `analyze store.zip` and was told only to upload a JPEG)
            hint = (" (a zip of photos: `listing-lens audit` or the dashboard reads it whole)"
                    if what == "a zip archive" else "")
            raise ListingLensError(
                ErrorCode.NOT_AN_IMAGE,
                f"{label} is {what}, not a photo; upload a JPEG or PNG{hint}",
            ) from e
        raise ListingLensError(
            ErrorCode.NOT_AN_IMAGE,
            f"{label} is not an image this tool can read (JPEG, PNG, WebP, TIFF, BMP, GIF, "
            "HEIC, AVIF)",
        ) from e
    except (OSError, ValueError, SyntaxError, IndexError, struct_error(), EOFError,
            ZeroDivisionError, OverflowError, TypeError, KeyError, RuntimeError) as e:
        # A recognised header whose fields are nonsense.
        msg = str(e).lower()
        if any(w in msg for w in _TRUNCATION_WORDS):
            raise ListingLensError(
                ErrorCode.TRUNCATED_IMAGE,
                f"{label} is cut off (truncated file); re-export or re-download it",
            ) from e
        raise ListingLensError(ErrorCode.CORRUPT_IMAGE,
                               f"{label} is damaged: its header cannot be read ({e})") from e


def _decode(im: Image.Image, label: str) -> None:
    try:
        im.load()
    except Image.DecompressionBombError as e:
        raise ListingLensError(ErrorCode.IMAGE_TOO_LARGE,
                               "the image is too large to decode safely") from e
    except MemoryError as e:
        raise ListingLensError(ErrorCode.IMAGE_TOO_LARGE,
                               "not enough memory to decode this image") from e
    except (OSError, EOFError, ValueError, SyntaxError, IndexError, struct_error(),
            ZeroDivisionError, OverflowError, TypeError, KeyError, RuntimeError) as e:
        # Decoders report damage with many exception types (pillow-heif: ValueError/RuntimeError).
        msg = str(e).lower()
        if isinstance(e, EOFError) or any(w in msg for w in _TRUNCATION_WORDS):
            raise ListingLensError(
                ErrorCode.TRUNCATED_IMAGE,
                f"{label} is cut off (truncated file); re-export or re-download it",
            ) from e
        raise ListingLensError(ErrorCode.CORRUPT_IMAGE,
                               f"{label} is damaged and cannot be decoded ({e})") from e


# Decoded image -> the mode its strips are box-reduced in. Alpha is premultiplied (RGBa, La) so
# the colour of invisible pixels cannot bleed into the product's edges; 1/P/I;16 cannot be
# reduced by Pillow directly.
_STRIP_BYTES = 32 * 1024 * 1024


def _reduce_mode(im: Image.Image) -> str:
    m = im.mode
    keyed = "transparency" in im.info
    if m in ("RGBA", "PA") or (m in ("P", "RGB") and keyed):
        return "RGBa"
    if m == "LA" or (m == "L" and keyed):
        return "La"
    if m in ("1", "P"):
        return "L" if m == "1" else "RGB"
    if m.startswith("I;16"):
        return "I"
    return m


def _convert(im: Image.Image, mode: str) -> Image.Image:
    if im.mode == mode:
        return im
    if mode == "RGBa":
        return (im if im.mode == "RGBA" else im.convert("RGBA")).convert("RGBa")
    if mode == "La":
        return (im if im.mode == "LA" else im.convert("LA")).convert("La")
    return im.convert(mode)


def _shrink(im: Image.Image, working: int) -> Image.Image:
    """Shrink to ``working`` px on the long side without a second full-size copy.

    An integer box reduction runs strip by strip (each strip converted, premultiplied and
    reduced on its own, about 32 MB at a time), then Lanczos finishes from at most twice the
    working size: the same result as Pillow's ``resize(reducing_gap=2)``, with the peak memory of
    the decoded image plus one strip instead of two or three full-size copies.
    """
    w, h = im.size
    long_side = max(w, h)
    if long_side <= working:
        return im
    scale = working / long_side
    new_size = (max(1, round(w * scale)), max(1, round(h * scale)))
    factor = long_side // (working * 2)
    target = _reduce_mode(im)
    if factor >= 2:
        bytes_per_row = w * 4 * factor
        rows = factor * max(1, _STRIP_BYTES // max(bytes_per_row, 1))
        out = Image.new(target, (-(-w // factor), -(-h // factor)))
        for y in range(0, h, rows):
            strip = _convert(im.crop((0, y, w, min(h, y + rows))), target)
            out.paste(strip.reduce(factor), (0, y // factor))
        info = dict(im.info)
    else:
        out = _convert(im, target)
        info = dict(im.info)
    if target in ("RGBa", "La"):
        out = out.convert("RGBA" if target == "RGBa" else "LA")
        info.pop("transparency", None)  # now an explicit alpha channel
    out = out.resize(new_size, Image.Resampling.LANCZOS)
    out.info = info
    return out


def _read_orientation(im: Image.Image, notes: list[str]) -> int:
    try:
        exif = im.getexif()
        raw = im.info.get("exif")
        if raw and len(raw) > 8 and not len(exif):
            notes.append("the EXIF block is damaged; it was ignored")
            return 1
        orientation = int(exif.get(0x0112, 1) or 1)
    except Exception:  # any malformed EXIF: the pixels are still fine
        notes.append("the EXIF block is damaged; orientation could not be read")
        return 1
    if orientation != 1 and orientation not in _ORIENTATION:
        notes.append(f"unknown EXIF orientation value {orientation} ignored")
        return 1
    return orientation


def load_image(source: str | Path | bytes, name: str | None = None,
               working_long_side: int | None = None) -> LoadedImage:
    """Read, validate and decode an image from a path or bytes.

    Raises :class:`ListingLensError` with one of FILE_NOT_FOUND, EMPTY_FILE, FILE_TOO_LARGE,
    NOT_AN_IMAGE, UNSUPPORTED_FORMAT, IMAGE_TOO_LARGE, IMAGE_TOO_SMALL, TRUNCATED_IMAGE,
    CORRUPT_IMAGE, and nothing else.

    Memory: the file (at most ``max_file_mb``) plus one decoded frame (at most ``max_pixels``
    pixels; JPEGs larger than twice the working size are decoded at 1/2-1/8 scale by libjpeg's
    DCT scaling, so a 144 MP JPEG never exists in memory at full size).
    """
    lim = limits()
    working = int(working_long_side or lim["working_long_side"])
    data, label = _read_source(source, name)
    content_hash = hashlib.sha256(data).hexdigest()
    max_pixels = int(lim["max_pixels"])
    notes: list[str] = []

    im = _open(data, label, max_pixels)
    fmt = (im.format or "").upper()
    if fmt not in SUPPORTED_FORMATS:  # pragma: no cover - _open only admits supported formats
        raise ListingLensError(
            ErrorCode.UNSUPPORTED_FORMAT,
            f"{fmt or 'this'} images are not supported; save it as JPEG or PNG",
        )
    w0, h0 = im.size
    if w0 * h0 > max_pixels:
        raise ListingLensError(
            ErrorCode.IMAGE_TOO_LARGE,
            f"the image is {w0:,} x {h0:,} px ({w0 * h0 / 1e6:.0f} MP); the limit is "
            f"{max_pixels / 1e6:.0f} MP; resize it (2,000-3,000 px per side is plenty)",
        )
    if min(w0, h0) < 1:
        raise ListingLensError(ErrorCode.CORRUPT_IMAGE, f"{label} declares a size of {w0} x {h0}")
    try:
        n_frames = int(getattr(im, "n_frames", 1) or 1)
    except Exception as e:  # counting frames walks the file; a broken frame table fails here
        raise ListingLensError(ErrorCode.CORRUPT_IMAGE,
                               f"{label} is damaged: its frames cannot be read ({e})") from e
    # An MPO is a JPEG with a second, hidden view (many phone cameras): not an animation.
    if fmt == "MPO":
        fmt = "JPEG"
    is_animated = fmt != "JPEG" and bool(getattr(im, "is_animated", False)) and n_frames > 1
    if is_animated:
        notes.append(f"animated {fmt} with {n_frames} frames: analysed the first frame")
    original_mode = im.mode

    full_size = (w0, h0)
    # JPEG can decode at 1/2, 1/4, 1/8 scale for free: big photos load fast and small.
    if fmt == "JPEG" and max(w0, h0) > working * 2:
        im.draft(im.mode, (max(1, w0 * working // max(w0, h0)),
                           max(1, h0 * working // max(w0, h0))))
    _decode(im, label)
    jpeg_q, jpeg_hist = _jpeg_compression(im, fmt, full_size)
    # the full-resolution tiles only when the working copy will be smaller than the original
    want_tiles = max(full_size) > working
    if im.size == full_size:
        repeated, tiles = _full_res_reads(im, want_tiles)
    else:  # decoded at a reduced scale: the full-size reads on the luminance decoded again
        repeated, tiles, jpeg_hist = _full_res_luma_reads(data, full_size)
    orientation = _read_orientation(im, notes)
    if orientation in (5, 6, 7, 8):  # original size after rotation, in original pixels
        w0, h0 = h0, w0

    if min(w0, h0) < int(lim["min_side"]):
        raise ListingLensError(
            ErrorCode.IMAGE_TOO_SMALL,
            f"the image is only {w0} x {h0} px; at least {lim['min_side']} px per side is needed "
            "to analyse it (marketplaces ask for 500 px or more)",
        )

    try:
        # Shrink before rotating or converting, so no full-size copy is ever made.
        decoded_mode = im.mode
        im = _shrink(im, working)
        if orientation != 1:
            im = im.transpose(_ORIENTATION[orientation])
            notes.append(f"rotated upright from EXIF orientation {orientation}")
        rgb, alpha, bit_depth, icc_name = _to_rgb8(im, data, decoded_mode)
    except ListingLensError:
        raise
    except MemoryError as e:
        raise ListingLensError(ErrorCode.IMAGE_TOO_LARGE,
                               "not enough memory to convert this image") from e
    except (OSError, ValueError, TypeError, KeyError, IndexError) as e:
        raise ListingLensError(
            ErrorCode.UNSUPPORTED_FORMAT,
            f"{label} uses a colour mode this tool cannot convert ({original_mode}: {e}); "
            "save it as an 8-bit RGB JPEG or PNG",
        ) from e
    if original_mode == "CMYK":
        notes.append("CMYK colour: converted to sRGB for analysis")
    if bit_depth > 8:
        notes.append(f"{bit_depth}-bit image: reduced to 8-bit for analysis")
    if icc_name == UNREADABLE_ICC:
        notes.append("the embedded colour profile is unreadable; colours were taken as sRGB")
    elif icc_name and "srgb" not in icc_name.lower():
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
        jpeg_quality=jpeg_q,
        jpeg_history_quality=jpeg_hist,
        repetition=repeated,
        full_res_tiles=tiles,
    )


_HISTORY_BLOCKS = 1024  # blocks read for the earlier-save quality (jpeg.history_quality's default)


def _central_window(size: tuple[int, int], side: int = 1024) -> tuple[int, int, int, int]:
    """(x0, y0, width, height) of the window at most ``side`` px square at the centre of an image
    of ``size``, its origin on the 8 x 8 grid (multiples of 8), where the product usually is and
    where the pixel reads of the loader (JPEG history, repetition) look."""
    w, h = size
    cw, ch = min(w, side), min(h, side)
    return (w - cw) // 16 * 8, (h - ch) // 16 * 8, cw, ch


def _jpeg_compression(im: Image.Image, fmt: str, full_size: tuple[int, int]
                      ) -> tuple[float | None, float | None]:
    """(quality of the file's tables, quality of an earlier save) of a decoded JPEG; the
    earlier save only when ``im`` was decoded at full size (:func:`_history_quality`: a JPEG
    decoded at a reduced scale (draft) has no grid left to read, and gets its reading from the
    full-size luminance decode, :func:`_full_res_luma_reads`)."""
    if fmt != "JPEG":
        return None, None
    table = jpeg.table_quality(getattr(im, "quantization", None))
    if im.size != full_size:
        return table, None
    return table, _history_quality(im)


def _history_quality(im: Image.Image) -> float | None:
    """Quality of an earlier JPEG save read on the pixels' own 8 x 8 grid (RGB or the
    luminance alone), before any rotation or shrinking moves it, from a central window (the
    product's usual place) at most 1024 px square."""
    if im.mode not in ("RGB", "L"):
        return None
    x0, y0, cw, ch = _central_window(im.size)
    cw, ch = cw // 8 * 8, ch // 8 * 8  # whole blocks, from the same origin on the grid
    if cw == 0 or ch == 0:
        return None
    # history_quality reads an even spread of about 1024 blocks: only the block rows it reads
    # are copied out of Pillow (a whole 1024 px window's copy costs more than the measure),
    # then only its block columns are kept, and all of that mosaic's blocks are read.
    nby, nbx = ch // 8, cw // 8
    step = jpeg.block_step(nby, nbx, _HISTORY_BLOCKS)
    n_rows = -(-nby // step)
    strip = Image.new(im.mode, (cw, 8 * n_rows))
    for i in range(n_rows):
        top = y0 + 8 * step * i
        strip.paste(im.crop((x0, top, x0 + cw, top + 8)), (0, 8 * i))
    rows = np.asarray(strip).reshape(n_rows, 8, nbx, 8, -1)[:, :, ::step]
    mosaic = rows.reshape(8 * n_rows, -1, rows.shape[-1])
    return jpeg.history_quality(mosaic, max_blocks=n_rows * rows.shape[2])


# LoadedImage.full_res_tiles: TILE_GRID x TILE_GRID windows of TILE_SIDE px of the original
# pixels, centred on an even grid over the whole frame (16 places: the product is found at some
# of them wherever it sits, and at any enlargement, where one central window of a photo enlarged
# 3x sees a sixth of the product and often only a plain part of it).
TILE_GRID, TILE_SIDE = 4, 128


# Formats whose lossy codec leaves a 4 x 4 block grid (analyzer/io/resampling.py, _GRID4_*).
_GRID4_FORMATS = ("WEBP", "AVIF", "HEIF")


def _full_res_reads(im: Image.Image, want_tiles: bool = True
                    ) -> tuple[Repetition, np.ndarray | None]:
    """(pixel repetition, full-resolution tiles) of the decoded pixels at full size (the
    callers' condition), before any rotation or shrinking blurs them: repetition
    (analyzer/io/resampling.py) on the central window (on the 8 x 8 grid, which its JPEG test
    needs), the tiles (``TILE_GRID``) as grey uint8, shape (n, TILE_SIDE, TILE_SIDE); None
    when not wanted or the photo is too small for a tile."""
    x0, y0, cw, ch = _central_window(im.size)
    try:
        window = _grey8(im.crop((x0, y0, x0 + cw, y0 + ch)))
        repeated = repetition(window, codec_grid_4=(im.format or "").upper() in _GRID4_FORMATS)
        w, h = im.size
        if not want_tiles or min(w, h) < TILE_GRID * TILE_SIDE:
            return repeated, None
        tiles = []
        for i in range(TILE_GRID):
            for j in range(TILE_GRID):
                cx = (2 * j + 1) * w // (2 * TILE_GRID) - TILE_SIDE // 2
                cy = (2 * i + 1) * h // (2 * TILE_GRID) - TILE_SIDE // 2
                tiles.append(_grey8(im.crop((cx, cy, cx + TILE_SIDE, cy + TILE_SIDE))))
        return repeated, np.stack(tiles)
    except (OSError, ValueError):  # an odd mode: both measures are optional
        return NO_REPETITION, None


def _grey8(im: Image.Image) -> np.ndarray:
    """Grey uint8 of a crop for the full-resolution reads: 16-bit, 32-bit and float modes scaled
    as the working copy's are (:func:`_to_rgb8`; Pillow's own conversion to L clips a 16-bit
    grey at 255, which left a 16-bit PNG's windows blank and its reads empty)."""
    if im.mode.startswith("I;16") or im.mode in ("I", "F"):
        return _to_rgb8(im, b"", im.mode)[0][..., 0]
    return np.asarray(im if im.mode == "L" else im.convert("L"))


# A large JPEG is decoded at a reduced scale, which averages repeated pixels away; its luminance
# alone is decoded again at full size for the repetition read, up to this many pixels (about
# 20 ms for 12 MP, 31 ms for 18 MP, 1 byte a pixel).
_FULL_LUMA_MAX_PIXELS = 40_000_000


def _full_res_luma_reads(data: bytes, full_size: tuple[int, int]
                         ) -> tuple[Repetition, np.ndarray | None, float | None]:
    """:func:`_full_res_reads` of a JPEG that was decoded at a reduced scale, and the earlier
    save's quality (:func:`_history_quality`, which the reduced decode cannot read): its
    luminance decoded again at full size (libjpeg outputs the Y channel only: no chroma, no
    colour conversion; the grid is the file's). An enlargement is made to pass a size rule
    (1,600 or 2,000 px for zoom), and a large photo is as often a re-saved web copy, so the
    photos worth reading are mostly this large."""
    if full_size[0] * full_size[1] > _FULL_LUMA_MAX_PIXELS:
        return NO_REPETITION, None, None
    try:
        with Image.open(io.BytesIO(data)) as im:
            im.draft("L", full_size)
            if im.size != full_size:
                return NO_REPETITION, None, None
            im.load()
            return (*_full_res_reads(im), _history_quality(im))
    except (OSError, ValueError, SyntaxError):  # a file the first decode took: optional
        return NO_REPETITION, None, None


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
