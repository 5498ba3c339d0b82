"""How well `listing-lens fix` fixes: background flags cleared, product kept, framing, sharpness.

Run from the repository root (needs ../shared/data):

    python scripts/evaluate_fix.py --split report --limit 16
    python scripts/evaluate_fix.py --split tune --limit 8 --sheets /tmp/fix_sheets

Photos: luma main images (studio shots on white). Products are split by a hash of their key:
``tune`` (30%, used while choosing the fix's parameters) and ``report`` (70%, never looked at
while tuning); the README's figures are from ``report``. Each defect is a family with random
parameters (seeded per image), made from the clean shot in linear light:

- ``tint``: the backdrop lit in a random pale colour (chroma 3-12%, 72-95% bright);
- ``grey``: a uniform grey backdrop, 60-93% bright;
- ``gradient``: a light fall-off between two random greys/tints at a random angle;
- ``vignette``: bright centre, corners 50-80% of it;
- ``cast``: the whole photo under a wrong white balance (warm/cool/green/magenta, 1.0-1.5x);
- ``shrunk``: the product at 35-65% of its size on a white canvas of the photo's size, off centre;
- ``shrunk_grey``: the same on a grey backdrop.

- ``light_grey`` (the stand-in for real light-grey studio shots, of which ../shared has none): a
  *light* product (any luma category, any colour variant whose non-white pixels have a median
  darkest channel of at least 150 and a 25th percentile of 120: white, grey, pale garments,
  bags, gear) on a light-grey sweep,
  70-90% bright with a top-to-bottom fall-off of up to 10% and sensor noise (sigma 0.5-2 levels),
  one photo per product, picked by a seeded draw from the split.

The backdrop families keep the product: I' = I * (a + (1 - a) * B) with a the product mask of
the clean shot, so shadows and soft edges stay as they were shot. ``real_grey``: luma photos (all
views) whose frame border is light grey (found by the analysis, no edit). ``amateur``: amateur
clothing photos (clothing/images.csv, a seeded sample, no split), where the fix must not refuse
or erase.

Measures per family: background flags (BACKGROUND_NOT_WHITE / BACKGROUND_OFF_WHITE) before and
after; PRODUCT_TOO_SMALL before and after; the product error: mean absolute difference (0-255,
all channels) between the clean shot and the fixed photo inside the product box (box of the
pixels with a channel under 245), both boxes resized to 256 x 256; the input's own error the same
way (what the fix started from); upscaling (product box in the output larger than in the input
by more than 1%); product erased (of the clean shot's product pixels, darkest channel under
235, the share the fix made pure white, on photos whose frame it did not change); the
sharpness score's change; how often the background fix was refused by
one of its guards, and by the product-erased guard (analyzer/fix/guard.py). Baseline: the
search what-if's edit
(``whiten_background`` with the raw mask, then ``crop_to_fill`` to 85% on a square), graded
the same way.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import math
import random
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from analyzer.engine import analyze  # noqa: E402
from analyzer.fix.ops import crop_to_fill, whiten_background  # noqa: E402
from analyzer.fix.runner import fix_report  # noqa: E402
from analyzer.vision.srgb import linear_to_srgb, srgb_to_linear  # noqa: E402

DATA = REPO.parent / "shared" / "data"
BG_FLAGS = {"BACKGROUND_NOT_WHITE", "BACKGROUND_OFF_WHITE"}
FAMILIES = ("tint", "grey", "gradient", "vignette", "cast", "shrunk", "shrunk_grey")
WB = {"warm": (1.0, 0.9, 0.75), "cool": (0.8, 0.9, 1.0), "green": (0.9, 1.0, 0.88),
      "magenta": (1.0, 0.88, 1.0)}


def split_of(key: str) -> str:
    return "tune" if int(hashlib.sha1(key.encode()).hexdigest(), 16) % 10 < 3 else "report"


def luma_rows() -> list[dict]:
    with open(DATA / "luma" / "MANIFEST_products.csv", newline="") as f:
        return list(csv.DictReader(f))


def split_views(split: str) -> Iterator[tuple[dict, Path, np.ndarray]]:
    """(manifest row, path, RGB at 1/8 size) of every luma view of the products of ``split``
    ("all": every product), in manifest order."""
    for r in luma_rows():
        if split != "all" and split_of(r["product_key"]) != split:
            continue
        for im in r["images"].split("|"):
            p = DATA / "luma" / im
            yield r, p, np.asarray(Image.open(p).convert("RGB").reduce(8))


def _rng(path: Path, salt: str) -> random.Random:
    return random.Random(int(hashlib.sha1(f"{path.name}:{salt}".encode()).hexdigest(), 16))


def pale(rng: random.Random, bright: tuple[float, float], chroma: tuple[float, float]
         ) -> np.ndarray:
    """A random pale colour, linear RGB."""
    v = rng.uniform(*bright)
    c = rng.uniform(*chroma)
    hue = rng.uniform(0, 2 * math.pi)
    rgb = v * (1 + c * np.array([math.cos(hue), math.cos(hue - 2.094), math.cos(hue + 2.094)]))
    return srgb_to_linear(np.clip(rgb, 0, 1)).astype(np.float32)


def backdrop(family: str, shape: tuple[int, int], rng: random.Random) -> np.ndarray:
    """The backdrop's light, linear RGB, H x W x 3."""
    h, w = shape
    if family == "tint":
        return np.broadcast_to(pale(rng, (0.72, 0.95), (0.03, 0.12)), (h, w, 3))
    if family in ("grey", "shrunk_grey"):
        return np.broadcast_to(pale(rng, (0.60, 0.93), (0.0, 0.0)), (h, w, 3))
    yy, xx = np.mgrid[:h, :w].astype(np.float32)
    if family == "gradient":
        a, b = pale(rng, (0.65, 0.95), (0, 0.06)), pale(rng, (0.65, 0.95), (0, 0.06))
        ang = rng.uniform(0, 2 * math.pi)
        t = (xx / w - 0.5) * math.cos(ang) + (yy / h - 0.5) * math.sin(ang)
        t = ((t - t.min()) / (t.max() - t.min()))[..., None]
        return a * (1 - t) + b * t
    if family == "light_grey":
        c = pale(rng, (0.70, 0.90), (0, 0.02))
        fall = rng.uniform(0.0, 0.10)
        t = (yy / h)[..., None]
        return c * (1 - fall * (t if rng.random() < 0.5 else 1 - t))
    if family == "vignette":
        c = pale(rng, (0.85, 0.97), (0, 0.04))
        edge = rng.uniform(0.5, 0.8)
        r = np.hypot(xx / w - 0.5, yy / h - 0.5)[..., None] / math.hypot(0.5, 0.5)
        return c * (1 - (1 - edge) * r ** 2)
    raise ValueError(family)


