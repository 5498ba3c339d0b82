"""A generated corpus of hostile, broken and awkward inputs (issue 6), with what each must give.

Not a test module: tests import :func:`make_corpus`. Every case says whether the file must be
analysed (``expect_ok``) or which error code it must produce (``expect_code``). Everything is made
here with Pillow/NumPy/zlib, so the corpus needs no downloads and is identical on every machine.
Bombs are forged headers (a PNG claiming 50,000 x 50,000 px with a tiny zlib stream; a zip whose
members really inflate to 1.2 GB but are never inflated by the code under test).
"""

from __future__ import annotations

import functools
import io
import shutil
import struct
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

MB = 1024 * 1024


@dataclass(frozen=True)
class Case:
    """One corpus input. ``kind`` is "image" (one file), "zip" or "folder"."""

    name: str
    path: Path
    expect_ok: bool
    expect_code: str | None
    note: str = ""
    kind: str = "image"
    # For zips: sanitised member name -> expected code (None = analysed).
    members: dict[str, str | None] = field(default_factory=dict)


# --------------------------------------------------------------------------- builders


def product_photo(size: tuple[int, int] = (800, 800), seed: int = 0,
                  background: tuple[int, int, int] = (255, 255, 255)) -> Image.Image:
    """A synthetic 'product on a plain background': a textured, shaded box and a label."""
    rng = np.random.default_rng(seed)
    w, h = size
    im = Image.new("RGB", size, background)
    d = ImageDraw.Draw(im)
    x0, y0, x1, y1 = int(w * 0.2), int(h * 0.15), int(w * 0.8), int(h * 0.85)
    base = rng.integers(40, 200, 3)
    for i in range(y0, y1):  # vertical shading gives the checks real gradients to measure
        c = tuple(int(v) for v in np.clip(base + (i - y0) * 60 // max(y1 - y0, 1), 0, 255))
        d.line([(x0, i), (x1, i)], fill=c)
    d.rectangle([x0 + (x1 - x0) // 4, y0 + (y1 - y0) // 3, x1 - (x1 - x0) // 4,
                 y0 + (y1 - y0) // 2], fill=(240, 240, 230), outline=(20, 20, 20), width=3)
    arr = np.asarray(im).astype(np.int16)
    inside = np.zeros(arr.shape[:2], bool)
    inside[y0:y1, x0:x1] = True
    arr[inside] += rng.integers(-12, 13, (int(inside.sum()), 3), dtype=np.int16)
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))


def _jpeg(im: Image.Image, **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=kw.pop("quality", 90), **kw)
    return buf.getvalue()


def _png(im: Image.Image, **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "PNG", **kw)
    return buf.getvalue()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(
        ">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_bomb(width: int = 50_000, height: int = 50_000) -> bytes:
    """A valid PNG header claiming ``width x height`` RGB pixels with a tiny zlib stream.

    Nothing of that size is ever allocated here: the IDAT holds a few compressed rows only.
    """
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    rows = zlib.compress(b"\x00" * (1 + width * 3) * 4, 9)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", rows)
            + _png_chunk(b"IEND", b""))


def _s15(v: float) -> bytes:
    return struct.pack(">i", round(v * 65536))


def icc_profile(description: str = "Wide Gamut Test RGB (Adobe RGB primaries)",
                gamma: float = 2.2) -> bytes:
    """A minimal ICC v2 RGB matrix/TRC display profile that is NOT sRGB.

    Primaries are Adobe RGB (1998) adapted to D50, as published in the ICC spec examples.
    """
    def xyz(x: float, y: float, z: float) -> bytes:
        return b"XYZ \x00\x00\x00\x00" + _s15(x) + _s15(y) + _s15(z)

    desc_ascii = description.encode("ascii") + b"\x00"
    desc = (b"desc\x00\x00\x00\x00" + struct.pack(">I", len(desc_ascii)) + desc_ascii
            + b"\x00" * 4 + b"\x00" * 4 + b"\x00" * 2 + b"\x00" + b"\x00" * 67)
    curv = b"curv\x00\x00\x00\x00" + struct.pack(">IH", 1, round(gamma * 256)) + b"\x00\x00"
    tags = [
        (b"desc", desc),
        (b"cprt", b"text\x00\x00\x00\x00" + b"no copyright, test profile\x00"),
        (b"wtpt", xyz(0.9642, 1.0, 0.8249)),
        (b"rXYZ", xyz(0.6097, 0.3111, 0.0195)),
        (b"gXYZ", xyz(0.2053, 0.6257, 0.0609)),
        (b"bXYZ", xyz(0.1492, 0.0632, 0.7446)),
        (b"rTRC", curv), (b"gTRC", curv), (b"bTRC", curv),
    ]
    table_len = 4 + 12 * len(tags)
    offset = 128 + table_len
    table = struct.pack(">I", len(tags))
    body = b""
    for sig, data in tags:
        data += b"\x00" * (-len(data) % 4)
        table += sig + struct.pack(">II", offset + len(body), len(data))
        body += data
    size = 128 + table_len + len(body)
    header = (struct.pack(">I", size) + b"lcms" + struct.pack(">I", 0x02100000) + b"mntrRGB XYZ "
              + struct.pack(">6H", 2026, 1, 1, 0, 0, 0) + b"acsp" + b"\x00" * 24
              + struct.pack(">I", 0) + _s15(0.9642) + _s15(1.0) + _s15(0.8249) + b"\x00" * 4)
    header += b"\x00" * (128 - len(header))
    return header + table + body


def broken_exif_jpeg(im: Image.Image) -> bytes:
    """A JPEG whose APP1 Exif block points its first IFD far past the end of the segment."""
    data = _jpeg(im)
    payload = b"Exif\x00\x00" + b"II*\x00" + struct.pack("<I", 0x7FFFFF00) + b"\xde\xad" * 20
    seg = b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
    return data[:2] + seg + data[2:]


def raw_zip(entries: list[tuple[str, bytes, int, int]], *, external_attr: int = 0) -> bytes:
    """A zip written by hand: ``(name, raw_deflate_data, crc32, declared_uncompressed_size)``.

    Lets tests forge what zipfile refuses to write: reused compressed data (bombs) and headers
    that lie about the uncompressed size.
    """
    out = bytearray()
    central = bytearray()
    for name, payload, crc, usize in entries:
        nb = name.encode("utf-8")
        offset = len(out)
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0x800, 8, 0, 0x21, crc & 0xFFFFFFFF,
                           len(payload), usize, len(nb), 0) + nb + payload
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, (3 << 8) | 20, 20, 0x800, 8, 0,
                               0x21, crc & 0xFFFFFFFF, len(payload), usize, len(nb), 0, 0, 0, 0,
                               external_attr, offset) + nb
    cd_offset = len(out)
    out += central
    out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries), len(central),
                       cd_offset, 0)
    return bytes(out)


