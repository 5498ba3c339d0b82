"""Speed and agreement of the product mask: u2netp at smaller input sizes, the classical fallback.

For each u2netp input size, the time per call (single onnxruntime thread, CPU time of this process,
so other load on the machine does not inflate it; wall time printed beside it) and the IoU of its
binary mask with u2netp's native 320 x 320 mask, on N luma studio shots, N amateur clothing photos
and N in-store grocery photos. The classical fallback (border colour + GrabCut) is measured the same
way. Reference masks are cached under /tmp/ll_bench_mask.

``--grabcut SIDExITERS ...`` measures the classical mask at each GrabCut setting instead of the
configured one (``segmentation.mask.grabcut_side`` / ``grabcut_iters``), with the CPU per set
(GrabCut runs only off white backdrops: in-store and most clothing photos) and, beside the IoU with
u2netp, the IoU with the configured setting's own mask (how much the output moves). ``--seed``
draws another sample (tune on one seed, confirm on another).

Usage::

    .venv/bin/python benchmarks/bench_mask.py                 # 50 per set; sizes 320 256 224 192
    .venv/bin/python benchmarks/bench_mask.py --n 20 --sizes 224
    .venv/bin/python benchmarks/bench_mask.py --n 30 --sizes --grabcut 192x3 192x2 160x2 128x2
"""

from __future__ import annotations

import argparse
import csv
import os
import pickle
import random
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import cv2  # noqa: E402
import numpy as np  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from analyzer.io.loader import load_image  # noqa: E402
from analyzer.vision import mask as M  # noqa: E402

DATA = REPO.parent / "shared" / "data"
CACHE = Path("/tmp/ll_bench_mask")
cv2.setNumThreads(1)


def sample(n: int, seed: int = 0) -> dict[str, list[Path]]:
    rng = random.Random(seed)
    with open(DATA / "luma" / "MANIFEST_products.csv", newline="") as f:
        luma = [DATA / "luma" / r["images"].split("|")[0] for r in csv.DictReader(f)]
    clothing = sorted((DATA / "clothing" / "images").glob("*.jpg"))
    base = DATA / "grocery" / "dataset"
    instore = [base / ln.split(",")[0].strip()
               for ln in (base / "train.txt").read_text().splitlines() if ln.strip()]
    return {k: sorted(rng.sample(v, min(n, len(v))))
            for k, v in (("luma", luma), ("clothing", clothing), ("instore", instore))}


def session(size: int):  # type: ignore[no-untyped-def]
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    src = str(M.u2netp_path()) if size == M.MODEL_SIZE else M._dynamic_model(M.u2netp_path())
    return ort.InferenceSession(src, sess_options=opts, providers=["CPUExecutionProvider"])


def run(sess, rgb: np.ndarray, size: int) -> np.ndarray:  # type: ignore[no-untyped-def]
    """Same pre/post-processing as analyzer.vision.mask.u2netp_prob, at ``size``."""
    x = cv2.resize(rgb, (size, size), interpolation=cv2.INTER_AREA).astype(np.float32)
    x = (x / max(float(x.max()), 1.0) - M._MEAN) / M._STD
    out = sess.run([sess.get_outputs()[0].name],
                   {sess.get_inputs()[0].name: np.ascontiguousarray(x.transpose(2, 0, 1)[None])})
    o = out[0][0, 0]
    o = (o - o.min()) / max(float(o.max() - o.min()), 1e-6)
    return cv2.resize(o.astype(np.float32), rgb.shape[1::-1]) >= 0.5


