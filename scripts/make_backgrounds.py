"""Cut the small set of real backgrounds the shopper-photo simulator ships with.

Reads in-store shelf photos from ``../shared/data/grocery`` (MIT) and amateur floor/bed photos
from ``../shared/data/clothing`` (CC0), finds the product in each with the project's product mask
(:func:`analyzer.vision.mask.product_mask`) and crops the window of the photo that overlaps the
product least (computed with a summed-area table), so what is kept is the scene *around* a
product: shelves, price tags, floors, duvets. Crops with too little texture (a plain wall) or with
too much product in them are skipped. Writes ``assets/backgrounds/*.jpg`` (<= 512 px),
``SOURCES.csv`` (which file each crop comes from) and ``LICENSE.md`` (the two licences).

Usage: ``.venv/bin/python scripts/make_backgrounds.py [--per-source 8] [--seed 0]``
Deterministic for a given seed and data folder.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from analyzer.vision.mask import product_mask  # noqa: E402

DATA = REPO.parent / "shared" / "data"
OUT = REPO / "assets" / "backgrounds"
MAX_SIDE = 512
# Crop side as a fraction of the photo's short side: shelf photos have the product in a corner,
# clothing photos have the garment filling most of the frame, so less room is left around it.
WINDOW = {"grocery": 0.62, "clothing": 0.42}
MAX_PRODUCT = 0.04     # at most this share of the crop may be product
MIN_TEXTURE = {"grocery": 18.0, "clothing": 10.0}  # grey std: a plain wall is not clutter


def least_product_window(mask: np.ndarray, win: int, step: int = 4) -> tuple[int, int, float]:
    """Top-left (x, y) of the ``win`` x ``win`` window with the least mask mass, and that share.

    Uses a summed-area table so every window's mask mass costs O(1).
    """
    sat = cv2.integral(mask.astype(np.float64))
    mass = sat[win:, win:] - sat[:-win, win:] - sat[win:, :-win] + sat[:-win, :-win]
    mass = mass[::step, ::step]
    y, x = np.unravel_index(int(np.argmin(mass)), mass.shape)
    return int(x) * step, int(y) * step, float(mass[y, x]) / float(win * win)


def candidates(kind: str, rng: np.random.Generator, n: int) -> list[Path]:
    if kind == "grocery":
        root = DATA / "grocery" / "dataset"
        rows = [ln.split(",")[0].strip() for ln in (root / "train.txt").read_text().splitlines()
                if ln.strip()]
        # Packaged goods on shelves first, then produce bins: two kinds of in-store clutter.
        paths = ([root / r for r in rows if "/Packages/" in r]
                 + [root / r for r in rows if "/Packages/" not in r])
        pk = sum("/Packages/" in r for r in rows)
        idx = np.concatenate([rng.permutation(pk)[: n // 2],
                              pk + rng.permutation(len(paths) - pk)[: n - n // 2]])
        return [paths[i] for i in idx[np.argsort(np.arange(len(idx)) % (n // 2), kind="stable")]]
    else:
        paths = sorted((DATA / "clothing" / "images").glob("*.jpg"))
    # Shuffled, not sorted: the kept crops then span many aisles and many senders.
    return [paths[i] for i in rng.permutation(len(paths))[:n]]


def crop_background(path: Path, kind: str) -> tuple[np.ndarray, float, float] | None:
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        return None
    rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    mres = product_mask(rgb)
    mask = cv2.dilate(mres.binary.astype(np.uint8), np.ones((9, 9), np.uint8))
    win = int(WINDOW[kind] * min(rgb.shape[:2]))
    x, y, share = least_product_window(mask, win)
    crop = rgb[y:y + win, x:x + win]
    texture = float(cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY).std())
    if share > MAX_PRODUCT or texture < MIN_TEXTURE[kind]:
        return None
    s = min(1.0, MAX_SIDE / max(crop.shape[:2]))
    if s < 1.0:
        crop = cv2.resize(crop, None, fx=s, fy=s, interpolation=cv2.INTER_AREA)
    return crop, share, texture


LICENSE_HEAD = """# Background crops: sources and licences

These crops are regions *around* the product in real photos, cut by `scripts/make_backgrounds.py`.
`SOURCES.csv` names the original file of each crop. They are used by the shopper-photo simulator
(`analyzer/search/shopper_sim.py`) as the cluttered surroundings a shopper's photo has.

* `grocery_*.jpg`: from the Grocery Store Dataset (Marcus Klasson et al., in-store photos,
  https://github.com/marcusklasson/GroceryStoreDataset), MIT licence, reproduced below.
* `clothing_*.jpg`: from the clothing dataset by Alexey Grigorev (amateur photos,
  https://github.com/alexeygrigorev/clothing-dataset-small), CC0-1.0 (public domain dedication;
  no attribution required).

## MIT licence of the Grocery Store Dataset

"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--per-source", type=int, default=8)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    if not DATA.is_dir():
        print(f"error: {DATA} not found", file=sys.stderr)
        return 2
    rng = np.random.default_rng(args.seed)
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.glob("*.jpg"):
        old.unlink()
    rows = []
    for kind in ("grocery", "clothing"):
        kept = 0
        for path in candidates(kind, rng, 10 * args.per_source):
            if kept >= args.per_source:
                break
            got = crop_background(path, kind)
            if got is None:
                continue
            crop, share, texture = got
            name = f"{kind}_{kept:02d}.jpg"
            cv2.imwrite(str(OUT / name), cv2.cvtColor(crop, cv2.COLOR_RGB2BGR),
                        [cv2.IMWRITE_JPEG_QUALITY, 90])
            rows.append({"file": name, "source": str(path.relative_to(DATA)),
                         "licence": "MIT" if kind == "grocery" else "CC0-1.0",
                         "product_share": round(share, 4), "texture_std": round(texture, 1),
                         "size": f"{crop.shape[1]}x{crop.shape[0]}"})
            kept += 1
        print(f"{kind}: {kept} crops")
    with open(OUT / "SOURCES.csv", "w", newline="") as f:
        wr = csv.DictWriter(f, fieldnames=list(rows[0]))
        wr.writeheader()
        wr.writerows(rows)
    mit = (DATA / "grocery" / "LICENSE").read_text()
    (OUT / "LICENSE.md").write_text(LICENSE_HEAD + "```\n" + mit.strip() + "\n```\n")
    print(f"wrote {len(rows)} backgrounds to {OUT.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
