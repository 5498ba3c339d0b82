"""Measure what each idea in the built-in embedder buys, on real photos from ../shared/data.

Two retrieval tasks:

1. **luma multi-view**: the catalog is every product's main (first) image; each query is an
   alternate view of a product (its back, a model wearing it, a detail); the hit is that product's
   main image. Top-1, top-5, MRR.
2. **grocery shopper photos**: the catalog is the 81 iconic (white-background) class images; each
   query is an in-store phone photo (``dataset/train.txt``, a seeded subsample); the hit is the
   iconic image of its class. Top-1, top-5, MRR.

Every row of the table uses the same queries. Rows: a colour-histogram baseline (the colour
descriptor of the whole image, no mask), the plain global embedding (whole image, no crop, no
colour), and the built-in recipe with one idea added at a time: product crop, colour, mirror-image
averaging, a greyscale pass, an earlier block's features (multi-layer), R-MAC regional pooling,
PCA-whitening, query expansion / database-side augmentation at search time, a larger backbone
input (320 px) or two summed (224 + 320, multi-scale), and regional query crops (each catalog
image scores the best of the query and five crops of its product view, so a close-up catalog
photo can match part of a whole-garment query).

PCA-whitening (Jegou & Chum, "Negative evidences and co-occurrences in image retrieval", ECCV
2012) is fitted on amateur clothing photos (``clothing/``, a seeded sample), which are neither
queries nor catalog images of either task; ``--fit-whitening NAME`` writes it to
``analyzer/data/embed_whiten_NAME.npz`` for the embedder to ship.

The backbone is run once per image and pass (plain, mirrored, greyscale, skin-free crop) and the
pooled features are cached under ``--cache`` (product masks are cached at 1/4 resolution and
every row uses the same upsampled mask), so new combinations cost seconds. ``--timing N``
measures the CPU time of the real embedder per image for each recipe row on N photos (masks
given, as the dashboard does).

    .venv/bin/python scripts/evaluate_search.py --luma-limit 150 --grocery-limit 400
    .venv/bin/python scripts/evaluate_search.py --compute-only      # fill the cache only
    .venv/bin/python scripts/evaluate_search.py --timing 20
    .venv/bin/python scripts/evaluate_search.py --single-pass --luma-limit 534   # every luma view
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import random
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from analyzer.embed.backbone import feature_maps, gem, load_backbone, rmac, to_input  # noqa: E402
from analyzer.embed.base import l2_normalize  # noqa: E402
from analyzer.embed.builtin import (  # noqa: E402
    GLOBAL_ONLY,
    RMAC_CROP_CONFIG,
    V2_CONFIG,
    BuiltinConfig,
    combine,
)
from analyzer.embed.color import color_descriptor  # noqa: E402
from analyzer.embed.views import mask_prob, product_view, skin_prob  # noqa: E402

# Backbone passes: (mirror, greyscale, skin removed from the crop, input size, query crops). Each
# is cached separately so a pass can be added later; "224s" is the crop view only; "320q" holds
# the regional query crops (MULTI_CROPS of the product view), computed for queries only.
PASSES = {"224": (False, False, False, 224, False), "224f": (True, False, False, 224, False),
          "224g": (False, True, False, 224, False), "224s": (False, False, True, 224, False),
          "320": (False, False, False, 320, False), "320q": (False, False, False, 320, True)}
QUERY_ONLY = {"320q"}
# (y0, x0, y1, x1) as fractions of the product view: four overlapping 60% quadrants and the centre.
MULTI_CROPS = ((0.0, 0.0, 0.6, 0.6), (0.0, 0.4, 0.6, 1.0), (0.4, 0.0, 1.0, 0.6),
               (0.4, 0.4, 1.0, 1.0), (0.2, 0.2, 0.8, 0.8))
TAPS = (7, 10, 14)
CROP_PAD, CUTOUT = 0.10, True


def key(path: Path) -> str:
    return hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:20]


def pass_file(cache: Path, path: Path, pname: str) -> Path:
    return cache / f"{key(path)}.{pname}.npz"


def quarter_mask(rgb: np.ndarray, path: Path, cache: Path) -> np.ndarray:
    """The product mask of ``rgb`` (:func:`mask_prob`) at 1/4 resolution, uint8 (cached)."""
    f = cache / "masks" / f"{key(path)}.npz"
    if f.is_file():
        with np.load(f) as z:
            return z["prob_small"]
    prob = mask_prob(rgb, None)
    small = cv2.resize(prob, (max(1, prob.shape[1] // 4), max(1, prob.shape[0] // 4)),
                       interpolation=cv2.INTER_AREA)
    small = np.rint(small * 255).astype(np.uint8)
    f.parent.mkdir(parents=True, exist_ok=True)
    np.savez(f, prob_small=small)
    return small


def compute_batch(paths: list[Path], cache: Path, pname: str) -> None:
    """Pooled features of the whole image (``g``) and the product crop (``c``) for one pass,
    plus the colour descriptors, written to one cache file per image."""
    import torch

    from analyzer.io.loader import load_image

    mirror, grey, deskin, size, crops = PASSES[pname]
    model = load_backbone("cpu")
    rgbs, probs, ok = [], [], []
    for p in paths:
        try:
            rgb = load_image(p).rgb
        except Exception as e:  # one unreadable photo must not stop the evaluation
            print(f"skip {p}: {e}", file=sys.stderr)
            continue
        small = quarter_mask(rgb, p, cache)
        probs.append(cv2.resize(small.astype(np.float32) / 255.0, (rgb.shape[1], rgb.shape[0]),
                                interpolation=cv2.INTER_LINEAR))
        rgbs.append(rgb)
        ok.append(p)
    n = len(ok)
    if not n:
        return
    if crops:
        views = []
        for r, pr in zip(rgbs, probs, strict=True):
            v = product_view(r, pr, CROP_PAD, CUTOUT)
            vh, vw = v.shape[:2]
            views += [v[round(y0 * vh):round(y1 * vh), round(x0 * vw):round(x1 * vw)]
                      for y0, x0, y1, x1 in MULTI_CROPS]
    elif deskin:
        views = [product_view(r, pr * (1.0 - skin_prob(r)), CROP_PAD, CUTOUT)
                 for r, pr in zip(rgbs, probs, strict=True)]
    else:
        views = rgbs + [product_view(r, pr, CROP_PAD, CUTOUT)
                        for r, pr in zip(rgbs, probs, strict=True)]
    with torch.inference_mode():
        fmap, kept = feature_maps(model, to_input(views, size, mirror, grey), TAPS)
        res = {"gem": gem(fmap, 3.0), "rmac": rmac(fmap)}
        if pname == "224":
            for t, m in kept.items():
                res[f"b{t}"] = gem(m.clamp(min=0), 3.0)
    out: list[dict[str, np.ndarray]] = [{} for _ in range(n)]
    if pname == "224":
        for i in range(n):
            out[i]["color"] = color_descriptor(rgbs[i], probs[i])
            out[i]["color_full"] = color_descriptor(rgbs[i], None)
    for name, arr in res.items():
        a = arr.float().numpy().astype(np.float16)
        for i in range(n):
            if crops:
                if name == "rmac":
                    for j in range(len(MULTI_CROPS)):
                        out[i][f"q{j}{pname}.rmac"] = a[i * len(MULTI_CROPS) + j]
                continue
            if deskin:
                out[i][f"c{pname}.{name}"] = a[i]
                continue
            out[i][f"g{pname}.{name}"] = a[i]
            out[i][f"c{pname}.{name}"] = a[n + i]
    for p, d in zip(ok, out, strict=True):
        f = pass_file(cache, p, pname)
        tmp = f.with_suffix(".tmp.npz")
        np.savez(tmp, **d)
        tmp.replace(f)


def compute(paths: list[Path], cache: Path, pname: str, chunk: int = 16) -> None:
    todo = [p for p in paths if not pass_file(cache, p, pname).is_file()]
    t0 = time.time()
    for s in range(0, len(todo), chunk):
        compute_batch(todo[s:s + chunk], cache, pname)
        print(f"[{pname} {min(s + chunk, len(todo))}/{len(todo)}] {time.time() - t0:.0f}s",
              file=sys.stderr, flush=True)


def load_parts(paths: list[Path], cache: Path, passes: tuple[str, ...]
               ) -> tuple[list[dict[str, np.ndarray]], list[int]]:
    """The cached parts of the images that have every pass in ``passes``, and their indices."""
    out, keep = [], []
    for i, p in enumerate(paths):
        fs = [pass_file(cache, p, ps) for ps in passes]
        if all(f.is_file() for f in fs):
            d: dict[str, np.ndarray] = {}
            for f in fs:
                with np.load(f) as z:
                    d.update({k: z[k].astype(np.float32) for k in z.files})
            out.append(d)
            keep.append(i)
    return out, keep


# ---------------------------------------------------------------- datasets


def luma_task(data: Path, limit: int, seed: int) -> tuple[list[Path], list[Path], list[int]]:
    """(catalog main images, query alternate views, target index of each query)."""
    with open(data / "luma" / "MANIFEST_products.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    mains, queries, targets = [], [], []
    for i, r in enumerate(rows):
        imgs = r["images"].split("|")
        mains.append(data / "luma" / imgs[0])
        for alt in imgs[1:]:
            queries.append(data / "luma" / alt)
            targets.append(i)
    order = list(range(len(queries)))
    random.Random(seed).shuffle(order)
    order = sorted(order[:limit])
    return mains, [queries[i] for i in order], [targets[i] for i in order]


def grocery_task(data: Path, limit: int, seed: int) -> tuple[list[Path], list[Path], list[int]]:
    root = data / "grocery" / "dataset"
    with open(root / "classes.csv", newline="") as fh:
        rows = list(csv.reader(fh))[1:]
    iconic = {int(r[1]): root / r[4].lstrip("/") for r in rows}
    ids = sorted(iconic)
    pos = {c: i for i, c in enumerate(ids)}
    lines = [ln.split(",") for ln in (root / "train.txt").read_text().splitlines() if ln.strip()]
    random.Random(seed).shuffle(lines)
    lines = lines[:limit]
    return ([iconic[c] for c in ids], [root / ln[0].strip() for ln in lines],
            [pos[int(ln[1])] for ln in lines])


def whitening_set(data: Path, limit: int) -> list[Path]:
    """A seeded sample of the amateur clothing photos: no query or catalog image of either task."""
    paths = sorted((data / "clothing" / "images").glob("*.jpg"))
    random.Random(1).shuffle(paths)
    return paths[:limit]


# ---------------------------------------------------------------- descriptors


@dataclass(frozen=True)
class Row:
    """One method of the table: a built-in recipe (None = the colour-histogram baseline) plus
    what the evaluation adds around it."""

    label: str
    cfg: BuiltinConfig | None
    whiten: int = 0            # > 0: PCA-whitening to this many dimensions, fitted on clothing
    search: str = ""           # "qe": alpha-query expansion; "dba": database-side augmentation;
    #                            "multicrop": the best of the query and its regional crops
    sizes: tuple[int, ...] = (224,)  # backbone input sizes, summed (multi-scale)

    def passes(self) -> tuple[str, ...]:
        c = self.cfg
        if c is None:
            return ("224",)
        if self.sizes != (224,):
            if c.flip or c.w_grey > 0 or c.deskin or c.tap_dim:
                raise ValueError(f"only the plain pass is cached at {self.sizes}")
            extra = ("320q",) if self.search == "multicrop" else ()
            return ("224",) + tuple(str(z) for z in self.sizes if z != 224) + extra
        if c.flip and c.w_grey > 0 or c.deskin and (c.flip or c.w_grey > 0 or c.w_rgb != 1):
            raise ValueError(f"the passes of {c.tag()} are not all cached")
        # The colour descriptors are in the plain pass's file: it is always needed.
        return tuple(ps for ps, on in (("224", True), ("224f", c.flip and c.w_rgb > 0),
                                        ("224g", c.w_grey > 0), ("224s", c.deskin)) if on)


def backbone_part(parts: list[dict], view: str, cfg: BuiltinConfig,
                  sizes: tuple[int, ...] = (224,)) -> np.ndarray:
    """The same sum as :func:`analyzer.embed.builtin.pooled_features`, from the cached passes;
    with other ``sizes``, the normalised sum of the plain pass at each input size."""
    pool = "rmac" if cfg.pool == "rmac" else "gem"
    plain = "224s" if cfg.deskin and view == "c" else "224"

    def one(pname: str) -> np.ndarray:
        return l2_normalize(np.sqrt(np.stack([p[f"{view}{pname}.{pool}"] for p in parts])))

    if sizes != (224,):
        return l2_normalize(sum(one(str(z)) for z in sizes))

    acc = np.zeros((len(parts), 1280), np.float32)
    if cfg.w_rgb > 0:
        acc += cfg.w_rgb * one(plain)
    if cfg.flip and cfg.w_rgb > 0:
        acc += cfg.w_rgb * one("224f")
    if cfg.w_grey > 0:
        acc += cfg.w_grey * one("224g")
    return l2_normalize(acc)


def fit_whitening(x: np.ndarray, dim: int, shrink: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """PCA-whitening of the rows of ``x``: ``(mean, projection)`` with projection = the top
    ``dim`` eigenvectors of the covariance over sqrt(eigenvalue + shrink * mean eigenvalue)
    (the shrinkage keeps the small, noisy directions from being blown up)."""
    mean = x.mean(axis=0)
    lam, vec = np.linalg.eigh(np.cov((x - mean).T))
    order = np.argsort(lam)[::-1][:dim]
    lam, vec = lam[order], vec[:, order]
    proj = vec / np.sqrt(lam + shrink * lam.mean())
    return mean.astype(np.float32), proj.astype(np.float32)


def row_vectors(parts: list[dict], row: Row,
                white: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    if row.cfg is None:
        return l2_normalize(np.stack([p["color_full"] for p in parts]))
    cfg = row.cfg
    g = backbone_part(parts, "g", cfg, row.sizes)
    c = backbone_part(parts, "c", cfg, row.sizes) if cfg.crop else None
    col = np.stack([p["color"] for p in parts]) if cfg.color else None
    tg = tc = None
    if cfg.tap_dim:
        tg = l2_normalize(np.sqrt(np.stack([p[f"g224.b{cfg.tap}"] for p in parts])))
        tc = l2_normalize(np.sqrt(np.stack([p[f"c224.b{cfg.tap}"] for p in parts])))
    return combine(g, c, col, cfg, tg, tc, whiten=white)


def whitening_for(row: Row, white_parts: list[dict]) -> tuple[np.ndarray, np.ndarray]:
    """Whitening of the backbone part of ``row``'s recipe, fitted on the clothing photos."""
    assert row.cfg is not None
    base = replace(row.cfg, color=False, tap=None, w_tap=0.0, whiten=None)
    return fit_whitening(row_vectors(white_parts, Row("", base)), row.whiten)