def iou(a: np.ndarray, b: np.ndarray) -> float:
    u = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / u) if u else 1.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=50, help="images per set")
    ap.add_argument("--sizes", type=int, nargs="*", default=[320, 256, 224, 192])
    ap.add_argument("--no-classical", action="store_true")
    ap.add_argument("--grabcut", nargs="+", default=None, metavar="SIDExITERS",
                    help="classical mask at these GrabCut settings, e.g. 192x3 160x2")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    if not M.model_available():
        raise SystemExit("u2netp is not installed")
    CACHE.mkdir(parents=True, exist_ok=True)
    sets = sample(args.n, args.seed)
    images = [(k, load_image(p).rgb) for k, ps in sets.items() for p in ps]
    ref_file = CACHE / f"ref320_n{args.n}_s{args.seed}.pkl"
    if ref_file.exists():
        ref = pickle.loads(ref_file.read_bytes())
    else:
        s320 = session(M.MODEL_SIZE)
        ref = [run(s320, rgb, M.MODEL_SIZE) for _, rgb in images]
        ref_file.write_bytes(pickle.dumps(ref))
    print(f"{'mask':<16} {'cpu ms':>7} {'wall ms':>8} " +
          " ".join(f"{'IoU ' + k:>13}" for k in sets) + "   (IoU vs u2netp 320; mean / p10)")
    variants: list[tuple[str, object]] = [(f"u2netp {s}", s) for s in args.sizes]
    if args.grabcut:
        grabcut_grid(images, ref, list(sets), args.grabcut)
        return
    if not args.no_classical:
        variants.append(("classical", None))
    for label, size in variants:
        sess = session(size) if size else None
        cpu, wall, scores = [], [], {k: [] for k in sets}
        for (k, rgb), r in zip(images, ref, strict=True):
            t0, c0 = time.perf_counter(), time.process_time()
            b = run(sess, rgb, size) if size else M.classical_prob(rgb) >= 0.5
            cpu.append(time.process_time() - c0)
            wall.append(time.perf_counter() - t0)
            scores[k].append(iou(b, r))
        print(f"{label:<16} {np.median(cpu) * 1e3:7.0f} {np.median(wall) * 1e3:8.0f} " +
              " ".join(f"{np.mean(v):6.3f}/{np.percentile(v, 10):5.3f}" for v in scores.values()),
              flush=True)


def grabcut_grid(images: list[tuple[str, np.ndarray]], ref: list[np.ndarray], keys: list[str],
                 settings: list[str]) -> None:
    """The classical mask at each GrabCut ``SIDExITERS``; rounds interleave the settings (A B A B)
    so a drift in the machine's load hits each alike; CPU is the mean per image of a set."""
    grid = [tuple(int(v) for v in s.lower().split("x")) for s in settings]
    cfg = M._cfg()
    today = (int(cfg.get("grabcut_side", 192)), int(cfg.get("grabcut_iters", 3)))
    base = [M.classical_prob(rgb) >= 0.5 for _, rgb in images]
    cpu: dict[tuple[int, ...], dict[str, list[float]]] = {g: {k: [] for k in keys} for g in grid}
    out: dict[tuple[int, ...], list[np.ndarray]] = {g: [] for g in grid}
    for i, (k, rgb) in enumerate(images):
        for g in grid:
            c0 = time.process_time()
            b = M.classical_prob(rgb, grabcut_side=g[0], grabcut_iters=g[1]) >= 0.5
            cpu[g][k].append(time.process_time() - c0)
            if len(out[g]) == i:
                out[g].append(b)
    print(f"configured: {today[0]}x{today[1]}")
    print(f"{'side x iters':<13}" + "".join(f"{'cpu ms ' + k:>18}" for k in keys) +
          "".join(f"{'IoU u2 ' + k:>18}" for k in keys) +
          "".join(f"{'vs cfg ' + k:>18}" for k in keys))
    for g in grid:
        per = {k: [j for j, (kk, _) in enumerate(images) if kk == k] for k in keys}
        row = f"{g[0]:>4} x {g[1]:<6}"
        row += "".join(f"{np.mean(cpu[g][k]) * 1e3:18.1f}" for k in keys)
        row += "".join(f"{np.mean([iou(out[g][j], ref[j]) for j in per[k]]):18.3f}"
                       for k in keys)
        row += "".join(f"{np.mean([iou(out[g][j], base[j]) for j in per[k]]):18.3f}"
                       for k in keys)
        print(row, flush=True)

if __name__ == "__main__":
    main()
