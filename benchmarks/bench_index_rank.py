"""The search simulation against a million-image catalog, through its vector index (issue 16).

Three steps, each in its own process so that each one's peak memory is its own:

1. ``build``: a catalog of ``--size`` images written through the catalog's own API
   (:func:`~analyzer.search.catalog.new_manifest`, :func:`write_shards` shard by shard,
   :func:`commit_manifest`, which builds the index the catalog's size calls for: the on-disk
   FAISS IVF-PQ index at 1M). Its first rows are the 733 real images of the demo catalog (199
   luma products, with their files); the rest are synthetic products of 1-3 images each, drawn
   around the real embeddings as in ``bench_scale.py`` (Dirichlet(4,1,1) mixtures of three real
   embeddings + Gaussian noise, L2-normalised; a product's images share the mixture and differ by
   their noise), with the category and image file of their main component and a random pHash.
2. ``analyse``: ``SearchContext.open`` on that catalog (the index path, since it is above
   ``search.index_rank.dense_max_items``) and ``evaluate`` on ``--photos`` uploads: real demo
   catalog photos put through a seeded careless-seller family (shrunk, blurred, tinted, on a grey
   or cluttered backdrop; parameters drawn per photo). Prints the wall time per photo and the
   process's peak RSS; saves every query vector, the listing embedding and the reported ranks.
3. ``exact``: the exact ranks of the same queries by a chunked brute force over the memory-mapped
   float16 shards (a per-product maximum for every query, block by block; no index, no
   ``CandidateSims``), and the share of reported ranks within +/-1 of them, for the visual match
   rank (all products) and the expected search position (within the category, quality shift).

    nice python benchmarks/bench_index_rank.py --size 1000000 --photos 20
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

CHUNK = 100_000   # rows per write_shards call (= the catalog's SHARD_ROWS)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ------------------------------------------------------------------ 1. build


def build(root: Path, size: int, noise: float, seed: int) -> None:
    import pandas as pd
    from bench_scale import to_half

    from analyzer.search.catalog import Catalog, commit_manifest, new_manifest, write_shards

    demo = Catalog.open(REPO / "assets" / "demo_catalog")
    base = np.concatenate([np.asarray(s, dtype=np.float32) for s in demo.shards])
    dmeta = demo.meta.reset_index(drop=True)
    if (root / "manifest.json").is_file():
        print(f"catalog already built at {root}")
        return
    root.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    manifest = new_manifest(demo.embedder_id, demo.manifest.get("embedder_spec") or "builtin",
                            demo.dim, "float16")
    # The real rows first, their files referred to by absolute path.
    real = dmeta.copy()
    real["image"] = [str(demo.image_path(i)) for i in range(len(real))]
    real["thumb"] = [str(demo.thumbnail_path(i)) for i in range(len(real))]
    rng = np.random.default_rng(seed)
    cats = dmeta["category"].astype(str).to_numpy()
    imgs = real["image"].to_numpy()
    thumbs = real["thumb"].to_numpy()
    n_real = len(real)
    pending_meta = [real]
    pending_vecs = [base]
    have = n_real
    item = n_real
    prod = 0
    while have < size:
        n = min(CHUNK, size - have)
        # products of 1-3 images, contiguous
        sizes = rng.integers(1, 4, size=n)
        sizes = sizes[np.cumsum(sizes) <= n]
        if sizes.sum() < n:
            sizes = np.append(sizes, n - sizes.sum())
        n_p = len(sizes)
        idx = rng.integers(0, len(base), size=(n_p, 3))
        w = rng.dirichlet([4.0, 1.0, 1.0], size=n_p).astype(np.float32)
        centre = (w[:, 0:1] * base[idx[:, 0]] + w[:, 1:2] * base[idx[:, 1]]
                  + w[:, 2:3] * base[idx[:, 2]])
        centre /= np.linalg.norm(centre, axis=1, keepdims=True)
        rep = np.repeat(np.arange(n_p), sizes)
        x = centre[rep]
        x += noise * rng.standard_normal(x.shape, dtype=np.float32) / np.sqrt(x.shape[1])
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        main = idx[rep, 0]
        ids = np.arange(item, item + n, dtype=np.int64)
        meta = pd.DataFrame({
            "item_id": ids, "product_id": [f"syn{prod + p}" for p in rep],
            "image": imgs[main], "title": [f"synthetic {c}" for c in cats[main]],
            "category": cats[main], "thumb": thumbs[main],
            "phash": [f"{h:016x}" for h in rng.integers(0, 2**63, size=n, dtype=np.int64)],
            "content_hash": "", "width": 512, "height": 512})
        pending_meta.append(meta)
        pending_vecs.append(x)
        item += n
        prod += n_p
        have += n
        if sum(len(m) for m in pending_meta) >= CHUNK or have >= size:
            m = pd.concat(pending_meta, ignore_index=True)
            v = np.concatenate(pending_vecs)
            write_shards(root, manifest, m.iloc[:CHUNK] if have < size else m,
                         to_half(v[:CHUNK] if have < size else v), "float16")
            rest = m.iloc[CHUNK:] if have < size else m.iloc[0:0]
            pending_meta = [rest.reset_index(drop=True)] if len(rest) else []
            pending_vecs = [v[CHUNK:]] if len(rest) else []
            print(f"  written {manifest['count']}/{size} ({time.perf_counter() - t0:.0f}s)",
                  flush=True)
    if pending_meta and sum(len(m) for m in pending_meta):
        m = pd.concat(pending_meta, ignore_index=True)
        write_shards(root, manifest, m, to_half(np.concatenate(pending_vecs)), "float16")
    t1 = time.perf_counter()
    commit_manifest(root, manifest, progress=True, touch=False)
    t2 = time.perf_counter()
    print(json.dumps({"step": "build", "items": manifest["count"], "products": prod + 199,
                      "index": manifest.get("index"), "write_s": round(t1 - t0, 1),
                      "index_s": round(t2 - t1, 1), "peak_rss_mb": round(peak_rss_mb())}))


# ------------------------------------------------------------------ 2. analyse


def careless(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A careless seller's shot of the product: shrunk, on a grey or noisy backdrop, blurred,
    tinted (parameters drawn per photo)."""
    import cv2

    h, w = rgb.shape[:2]
    s = rng.uniform(0.65, 0.95)
    small = cv2.resize(rgb, (max(8, int(w * s)), max(8, int(h * s))),
                       interpolation=cv2.INTER_AREA)
    if rng.random() < 0.5:
        bg = np.full_like(rgb, int(rng.integers(180, 245)))
    else:
        bg = rng.integers(140, 230, size=rgb.shape, dtype=np.uint8)
        bg = cv2.GaussianBlur(bg, (0, 0), 6)
    y0 = int(rng.integers(0, h - small.shape[0] + 1))
    x0 = int(rng.integers(0, w - small.shape[1] + 1))
    out = bg.copy()
    out[y0:y0 + small.shape[0], x0:x0 + small.shape[1]] = small
    out = cv2.GaussianBlur(out, (0, 0), rng.uniform(0.3, 1.5))
    tint = rng.uniform(0.93, 1.07, size=3)
    return np.clip(out.astype(np.float32) * tint, 0, 255).astype(np.uint8)


