"""Does NEAR_DUPLICATE catch copies of catalog photos and leave other photos of a product alone?

Two stores, two splits:

- **luma** (the demo catalog, 199 products, 733 images): the products are split by a hash of
  their id into a *tuning* half and a *report* half. Positives: copies of each product's main
  image in every family of ``scripts/copy_families.py`` (resize, mirror, crop, text, colour,
  mirror+crop+text; all resized and re-encoded), searched against the whole catalog; a hit is
  the source image among the near-duplicates. Negatives: a sample of the *other* photos of
  multi-view products, searched against the catalog without their own file; any near-duplicate
  is a false flag. They are reported in two groups: other views (back, side, detail) and colour
  variants, which in luma are the same shot of the garment recoloured (pose, folds and pHash
  identical: every method flags most of them, and arguably they are copies).
- **grocery** (never used for tuning): a catalog of the 81 iconic images; positives are copies
  of them, negatives are shoppers' in-store photos of the same products (a sample).

Baselines: the signatures without the registration of the top-k images (the shipped rule
before registration), the first rule (pHash of the upload only, cosine of the upload only) and
imagededup's PHash recipe (Hamming <= 10 on the upload's pHash). Registration figures are cached
beside the features (``reg3_*.npz``).

Usage: ``nice -n 10 python scripts/evaluate_duplicates.py [--per-family 1] [--grocery-neg 120]``
Features are cached in /tmp/i16/<embedder id hash>/ (delete to recompute).
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import zlib
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))

from copy_families import FAMILIES, make_copy  # noqa: E402

DATA = REPO.parent / "shared" / "data"
# Features depend on the embedder: one cache folder per embedder recipe (set in main()).
CACHE = Path("/tmp/i16")


def split_of(pid: str) -> str:
    return "tune" if zlib.crc32(pid.encode()) % 2 == 0 else "report"


def features(emb, imgs: list[np.ndarray]) -> dict[str, np.ndarray]:  # type: ignore[no-untyped-def]
    from analyzer.search.duplicates import query_signature

    sigs = [query_signature(im) for im in imgs]
    from analyzer.search.listing import listing_mask

    mir = [np.ascontiguousarray(im[:, ::-1]) for im in imgs]
    allim = imgs + mir
    masks = [listing_mask(im) for im in allim]
    e = emb.embed(allim, masks, batch_size=8)
    n = len(imgs)
    return {"e": e[:n], "em": e[n:], "h": np.array([s.hashes for s in sigs], dtype=np.uint64)}


def with_features(emb, imgs: list[np.ndarray], **columns: list) -> dict:  # type: ignore[no-untyped-def]
    """:func:`features` of ``imgs`` plus per-query ``columns`` (as arrays)."""
    d = features(emb, imgs)
    d.update({k: np.array(v) for k, v in columns.items()})
    return d


def cached(name: str, fn):  # type: ignore[no-untyped-def]
    CACHE.mkdir(parents=True, exist_ok=True)
    p = CACHE / f"{name}.npz"
    if p.is_file():
        return dict(np.load(p, allow_pickle=True))
    d = fn()
    np.savez(p, **d)
    return d


def luma_sets(cat, emb, per_family: int, n_products: int,  # type: ignore[no-untyped-def]
              n_neg: int) -> tuple[dict, dict]:
    from analyzer.io.loader import load_image

    meta = cat.meta
    main = meta.groupby("product_id", sort=False)["item_id"].first()
    # A sample of products, half from each split (the whole catalog stays the search space).
    rng0 = np.random.default_rng(0)
    pids = np.array([str(p) for p in main.index])
    keep = []
    for part in ("tune", "report"):
        cand = [p for p in pids if split_of(p) == part]
        keep += list(rng0.choice(cand, min(len(cand), n_products // 2), replace=False))
    main = main.loc[sorted(keep)]

    def pos_images() -> tuple[list, list, list, list]:
        imgs, src, fam, pids = [], [], [], []
        for pid, item in main.items():
            rgb = load_image(cat.image_path(int(item))).rgb
            rng = np.random.default_rng(zlib.crc32(str(pid).encode()))
            for f in FAMILIES:
                for _ in range(per_family):
                    imgs.append(make_copy(rgb, f, rng))
                    src.append(int(item))
                    fam.append(f)
                    pids.append(str(pid))
        return imgs, src, fam, pids

    def pos() -> dict:
        imgs, src, fam, pids = pos_images()
        return with_features(emb, imgs, src=src, fam=fam, pid=pids)

    def neg_images() -> tuple[list, list, list]:
        imgs, src, pids = [], [], []
        mains = set(int(x) for x in meta.groupby("product_id", sort=False)["item_id"].first())
        others = [(int(i), str(p)) for i, p in zip(meta["item_id"], meta["product_id"],
                                                   strict=True) if int(i) not in mains]
        pick = np.random.default_rng(1).choice(len(others), min(n_neg, len(others)),
                                               replace=False)
        for j in sorted(pick):
            item, pid = others[j]
            imgs.append(load_image(cat.image_path(int(item))).rgb)
            src.append(int(item))
            pids.append(str(pid))
        return imgs, src, pids

    def neg() -> dict:
        imgs, src, pids = neg_images()
        return with_features(emb, imgs, src=src, pid=pids)

    E = cat.embeddings.astype(np.float32)

    def candidate(i: int) -> np.ndarray:
        return load_image(cat.image_path(int(i))).rgb

    lp = cached(f"luma_pos_{per_family}_{n_products}", pos)
    ln = cached(f"luma_neg_{n_neg}", neg)
    lp.update(registrations(f"luma_pos_{per_family}_{n_products}", lambda: pos_images()[0],
                            lp, E, candidate))
    ln.update(registrations(f"luma_neg_{n_neg}", lambda: neg_images()[0], ln, E, candidate,
                            exclude=ln["src"]))
    return lp, ln


def grocery_sets(emb, n_neg: int, per_family: int,  # type: ignore[no-untyped-def]
                 n_products: int) -> tuple[dict, dict, dict]:
    import csv

    from analyzer.io.loader import load_image

    g = DATA / "grocery" / "dataset"
    with open(g / "classes.csv", encoding="utf-8") as f:
        rows = list(csv.reader(f))[1:]
    icon = {r[0]: g / r[4].lstrip("/") for r in rows}
    names = sorted(icon)

    def cat() -> dict:
        return with_features(emb, [load_image(icon[n]).rgb for n in names], name=names)

    def pos_images() -> tuple[list, list, list]:
        imgs, src, fam = [], [], []
        pick = set(np.random.default_rng(2).choice(len(names), min(n_products, len(names)),
                                                   replace=False).tolist())
        for i, n in enumerate(names):
            if i not in pick:
                continue
            rgb = load_image(icon[n]).rgb
            rng = np.random.default_rng(zlib.crc32(n.encode()))
            for f in FAMILIES:
                for _ in range(per_family):
                    imgs.append(make_copy(rgb, f, rng))
                    src.append(i)
                    fam.append(f)
        return imgs, src, fam

    def pos() -> dict:
        imgs, src, fam = pos_images()
        return with_features(emb, imgs, src=src, fam=fam)

    lines = [ln for ln in (g / "val.txt").read_text().splitlines() if ln.strip()]
    pick = np.random.default_rng(0).choice(len(lines), min(n_neg, len(lines)), replace=False)

    def neg_images() -> tuple[list, list]:
        imgs, src = [], []
        for j in pick:
            path, fine = lines[j].split(",")[:2]
            imgs.append(load_image(g / path.strip().lstrip("/")).rgb)
            src.append(int(fine))
        return imgs, src

    def neg() -> dict:
        imgs, src = neg_images()
        return with_features(emb, imgs, src=src)

    gc = cached("grocery_cat", cat)

    def candidate(i: int) -> np.ndarray:
        return load_image(icon[names[int(i)]]).rgb

    gp = cached(f"grocery_pos_{per_family}_{n_products}", pos)
    gn = cached(f"grocery_neg_{n_neg}", neg)
    gp.update(registrations(f"grocery_pos_{per_family}_{n_products}", lambda: pos_images()[0],
                            gp, gc["e"], candidate))
    gn.update(registrations(f"grocery_neg_{n_neg}", lambda: neg_images()[0], gn, gc["e"],
                            candidate))
    return gc, gp, gn


REG_FIELDS = ("inliers", "rotation", "scale", "ncc", "colour")


def registrations(name: str, images, d: dict, E: np.ndarray, candidate,  # type: ignore[no-untyped-def]
                  k: int = 3, exclude: np.ndarray | None = None) -> dict:
    """Each query registered onto its ``k`` most similar catalog images (by the
    mirror-invariant cosine; its own file excluded for negatives): ``reg_idx`` (n, k) and the
    :class:`CopyMatch` figures ``reg_<field>`` (n, k). Cached like the features."""
    def compute() -> dict:
        from analyzer.vision import registration as reg

        sims = np.maximum(d["e"] @ E.T, d["em"] @ E.T)
        if exclude is not None:
            sims[np.arange(len(sims)), exclude] = -np.inf
        top = np.argsort(-sims, axis=1, kind="stable")[:, :k]
        prepared: dict[int, object] = {}
        out = {f"reg_{f}": np.zeros(top.shape, np.float32) for f in REG_FIELDS}
        for qi, img in enumerate(images()):
            q = reg.prepare(img)
            qm = reg.mirrored(q)
            for j, c in enumerate(top[qi]):
                if int(c) not in prepared:
                    prepared[int(c)] = reg.prepare(candidate(int(c)))
                m = reg.match(q, prepared[int(c)], qm)
                for f in REG_FIELDS:
                    out[f"reg_{f}"][qi, j] = getattr(m, f)
        out["reg_idx"] = top
        return out

    return cached(f"reg{k}_{name}", compute)


def _hamming(h: np.ndarray, cat_h: np.ndarray) -> np.ndarray:
    """(n, m) bit differences between n query hashes and m catalog hashes."""
    x = np.bitwise_xor(h.astype(np.uint64)[:, None], cat_h.astype(np.uint64)[None, :])
    return np.unpackbits(x.view(np.uint8).reshape(*x.shape, 8), axis=-1).sum(-1)


def signals(d: dict, E: np.ndarray, cat_h: np.ndarray) -> dict[str, np.ndarray]:
    """Per (query, catalog image): plain and mirror-invariant hash distance and cosine."""
    d0 = _hamming(d["h"][:, 0], cat_h)
    d1 = _hamming(d["h"][:, 1], cat_h)
    s0 = d["e"] @ E.T
    s1 = d["em"] @ E.T
    return {"dist": d0, "dist_m": np.minimum(d0, d1), "sim": s0, "sim_m": np.maximum(s0, s1)}


def flagged(sig: dict, rule, mirror: bool, d: dict | None = None) -> np.ndarray:  # type: ignore[no-untyped-def]
    """(n, m) copies by the signatures; with ``d`` (a query set carrying ``reg_*``), also the
    registered ones among each query's top-k images the signatures did not flag (as
    :func:`analyzer.search.duplicates.find_copies` does)."""
    from analyzer.vision.registration import CopyMatch

    dist = sig["dist_m"] if mirror else sig["dist"]
    sims = sig["sim_m"] if mirror else sig["sim"]
    ok = np.ones_like(dist, dtype=bool)
    out = rule.is_duplicate(dist, sims, np.zeros_like(ok), ok)
    if d is not None and getattr(rule, "verify_top_k", 0) > 0:
        for qi, cands in enumerate(d["reg_idx"][:, :rule.verify_top_k]):
            for j, c in enumerate(cands):
                if not out[qi, c]:
                    m = CopyMatch(**{f: float(d[f"reg_{f}"][qi, j]) for f in REG_FIELDS})
                    out[qi, c] = rule.is_registered_copy(m)
    return out


def methods() -> dict:  # type: ignore[type-arg]
    """name -> (rule, mirror-invariant signatures, registration of the top-k)."""
    from dataclasses import replace

    from analyzer.config import thresholds
    from analyzer.search.duplicates import FIRST_RULE, CopyRule

    class PHash10:
        """imagededup's PHash recipe: Hamming distance <= 10 of the upload's pHash."""

        def is_duplicate(self, dist, sims, same, ok):  # type: ignore[no-untyped-def]
            return dist <= 10

    shipped = CopyRule.from_dict(thresholds().get("differentiation"))
    return {"ours (signatures + registration, shipped)": (shipped, True, True),
            "ours, signatures only (the rule before registration)":
                (replace(shipped, verify_top_k=0), True, False),
            "before (pHash + cosine of the upload)": (FIRST_RULE, False, False),
            "imagededup PHash <= 10": (PHash10(), False, False)}


def rates(pos: dict, neg: dict, E: np.ndarray, cat_h: np.ndarray, pos_mask, neg_mask,  # type: ignore[no-untyped-def]
          neg_exclude_self: bool = True) -> dict:
    sp, sn = signals(pos, E, cat_h), signals(neg, E, cat_h)
    out = {}
    for name, (rule, mirror, register) in methods().items():
        fp = flagged(sp, rule, mirror, pos if register else None)
        hit = fp[np.arange(len(pos["src"])), pos["src"]]
        fn = flagged(sn, rule, mirror, neg if register else None)
        if neg_exclude_self:
            fn[np.arange(len(neg["src"])), neg["src"]] = False
        false = fn.any(axis=1)
        fams = {f: hit[pos_mask & (pos["fam"] == f)] for f in FAMILIES}
        kind = neg.get("kind", np.zeros(len(false), dtype=object))
        out[name] = {"families": fams, "all": hit[pos_mask], "false": false[neg_mask],
                     "false_variant": false[neg_mask & (kind == "variant")],
                     "false_view": false[neg_mask & (kind != "variant")]}
    return out


def print_rates(title: str, r: dict, neg_name: str) -> None:
    def pct(x: np.ndarray) -> str:
        return f"{100 * x.mean():.0f}%" if len(x) else "-"

    def frac(x: np.ndarray) -> str:
        return f"{pct(x)} ({int(x.sum())}/{len(x)})"

    split = any(len(v["false_variant"]) for v in r.values())
    print(f"\n### {title}")
    head = (" | false: other views | false: colour variants (same shot recoloured)" if split
            else f" | false flags: {neg_name}")
    print("| method | " + " | ".join(FAMILIES) + " | all copies" + head + " |")
    print("|---|" + "---|" * (len(FAMILIES) + 2 + split))
    for name, v in r.items():
        n = len(v["all"])
        tail = (f"{frac(v['false_view'])} | {frac(v['false_variant'])}" if split
                else frac(v["false"]))
        print(f"| {name} | " + " | ".join(pct(v["families"][f]) for f in FAMILIES)
              + f" | **{pct(v['all'])}** (n={n}) | {tail} |")


def report(cat, lp, ln, gc, gp, gn) -> None:  # type: ignore[no-untyped-def]
    from analyzer.search.differentiation import hex_to_u64

    E = cat.embeddings
    cat_h = hex_to_u64(list(cat.meta["phash"]))
    split_p = np.array([split_of(str(p)) for p in lp["pid"]])
    split_n = np.array([split_of(str(p)) for p in ln["pid"]])
    # luma's other photos of a product: other angles (back, side, alt) and colour variants,
    # which are the same shot recoloured (``*_main`` of another colour): reported apart.
    ln = dict(ln)
    ln["kind"] = np.array(["variant" if "_main" in str(cat.meta["image"].iloc[int(i)])
                           else "view" for i in ln["src"]])
    for part in ("tune", "report"):
        r = rates(lp, ln, E, cat_h, split_p == part, split_n == part)
        print_rates(f"luma, {part} half (demo catalog, 733 images)", r,
                    "other photos of the same product")
    # grocery: its own catalog of the 81 iconic images; negatives are shoppers' in-store
    # photos of the same products (never their own file: nothing to exclude).
    gh = gc["h"][:, 0]
    r = rates(gp, gn, gc["e"], gh, np.ones(len(gp["src"]), bool), np.ones(len(gn["src"]), bool),
              neg_exclude_self=False)
    print_rates("grocery (never tuned on; catalog of 81 iconic images)", r,
                "in-store photos of the same products")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--per-family", type=int, default=1)
    ap.add_argument("--grocery-neg", type=int, default=80)
    ap.add_argument("--luma-products", type=int, default=40)
    ap.add_argument("--luma-neg", type=int, default=150)
    ap.add_argument("--grocery-products", type=int, default=20)
    ap.add_argument("--features-only", action="store_true")
    args = ap.parse_args()

    from analyzer.search.catalog import DEMO_CATALOG, Catalog

    global CACHE
    cat = Catalog.open(DEMO_CATALOG)
    emb = cat.embedder("cpu")
    CACHE = CACHE / hashlib.sha256(cat.embedder_id.encode()).hexdigest()[:12]
    lp, ln = luma_sets(cat, emb, args.per_family, args.luma_products, args.luma_neg)
    gc, gp, gn = grocery_sets(emb, args.grocery_neg, args.per_family, args.grocery_products)
    if args.features_only:
        return
    report(cat, lp, ln, gc, gp, gn)


if __name__ == "__main__":
    main()
