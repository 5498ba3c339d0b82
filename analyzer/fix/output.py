"""The fixed photo as a marketplace-ready file: sRGB JPEG, quality >= 90, orientation applied,
metadata stripped.

The pixels are already upright 8-bit sRGB (the loader applies EXIF orientation and converts
CMYK, 16-bit and ICC-tagged images, see :mod:`analyzer.io.loader`), so no orientation tag is
needed and none is written; nor is EXIF (camera, GPS location), XMP or an ICC profile (untagged
is sRGB on the web). Chroma is not subsampled (4:4:4). When the marketplace caps the file size,
quality steps down to ``min_jpeg_quality`` and no further.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from analyzer.fix.types import Change, ChangeCode, FixKind, FixState

KIND = FixKind.OUTPUT


def encode_jpeg(rgb: np.ndarray, quality: int) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb, "RGB").save(buf, "JPEG", quality=int(quality), subsampling=0,
                                     optimize=True)
    return buf.getvalue()


def encode(state: FixState) -> tuple[bytes, int]:
    """The JPEG bytes and the quality used."""
    q = int(state.rules["jpeg_quality"])
    q_min = int(state.rules["min_jpeg_quality"])
    cap_mb = state.marketplace.value("max_file_mb")
    data = encode_jpeg(state.rgb, q)
    while cap_mb and len(data) > float(cap_mb) * 1e6 and q > q_min:
        q = max(q_min, q - 2)
        data = encode_jpeg(state.rgb, q)
    if cap_mb and len(data) > float(cap_mb) * 1e6:
        state.notes.append(f"the fixed file is {len(data) / 1e6:.1f} MB, over "
                           f"{state.marketplace.label}'s {cap_mb} MB even at quality {q}")
    return data, q


def describe(state: FixState, quality: int) -> Change:
    info = state.source_info
    what = [f"saved as sRGB JPEG (quality {quality})"]
    if info.get("format") and info["format"] != "JPEG":
        what.append(f"converted from {info['format']}")
    if info.get("transparent"):  # JPEG has no transparency: say where it went
        what.append("transparent areas filled with white")
    if info.get("original_mode") == "CMYK":
        what.append("CMYK converted to sRGB")
    if int(info.get("orientation", 1)) != 1:
        what.append(f"turned upright (EXIF orientation {info['orientation']})")
    what.append("metadata stripped")
    return Change(ChangeCode.CONVERTED, ", ".join(what))