def analyse(root: Path, photos: int, seed: int, out: Path) -> None:
    from analyzer.io.loader import load_image
    from analyzer.search.catalog import DEMO_CATALOG, Catalog
    from analyzer.search.integration import SearchContext
    from analyzer.search.listing import photo_quality

    t0 = time.perf_counter()
    ctx = SearchContext.open(root, device="cpu", overrides={"n_baseline_products": 0})
    t_open = time.perf_counter() - t0
    rss_open = peak_rss_mb()
    demo = Catalog.open(DEMO_CATALOG)
    main = demo.meta.groupby("product_id", sort=False).head(1).index.to_numpy()
    rng = np.random.default_rng(seed)
    pick = rng.choice(main, size=min(photos, len(main)), replace=False)
    t1 = time.perf_counter()
    ctx.knn_baseline()
    t_knn = time.perf_counter() - t1
    rec: dict[str, list] = {k: [] for k in ("shopper", "peer", "peer_products", "listing",
                                            "dup_products", "category", "shift", "suppressed",
                                            "ranks", "visual", "seconds", "cpu_seconds")}
    for j, i in enumerate(pick):
        rgb = careless(load_image(demo.image_path(int(i))).rgb, rng)
        t, c = time.perf_counter(), time.process_time()
        quality, flags = photo_quality(rgb, "etsy")
        res = ctx.evaluate(rgb, seed=j, marketplace="etsy", quality=quality, flags=flags)
        dt, dc = time.perf_counter() - t, time.process_time() - c
        s = res.search
        dup = np.zeros(ctx.n_products, bool)
        for d in res.differentiation["near_duplicates"]:
            dup[ctx.groups.codes[d["item_id"]]] = True
        cat = s["peer"]["category"]
        peers = ctx.peer_queries(cat, dup, j)
        rec["shopper"].append(res.query_vectors)
        rec["peer"].append(ctx.access.vectors(ctx.main_items[peers]))
        rec["peer_products"].append(peers)
        rec["listing"].append(res.embedding)
        rec["dup_products"].append(np.flatnonzero(dup))
        rec["category"].append(cat or "")
        rec["shift"].append(ctx.cfg.prior.boost(quality))   # unrounded, as the simulation
        rec["suppressed"].append(bool(s["stage2"]["suppression"]["suppressed"]))
        rec["ranks"].append(s["ranks"])
        rec["visual"].append(s["visual"]["ranks"])
        rec["seconds"].append(dt)
        rec["cpu_seconds"].append(dc)
        print(f"  photo {j + 1}/{len(pick)}: {dt:.1f}s ({dc:.1f}s CPU), median rank "
              f"{s['median_rank']}, visual {s['visual']['median_rank']}, category {cat}",
              flush=True)
    np.save(out, np.array(rec, dtype=object), allow_pickle=True)
    sec = np.array(rec["seconds"])
    cpu = np.array(rec["cpu_seconds"])
    print(json.dumps({"step": "analyse", "access": type(ctx.access).__name__,
                      "index": ctx.catalog.index.kind, "open_s": round(t_open, 1),
                      "rss_after_open_mb": round(rss_open), "knn_baseline_s": round(t_knn, 1),
                      "photos": len(pick), "seconds_per_photo_median": round(float(
                          np.median(sec)), 2), "seconds_per_photo_max": round(float(sec.max()), 2),
                      "cpu_seconds_per_photo_median": round(float(np.median(cpu)), 2),
                      "peak_rss_mb": round(peak_rss_mb())}))