def write_zip_bomb(path: Path, members: int = 30, member_mb: int = 40) -> Path:
    """``members`` entries, each really inflating to ``member_mb`` MB of zeros (a true bomb)."""
    zeros = b"\x00" * (member_mb * MB)
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    payload = comp.compress(zeros) + comp.flush()
    crc = zlib.crc32(zeros)
    del zeros
    entries = [(f"bomb_{i:02d}.png", payload, crc, member_mb * MB) for i in range(members)]
    path.write_bytes(raw_zip(entries))
    return path


def _symlink_info(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.create_system = 3
    info.external_attr = (0o120777) << 16  # S_IFLNK | rwxrwxrwx
    return info


# --------------------------------------------------------------------------- the corpus

HOSTILE_NAMES = {
    "spaces": "red mug front view.jpg",
    "unicode": "tasse_à_café_商品_🙂.jpg",
    "quotes": "it's a \"quoted\" name.jpg",
    "script": "<script>alert('x')<script>.jpg",
    "img_tag": "<img src=x onerror=alert(1)>.jpg",
    "html_amp": "a&b <i>c<i> &amp;.jpg",
    "formula": "=HYPERLINK(\"http:⁄⁄evil\",\"x\").jpg",
}


def make_corpus(root: str | Path, good_sources: list[Path] | None = None, *,
                huge: bool = True) -> list[Case]:
    """Write every case under ``root`` and return them in a stable order.

    ``good_sources``: real photos to copy in beside the bad ones (e.g. from ../shared/data); when
    None, synthetic product photos are used. ``huge=False`` leaves out the 12,000 x 12,000 JPEG
    (about 2 s to encode) for tests that do not need it.
    """
    import analyzer.io.loader  # noqa: F401  (registers the HEIC opener used below)

    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    cases: list[Case] = []

    def add(name: str, data: bytes, ok: bool, code: str | None, note: str = "") -> Path:
        p = root / name
        p.write_bytes(data)
        cases.append(Case(name, p, ok, code, note))
        return p

    photo = product_photo((640, 480), seed=1)
    noisy = Image.fromarray(np.random.default_rng(7).integers(0, 256, (300, 400, 3), np.uint8))

    # Good files first: the bad ones must never stop them from being analysed.
    if good_sources:
        for i, src in enumerate(good_sources):
            dst = root / f"good_{i:02d}{src.suffix.lower()}"
            shutil.copyfile(src, dst)
            cases.append(Case(dst.name, dst, True, None, f"real photo {src.name}"))
    else:
        for i in range(3):
            add(f"good_{i:02d}.jpg", _jpeg(product_photo(seed=10 + i)), True, None,
                "synthetic product photo")
    add("good.webp", _webp(product_photo(seed=20)), True, None, "WebP")
    add("good.tiff", _save(product_photo(seed=21), "TIFF"), True, None, "TIFF")
    add("good.bmp", _save(product_photo((300, 300), seed=22), "BMP"), True, None, "BMP")
    add("jpeg_named.png", _jpeg(photo), True, None, "JPEG bytes behind a .png name")
    for fmt, ext in (("HEIF", "heic"), ("AVIF", "avif")):  # phone formats, when encodable here
        try:
            data = _save(product_photo(seed=23), fmt)
        except (KeyError, OSError, ValueError):
            continue
        add(f"good.{ext}", data, True, None, fmt)
        add(f"truncated.{ext}", data[:60], False, "CORRUPT_IMAGE", f"{fmt} cut after 60 bytes")

    # Not images at all.
    add("empty.jpg", b"", False, "EMPTY_FILE", "zero-byte file")
    add("notes.jpg", b"These are my product notes, not a photo.\n" * 5, False, "NOT_AN_IMAGE",
        "text file named .jpg")
    add("page.jpg", b"<!DOCTYPE html><html><body><h1>Shop</h1></body></html>", False,
        "NOT_AN_IMAGE", "HTML file named .jpg")
    add("drawing.svg", b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" '
        b'width="500" height="500"><rect width="500" height="500" fill="red"/></svg>', False,
        "UNSUPPORTED_FORMAT", "SVG vector drawing")
    add("spec.pdf", b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n",
        False, "NOT_AN_IMAGE", "PDF document")
    add("icon.ico", _save(product_photo((64, 64), seed=3), "ICO"), False, "UNSUPPORTED_FORMAT",
        "Windows icon: an image format marketplaces do not take")
    add("random.jpg", np.random.default_rng(3).integers(0, 256, 4096, np.uint8).tobytes(), False,
        "NOT_AN_IMAGE", "random bytes")

    # Broken images.
    j = _jpeg(noisy)
    add("truncated.jpg", j[: len(j) * 6 // 10], False, "TRUNCATED_IMAGE", "JPEG cut at 60%")
    p = _png(noisy)
    add("truncated.png", p[: len(p) * 6 // 10], False, "TRUNCATED_IMAGE", "PNG cut at 60%")
    add("header_only.png", p[:60], False, "TRUNCATED_IMAGE", "PNG with its header and no data")
    add("corrupt.png", _corrupt_idat(p), False, "CORRUPT_IMAGE", "PNG with garbage in its IDAT")

    # Size extremes.
    add("bomb_50000.png", png_bomb(), False, "IMAGE_TOO_LARGE",
        "PNG header claims 50,000 x 50,000 px (2.5 GP) with a ~1 KB body")
    add("bomb_13000.png", png_bomb(13_000, 12_000), False, "IMAGE_TOO_LARGE",
        "156 MP: just over the 150 MP limit (Pillow only warns here)")
    if huge:
        add("huge_12000.jpg", _huge_jpeg(), True, None,
            "valid 12,000 x 12,000 JPEG (144 MP, under the 150 MP limit)")
    add("tiny_1x1.png", _png(Image.new("RGB", (1, 1), (200, 0, 0))), False, "IMAGE_TOO_SMALL",
        "1 x 1 px")
    add("strip_5x3000.png", _png(Image.new("RGB", (5, 3000), (0, 90, 200))), False,
        "IMAGE_TOO_SMALL", "5 x 3000 px")

    # Colour modes and containers.
    add("cmyk.jpg", _jpeg(photo.convert("CMYK")), True, None, "CMYK JPEG")
    add("grey16.png", _png(Image.fromarray(
        np.asarray(photo.convert("L")).astype(np.uint16) * 257)), True, None, "16-bit grey PNG")
    add("rgb16.png", _rgb16_png(photo), True, None, "16-bit RGB PNG (48 bpp)")
    pal = photo.convert("P", palette=Image.Palette.ADAPTIVE, colors=32)
    pal.info["transparency"] = 0
    add("palette_transparent.png", _png(pal, transparency=0), True, None,
        "palette PNG with a transparent index")
    add("transparent.png", _png(Image.new("RGBA", (600, 600), (0, 0, 0, 0))), True, None,
        "fully transparent PNG: analysed (empty white frame), never a crash")
    cut = product_photo((600, 600), seed=4).convert("RGBA")
    a = np.zeros((600, 600), np.uint8)
    a[100:500, 150:450] = 255
    cut.putalpha(Image.fromarray(a))
    add("cutout.png", _png(cut), True, None, "product cut-out on transparency")
    add("all_white.jpg", _jpeg(Image.new("RGB", (800, 800), (255, 255, 255))), True, None,
        "all white: analysed (no product found), never a crash")
    add("all_black.jpg", _jpeg(Image.new("RGB", (800, 800), (0, 0, 0))), True, None,
        "all black: analysed, never a crash")
    frames = [product_photo((300, 300), seed=s).convert("P") for s in range(3)]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:], duration=200, loop=0)
    add("animated.gif", buf.getvalue(), True, None, "animated GIF, 3 frames")
    for o in (6, 8):
        ex = Image.Exif()
        ex[0x0112] = o
        add(f"exif_orientation_{o}.jpg", _jpeg(product_photo((600, 400), seed=o), exif=ex), True,
            None, f"600 x 400 stored, EXIF orientation {o}: upright is 400 x 600")
    add("broken_exif.jpg", broken_exif_jpeg(photo), True, None, "Exif IFD offset past the end")
    add("adobe_rgb.jpg", _jpeg(photo, icc_profile=icc_profile()), True, None,
        "non-sRGB ICC profile (Adobe RGB primaries)")
    add("bad_icc.jpg", _jpeg(photo, icc_profile=b"this is not an ICC profile" * 4), True, None,
        "unreadable ICC profile")

    # Hostile file names (good content) and duplicates.
    for i, (key, fname) in enumerate(HOSTILE_NAMES.items()):
        add(fname, _jpeg(product_photo((500, 500), seed=30 + i)), True, None,
            f"file name with {key}")
    dup = _jpeg(product_photo((500, 500), seed=99))
    add("dup_a.jpg", dup, True, None, "duplicate of dup_b.jpg")
    add("dup_b.jpg", dup, True, None, "duplicate of dup_a.jpg")
    return cases


def make_zip_cases(root: str | Path) -> list[Case]:
    """Hostile archives: a zip bomb, traversal/symlink members, a non-zip .zip, a corrupt zip."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    cases = []
    bomb = write_zip_bomb(root / "zip_bomb.zip", members=30, member_mb=40)
    cases.append(Case(bomb.name, bomb, False, "ARCHIVE_TOO_LARGE",
                      "30 members x 40 MB zeros = 1.2 GB declared in ~1 MB", kind="zip"))
    good = _jpeg(product_photo((500, 500), seed=5))
    p = root / "hostile_members.zip"
    with zipfile.ZipFile(p, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("good.jpg", good)
        zf.writestr("../../escaped.jpg", good)
        zf.writestr("/abs/absolute.jpg", good)
        zf.writestr("C:/drive.jpg", good)
        zf.writestr(_symlink_info("link.jpg"), "/etc/passwd")
        zf.writestr(_symlink_info("link_dir"), "../../")
        zf.writestr("__MACOSX/._good.jpg", b"\x00\x05\x16\x07")
        zf.writestr(".DS_Store", b"junk")
        zf.writestr("inner.zip", _zip_bytes({"x.jpg": good}))
        zf.writestr("notes.txt", b"hello")
        zf.writestr("empty.jpg", b"")
        zf.writestr("notes.jpg", b"not an image\n")
    cases.append(Case(p.name, p, True, None, "traversal, absolute, drive, symlink members",
                      kind="zip", members={
                          "good.jpg": None, "escaped.jpg": "UNSAFE_PATH",
                          "abs/absolute.jpg": "UNSAFE_PATH", "drive.jpg": "UNSAFE_PATH",
                          "link.jpg": "UNSAFE_PATH", "empty.jpg": "EMPTY_FILE",
                          "notes.jpg": "NOT_AN_IMAGE"}))
    q = root / "not_a_zip.zip"
    q.write_bytes(b"this is not a zip archive")
    cases.append(Case(q.name, q, False, "BAD_ARCHIVE", "text file named .zip", kind="zip"))
    z = _zip_bytes({"a.jpg": good, "b.jpg": good})
    r = root / "truncated.zip"
    r.write_bytes(z[: len(z) // 2])
    cases.append(Case(r.name, r, False, "BAD_ARCHIVE", "zip cut in half", kind="zip"))
    return cases


def _zip_bytes(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for n, d in files.items():
            zf.writestr(n, d)
    return buf.getvalue()


def _save(im: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


def _webp(im: Image.Image) -> bytes:
    return _save(im, "WEBP", quality=85)


def _corrupt_idat(png: bytes) -> bytes:
    i = png.index(b"IDAT") + 4
    body = bytearray(png)
    body[i + 2: i + 200] = bytes((b ^ 0x5A) for b in body[i + 2: i + 200])
    return bytes(body)


def _rgb16_png(im: Image.Image) -> bytes:
    import cv2

    arr = np.asarray(im).astype(np.uint16) * 257
    ok, enc = cv2.imencode(".png", arr[:, :, ::-1])
    assert ok
    return enc.tobytes()


@functools.lru_cache(maxsize=1)
def _huge_jpeg(side: int = 12_000) -> bytes:
    """A valid 12,000 x 12,000 JPEG that compresses small: a shaded box on white."""
    im = Image.new("L", (side, side), 255)
    d = ImageDraw.Draw(im)
    d.rectangle([side // 5, side // 6, side * 4 // 5, side * 5 // 6], fill=90)
    d.ellipse([side * 2 // 5, side * 2 // 5, side * 3 // 5, side * 3 // 5], fill=200)
    return _jpeg(im.convert("RGB"), quality=80)


def good_photo_sources(shared_data: Path | None, n: int = 4) -> list[Path] | None:
    """A few real photos from ../shared/data (luma studio shots, clothing, grocery), or None."""
    if shared_data is None or not (shared_data / "luma").is_dir():
        return None
    import csv

    with open(shared_data / "luma" / "MANIFEST_products.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    step = max(1, len(rows) // 2)
    out = [shared_data / "luma" / r["images"].split("|")[0] for r in rows[::step]]
    out += sorted((shared_data / "clothing" / "images").glob("*.jpg"))[:1]
    out += sorted((shared_data / "grocery" / "dataset" / "train").rglob("*.jpg"))[:1]
    return [p for p in out if p.is_file()][:n] or None


def shared_or_none(request) -> Path | None:
    """The ``shared_data`` fixture's value, or None where ../shared/data is absent."""
    import pytest

    try:
        return request.getfixturevalue("shared_data")
    except pytest.skip.Exception:
        return None


FORMULA_TITLES = ("=cmd|' /C calc'!A0", "+SUM(1,2)", "-2+3", "@SUM(A1:A2)", "\tTAB",
                  "=HYPERLINK(\"http://evil.example\",\"click\")")


def make_csv_cases(root: str | Path, good_image: Path, bad_image: Path) -> list[Case]:
    """Store CSVs: one with rows of every kind (good, missing file, URL, empty cell, bad image,
    formula-like titles); one with no image column; an empty one; a binary one.

    ``members`` of the main case maps each row's image cell to its expected code.
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(good_image, root / "photo ok.jpg")
    shutil.copyfile(bad_image, root / "bad.jpg")
    up = "../../../../etc/hostname"  # a wrong path leading out of the folder: read-only, harmless
    rows = [("photo ok.jpg", "SKU-1", FORMULA_TITLES[0]),
            ("missing.jpg", "SKU-2", FORMULA_TITLES[1]),
            ("https://example.com/p.jpg", "SKU-3", FORMULA_TITLES[2]),
            ("bad.jpg", "=1+1", FORMULA_TITLES[3]),
            (up, "SKU-5", FORMULA_TITLES[4]),
            ("photo ok.jpg", "SKU-6", FORMULA_TITLES[5])]
    import csv

    with open(root / "store.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["image", "product_id", "title"])
        w.writerows(rows)
    cases = [Case("store.csv", root / "store.csv", True, None, "rows of every kind", kind="csv",
                  members={"photo ok.jpg": None, "missing.jpg": "FILE_NOT_FOUND",
                           "https://example.com/p.jpg": "FILE_NOT_FOUND",
                           "bad.jpg": _loader_code(root / "bad.jpg"),
                           up: _loader_code(root / up)})]
    (root / "no_image_column.csv").write_text("sku,name\nA1,Mug\n", encoding="utf-8")
    cases.append(Case("no_image_column.csv", root / "no_image_column.csv", False, "BAD_CSV",
                      "missing columns", kind="csv"))
    (root / "empty.csv").write_bytes(b"")
    cases.append(Case("empty.csv", root / "empty.csv", False, "BAD_CSV", "0 bytes", kind="csv"))
    (root / "binary.csv").write_bytes(b"image\n\x00\x01\x02\xff" * 50)
    cases.append(Case("binary.csv", root / "binary.csv", False, "BAD_CSV", "binary junk",
                      kind="csv"))
    return cases


def _loader_code(path: Path) -> str | None:
    """What the loader says about a file (None = it loads): a row that names an existing file
    must get exactly this in a report."""
    from analyzer.errors import ListingLensError
    from analyzer.io.loader import load_image

    try:
        load_image(path)
    except ListingLensError as e:
        return e.code.value
    return None