def degrade(rgb: np.ndarray, alpha: np.ndarray, family: str, rng: random.Random) -> np.ndarray:
    lin = srgb_to_linear(rgb.astype(np.float32) / 255.0)
    h, w = alpha.shape
    if family == "cast":
        k = rng.uniform(1.0, 1.5)
        gains = 1.0 - k * (1.0 - np.array(WB[rng.choice(sorted(WB))], np.float32))
        out = lin * gains
    elif family in ("shrunk", "shrunk_grey"):
        s = rng.uniform(0.35, 0.65)
        sw, sh = round(w * s), round(h * s)
        small = cv2.resize(lin, (sw, sh), interpolation=cv2.INTER_AREA)
        sa = cv2.resize(alpha, (sw, sh), interpolation=cv2.INTER_AREA)
        x0, y0 = rng.randint(0, w - sw), rng.randint(0, h - sh)
        out = np.ones((h, w, 3), np.float32)
        out[y0:y0 + sh, x0:x0 + sw] = small
        if family == "shrunk_grey":
            a = np.zeros((h, w), np.float32)
            a[y0:y0 + sh, x0:x0 + sw] = sa
            out = out * (a + (1 - a) * backdrop("grey", (h, w), rng).transpose(2, 0, 1)
                         ).transpose(1, 2, 0)
    else:
        b = backdrop(family, (h, w), rng)
        a = alpha[..., None]
        out = lin * (a + (1 - a) * b)
    srgb = linear_to_srgb(out) * 255
    if family == "light_grey":  # a real sweep is shot through a sensor: a little noise
        srgb = srgb + np.random.default_rng(rng.randrange(2 ** 32)).normal(
            0, rng.uniform(0.5, 2.0), srgb.shape)
    return np.clip(np.rint(srgb), 0, 255).astype(np.uint8)