def search_sims(q: np.ndarray, cat: np.ndarray, how: str, k: int = 3,
                alpha: float = 3.0) -> np.ndarray:
    """Similarities of queries to catalog items, with alpha-QE (Radenovic et al., TPAMI 2019:
    the query is replaced by the sum of itself and its top ``k`` results weighted by
    sim^alpha) or DBA (each catalog item replaced by the same weighted sum over its ``k``
    nearest catalog items, itself included)."""
    if how == "dba":
        s = cat @ cat.T
        top = np.argsort(-s, axis=1)[:, :k + 1]
        w = np.clip(np.take_along_axis(s, top, axis=1), 0, None) ** alpha
        cat = l2_normalize((w[..., None] * cat[top]).sum(axis=1))
    sims = q @ cat.T
    if how == "qe":
        top = np.argsort(-sims, axis=1)[:, :k]
        w = np.clip(np.take_along_axis(sims, top, axis=1), 0, None) ** alpha
        q = l2_normalize(q + (w[..., None] * cat[top]).sum(axis=1))
        sims = q @ cat.T
    return sims


def multicrop_sims(q_parts: list[dict], q: np.ndarray, cat: np.ndarray,
                   row: Row) -> np.ndarray:
    """Regional queries: each catalog item scores the best of its similarity to the query and to
    each of the query's MULTI_CROPS (embedded like a product view, with the query's colours), so
    a close-up catalog photo can match a part of a whole-garment query."""
    assert row.cfg is not None
    sims = q @ cat.T
    col = np.stack([p["color"] for p in q_parts]) if row.cfg.color else None
    for j in range(len(MULTI_CROPS)):
        v = l2_normalize(np.sqrt(np.stack([p[f"q{j}320q.rmac"] for p in q_parts])))
        sims = np.maximum(sims, combine(v, v if row.cfg.crop else None, col, row.cfg) @ cat.T)
    return sims


