"""One side of ``ab_cost.py``: a long-lived process that times the quality engine of the checkout
at ROOT, one photo per request.

Usage (by ab_cost.py, not by hand): ``python ab_worker.py ROOT 0|1 PHOTO [PHOTO ...]``; each line
``i`` on stdin times photo ``i % n`` once and answers one JSON line: CPU ms of ``analyze()`` and of
each stage (decode, grey + Lab, mask, each registered check) of a second, staged pass. Runs on
one thread (OMP, OpenCV, onnxruntime), as ``bench_quality.py`` does.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

os.environ["OMP_NUM_THREADS"] = "1"
os.environ["OPENBLAS_NUM_THREADS"] = "1"
os.environ["MKL_NUM_THREADS"] = "1"
os.environ["LISTING_LENS_ORT_THREADS"] = "1"


def main() -> int:
    root, use_model, paths = sys.argv[1], sys.argv[2] == "1", sys.argv[3:]
    sys.path.insert(0, root)  # the checkout under test, not this one
    import cv2

    cv2.setNumThreads(1)
    from analyzer.config import marketplace
    from analyzer.engine import analyze
    from analyzer.io.loader import load_image
    from analyzer.quality.context import ImageContext
    from analyzer.quality.registry import checks

    datas = [open(p, "rb").read() for p in paths]  # noqa: SIM115 - read once, closed by GC
    fns = checks()

    def staged(data: bytes) -> dict[str, float]:
        out: dict[str, float] = {}
        c0 = time.process_time()
        ctx = ImageContext(load_image(data, name="bench.jpg"), marketplace(),
                           use_model=use_model)
        out["decode"] = time.process_time() - c0
        for stage, get in (("gray+lab", lambda: (ctx.gray, ctx.lab)),
                           ("mask", lambda: ctx.mask_result)):
            c0 = time.process_time()
            get()
            out[stage] = time.process_time() - c0
        for name, fn in fns.items():
            c0 = time.process_time()
            fn(ctx)
            out[name] = time.process_time() - c0
        return {k: 1000 * v for k, v in out.items()}

    for d in datas[:2]:  # warm-up: imports, the model session, caches
        analyze(d, name="bench.jpg", use_model=use_model)
    import analyzer

    print("ready", Path(analyzer.__file__).resolve().parents[1], flush=True)
    for line in sys.stdin:
        data = datas[int(line) % len(datas)]
        c0 = time.process_time()
        analyze(data, name="bench.jpg", use_model=use_model)
        res = {"analyze()": 1000 * (time.process_time() - c0), **staged(data)}
        print(json.dumps(res), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