def light_products(split: str, limit: int) -> list[tuple[Path, str]]:
    """(photo, top category) of light products: per product of the split, the first colour
    variant on white (median border darkest channel >= 250; the real grey shots are their own
    family) whose non-white pixels (darkest channel under 245) cover 5-85% of the frame and have
    a darkest channel of at least 150 at the median and 120 at the 25th percentile (light all
    over, not a dark product with a soft light shadow); ``limit`` of them by a seeded draw."""
    found = []
    done: set[str] = set()  # one view per product
    for r, p, small in split_views(split):
        if r["product_key"] in done:
            continue
        a = small.min(axis=2)
        prod = a[a < 245]
        rim = np.concatenate([a[:2].ravel(), a[-2:].ravel(), a[:, :2].ravel(),
                              a[:, -2:].ravel()])
        if (0.05 <= len(prod) / a.size <= 0.85 and np.median(rim) >= 250
                and np.median(prod) >= 150 and np.percentile(prod, 25) >= 120):
            cats = r["categories"]
            top = ("Gear" if "Gear" in cats else "Tops" if "/Tops/" in cats
                   else "Bottoms" if "/Bottoms/" in cats else cats.split("|")[0][:20])
            found.append((p, top))
            done.add(r["product_key"])
    rng = random.Random(1)
    return rng.sample(found, min(limit, len(found)))


def product_box(rgb: np.ndarray, level: int = 245) -> tuple[int, int, int, int] | None:
    """Box of the pixels with a channel under ``level`` (the product on a white backdrop),
    ignoring specks under 0.05% of the frame (JPEG noise)."""
    m = (rgb.min(axis=2) < level).astype(np.uint8)
    m = cv2.morphologyEx(m, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    if m.sum() < 0.0005 * m.size:
        return None
    ys, xs = np.nonzero(m)
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def region_error(clean: np.ndarray, other: np.ndarray, box_c, box_o) -> float:
    if box_c is None or box_o is None:
        return float("nan")
    a = cv2.resize(clean[box_c[1]:box_c[3], box_c[0]:box_c[2]], (256, 256),
                   interpolation=cv2.INTER_AREA).astype(np.float32)
    b = cv2.resize(other[box_o[1]:box_o[3], box_o[0]:box_o[2]], (256, 256),
                   interpolation=cv2.INTER_AREA).astype(np.float32)
    return float(np.abs(a - b).mean())


def jpeg(rgb: np.ndarray, q: int = 95) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=q)
    return buf.getvalue()