def retrieval_metrics(sims: np.ndarray, targets: list[int]) -> dict[str, float]:
    t = np.asarray(targets)
    target_sim = sims[np.arange(len(t)), t]
    rank = (sims > target_sim[:, None]).sum(axis=1) + 1
    return {"top1": float((rank == 1).mean()), "top5": float((rank <= 5).mean()),
            "mrr": float((1.0 / rank).mean()), "n": len(t)}


def rows() -> list[Row]:
    v2 = V2_CONFIG
    rm = replace(v2, pool="rmac")
    return [
        Row("colour histogram (baseline)", None),
        Row("plain global (no crop, no colour)", GLOBAL_ONLY),
        Row("global + crop", replace(v2, color=False)),
        Row("global + crop + colour 0.2 (v2 default)", v2),
        Row("v2 + mirror averaging", replace(v2, flip=True)),
        Row("v2 + greyscale pass 0.5", replace(v2, w_grey=0.5)),
        Row("v2 + greyscale pass 1", replace(v2, w_grey=1.0)),
        Row("v2 + block-14 features 0.3 (multi-layer)", replace(v2, tap=14, w_tap=0.3)),
        Row("v2 + skin removed from the crop", replace(v2, deskin=True)),
        Row("v2 + PCA-whitening 256 (fitted on clothing)", v2, whiten=256),
        Row("v2 + alpha-QE (k 3, alpha 3)", v2, search="qe"),
        Row("v2 + DBA (k 3, alpha 3)", v2, search="dba"),
        Row("R-MAC instead of GeM, no colour", replace(rm, color=False)),
        Row("R-MAC, colour 0.1", replace(rm, w_color=0.1)),
        Row("R-MAC, colour 0.3", replace(rm, w_color=0.3)),
        Row("R-MAC + PCA-whitening 256 (fitted on clothing)", rm, whiten=256),
        Row("R-MAC at 320 px input", rm, sizes=(320,)),
        Row("R-MAC, 224 + 320 px (multi-scale)", rm, sizes=(224, 320)),
        Row("R-MAC at 320 px + regional query crops (best of 5)", rm, sizes=(320,),
            search="multicrop"),
        Row(f"R-MAC, colour 0.2{' (default)' if rm == RMAC_CROP_CONFIG else ''}", rm),
    ]


