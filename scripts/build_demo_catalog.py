"""Build the shipped demo catalog (assets/demo_catalog/) from ../shared/data/luma.

Every image of the 199 products in luma's MANIFEST_products.csv (all views, so multi-view search
works), resized to at most 512 px (JPEG quality 85), the luma licence files copied beside them
with a NOTICE saying where they came from, a ``catalog.csv`` (image, product_id, title,
category) and the built-in embeddings, thumbnails and manifest built by
:func:`analyzer.search.catalog.build_catalog`. ``make run`` then works on a fresh machine with no
../shared.

    .venv/bin/python scripts/build_demo_catalog.py [--luma ../shared/data/luma] \
        [--out assets/demo_catalog]

Category = the first meaningful element of the product's category paths (Tops, Bottoms, Bags,
Watches, Fitness Equipment, ...), skipping store scaffolding such as "Default Category", "Men",
"Collections" or "Promotions".
"""

from __future__ import annotations

import argparse
import csv
import html
import shutil
import sys
import time
from pathlib import Path

from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

MAX_SIDE = 512
QUALITY = 85
PREFERRED = ("Tops", "Bottoms", "Bags", "Watches", "Fitness Equipment", "Training")
SCAFFOLDING = {"Default Category", "Men", "Women", "Collections", "Promotions", "Gear",
               "New Luma Yoga Collection", "Erin Recommends", "Performance Fabrics",
               "Eco Friendly", "Men Sale", "Women Sale", "Video Download"}


def category_of(categories: str) -> str:
    """'Default Category/Men/Tops/Tees|...' -> 'Tops'; 'Bags|Gear' -> 'Bags'."""
    paths = [p.split("/") for p in categories.split("|") if p]
    elems = [e.strip() for path in paths for e in path]
    for want in PREFERRED:
        if want in elems:
            return want
    for e in elems:
        if e and e not in SCAFFOLDING:
            return e
    return "Other"


NOTICE = """Demo catalog images
===================

The images in images/ are product photos from the Magento 2 sample data (the "Luma" demo store),
https://github.com/magento/magento2-sample-data (commit {commit}), copied from
../shared/data/luma/pub/media/catalog/product and resized to at most {side} px
(JPEG quality {q}) by scripts/build_demo_catalog.py. They are not the work of this project.

They are distributed under the licences of the sample data: the Open Software License 3.0
(LICENSE.txt) and the Academic Free License 3.0 (LICENSE_AFL.txt), both copied here unchanged.
"""


def resize_copy(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    with Image.open(src) as im:
        im = im.convert("RGB")
        im.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
        im.save(dst, "JPEG", quality=QUALITY, optimize=True)


def main() -> int:
    ap = argparse.ArgumentParser(description="Build assets/demo_catalog from ../shared/data/luma")
    ap.add_argument("--luma", type=Path, default=REPO.parent / "shared" / "data" / "luma")
    ap.add_argument("--out", type=Path, default=REPO / "assets" / "demo_catalog")
    ap.add_argument("--embedder", default="builtin")
    ap.add_argument("--images-only", action="store_true", help="copy images, do not embed")
    args = ap.parse_args()

    from analyzer.search.catalog import build_catalog

    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    with open(args.luma / "MANIFEST_products.csv", newline="") as f:
        products = list(csv.DictReader(f))
    rows = []
    for p in products:
        for src in p["images"].split("|"):
            rel = Path("images") / p["product_key"] / (Path(src).stem + ".jpg")
            if not (out / rel).is_file():
                resize_copy(args.luma / src, out / rel)
            rows.append({"image": rel.as_posix(), "product_id": p["product_key"],
                         "title": html.unescape(p["name"]),
                         "category": category_of(p["categories"])})
    with open(out / "catalog.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=["image", "product_id", "title", "category"])
        w.writeheader()
        w.writerows(rows)
    for name in ("LICENSE.txt", "LICENSE_AFL.txt"):
        shutil.copyfile(args.luma / name, out / name)
    source = (args.luma / "SOURCE.txt").read_text().split()
    commit = source[0] if source else "unknown"
    (out / "NOTICE").write_text(NOTICE.format(commit=commit, side=MAX_SIDE, q=QUALITY))
    print(f"{len(rows)} images of {len(products)} products in {out / 'images'}", file=sys.stderr)
    if args.images_only:
        return 0
    t0 = time.time()
    res = build_catalog(out / "catalog.csv", out, embedder=args.embedder, overwrite=True)
    dt = time.time() - t0
    print(f"catalog: {res.items} items, {len(res.skipped)} skipped, {dt:.0f} s "
          f"({res.items / max(dt, 1e-9):.2f} images/s)", file=sys.stderr)
    for s in res.skipped:
        print(f"  skipped {s['file']}: {s['code']} {s['message']}", file=sys.stderr)
    return 0 if not res.skipped else 1


if __name__ == "__main__":
    sys.exit(main())
