"""Small JPEG thumbnails of a working image, for the audit table, the PDF and the dashboard."""

from __future__ import annotations

import io

import numpy as np

# Long side of a thumbnail: large enough for a PDF row and the dashboard table, small enough
# that 20,000 of them fit in the dashboard's memory (~10 KB each).
THUMB_LONG_SIDE = 256


def thumbnail_jpeg(rgb: np.ndarray, side: int = THUMB_LONG_SIDE, quality: int = 82) -> bytes:
    """A JPEG of ``rgb`` (uint8 HxWx3) whose long side is at most ``side`` pixels."""
    from PIL import Image

    im = Image.fromarray(rgb)
    im.thumbnail((side, side), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=quality, optimize=True)
    return buf.getvalue()