def timing(paths: list[Path], table: list[Row]) -> dict[str, float]:
    """CPU ms per image of the real embedder for each recipe row (masks given)."""
    from analyzer.embed.builtin import BuiltinEmbedder
    from analyzer.io.loader import load_image

    ims = [load_image(p).rgb for p in paths]
    masks = [mask_prob(im, None) for im in ims]
    out: dict[str, float] = {}
    for row in table:
        if row.sizes != (224,):  # not a recipe the embedder offers: measured only for accuracy
            continue
        if row.cfg is None:
            t = time.process_time()
            for im in ims:
                color_descriptor(im, None)
            out[row.label] = 1000 * (time.process_time() - t) / len(ims)
            continue
        cfg = replace(row.cfg, whiten=None)
        emb = BuiltinEmbedder("cpu", cfg)
        emb.embed(ims[:2], masks[:2])
        t = time.process_time()
        emb.embed(ims, masks, batch_size=len(ims))
        out[row.label] = 1000 * (time.process_time() - t) / len(ims)
        print(f"{row.label}: {out[row.label]:.0f} ms", file=sys.stderr, flush=True)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    ap.add_argument("--cache", type=Path, default=Path("/tmp/listing_lens_eval_v3"))
    ap.add_argument("--luma-limit", type=int, default=150, help="alternate views used as queries")
    ap.add_argument("--grocery-limit", "--limit", type=int, default=400,
                    help="in-store photos used as queries")
    ap.add_argument("--whiten-limit", type=int, default=256,
                    help="clothing photos the whitening is fitted on")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--compute-only", action="store_true")
    ap.add_argument("--cached-only", action="store_true",
                    help="evaluate only the images already in the cache")
    ap.add_argument("--single-pass", action="store_true",
                    help="only the rows that need the plain backbone pass (cheaper on more "
                         "queries, e.g. --luma-limit 534)")
    ap.add_argument("--timing", type=int, default=0, metavar="N",
                    help="also measure CPU ms/image of each recipe on N photos")
    ap.add_argument("--fit-whitening", metavar="NAME",
                    help="fit the default recipe's whitening on the clothing set and write "
                         "analyzer/data/embed_whiten_NAME.npz")
    ap.add_argument("--whiten-dim", type=int, default=256)
    args = ap.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    from analyzer.embed.base import configure_torch_threads

    configure_torch_threads()

    tasks = {"luma": luma_task(args.data, args.luma_limit, args.seed),
             "grocery": grocery_task(args.data, args.grocery_limit, args.seed)}
    white = whitening_set(args.data, args.whiten_limit)
    table = rows()
    if args.single_pass:
        table = [r for r in table if r.passes() == ("224",)]
    need = tuple(dict.fromkeys(ps for r in table for ps in r.passes()))
    if not args.cached_only:
        # The plain pass of everything first, so a partial run already fills most rows.
        for pname in need:
            for cat, q, _ in tasks.values():
                compute(q if pname in QUERY_ONLY else cat + q, args.cache, pname)
            if pname == "224" or any(r.whiten and pname in r.passes() for r in table):
                compute(white, args.cache, pname)
    if args.compute_only:
        return 0
    if args.fit_whitening:
        cfg = replace(RMAC_CROP_CONFIG, color=False, tap=None, w_tap=0.0, whiten=None)
        wp, _ = load_parts(white, args.cache, Row("", cfg).passes())
        mean, proj = fit_whitening(row_vectors(wp, Row("", cfg)), args.whiten_dim)
        out = REPO / "analyzer" / "data" / f"embed_whiten_{args.fit_whitening}.npz"
        np.savez_compressed(out, mean=mean, proj=proj.astype(np.float16))
        print(f"wrote {out} ({len(wp)} clothing photos, recipe {cfg.tag()})")
        return 0

    results: dict[str, dict[str, dict]] = {}
    white_parts = {}
    for ps in {r.passes() for r in table if r.whiten}:
        white_parts[ps] = load_parts(white, args.cache, ps)[0]
    for name, (cat, qpaths, targets) in tasks.items():
        # Every row on the same queries: those with every pass any row needs.
        cat_parts, ck = load_parts(cat, args.cache,
                                   tuple(ps for ps in need if ps not in QUERY_ONLY))
        if len(ck) != len(cat):
            print(f"{name}: catalog not fully cached", file=sys.stderr)
            return 1
        q_parts, keep = load_parts(qpaths, args.cache, need)
        tg = [targets[i] for i in keep]
        if not keep:
            print(f"{name}: no cached queries yet", file=sys.stderr)
            return 1
        for row in table:
            w = whitening_for(row, white_parts[row.passes()]) if row.whiten else None
            qv, cv = row_vectors(q_parts, row, w), row_vectors(cat_parts, row, w)
            sims = (multicrop_sims(q_parts, qv, cv, row) if row.search == "multicrop"
                    else search_sims(qv, cv, row.search))
            results.setdefault(row.label, {})[name] = retrieval_metrics(sims, tg)
    ms = timing(tasks["luma"][1][:args.timing // 2] + tasks["grocery"][1][:args.timing // 2],
                table) if args.timing else {}
    n_l = next(iter(results.values()))["luma"]["n"]
    n_g = next(iter(results.values()))["grocery"]["n"]
    print(f"luma: {n_l} alternate-view queries vs {len(tasks['luma'][0])} main images; "
          f"grocery: {n_g} in-store queries vs {len(tasks['grocery'][0])} iconic images; "
          f"whitening fitted on {len(white)} clothing photos")
    print("| method | luma top-1 | luma top-5 | luma MRR | grocery top-1 | grocery top-5 | "
          "grocery MRR | embed ms/image (CPU) |\n|---|---|---|---|---|---|---|---|")
    for row in table:
        lu, gr = results[row.label]["luma"], results[row.label]["grocery"]
        t = f"{ms[row.label]:.0f}" if row.label in ms else ""
        print(f"| {row.label} | {lu['top1']:.3f} | {lu['top5']:.3f} | {lu['mrr']:.3f} | "
              f"{gr['top1']:.3f} | {gr['top5']:.3f} | {gr['mrr']:.3f} | {t} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
