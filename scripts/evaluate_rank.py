"""Does the simulated search rank behave as a seller would expect, on real photos?

On the demo catalog (all 199 luma products), for N luma products whose main image is a whole
product on white (each product's own catalog entries are left out, so it competes as a new
listing against the other 198):

1. **Degradations.** The clean main image vs the same photo degraded the ways sellers' photos
   are: ``blur`` (Gaussian, sigma 4 px at 1024 px), ``grey`` (background replaced by mid grey
   using the mask), ``small`` (product at 40% of the frame on white), ``clutter`` (product on
   a real in-store/floor background, one of the simulator's shipped backgrounds). For each, the
   share of products where the clean photo ranks better (lower mean log2 rank), over all
   simulated searches, the shopper-photo and peer-query halves, and *real* (the product's real
   other photos in the catalog as shopper queries: the ground truth the shopper half is
   compared with), and the mean difference (degraded - clean) of each.
2. **What-if.** For ``grey`` and ``small``: does the simulated fix (whiten the background / crop
   to fill 85%) recover the clean photo's rank? (mean |what-if - clean| vs |degraded - clean|).
3. **Simulator validity.** luma products with several photos: the alternate views are *real*
   other photos of the same product. Their rank for the main image (the listing) is compared
   with the simulated shopper photos' rank: Spearman correlation across products of the mean
   log2 rank, and the mean of each; also across all versions (clean and degraded) and the sign
   agreement of (degraded - clean). ``--validity N`` repeats the clean-image comparison on N
   products with other views for the current simulator and the legacy one (before the
   2026-11-25 change: photos made from the upload as it is, blurrier phone photos).

4. **Two-stage rank** (``--pairs``): luma products of the head's tuning split (B) and
   never-seen split (C) (:func:`train_embedding_head.splits`, seed 0), the clean main image vs
   one copy per degradation *family* with random parameters (blur, grey backdrop, props beside
   the product): the share of products where the clean photo has the better mean log2
   *expected search position* (stage 2), for several quality-prior weights with and without
   suppression, and by the visual match rank alone. Inputs cached in /tmp/i15/rank_pairs.
   ``--pairs --n 14 --n-tune 6`` gave the README's table.

Usage: ``nice -n 10 .venv/bin/python scripts/evaluate_rank.py [--n 12] [--seed 0]
[--validity 16] [--tag NAME] [--summary-only]``; per-product results are cached in
/tmp/listing_lens_eval_rank.json under the catalog's rank-baseline key, the seed and the tag
(delete it to recompute).
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
# The shopper-photo simulator before the 2026-11-25 change (photos made from the upload as it
# is, phone blur sigma 0.3-2 px with 30% hand shake and 30% digital zoom), for --validity.
LEGACY_SIM = {"restore": False, "work_long_side": 512, "blur_sigma": (0.3, 2.0),
              "motion_blur_p": 0.3, "motion_blur_len": (3, 9), "low_res_p": 0.3,
              "low_res_factor": (0.35, 0.7)}


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


def validity(ctx, rows: list[dict], n: int, seed: int) -> None:  # type: ignore[no-untyped-def]
    """Simulated vs real shopper queries on clean main images, current vs legacy simulator:
    for up to ``n`` products with other real photos in the catalog, the mean log2 rank of the
    main image for 16 simulated shopper photos and for the real other views."""
    from dataclasses import replace

    from analyzer.io.loader import load_image
    from analyzer.search.listing import listing_mask
    from analyzer.search.rank import rank_summary, virtual_ranks
    from analyzer.search.shopper_sim import simulate_shopper_photos

    cfg = ctx.cfg
    sims = {"current": cfg.sim, "legacy": replace(cfg.sim, **LEGACY_SIM)}
    pids = ctx.groups.product_ids.astype(str).tolist()
    out: dict[str, list[float]] = {"real": [], "current": [], "legacy": []}
    for r in rows:
        if len(out["real"]) >= n:
            break
        pid = r["product_key"]
        if pid not in pids:
            continue
        c = pids.index(pid)
        main = int(ctx.main_items[c])
        alts = [int(j) for j in np.flatnonzero(ctx.groups.codes == c) if j != main]
        if not alts:
            continue
        img = load_image(LUMA / r["images"].split("|")[0])
        mask = listing_mask(img.rgb)
        excl = np.isin(ctx.groups.product_ids.astype(str), [pid])
        listing = ctx.embedder.embed([img.rgb], [mask])[0]

        def mlr(q: np.ndarray, listing: np.ndarray = listing,
                excl: np.ndarray = excl) -> float:
            rr = virtual_ranks(q @ ctx.E.T, q @ listing, ctx.groups, excl, cfg.tie_tolerance)
            return rank_summary(rr, cfg.k)["mean_log_rank"]

        out["real"].append(mlr(ctx.E[alts]))
        for name, sc in sims.items():
            ph = simulate_shopper_photos(img.rgb, mask, cfg.n_queries, seed=seed,
                                         backgrounds=ctx.backgrounds, cfg=sc)
            q = ctx.embedder.embed([p.rgb for p in ph], [p.mask for p in ph],
                                   batch_size=cfg.embed_batch_size)
            out[name].append(mlr(q))
        print(f"  validity {len(out['real'])}/{n} {pid}", file=sys.stderr, flush=True)
    real = np.array(out["real"])
    print(f"\nsimulator validity on {len(real)} products with other real photos (clean main "
          f"images; mean log2 rank, real other views {real.mean():.2f}):")
    for name in sims:
        v = np.array(out[name])
        print(f"  {name:<8} simulated {v.mean():.2f}; Spearman rho vs real {spearman(v, real):.2f}")


# --- two-stage rank: clean vs degraded by expected search position ----------------------------

FAMILIES = ("blur", "grey", "props")
PAIRS_DIR = Path("/tmp/i15/rank_pairs")


def degrade_family(kind: str, rgb: np.ndarray, mask: np.ndarray, rng: np.random.Generator,
                   props: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """One degraded copy from a *family* with random parameters: ``blur`` (Gaussian, sigma
    2.5-5 px at the working size), ``grey`` (backdrop replaced by a grey of level 110-200 with a
    slight tint), ``props`` (product shrunk to 60-75% of the frame, 1-3 other products' cut-outs
    at 25-45% of the frame height placed beside it on the white backdrop)."""
    h, w = rgb.shape[:2]
    m = mask[:, :, None].astype(np.float32)
    if kind == "blur":
        return cv2.GaussianBlur(rgb, (0, 0), float(rng.uniform(2.5, 5.0)))
    if kind == "grey":
        col = float(rng.uniform(110, 200)) + rng.uniform(-10, 10, 3)
        return np.rint(rgb * m + col * (1 - m)).astype(np.uint8)
    if kind == "props":
        s = float(rng.uniform(0.6, 0.75))
        small = cv2.resize(rgb, (max(1, int(w * s)), max(1, int(h * s))),
                           interpolation=cv2.INTER_AREA)
        out = np.full_like(rgb, 255)
        y0, x0 = (h - small.shape[0]) // 2, (w - small.shape[1]) // 2
        out[y0:y0 + small.shape[0], x0:x0 + small.shape[1]] = small
        for _ in range(int(rng.integers(1, 4))):
            prgb, pm = props[int(rng.integers(0, len(props)))]
            ph = int(h * rng.uniform(0.25, 0.45))
            pw = max(1, int(prgb.shape[1] * ph / prgb.shape[0]))
            pr = cv2.resize(prgb, (pw, ph), interpolation=cv2.INTER_AREA).astype(np.float32)
            pa = cv2.resize(pm.astype(np.float32), (pw, ph))[:, :, None]
            left = rng.random() < 0.5
            px = int(rng.uniform(0, 0.15) * w) if left else int(w - pw - rng.uniform(0, 0.15) * w)
            py = int(h - ph - rng.uniform(0.0, 0.2) * h)
            px, py = max(0, min(px, w - pw)), max(0, min(py, h - ph))
            reg = out[py:py + ph, px:px + pw].astype(np.float32)
            out[py:py + ph, px:px + pw] = np.rint(pr * pa + reg * (1 - pa)).astype(np.uint8)
        return out
    raise ValueError(kind)


def pairs_collect(ctx, products: list[dict], prop_rows: list[dict], seed: int) -> None:  # type: ignore[no-untyped-def]
    """For each product, the clean main image and one copy per family: stage 1 and stage 2
    inputs written to PAIRS_DIR (listing cosines, in-category competitor bests, quality,
    suppression), so any prior weight can be scored afterwards without embedding again."""
    from analyzer.io.loader import load_image
    from analyzer.search.listing import listing_mask, photo_quality

    PAIRS_DIR.mkdir(parents=True, exist_ok=True)
    props = []
    for r in prop_rows:
        im = load_image(LUMA / r["images"].split("|")[0]).rgb
        props.append((im, listing_mask(im)))
    pids = ctx.groups.product_ids.astype(str).tolist()
    t0 = time.time()
    for i, r in enumerate(products):
        pid = r["product_key"]
        f = PAIRS_DIR / f"{pid}-{seed}.npz"
        if f.is_file() or pid not in pids:
            continue
        loaded = load_image(LUMA / r["images"].split("|")[0])
        rgb = loaded.rgb
        mask = listing_mask(rgb)
        rng = np.random.default_rng([seed, i])
        out: dict[str, np.ndarray] = {}
        for v in ("clean",) + FAMILIES:
            im = rgb if v == "clean" else degrade_family(v, rgb, mask, rng, props)
            # the listing as a seller makes it: with its catalogue title (a kit is one product)
            qual, flags = photo_quality(im, None, loaded, use_model=True, title=r.get("name", ""))
            res = ctx.evaluate(im, mask=mask if v in ("clean", "grey") else None, seed=seed,
                               exclude_products={pid}, quality=qual, flags=flags)
            s = res.search
            cat = s["peer"]["category"]
            excl = np.isin(ctx.groups.product_ids.astype(str), [pid])
            qs = ctx.query_set(res.query_vectors, cat, excl, seed)
            in_cat = ctx.in_category(cat)
            bests, lsims = [], []
            for sims, qv, ex in ((qs.shopper_sims, qs.shopper, qs.shopper_exclude),
                                 (qs.peer_sims, qs.peer, qs.peer_exclude)):
                b = ctx.groups.best(sims)
                drop = np.broadcast_to(ex, b.shape).copy()
                if in_cat is not None:
                    drop |= ~np.broadcast_to(in_cat, b.shape)
                bests.append(np.where(drop, -np.inf, b))
                lsims.append(qv @ res.embedding)
            out[f"{v}_best"] = np.vstack(bests).astype(np.float32)
            out[f"{v}_listing"] = np.concatenate(lsims).astype(np.float32)
            out[f"{v}_visual_mlr"] = np.float32(s["visual"]["mean_log_rank"])
            out[f"{v}_quality"] = np.float32(qual)
            out[f"{v}_suppressed"] = np.bool_(s["stage2"]["suppression"]["suppressed"])
            out[f"{v}_codes"] = np.array(",".join(s["stage2"]["suppression"]["codes"]))
        np.savez(f, n_products=ctx.n_products, **out)
        print(f"[{i + 1}/{len(products)}] {pid} {time.time() - t0:.0f} s", file=sys.stderr,
              flush=True)


def pairs_score(files: list[Path], weight: float, reference: float, tol: float = 1e-3,
                suppress: bool = True) -> dict[str, dict[str, float]]:
    """Per family: share of products where the clean photo's mean log2 expected position is
    strictly better than the degraded copy's, the share of ties, and the same by visual rank."""
    res: dict[str, dict[str, list]] = {v: {"better": [], "tie": [], "vis": []} for v in FAMILIES}
    for f in files:
        with np.load(f) as z:
            n = int(z["n_products"])

            def mlr(v: str, z=z, n=n) -> float:
                if suppress and bool(z[f"{v}_suppressed"]):
                    return float(np.log2(n + 1))
                shift = weight * (float(z[f"{v}_quality"]) - reference) / 100.0
                ls = z[f"{v}_listing"][:, None] + shift + tol
                return float(np.log2(1 + (z[f"{v}_best"] > ls).sum(axis=1)).mean())

            c = mlr("clean")
            for v in FAMILIES:
                d = mlr(v)
                res[v]["better"].append(d > c + 1e-9)
                res[v]["tie"].append(abs(d - c) <= 1e-9)
                res[v]["vis"].append(float(z[f"{v}_visual_mlr"]) > float(z["clean_visual_mlr"]))
    return {v: {k: float(np.mean(x)) if x else float("nan") for k, x in d.items()}
            for v, d in res.items()}


