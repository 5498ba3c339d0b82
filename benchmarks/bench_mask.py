"""Speed and agreement of the product mask: u2netp at smaller input sizes, the classical fallback.

For each u2netp input size, the time per call (single onnxruntime thread, CPU time of this process,
so other load on the machine does not inflate it; wall time printed beside it) and the IoU of its
binary mask with u2netp's native 320 x 320 mask, on N luma studio shots, N amateur clothing photos
and N in-store grocery photos. The classical fallback (border colour + GrabCut) is measured the same
way. Reference masks are cached under /tmp/ll_bench_mask.

Usage::

    .venv/bin/python benchmarks/bench_mask.py                 # 50 per set; sizes 320 256 224 192
    .venv/bin/python benchmarks/bench_mask.py --n 20 --sizes 224
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
    ap.add_argument("--sizes", type=int, nargs="+", default=[320, 256, 224, 192])
    ap.add_argument("--no-classical", action="store_true")
    args = ap.parse_args()
    if not M.model_available():
        raise SystemExit("u2netp is not installed")
    CACHE.mkdir(parents=True, exist_ok=True)
    sets = sample(args.n)
    images = [(k, load_image(p).rgb) for k, ps in sets.items() for p in ps]
    ref_file = CACHE / f"ref320_n{args.n}.pkl"
    if ref_file.exists():
        ref = pickle.loads(ref_file.read_bytes())
    else:
        s320 = session(M.MODEL_SIZE)
        ref = [run(s320, rgb, M.MODEL_SIZE) for _, rgb in images]
        ref_file.write_bytes(pickle.dumps(ref))
    print(f"{'mask':<16} {'cpu ms':>7} {'wall ms':>8} " +
          " ".join(f"{'IoU ' + k:>13}" for k in sets) + "   (IoU vs u2netp 320; mean / p10)")
    variants: list[tuple[str, object]] = [(f"u2netp {s}", s) for s in args.sizes]
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


if __name__ == "__main__":
    main()
