"""Train the built-in embedder's residual head on frozen EfficientNet-Lite0 features, and measure
it on products and photos it never saw.

Why a head, and trained how. The ImageNet backbone knows objects, not product identity: a
shopper's phone photo of a product and its studio shot land far apart. Fine-tuning the backbone
is out of reach on a laptop CPU, but a linear map on its pooled features is not. The head is
residual, ``y = normalise(f + alpha * (f A) B)`` (A: 1280 x r, B: r x 1280, B starts at zero so
training starts from the plain features), trained with a contrastive InfoNCE loss (Oord et al.
2018; the SimCLR set-up of Chen et al., ICML 2020) whose positives are *augmented copies of the
same image*: random crops, flips, colour and light changes, blur, JPEG, grey or tinted backdrops,
and the project's own simulated shopper photos (:mod:`analyzer.search.shopper_sim`) of studio
shots. No labels are used: grocery class labels would teach the 81 classes that appear in every
split, and luma's 153 multi-view products are too few (a head trained on their identities
learned them, not retrieval: see the issue).

Data (seeded, ``--seed``; the list is written to ``<cache>/training_data.csv`` and to the
weights file):

* luma products are split by product into A (40%: training images), B (20%: tuning queries) and
  C (40%: never-seen queries); the gallery of both retrieval tasks is all 199 main images;
* grocery in-store photos: ``train.txt`` is shuffled, the first ``--grocery-train`` photos are
  training images, the next ``--grocery-tune`` are tuning queries; ``val.txt`` photos are the
  never-seen queries (other shelves and days; the gallery is the 81 iconic images, not trained on);
* clothing: ``--clothing`` amateur photos, training images only.

Stages (``--stage``): ``cache`` runs the backbone once per view and stores pooled features
(GeM p=3 and R-MAC, square-rooted, L2-normalised) and whole-image HSV 8x4x4 histograms under
``--cache``; ``train`` (or ``eval``) fits heads for each pooling on cached features (seconds),
prints the retrieval table on tuning and never-seen data for the baselines and the recipes, and
with ``--write`` ships the one chosen on the tuning columns only (pooling, alpha, rank,
epochs, HSV weight).

    nice -n 10 .venv/bin/python scripts/train_embedding_head.py --stage cache
    .venv/bin/python scripts/train_embedding_head.py --stage train --pools rmac --write
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from analyzer.embed.base import l2_normalize  # noqa: E402

HSV_BINS = (8, 4, 4)
N_AUG = 1   # augmented views per training image (plus the original); --n-aug


# --- data ----------------------------------------------------------------------------------------

def luma_products(data: Path) -> list[tuple[str, list[Path]]]:
    with open(data / "luma" / "MANIFEST_products.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    return [(r["product_key"], [data / "luma" / p for p in r["images"].split("|")]) for r in rows]


def grocery_rows(data: Path, name: str) -> list[tuple[Path, int]]:
    root = data / "grocery" / "dataset"
    out = []
    for ln in (root / name).read_text().splitlines():
        parts = [p.strip() for p in ln.split(",")]
        if len(parts) >= 2 and parts[0]:
            out.append((root / parts[0], int(parts[1])))
    return out


def grocery_iconic(data: Path) -> dict[int, Path]:
    root = data / "grocery" / "dataset"
    with open(root / "classes.csv", newline="") as fh:
        rows = list(csv.reader(fh))[1:]
    return {int(r[1]): root / r[4].lstrip("/") for r in rows}


def splits(data: Path, seed: int, n_grocery_train: int, n_grocery_tune: int,
           n_clothing: int) -> dict:
    """Every image of every role, seeded. See the module docstring."""
    rng = np.random.default_rng(seed)
    prods = luma_products(data)
    order = rng.permutation(len(prods))
    n_a, n_b = round(0.4 * len(prods)), round(0.2 * len(prods))
    part = {}
    for rank, i in enumerate(order):
        part[prods[i][0]] = "A" if rank < n_a else ("B" if rank < n_a + n_b else "C")
    gtrain = grocery_rows(data, "train.txt")
    gorder = rng.permutation(len(gtrain))
    clothing = sorted((data / "clothing").rglob("*.jpg"))
    corder = rng.permutation(len(clothing))[:n_clothing]
    return {
        "luma": prods, "luma_part": part,
        "luma_train": [p for k, ims in prods if part[k] == "A" for p in ims],
        "grocery_train": [gtrain[i][0] for i in gorder[:n_grocery_train]],
        "grocery_tune": [gtrain[i] for i in
                         gorder[n_grocery_train:n_grocery_train + n_grocery_tune]],
        "grocery_val": grocery_rows(data, "val.txt"),
        "iconic": grocery_iconic(data),
        "clothing": [clothing[i] for i in sorted(corder)],
    }


# --- augmentation ------------------------------------------------------------------------------

def _shrink(rgb: np.ndarray, side: int = 448) -> np.ndarray:
    s = side / max(rgb.shape[:2])
    if s >= 1:
        return rgb
    return cv2.resize(rgb, (max(1, round(rgb.shape[1] * s)), max(1, round(rgb.shape[0] * s))),
                      interpolation=cv2.INTER_AREA)


def augment(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One random view of ``rgb`` shaped like a shopper's or another seller's photo of it."""
    img = rgb.astype(np.float32)
    h, w = img.shape[:2]
    # Backdrop: near-white studio pixels replaced by a grey or tinted surface (with a gradient).
    if rng.random() < 0.5:
        white = (img.min(axis=2) > 232).astype(np.float32)
        if white.mean() > 0.05:
            white = cv2.GaussianBlur(white, (0, 0), 1.5)[..., None]
            base = rng.uniform(90, 225) + rng.normal(0, 18, 3)
            ramp = np.linspace(-1, 1, h, dtype=np.float32)[:, None, None] * rng.uniform(-25, 25)
            img = img * (1 - white) + np.clip(base + ramp, 0, 255) * white
    # Random resized crop.
    area = rng.uniform(0.35, 1.0)
    ar = np.exp(rng.uniform(np.log(3 / 4), np.log(4 / 3)))
    cw = int(min(w, round(np.sqrt(area * w * h * ar))))
    ch = int(min(h, round(np.sqrt(area * w * h / ar))))
    x0, y0 = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
    img = img[y0:y0 + ch, x0:x0 + cw]
    if rng.random() < 0.5:
        img = img[:, ::-1]
    if rng.random() < 0.3:
        ang = rng.normal(0, 10)
        m = cv2.getRotationMatrix2D((img.shape[1] / 2, img.shape[0] / 2), ang, 1.0)
        img = cv2.warpAffine(np.ascontiguousarray(img), m, (img.shape[1], img.shape[0]),
                             borderMode=cv2.BORDER_REFLECT)
    # Light and colour: exposure, contrast, saturation, white balance.
    img = img * rng.uniform(0.65, 1.35)
    mean = img.mean()
    img = (img - mean) * rng.uniform(0.7, 1.3) + mean
    grey = img.mean(axis=2, keepdims=True)
    img = grey + (img - grey) * rng.uniform(0.6, 1.4)
    img = img * rng.uniform(0.88, 1.12, 3)
    img = np.clip(img, 0, 255).astype(np.uint8)
    if rng.random() < 0.35:
        img = cv2.GaussianBlur(img, (0, 0), rng.uniform(0.6, 2.0))
    if rng.random() < 0.6:
        q = int(rng.integers(25, 90))
        ok, buf = cv2.imencode(".jpg", img[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, q])
        if ok:
            img = cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1]
    return np.ascontiguousarray(img)


