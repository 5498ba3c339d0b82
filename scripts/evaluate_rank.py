"""Does the simulated search rank behave as a seller would expect, on real photos?

On the demo catalog (all 199 luma products), for N luma products whose main image is a whole
product on white (each product's own catalog entries are left out, so it competes as a new
listing against the other 198):

1. **Degradations.** The clean main image vs the same photo degraded the ways sellers' photos
   are: ``blur`` (Gaussian, sigma 4 px at 1024 px), ``grey`` (background replaced by mid grey
   using the mask), ``small`` (product at 40% of the frame on white), ``clutter`` (product on
   a real in-store/floor background). For each, the mean difference (degraded - clean) of the
   first-screen share (top 10) and of the mean log2 rank, over all simulated searches and for
   the shopper-photo and peer-query halves, with the share of products where clean is better.
2. **What-if.** For ``grey`` and ``small``: does the simulated fix (whiten the background / crop
   to fill 85%) recover the clean photo's rank? (mean |what-if - clean| vs |degraded - clean|).
3. **Simulator validity.** luma products with several photos: the alternate views are *real*
   other photos of the same product. Their rank for the main image (the listing) is compared
   with the simulated shopper photos' rank: Spearman correlation across products of the mean
   log2 rank, and the mean of each.

Usage: ``.venv/bin/python scripts/evaluate_rank.py [--n 12] [--seed 0] [--summary-only]``;
per-product results are cached in /tmp/listing_lens_eval_rank.json (delete it to recompute).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

LUMA = REPO.parent / "shared" / "data" / "luma"
CACHE = Path("/tmp/listing_lens_eval_rank.json")
VARIANTS = ("clean", "blur", "grey", "small", "clutter")


def degrade(kind: str, rgb: np.ndarray, mask: np.ndarray, bg: np.ndarray) -> np.ndarray:
    h, w = rgb.shape[:2]
    m = mask[:, :, None].astype(np.float32)
    if kind == "clean":
        return rgb
    if kind == "blur":
        return cv2.GaussianBlur(rgb, (0, 0), 4.0)
    if kind == "grey":
        return np.rint(rgb * m + 128.0 * (1 - m)).astype(np.uint8)
    if kind == "small":
        s = 0.4
        small = cv2.resize(rgb, (int(w * s), int(h * s)), interpolation=cv2.INTER_AREA)
        out = np.full_like(rgb, 255)
        y0, x0 = (h - small.shape[0]) // 2, (w - small.shape[1]) // 2
        out[y0:y0 + small.shape[0], x0:x0 + small.shape[1]] = small
        return out
    if kind == "clutter":
        b = cv2.resize(bg, (w, h), interpolation=cv2.INTER_LINEAR).astype(np.float32)
        return np.rint(rgb * m + b * (1 - m)).astype(np.uint8)
    raise ValueError(kind)


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    from scipy.stats import spearmanr

    return float(spearmanr(a, b).statistic)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=12)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--summary-only", action="store_true",
                    help="print the summary of the products already in the cache")
    args = ap.parse_args()
    if not LUMA.is_dir():
        print("error: ../shared/data/luma is needed", file=sys.stderr)
        return 2

    from analyzer.io.loader import load_image
    from analyzer.search.catalog import DEMO_CATALOG
    from analyzer.search.integration import SearchContext, listing_mask, white_background_share
    from analyzer.search.rank import rank_summary, virtual_ranks
    from analyzer.search.shopper_sim import load_backgrounds

    ctx = SearchContext.open(DEMO_CATALOG, device="cpu")
    ctx.warm()
    cfg = ctx.cfg
    bgs = load_backgrounds()
    with open(LUMA / "MANIFEST_products.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    pk = str(cfg.primary_k)
    cache = json.loads(CACHE.read_text()) if CACHE.is_file() else {}
    key = f"{ctx._baseline_cache_name()}:{args.seed}"
    done = cache.get(key, {})

    # Every 7th product, keeping the whole-product-on-white main images.
    picked = []
    rng = np.random.default_rng(args.seed)
    for r in rows[::7]:
        if len(picked) >= args.n:
            break
        pid = r["product_key"]
        if pid not in set(ctx.groups.product_ids):
            continue
        picked.append(r)
    t0 = time.time()
    for i, r in enumerate(picked):
        pid = r["product_key"]
        if pid in done or args.summary_only:
            continue
        img = load_image(LUMA / r["images"].split("|")[0])
        mask = listing_mask(img.rgb)
        if white_background_share(img.rgb, mask) < 0.95:
            done[pid] = None  # a close-up, not a studio shot: skipped
            continue
        bg = bgs[int(rng.integers(0, len(bgs)))] if bgs else np.full((64, 64, 3), 120, np.uint8)
        res = {}
        for v in VARIANTS:
            im = degrade(v, img.rgb, mask, bg)
            out = ctx.evaluate(im, mask=mask if v in ("clean", "grey") else None,
                               seed=args.seed, exclude_products={pid})
            s = out.search
            wi = s["what_if"] or {}
            res[v] = {"share": s["top_k_share"][pk], "mlr": s["mean_log_rank"],
                      "shop_mlr": s["shopper"]["mean_log_rank"],
                      "peer_mlr": s["peer"]["mean_log_rank"],
                      "shop_share": s["shopper"]["top_k_share"][pk],
                      "peer_share": s["peer"]["top_k_share"][pk],
                      "wi_share": (wi.get("top_k_share") or {}).get(pk),
                      "wi_mlr": wi.get("mean_log_rank"), "wi_fixes": wi.get("fixes")}
        # Real other photos of the product as shopper queries (they are catalog rows).
        items = np.flatnonzero(ctx.groups.codes == ctx.groups.product_ids.tolist().index(pid))
        main_item = int(ctx.main_items[ctx.groups.product_ids.tolist().index(pid)])
        alts = [int(j) for j in items if j != main_item]
        if alts:
            q = ctx.E[alts]
            excl = np.isin(ctx.groups.product_ids.astype(str), [pid])
            rr = virtual_ranks(q @ ctx.E.T, q @ ctx.E[main_item], ctx.groups, excl,
                               cfg.tie_tolerance)
            res["real_views"] = {"mlr": rank_summary(rr, cfg.k)["mean_log_rank"],
                                 "n": len(alts)}
        done[pid] = res
        cache[key] = done
        CACHE.write_text(json.dumps(cache))
        print(f"[{i + 1}/{len(picked)}] {pid} {time.time() - t0:.0f} s", file=sys.stderr,
              flush=True)

    results = {p: v for p, v in done.items() if v}
    print(f"\nSimulated search rank on the demo catalog ({ctx.n_products} products), "
          f"{len(results)} luma studio shots, {cfg.n_queries} shopper photos + up to "
          f"{cfg.n_peer_queries} peer queries each, seed {args.seed}\n")
    clean = {p: v["clean"] for p, v in results.items()}
    print(f"clean main image: top-{pk} share {np.mean([c['share'] for c in clean.values()]):.2f}"
          f" (shopper {np.mean([c['shop_share'] for c in clean.values()]):.2f}, peer "
          f"{np.mean([c['peer_share'] for c in clean.values()]):.2f}), mean log2 rank "
          f"{np.mean([c['mlr'] for c in clean.values()]):.2f}\n")
    print(f"{'degradation':<11} {'d share':>8} {'d mlr':>7} {'d shop':>7} {'d peer':>7} "
          f"{'clean better':>12} {'what-if recovers':>17}")
    for v in VARIANTS[1:]:
        ds = [results[p][v]["share"] - clean[p]["share"] for p in results]
        dm = [results[p][v]["mlr"] - clean[p]["mlr"] for p in results]
        dsh = [results[p][v]["shop_mlr"] - clean[p]["shop_mlr"] for p in results]
        dpe = [results[p][v]["peer_mlr"] - clean[p]["peer_mlr"] for p in results]
        better = np.mean([d > 0 for d in dm])
        rec = ""
        wi = [(results[p][v]["wi_mlr"], results[p][v]["mlr"], clean[p]["mlr"])
              for p in results if results[p][v]["wi_mlr"] is not None]
        if wi:
            gap_before = np.mean([abs(b - c) for _, b, c in wi])
            gap_after = np.mean([abs(a - c) for a, _, c in wi])
            rec = f"{gap_before:.2f} -> {gap_after:.2f} (n={len(wi)})"
        print(f"{v:<11} {np.mean(ds):+8.3f} {np.mean(dm):+7.3f} {np.mean(dsh):+7.3f} "
              f"{np.mean(dpe):+7.3f} {better:12.0%} {rec:>17}")
    print("\n(d = degraded - clean, averaged over products; mlr = mean log2 rank, lower is "
          "better; 'what-if recovers': mean |mlr - clean mlr| before -> after the fix)")
    sim = [results[p]["clean"]["shop_mlr"] for p in results if "real_views" in results[p]]
    real = [results[p]["real_views"]["mlr"] for p in results if "real_views" in results[p]]
    if len(sim) >= 4:
        print(f"\nsimulator validity, {len(sim)} products with other real photos: mean log2 rank"
              f" simulated {np.mean(sim):.2f} vs real other views {np.mean(real):.2f}; "
              f"Spearman rho across products {spearman(np.array(sim), np.array(real)):.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
