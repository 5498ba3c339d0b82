"""A small real catalog for the rank-simulation tests: luma "Tops" main images, built once per
test session with the catalog helper's own build function."""

from __future__ import annotations

import csv
import threading
from pathlib import Path

import cv2
import numpy as np

_lock = threading.Lock()
_built: dict[str, Path] = {}

LUMA_TOPS_IN_CATALOG = slice(1, None, 4)   # every 4th Top from the 2nd: the catalog
N_CATALOG = 20


def luma_tops(shared_data: Path) -> list[dict]:
    """luma products whose category (as the demo catalog names it) is Tops, manifest order."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
    from build_demo_catalog import category_of

    with open(shared_data / "luma" / "MANIFEST_products.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    return [r for r in rows if category_of(r["categories"]) == "Tops"]


def main_image(shared_data: Path, row: dict, view: int = 0) -> Path:
    return shared_data / "luma" / row["images"].split("|")[view]


def tops_catalog(shared_data: Path, base: Path) -> Path:
    """Build (once) a catalog of N_CATALOG luma Tops (main image only) under ``base``."""
    from analyzer.search.catalog import build_catalog
    from analyzer.search.catalog_source import SourceItem

    key = str(base)
    with _lock:
        if key in _built:
            return _built[key]
        out = base / "tops_catalog"
        tops = luma_tops(shared_data)[LUMA_TOPS_IN_CATALOG][:N_CATALOG]
        items = [SourceItem(path=main_image(shared_data, r), product_id=r["product_key"],
                            title=r["name"], category="Tops") for r in tops]
        build_catalog(None, out, items=items, progress=False, overwrite=True)
        _built[key] = out
        return out


def tops_context(shared_data: Path, base: Path, **overrides: int):  # type: ignore[no-untyped-def]
    """(a SearchContext on :func:`tops_catalog` with these search ``overrides``, the luma Tops
    rows); each test module's ``tops`` fixture opens its own."""
    from analyzer.search.integration import SearchContext

    ctx = SearchContext.open(tops_catalog(shared_data, base), device="cpu",
                             overrides=dict(overrides))
    return ctx, luma_tops(shared_data)


def degrade(rgb: np.ndarray, mask: np.ndarray, background: np.ndarray) -> np.ndarray:
    """The same product as a careless seller shoots it: small in the frame (40%), on a cluttered
    background, out of focus."""
    h, w = rgb.shape[:2]
    bg = cv2.resize(background, (w, h), interpolation=cv2.INTER_LINEAR)
    m = mask[:, :, None]
    on_bg = (rgb.astype(np.float32) * m + bg.astype(np.float32) * (1 - m)).astype(np.uint8)
    s = 0.4
    small = cv2.resize(on_bg, (int(w * s), int(h * s)), interpolation=cv2.INTER_AREA)
    out = bg.copy()
    y0, x0 = (h - small.shape[0]) // 2, (w - small.shape[1]) // 2
    out[y0:y0 + small.shape[0], x0:x0 + small.shape[1]] = small
    return cv2.GaussianBlur(out, (0, 0), 2.5)


def studio_shots_outside(ctx, rows: list[dict], shared_data: Path, n: int) -> list[tuple]:
    """The first ``n`` products not in the catalog whose main image is a whole product on white
    (some luma "main" images are close-ups that fill the frame): (row, LoadedImage, mask)."""
    from analyzer.io.loader import load_image
    from analyzer.search.what_if import white_background_share
    from analyzer.vision.mask import product_mask

    in_catalog = set(ctx.groups.product_ids)
    out = []
    for r in rows:
        if r["product_key"] in in_catalog:
            continue
        img = load_image(main_image(shared_data, r))
        mask = product_mask(img.rgb).prob
        if white_background_share(img.rgb, mask) >= 0.95:
            out.append((r, img, mask))
            if len(out) >= n:
                break
    return out
