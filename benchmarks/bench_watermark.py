"""Time the watermark finder (analyzer/quality/overlays/watermark.py) on one core.

Luma studio photos resized to 1500 px on the long side and encoded as JPEG (quality 90) are
loaded as the engine loads them (working copy); ``find_watermark`` and, for scale, the text
finder ``find_text`` run ``--repeats`` times on each. Prints the median CPU ms of each, the
watermark finder's ratio to its target (10 ms per image) and to the text finder (a ratio that a
busy machine does not move much).

Usage::

    .venv/bin/python benchmarks/bench_watermark.py [--images 5] [--repeats 10]
"""

from __future__ import annotations

import os

os.environ["OMP_NUM_THREADS"] = "1"

import argparse  # noqa: E402
import io  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
cv2.setNumThreads(1)

from analyzer.config import check_thresholds  # noqa: E402
from analyzer.io.loader import load_image  # noqa: E402
from analyzer.quality.overlays.text import find_text  # noqa: E402
from analyzer.quality.overlays.watermark import find_watermark  # noqa: E402

TARGET_MS = 10.0


def photos(n: int, long_side: int) -> list[np.ndarray]:
    cands = sorted((REPO.parent / "shared" / "data" / "luma").rglob("*_main.jpg"))[:: 7][:n]
    if not cands:
        raise SystemExit("no luma photo found under ../shared/data/luma")
    out = []
    for p in cands:
        im = Image.open(p).convert("RGB")
        s = long_side / max(im.size)
        im = im.resize((round(im.width * s), round(im.height * s)), Image.Resampling.LANCZOS)
        buf = io.BytesIO()
        im.save(buf, format="JPEG", quality=90)
        out.append(load_image(buf.getvalue(), name="bench.jpg").rgb)
    return out


def cpu_ms(fn, repeats: int) -> float:  # type: ignore[no-untyped-def]
    fn()  # warm-up
    ts = []
    for _ in range(repeats):
        c0 = time.process_time()
        fn()
        ts.append(1000 * (time.process_time() - c0))
    return statistics.median(ts)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--images", type=int, default=5)
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--long-side", type=int, default=1500)
    args = ap.parse_args(argv)
    th = check_thresholds("overlays")
    wm, tx = [], []
    for rgb in photos(args.images, args.long_side):
        gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        zone = np.zeros(gray.shape, bool)
        wm.append(cpu_ms(lambda g=gray: find_watermark(g, th), args.repeats))
        tx.append(cpu_ms(lambda r=rgb, z=zone: find_text(r, z, th), args.repeats))
    w, t = statistics.median(wm), statistics.median(tx)
    print(f"{len(wm)} photos at {args.long_side} px (working copy {rgb.shape[1]} x "
          f"{rgb.shape[0]}), load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print("| finder | median CPU ms | target ms | CPU / target |")
    print("|---|---|---|---|")
    print(f"| watermark | {w:.1f} | {TARGET_MS:.0f} | {w / TARGET_MS:.2f} |")
    print(f"| text (for scale) | {t:.1f} | - | watermark / text {w / t:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