# ------------------------------------------------------------------ 3. exact


def exact(root: Path, rec_path: Path, tol: float) -> None:
    from analyzer.search.catalog import Catalog
    from analyzer.search.rank import ProductGroups
    from analyzer.search.scoring import BlockScorer

    rec = np.load(rec_path, allow_pickle=True).item()
    cat = Catalog.open(root)
    groups = ProductGroups.from_ids(cat.meta["product_id"].astype(str).to_numpy())
    codes = groups.codes
    n_prod = groups.n_products
    pcat = cat.meta["category"].astype(str).to_numpy()[groups.main_items()]
    qs = [np.concatenate([s, p]) for s, p in zip(rec["shopper"], rec["peer"], strict=True)]
    allq = np.concatenate(qs).astype(np.float32)
    t0 = time.perf_counter()
    best = np.full((len(allq), n_prod), -np.inf, np.float32)
    score = BlockScorer(allq)
    base = 0
    for sh in cat.shards:
        for s0 in range(0, len(sh), 50_000):
            block = sh[s0:s0 + 50_000]
            sims = score(block)
            c = codes[base + s0:base + s0 + len(block)]
            starts = np.flatnonzero(np.r_[True, np.diff(c) != 0])
            run = np.maximum.reduceat(sims, starts, axis=1)
            rc = c[starts]
            if len(np.unique(rc)) == len(rc):
                best[:, rc] = np.maximum(best[:, rc], run)
            else:  # the demo catalog's rows are not grouped by product
                for j, cc in enumerate(rc):
                    best[:, cc] = np.maximum(best[:, cc], run[:, j])
        base += len(sh)
    t_exact = time.perf_counter() - t0
    off = 0
    pairs: dict[str, list] = {"visual": [], "expected": []}   # (reported, exact)
    for j, q in enumerate(qs):
        b = best[off:off + len(q)]
        off += len(q)
        e = rec["listing"][j]
        ls = (q @ e).astype(np.float32)
        n_shop = len(rec["shopper"][j])
        drop = np.zeros((len(q), n_prod), bool)
        drop[:, rec["dup_products"][j]] = True
        for r, pp in enumerate(rec["peer_products"][j]):
            drop[n_shop + r, pp] = True
        vis = 1 + ((b > (ls + np.float32(tol))[:, None]) & ~drop).sum(1)
        pairs["visual"].extend(zip(rec["visual"][j], vis.tolist(), strict=True))
        if rec["suppressed"][j]:
            continue
        in_cat = pcat == rec["category"][j] if rec["category"][j] else None
        d2 = drop | (~in_cat[None] if in_cat is not None and in_cat.any() else False)
        thr = ls + np.float32(rec["shift"][j])
        ex = 1 + ((b > (thr + np.float32(tol))[:, None]) & ~d2).sum(1)
        pairs["expected"].extend(zip(rec["ranks"][j], ex.tolist(), strict=True))
    out = {"step": "exact", "exact_brute_force_s": round(t_exact, 1),
           "peak_rss_mb": round(peak_rss_mb())}
    for name, pr in pairs.items():
        a = np.asarray(pr, dtype=np.float64).reshape(-1, 2)
        got, want = a[:, 0], a[:, 1]
        near = want <= 20
        deep = want > 2000
        rel = np.abs(got[deep] - want[deep]) / want[deep]
        out[name] = {
            "queries": len(a), "within_1": round(float((np.abs(got - want) <= 1).mean()), 4),
            "exact_rank_p50": float(np.median(want)),
            "within_1_where_exact_rank<=2000": round(float(
                (np.abs(got - want) <= 1)[want <= 2000].mean()), 4) if (~deep).any() else None,
            "top20_agreement": round(float(((got <= 20) == near).mean()), 4),
            "deep_queries": int(deep.sum()),
            "deep_rel_err_median": round(float(np.median(rel)), 4) if len(rel) else None,
            "deep_rel_err_p90": round(float(np.percentile(rel, 90)), 4) if len(rel) else None}
    print(json.dumps(out))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=1_000_000)
    ap.add_argument("--photos", type=int, default=20)
    ap.add_argument("--noise", type=float, default=0.5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/bench_index_rank"))
    ap.add_argument("--step", choices=["all", "build", "analyse", "exact"], default="all")
    ap.add_argument("--ondisk-from", type=int, default=None,
                    help="build the on-disk IVF-PQ index from this many items (default: "
                         "thresholds.yaml search.ondisk_min_items)")
    a = ap.parse_args()
    root = a.workdir / f"catalog_{a.size}"
    rec = a.workdir / f"analysis_{a.size}.npy"
    if a.step == "all":
        env = dict(os.environ, OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"))
        for step in ("build", "analyse", "exact"):
            cmd = [sys.executable, __file__, "--step", step, "--size", str(a.size),
                   "--photos", str(a.photos), "--noise", str(a.noise), "--seed", str(a.seed),
                   "--workdir", str(a.workdir)]
            if a.ondisk_from is not None:
                cmd += ["--ondisk-from", str(a.ondisk_from)]
            subprocess.run(cmd, check=True, env=env)
        return
    if a.step == "build":
        if a.ondisk_from is not None:
            import analyzer.search.vector_index as vi

            vi.ondisk_min_items = lambda: a.ondisk_from
        build(root, a.size, a.noise, a.seed)
    elif a.step == "analyse":
        analyse(root, a.photos, a.seed, rec)
    else:
        from analyzer.search.search_config import SearchConfig

        exact(root, rec, SearchConfig.from_thresholds().tie_tolerance)


if __name__ == "__main__":
    main()