def shopper_view(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray | None:
    """A simulated shopper photo of a studio shot (None when it has no plain backdrop)."""
    from analyzer.search.shopper_sim import simulate_shopper_photos
    from analyzer.vision.backdrop import studio_product_prob

    prob = studio_product_prob(rgb)
    if prob is None or float((prob >= 0.5).mean()) < 0.01:
        return None
    seed = int(rng.integers(0, 2**31))
    return simulate_shopper_photos(rgb, prob, 1, seed=seed)[0].rgb


def hsv_hist(rgb: np.ndarray) -> np.ndarray:
    """Whole-image HSV 8x4x4 histogram, square-rooted and L2-normalised (Hellinger)."""
    from analyzer.embed.color import hsv_histogram

    return hsv_histogram(rgb, HSV_BINS)


# --- backbone cache ------------------------------------------------------------------------------

def _key(path: Path, tag: str) -> str:
    return hashlib.sha1(f"{path.resolve()}|{tag}".encode()).hexdigest()[:20]


def pooled_once(views: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """GeM and R-MAC from one backbone pass (the two pools of the same feature map)."""
    import torch

    from analyzer.embed.backbone import feature_maps, gem, load_backbone, rmac, to_input

    model = load_backbone("cpu")
    gs, rs = [], []
    for s in range(0, len(views), 16):
        x = to_input(views[s:s + 16], 224)
        with torch.inference_mode():
            fmap = feature_maps(model, x)[0].float()
            gs.append(gem(fmap, 3.0).numpy())
            rs.append(rmac(fmap).numpy())
    return l2_normalize(np.sqrt(np.vstack(gs))), l2_normalize(np.sqrt(np.vstack(rs)))


def cache_training(paths: list[Path], cache: Path, seed: int, studio: set[Path],
                   n_aug: int = N_AUG) -> None:
    """For each training image: the original and ``n_aug`` augmented views (the first a
    simulated shopper photo for studio shots). One .npz per image with gem/rmac/hsv of shape
    (1 + n_aug, .)."""
    from analyzer.io.loader import load_image

    out = cache / "train"
    out.mkdir(parents=True, exist_ok=True)
    todo = [p for p in paths if not (out / f"{_key(p, 'train')}.npz").is_file()]
    t0 = time.time()
    for i in range(0, len(todo), 8):
        batch, names = [], []
        for p in todo[i:i + 8]:
            try:
                rgb = _shrink(load_image(p).rgb)
            except Exception as e:  # one unreadable photo must not stop the run
                print(f"skip {p}: {e}", file=sys.stderr)
                continue
            rng = np.random.default_rng([seed, int(_key(p, "rng")[:8], 16)])
            views = [rgb]
            sv = shopper_view(rgb, rng) if p in studio else None
            if sv is not None:
                views.append(sv)
            while len(views) < 1 + n_aug:
                views.append(augment(rgb, rng))
            batch.append(views)
            names.append(p)
        flat = [v for vs in batch for v in vs]
        if not flat:
            continue
        g, r = pooled_once(flat)
        for j, p in enumerate(names):
            sl = slice(j * (1 + n_aug), (j + 1) * (1 + n_aug))
            np.savez(out / f"{_key(p, 'train')}.npz", gem=g[sl].astype(np.float16),
                     rmac=r[sl].astype(np.float16),
                     hsv=np.stack([hsv_hist(v) for v in batch[j]]).astype(np.float16))
        if (i // 8) % 5 == 0:
            print(f"train views {i + len(batch)}/{len(todo)} {time.time() - t0:.0f}s", flush=True)


def cache_eval_global(paths: list[Path], cache: Path) -> None:
    """The evaluation cache: whole image only (gem, rmac of shape (1, 1280)) and the
    whole-image HSV histogram (the recipes measured need no product mask)."""
    from analyzer.io.loader import load_image

    out = cache / "evalg"
    out.mkdir(parents=True, exist_ok=True)
    todo = []
    for p in dict.fromkeys(paths):
        if not (out / f"{_key(p, 'eval')}.npz").is_file():
            todo.append(p)
    t0 = time.time()
    for i in range(0, len(todo), 8):
        imgs, names = [], []
        for p in todo[i:i + 8]:
            try:
                imgs.append(_shrink(load_image(p).rgb))
                names.append(p)
            except Exception as e:
                print(f"skip {p}: {e}", file=sys.stderr)
        if not names:
            continue
        g, r = pooled_once(imgs)
        for j, p in enumerate(names):
            np.savez(out / f"{_key(p, 'eval')}.npz", gem=g[[j]].astype(np.float16),
                     rmac=r[[j]].astype(np.float16), hsv=hsv_hist(imgs[j]))
        if (i // 8) % 5 == 0:
            print(f"eval images (global) {i + len(names)}/{len(todo)} {time.time() - t0:.0f}s",
                  flush=True)


# --- head ----------------------------------------------------------------------------------------

def load_train(paths: list[Path], cache: Path, pool: str) -> np.ndarray:
    """(n_images, 1+N_AUG, 1280) float32 of the cached training views."""
    arrs = []
    for p in paths:
        f = cache / "train" / f"{_key(p, 'train')}.npz"
        if f.is_file():
            with np.load(f) as z:
                arrs.append(z[pool].astype(np.float32))
    return np.stack(arrs)


def train_head(views: np.ndarray, alpha: float, rank: int, epochs: int, seed: int,
               temp: float = 0.05, batch: int = 256, lr: float = 1e-3,
               wd: float = 1e-4) -> tuple[np.ndarray, np.ndarray]:
    """Fit A (1280 x r), B (r x 1280) of the residual head by symmetric InfoNCE, where each
    image's positives are its other views and the batch's other images are the negatives."""
    import torch

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    x = torch.from_numpy(views)
    d = x.shape[2]
    a = torch.nn.Parameter(torch.randn(d, rank) / np.sqrt(d))
    b = torch.nn.Parameter(torch.zeros(rank, d))
    opt = torch.optim.AdamW([a, b], lr=lr, weight_decay=wd)
    n, v = x.shape[:2]

    def head(f):  # type: ignore[no-untyped-def]
        return torch.nn.functional.normalize(f + alpha * (f @ a) @ b, dim=1)

    for _ in range(epochs):
        perm = rng.permutation(n)
        for s in range(0, n - 1, batch):
            idx = perm[s:s + batch]
            if len(idx) < 2:
                continue
            pick = np.stack([rng.choice(v, 2, replace=False) for _ in idx])
            f1 = head(x[idx, pick[:, 0]])
            f2 = head(x[idx, pick[:, 1]])
            logits = f1 @ f2.T / temp
            tgt = torch.arange(len(idx))
            loss = 0.5 * (torch.nn.functional.cross_entropy(logits, tgt)
                          + torch.nn.functional.cross_entropy(logits.T, tgt))
            opt.zero_grad()
            loss.backward()
            opt.step()
    return a.detach().numpy(), b.detach().numpy()


def apply_head(f: np.ndarray, a: np.ndarray | None, b: np.ndarray | None,
               alpha: float) -> np.ndarray:
    if a is None or b is None:
        return l2_normalize(f)
    return l2_normalize(f + alpha * (f @ a) @ b)


# --- evaluation ----------------------------------------------------------------------------------

def load_eval(paths: list[Path], cache: Path) -> dict[str, np.ndarray]:
    keys = ("gem", "rmac", "hsv")
    out: dict[str, list] = {k: [] for k in keys}
    for p in paths:
        with np.load(cache / "evalg" / f"{_key(p, 'eval')}.npz") as z:
            for k in keys:
                out[k].append(z[k].astype(np.float32))
    return {k: np.stack(v) for k, v in out.items()}


def describe(parts: dict[str, np.ndarray], recipe: dict, head: tuple | None) -> np.ndarray:
    """The descriptor of a recipe: pooled whole image (+ crop), through the head, with colour."""
    if recipe.get("hsv_only"):
        return parts["hsv"]
    f = parts[recipe["pool"]]
    a, b = (head[0], head[1]) if head is not None else (None, None)
    g = apply_head(f[:, 0], a, b, recipe.get("alpha", 0.0))
    v = g
    if recipe.get("crop"):
        v = l2_normalize(g + apply_head(f[:, 1], a, b, recipe.get("alpha", 0.0)))
    wc = recipe.get("w_color", 0.0)
    if wc <= 0:
        return v
    col = parts["hsv"] if recipe.get("color") == "hsv" else parts["col"]
    return np.hstack([np.sqrt(1 - wc ** 2) * v, wc * l2_normalize(col)])


def topk(q: np.ndarray, gal: np.ndarray, target: np.ndarray) -> tuple[float, float, float]:
    sims = q @ gal.T
    rank = (sims > sims[np.arange(len(q)), target][:, None]).sum(axis=1) + 1
    return float((rank <= 1).mean()), float((rank <= 5).mean()), float((1.0 / rank).mean())


def tasks(sp: dict) -> dict[str, tuple[list[Path], list[Path], np.ndarray]]:
    """(queries, gallery, target index) for luma tune/test and grocery tune/test."""
    prods, part = sp["luma"], sp["luma_part"]
    gal = [ims[0] for _, ims in prods]
    out = {}
    for name, which in (("luma_tune", "B"), ("luma_test", "C")):
        q, t = [], []
        for i, (k, ims) in enumerate(prods):
            if part[k] == which:
                q += ims[1:]
                t += [i] * (len(ims) - 1)
        out[name] = (q, gal, np.array(t))
    ic = sp["iconic"]
    ids = sorted(ic)
    pos = {c: i for i, c in enumerate(ids)}
    for name, rows in (("grocery_tune", sp["grocery_tune"]), ("grocery_test", sp["grocery_val"])):
        out[name] = ([p for p, _ in rows], [ic[c] for c in ids],
                     np.array([pos[c] for _, c in rows]))
    return out


def evaluate(sp: dict, cache: Path, recipes: dict[str, dict], heads: dict) -> dict:
    tk = tasks(sp)
    res: dict[str, dict] = {}
    loaded = {n: (load_eval(q, cache), load_eval(g, cache), t) for n, (q, g, t) in tk.items()}
    for label, rc in recipes.items():
        head = heads.get(rc.get("head")) if rc.get("head") else None
        res[label] = {n: topk(describe(q, rc, head), describe(g, rc, head), t)
                      for n, (q, g, t) in loaded.items()}
    return res


def fmt(v: tuple[float, float, float]) -> str:
    return " / ".join(f"{x:.3f}" for x in v)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--stage", choices=("cache", "train", "eval"), required=True)
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    ap.add_argument("--cache", type=Path, default=Path("/tmp/i15"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--grocery-train", type=int, default=300)
    ap.add_argument("--grocery-tune", type=int, default=150)
    ap.add_argument("--clothing", type=int, default=200)
    ap.add_argument("--train-cap", type=int, default=160,
                    help="at most this many training images from each source (luma A, grocery, "
                         "clothing): the backbone runs once per view on a shared 2-core CPU")
    ap.add_argument("--n-aug", type=int, default=N_AUG)
    ap.add_argument("--pools", default="gem,rmac", help="poolings to train heads for")
    ap.add_argument("--write", action="store_true", help="write the chosen head to analyzer/data")
    args = ap.parse_args()
    if not (args.data / "luma").is_dir():
        sys.exit(f"no data at {args.data}")
    sp = splits(args.data, args.seed, args.grocery_train, args.grocery_tune, args.clothing)
    cap = args.train_cap
    train_paths = sp["luma_train"][:cap] + sp["grocery_train"][:cap] + sp["clothing"][:cap]
    args.cache.mkdir(parents=True, exist_ok=True)
    with open(args.cache / "training_data.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["role", "path"])
        for p in sp["luma_train"][:cap]:
            w.writerow(["train_luma_A", p.relative_to(args.data)])
        for p in sp["grocery_train"][:cap]:
            w.writerow(["train_grocery", p.relative_to(args.data)])
        for p in sp["clothing"][:cap]:
            w.writerow(["train_clothing", p.relative_to(args.data)])
        for k, part in sorted(sp["luma_part"].items()):
            w.writerow([f"luma_product_{part}", k])
        for p, _ in sp["grocery_tune"]:
            w.writerow(["tune_grocery_query", p.relative_to(args.data)])
    if args.stage == "cache":
        ev = [p for q, g, _ in tasks(sp).values() for p in q + g]
        cache_eval_global(ev, args.cache)
        cache_training(train_paths, args.cache, args.seed, set(sp["luma_train"]), args.n_aug)
        return
    gfile = args.cache / "grid.json"
    grid = json.loads(gfile.read_text()) if gfile.is_file() else None
    heads: dict = {}
    recipes: dict[str, dict] = {
        "colour histogram (HSV 8x4x4)": {"hsv_only": True},
        "plain global (GeM)": {"pool": "gem"},
        "plain global (R-MAC)": {"pool": "rmac"},
        "plain global (R-MAC) + HSV 0.3": {"pool": "rmac", "w_color": 0.3, "color": "hsv"},
    }
    for pool in args.pools.split(","):
        views = load_train(train_paths, args.cache, pool)
        for alpha, rank, epochs in (grid or [(0.3, 64, 30), (0.3, 256, 30), (1.0, 64, 30),
                                             (0.5, 64, 30), (0.3, 64, 60)]):
            t0 = time.time()
            name = f"{pool}-a{alpha}-r{rank}-e{epochs}"
            heads[name] = train_head(views, alpha, rank, epochs, args.seed)
            print(f"trained {name} on {len(views)} images in {time.time() - t0:.0f}s", flush=True)
            for wc in (0.0, 0.2, 0.3, 0.4):
                lbl = f"head {name}" + (f" + HSV {wc}" if wc else "")
                recipes[lbl] = {"pool": pool, "head": name, "alpha": alpha,
                                "w_color": wc, "color": "hsv"}
    res = evaluate(sp, args.cache, recipes, heads)
    print("| recipe | luma tune t1/t5 | grocery tune t1/t5 | luma never-seen t1/t5/MRR | "
          "grocery never-seen t1/t5/MRR |\n|---|---|---|---|---|")
    for lbl, r in res.items():
        print(f"| {lbl} | {r['luma_tune'][0]:.3f} / {r['luma_tune'][1]:.3f} | "
              f"{r['grocery_tune'][0]:.3f} / {r['grocery_tune'][1]:.3f} | "
              f"{fmt(r['luma_test'])} | {fmt(r['grocery_test'])} |")
    (args.cache / "results.json").write_text(json.dumps(res, indent=1))
    # Choose on the tuning columns only: mean of the four tuning top-1/top-5 figures.
    cand = {k: v for k, v in res.items() if recipes[k].get("head")}
    best = max(cand, key=lambda k: np.mean(cand[k]["luma_tune"][:2] + cand[k]["grocery_tune"][:2]))
    print(f"chosen on tuning data: {best}: never-seen luma {res[best]['luma_test']}, "
          f"grocery {res[best]['grocery_test']}")
    if args.write:
        rc = recipes[best]
        a, b = heads[rc["head"]]
        dest = REPO / "analyzer" / "data" / "embed_head_ssl.npz"
        np.savez_compressed(dest, a=a.astype(np.float16), b=b.astype(np.float16),
                            alpha=np.float32(rc["alpha"]), recipe=json.dumps(rc),
                            seed=args.seed, training_data=np.array(
                                [str(p.relative_to(args.data)) for p in train_paths]))
        print(f"wrote {dest} ({dest.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