def pairs_main(args: argparse.Namespace) -> int:
    """``--pairs``: tune the prior's weight on the tuning products, report on never-seen ones."""
    sys.path.insert(0, str(REPO / "scripts"))
    from train_embedding_head import splits  # the same seeded product split as the head

    from analyzer.search.catalog import DEMO_CATALOG
    from analyzer.search.integration import SearchContext

    sp = splits(LUMA.parent, 0, 300, 150, 200)
    part = sp["luma_part"]
    with open(LUMA / "MANIFEST_products.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    by = {k: [r for r in rows if part[r["product_key"]] == k] for k in "ABC"}
    # 8 shopper photos (not 16) keep the run affordable on a shared 2-core machine
    ctx = SearchContext.open(DEMO_CATALOG, device="cpu",
                             overrides={"n_baseline_products": 0, "n_queries": 8})
    chosen = {"tune": by["B"][:args.n_tune], "test": by["C"][:args.n]}
    if not args.summary_only:
        for name in ("tune", "test"):
            pairs_collect(ctx, chosen[name], by["A"][:20], args.seed)
    pr = ctx.cfg.prior
    files = {k: [PAIRS_DIR / f"{r['product_key']}-{args.seed}.npz" for r in v
                 if (PAIRS_DIR / f"{r['product_key']}-{args.seed}.npz").is_file()]
             for k, v in chosen.items()}
    print(f"clean vs degraded, share of products where the clean main image has the better mean "
          f"log2 expected search position (ties in brackets); demo catalog, seed {args.seed}; "
          f"reference quality {pr.reference:g}")
    print("| weight | suppression | split (n) | " + " | ".join(FAMILIES) + " | all |")
    print("|---|---|---|" + "---|" * (len(FAMILIES) + 1))
    for w in (0.0, 0.05, 0.1, 0.2, 0.3):
        for sup in (False, True):
            for name in ("tune", "test"):
                sc = pairs_score(files[name], w, pr.reference, suppress=sup)
                allb = np.mean([sc[v]["better"] for v in FAMILIES])
                print(f"| {w:g} | {'on' if sup else 'off'} | {name} ({len(files[name])}) | "
                      + " | ".join(f"{sc[v]['better']:.0%} ({sc[v]['tie']:.0%})"
                                   for v in FAMILIES) + f" | {allb:.0%} |")
    sc = pairs_score(files["test"], 0.0, pr.reference, suppress=False)
    print("visual match rank alone (stage 1, all products), never-seen: "
          + ", ".join(f"{v} {sc[v]['vis']:.0%}" for v in FAMILIES))
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", action="store_true",
                    help="two-stage rank: clean vs degraded families (blur, grey, props) by "
                         "expected search position, prior weight tuned on tuning products")
    ap.add_argument("--n-tune", type=int, default=10)
    ap.add_argument("--n", type=int, default=12)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--tag", default="",
                    help="a label kept apart in the cache (e.g. one experiment's results)")
    ap.add_argument("--validity", type=int, default=0, metavar="N",
                    help="also compare current vs legacy simulator on N products with real "
                         "other views (clean main images only)")
    ap.add_argument("--summary-only", action="store_true",
                    help="print the summary of the products already in the cache")
    args = ap.parse_args()
    if not LUMA.is_dir():
        print("error: ../shared/data/luma is needed", file=sys.stderr)
        return 2
    if args.pairs:
        return pairs_main(args)

    from analyzer.io.loader import load_image
    from analyzer.search.catalog import DEMO_CATALOG
    from analyzer.search.integration import SearchContext
    from analyzer.search.listing import listing_mask
    from analyzer.search.rank import rank_summary, virtual_ranks
    from analyzer.search.shopper_sim import load_backgrounds
    from analyzer.search.what_if import white_background_share

    ctx = SearchContext.open(DEMO_CATALOG, device="cpu")
    ctx.warm()
    cfg = ctx.cfg
    bgs = load_backgrounds()
    with open(LUMA / "MANIFEST_products.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    pk = str(cfg.primary_k)
    cache = json.loads(CACHE.read_text()) if CACHE.is_file() else {}
    key = f"v3:{ctx._baseline_cache_name()}:{args.seed}:{args.tag}"
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
    pids = ctx.groups.product_ids.astype(str).tolist()
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
        # Real other photos of the product (catalog rows) as shopper queries: the ground truth
        # the simulated shopper half should follow, for the clean and for each degraded listing.
        c = pids.index(pid)
        items = np.flatnonzero(ctx.groups.codes == c)
        alts = [int(j) for j in items if j != int(ctx.main_items[c])]
        q = ctx.E[alts]
        excl = np.isin(ctx.groups.product_ids.astype(str), [pid])
        q_sims = q @ ctx.E.T
        res: dict = {"n_views": len(alts)}
        for v in VARIANTS:
            im = degrade(v, img.rgb, mask, bg)
            c0 = time.process_time()
            out = ctx.evaluate(im, mask=mask if v in ("clean", "grey") else None,
                               seed=args.seed, exclude_products={pid})
            cpu = time.process_time() - c0
            s = out.search
            wi = s["what_if"] or {}
            real = None
            if alts:
                rr = virtual_ranks(q_sims, q @ out.embedding, ctx.groups, excl,
                                   cfg.tie_tolerance)
                real = rank_summary(rr, cfg.k)["mean_log_rank"]
            res[v] = {"share": s["top_k_share"][pk], "mlr": s["mean_log_rank"],
                      "shop_mlr": s["shopper"]["mean_log_rank"],
                      "peer_mlr": s["peer"]["mean_log_rank"],
                      "shop_share": s["shopper"]["top_k_share"][pk],
                      "peer_share": s["peer"]["top_k_share"][pk],
                      "real_mlr": real, "cpu": cpu,
                      "wi_share": (wi.get("top_k_share") or {}).get(pk),
                      "wi_mlr": wi.get("mean_log_rank"), "wi_fixes": wi.get("fixes")}
        done[pid] = res
        cache[key] = done
        CACHE.write_text(json.dumps(cache))
        print(f"[{i + 1}/{len(picked)}] {pid} {time.time() - t0:.0f} s", file=sys.stderr,
              flush=True)

    results = {p: v for p, v in done.items() if v and p in {r["product_key"] for r in picked}}
    print(f"\nSimulated search rank on the demo catalog ({ctx.n_products} products), "
          f"{len(results)} luma studio shots, {cfg.n_queries} shopper photos + up to "
          f"{cfg.n_peer_queries} peer queries each, seed {args.seed}\n")
    clean = {p: v["clean"] for p, v in results.items()}
    cpu = [v[x]["cpu"] for v in results.values() for x in VARIANTS if "cpu" in v[x]]
    print(f"clean main image: top-{pk} share {np.mean([c['share'] for c in clean.values()]):.2f}"
          f" (shopper {np.mean([c['shop_share'] for c in clean.values()]):.2f}, peer "
          f"{np.mean([c['peer_share'] for c in clean.values()]):.2f}), mean log2 rank "
          f"{np.mean([c['mlr'] for c in clean.values()]):.2f}"
          + (f"; evaluate() median {np.median(cpu):.2f} s CPU" if cpu else "") + "\n")
    print("clean beats degraded (share of products, by mean log2 rank; 'real' = the product's "
          "real other photos as queries)")
    print(f"{'degradation':<11} {'all':>5} {'shop':>5} {'peer':>5} {'real':>5}   "
          f"{'d mlr':>6} {'d shop':>6} {'d peer':>6} {'d real':>6} {'what-if recovers':>17}")
    for v in VARIANTS[1:]:
        def delta(field: str, v: str = v) -> list[float]:
            return [results[p][v][field] - clean[p][field] for p in results
                    if results[p][v].get(field) is not None
                    and clean[p].get(field) is not None]
        cols = {f: delta(f) for f in ("mlr", "shop_mlr", "peer_mlr", "real_mlr")}
        better = {f: (np.mean([d > 0 for d in x]) if x else float("nan"))
                  for f, x in cols.items()}
        rec = ""
        wi = [(results[p][v]["wi_mlr"], results[p][v]["mlr"], clean[p]["mlr"])
              for p in results if results[p][v]["wi_mlr"] is not None]
        if wi:
            gap_before = np.mean([abs(b - c) for _, b, c in wi])
            gap_after = np.mean([abs(a - c) for a, _, c in wi])
            rec = f"{gap_before:.2f} -> {gap_after:.2f} (n={len(wi)})"
        print(f"{v:<11} {better['mlr']:5.0%} {better['shop_mlr']:5.0%} {better['peer_mlr']:5.0%} "
              f"{better['real_mlr']:5.0%}   {np.mean(cols['mlr']):+6.2f} "
              f"{np.mean(cols['shop_mlr']):+6.2f} {np.mean(cols['peer_mlr']):+6.2f} "
              f"{np.mean(cols['real_mlr']) if cols['real_mlr'] else float('nan'):+6.2f} "
              f"{rec:>17}")
    print("\n(d = degraded - clean, averaged over products; mlr = mean log2 rank, lower is "
          "better; 'what-if recovers': mean |mlr - clean mlr| before -> after the fix)")
    with_real = [p for p in results if results[p]["clean"].get("real_mlr") is not None]
    sim = [results[p]["clean"]["shop_mlr"] for p in with_real]
    real = [results[p]["clean"]["real_mlr"] for p in with_real]
    if len(sim) >= 4:
        print(f"\nsimulator validity, {len(sim)} products with other real photos: mean log2 rank"
              f" simulated {np.mean(sim):.2f} vs real other views {np.mean(real):.2f}; "
              f"Spearman rho across products (clean listings) "
              f"{spearman(np.array(sim), np.array(real)):.2f}")
        pairs = [(results[p][v]["shop_mlr"], results[p][v]["real_mlr"]) for p in with_real
                 for v in VARIANTS]
        a, b = np.array(pairs).T

        def agree(v: str) -> float:
            return float(np.mean([
                np.sign(results[p][v]["shop_mlr"] - results[p]["clean"]["shop_mlr"])
                == np.sign(results[p][v]["real_mlr"] - results[p]["clean"]["real_mlr"])
                for p in with_real]))

        print(f"  across products x {len(VARIANTS)} versions ({len(a)} listings): Spearman rho "
              f"{spearman(a, b):.2f}; sign agreement of (degraded - clean), shopper vs real: "
              + ", ".join(f"{v} {agree(v):.0%}" for v in VARIANTS[1:]))
    if args.validity:
        multi = [r for r in rows[1::3] if len(r["images"].split("|")) > 1]
        validity(ctx, multi, args.validity, args.seed)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