def decode(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def sheet(path: Path, imgs: list[np.ndarray], height: int = 360) -> None:
    tiles = [cv2.resize(i, (max(1, round(i.shape[1] * height / i.shape[0])), height),
                        interpolation=cv2.INTER_AREA) for i in imgs]
    gap = np.full((height, 8, 3), 90, np.uint8)
    row = np.concatenate(sum(([t, gap] for t in tiles), [])[:-1], axis=1)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(row).save(path)


def evaluate_one(name: str, bad: np.ndarray, clean: np.ndarray | None, mkt: str,
                 use_model: bool) -> dict:
    data = jpeg(bad)
    before = analyze(data, marketplace=mkt, name=name, use_model=use_model, keep_image=True)
    out = fix_report(before, data, marketplace=mkt, use_model=use_model)
    row: dict = {"file": name, "ok": out.ok}
    if not out.ok:
        row["error"] = out.error
        return row
    fixed = decode(out.jpeg)
    after = out.after_report
    # Baseline: the search what-if's edit with the analysis mask.
    m = before.mask.astype(np.float32) / 255.0
    m = cv2.resize(m, (bad.shape[1], bad.shape[0]))
    naive_rgb, _ = crop_to_fill(whiten_background(bad, m), m, 0.85)
    naive = analyze(jpeg(naive_rgb, 92), marketplace=mkt, name=name, use_model=use_model)
    bb, bf = product_box(bad), product_box(fixed)
    row.update({
        "before_flags": [f.code for f in before.flags],
        "after_flags": [f.code for f in after.flags],
        "naive_flags": [f.code for f in naive.flags],
        "before_overall": before.scores["overall"], "after_overall": after.scores["overall"],
        "sharp_before": before.scores.get("sharpness"),
        "sharp_after": after.scores.get("sharpness"),
        "changes": [c.code.value for c in out.changes],
        # The background fix refused by one of its guards; by the product-erased guard.
        "bg_refused": any(n.startswith("background not changed") for n in out.notes),
        "erase_guard": any("too close to the backdrop colour" in n for n in out.notes),
        # The backdrop grown from the frame's border replaced the mask (analyzer/fix/cutout.py).
        "cut": any("grown from the frame's border" in n for n in out.notes),
        "whitened": any(c.code.value == "BACKGROUND_WHITENED" for c in out.changes),
        "box_in": bb, "box_out": bf,
        "upscaled": bool(bb and bf and max(bf[2] - bf[0], bf[3] - bf[1]) >
                         1.01 * max(bb[2] - bb[0], bb[3] - bb[1]) + 2),
    })
    if clean is not None:
        bc = product_box(clean)
        row["err_fixed"] = region_error(clean, fixed, bc, bf)
        row["err_input"] = region_error(clean, bad, bc, bb)
        row["err_naive"] = region_error(clean, naive_rgb, bc, product_box(naive_rgb))
        # Product erased: of the clean shot's product pixels (darkest channel under 235), the
        # share made pure white (>= 250) by the fix; only where the frame was not changed.
        if fixed.shape == clean.shape:
            prod = clean.min(axis=2) < 235
            row["erased"] = float((fixed.min(axis=2)[prod] >= 250).mean()) if prod.any() \
                else float("nan")
    row["_imgs"] = (bad, fixed, naive_rgb)
    return row


def summarise(fam: str, rows: list[dict]) -> dict:
    ok = [r for r in rows if r["ok"]]
    n = len(rows)

    def share(key: str, codes: set[str]) -> float:
        return float(np.mean([bool(codes & set(r[key])) for r in ok])) if ok else float("nan")

    def mean(key: str) -> float:
        v = [r[key] for r in ok if r.get(key) is not None and np.isfinite(r[key])]
        return float(np.mean(v)) if v else float("nan")

    d_sharp = [r["sharp_after"] - r["sharp_before"] for r in ok
               if r["sharp_after"] is not None and r["sharp_before"] is not None]
    return {
        "family": fam, "n": n, "failed": n - len(ok),
        "bg_before": share("before_flags", BG_FLAGS), "bg_after": share("after_flags", BG_FLAGS),
        "bg_naive": share("naive_flags", BG_FLAGS),
        "small_before": share("before_flags", {"PRODUCT_TOO_SMALL"}),
        "small_after": share("after_flags", {"PRODUCT_TOO_SMALL"}),
        "small_naive": share("naive_flags", {"PRODUCT_TOO_SMALL"}),
        "cast_before": share("before_flags", {"COLOR_CAST"}),
        "cast_after": share("after_flags", {"COLOR_CAST"}),
        "err_input": mean("err_input"), "err_fixed": mean("err_fixed"),
        "err_naive": mean("err_naive"),
        "upscaled": float(np.mean([r["upscaled"] for r in ok])) if ok else float("nan"),
        "sharp_delta_mean": float(np.mean(d_sharp)) if d_sharp else float("nan"),
        "sharp_within5": float(np.mean([abs(d) <= 5 for d in d_sharp])) if d_sharp
        else float("nan"),
        "sharp_worst": float(min(d_sharp)) if d_sharp else float("nan"),
        "overall_before": mean("before_overall"), "overall_after": mean("after_overall"),
        "cut": float(np.mean([r["cut"] for r in ok])) if ok else float("nan"),
        "whitened": float(np.mean([r["whitened"] for r in ok])) if ok else float("nan"),
        "erased": mean("erased"),
        "erased_n": sum(1 for r in ok if r.get("erased") is not None),
        "bg_refused": float(np.mean([r["bg_refused"] for r in ok])) if ok else float("nan"),
        "erase_guard": float(np.mean([r["erase_guard"] for r in ok])) if ok else float("nan"),
    }


def real_grey(split: str, limit: int, use_model: bool) -> list[Path]:
    """Luma photos (any view) on a light, neutral, non-white backdrop that the analysis flags."""
    found = []
    for _r, p, small in split_views(split):
        a = small.astype(int)
        band = np.concatenate([a[:3].reshape(-1, 3), a[-3:].reshape(-1, 3),
                               a[:, :3].reshape(-1, 3), a[:, -3:].reshape(-1, 3)])
        med = np.median(band, axis=0)
        lo = band.min(axis=1)
        # The border is mostly light grey (its median darkest channel 180-249), neutral.
        if not 180 <= np.median(lo) < 250 or med.max() - med.min() > 15:
            continue
        found.append(p)
    return found[:limit]


def amateur(limit: int) -> list[Path]:
    """Amateur clothing photos (beds, floors, hangers; no split: none was looked at while
    tuning): ``random.Random(7).sample`` of ``limit`` rows of clothing/images.csv."""
    with open(DATA / "clothing" / "images.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    picked = random.Random(7).sample(rows, min(limit, len(rows)))
    return [DATA / "clothing" / "images" / f"{r['image']}.jpg" for r in picked]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--split", default="report", choices=("tune", "report", "all"))
    ap.add_argument("--limit", type=int, default=16, help="photos per family")
    ap.add_argument("--families", default=",".join(FAMILIES) + ",light_grey,real_grey")
    ap.add_argument("--marketplace", default="amazon")
    ap.add_argument("--no-model", action="store_true")
    ap.add_argument("--sheets", default=None, help="folder for before | fixed | baseline PNGs")
    ap.add_argument("--sheet-limit", type=int, default=6, help="sheets per family")
    ap.add_argument("--json", default=None, help="write per-photo rows here")
    args = ap.parse_args(argv)
    if not (DATA / "luma").is_dir():
        print(f"needs {DATA}", file=sys.stderr)
        return 2
    use_model = not args.no_model
    fams = [f.strip() for f in args.families.split(",") if f.strip()]
    rows_all = [r for r in luma_rows() if args.split == "all"
                or split_of(r["product_key"]) == args.split]
    rng = random.Random(0)
    picked = rng.sample(rows_all, min(args.limit, len(rows_all)))
    results: dict[str, list[dict]] = defaultdict(list)
    t0 = time.time()
    for fam in fams:
        if fam in ("real_grey", "amateur"):
            found = (real_grey(args.split, args.limit, use_model) if fam == "real_grey"
                     else amateur(args.limit))
            for p in found:
                rgb = np.asarray(Image.open(p).convert("RGB"))
                row = evaluate_one(p.name, rgb, None, args.marketplace, use_model)
                results[fam].append(row)
            continue
        photos = ([p for p, _ in light_products(args.split, args.limit)]
                  if fam == "light_grey"
                  else [DATA / "luma" / r["images"].split("|")[0] for r in picked])
        if fam == "light_grey":
            cats = [c for _, c in light_products(args.split, args.limit)]
            print(f"  light_grey products by category: "
                  f"{dict(sorted((c, cats.count(c)) for c in set(cats)))}", file=sys.stderr)
        for p in photos:
            clean = np.asarray(Image.open(p).convert("RGB"))
            rep = analyze(p, use_model=use_model, keep_image=True)
            a = cv2.resize(rep.mask.astype(np.float32) / 255.0, (clean.shape[1], clean.shape[0]))
            bad = degrade(clean, a, fam, _rng(p, fam))
            results[fam].append(evaluate_one(f"{fam}/{p.name}", bad, clean, args.marketplace,
                                             use_model))
        print(f"  {fam}: {len(results[fam])} photos, {time.time() - t0:.0f} s", file=sys.stderr)
    if args.sheets:
        for fam, rows in results.items():
            for i, r in enumerate(rows[:args.sheet_limit]):
                if r.get("_imgs"):
                    sheet(Path(args.sheets) / f"{fam}_{i}_{Path(r['file']).stem}.png",
                          list(r["_imgs"]))
    summ = [summarise(f, results[f]) for f in fams]
    print(f"split={args.split} marketplace={args.marketplace} model={use_model} "
          f"limit={args.limit} ({time.time() - t0:.0f} s)")
    head = ("family", "n", "bg flag before", "after", "baseline", "TOO_SMALL before", "after",
            "baseline", "COLOR_CAST before", "after", "err input", "err fixed", "err baseline",
            "upscaled", "sharp d mean", "|d|<=5", "worst d", "overall before", "after",
            "bg fix refused", "by erase guard", "whitened", "border cut", "erased (n)")
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for s in summ:
        vals = [s["family"], s["n"] - s["failed"]] + [
            f"{s[k]:.0%}" if np.isfinite(s[k]) else "-" for k in (
                "bg_before", "bg_after", "bg_naive", "small_before", "small_after",
                "small_naive", "cast_before", "cast_after")] + [
            f"{s[k]:.1f}" if np.isfinite(s[k]) else "-" for k in (
                "err_input", "err_fixed", "err_naive")] + [
            f"{s['upscaled']:.0%}", f"{s['sharp_delta_mean']:+.1f}", f"{s['sharp_within5']:.0%}",
            f"{s['sharp_worst']:+.1f}", f"{s['overall_before']:.0f}", f"{s['overall_after']:.0f}",
            f"{s['bg_refused']:.0%}", f"{s['erase_guard']:.0%}", f"{s['whitened']:.0%}",
            f"{s['cut']:.0%}",
            f"{s['erased']:.1%} ({s['erased_n']})" if s["erased_n"] else "-"]
        print("| " + " | ".join(str(v) for v in vals) + " |")
    fails = [r for rows in results.values() for r in rows if not r["ok"]]
    for r in fails:
        print(f"failed: {r['file']}: {r.get('error')}")
    if args.json:
        clean_rows = {f: [{k: v for k, v in r.items() if k != "_imgs"} for r in rows]
                      for f, rows in results.items()}
        Path(args.json).write_text(json.dumps({"summary": summ, "rows": clean_rows}, indent=1,
                                              default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
