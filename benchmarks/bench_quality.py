"""Time the whole quality engine on one core: ``analyze()`` of a 1500 px JPEG.

A real luma studio photo is resized to 1500 px on its long side and encoded as JPEG (quality 90);
``analyze(bytes)`` runs on it ``--repeats`` times with the neural mask (u2netp) and without it
(the classical fallback), single-threaded (OMP, OpenCV and onnxruntime set to one thread). It
prints the median and 90th percentile wall time, the median CPU time of the process (on a shared
machine the CPU time is the fairer per-core figure), the ratio to the targets (<= 150 ms without
the mask model, <= 350 ms with it), and a per-stage breakdown (decode, mask, each check).

With ``--mixed N`` it also prints the per-image CPU of ``analyze()``, of the overlays check and of
its text finder alone on a mixed set of real photos (N luma studio shots, N grocery in-store
photos, N amateur clothing photos: ``bench_throughput.sample(N, 18)``; the mask is computed once
per photo outside the overlays timings), the figures issue 14 asks of the text finder's cost.

Usage::

    .venv/bin/python benchmarks/bench_quality.py [--repeats 15] [--image PATH] [--long-side 1500]
    .venv/bin/python benchmarks/bench_quality.py --repeats 9 --mixed 20
    .venv/bin/python benchmarks/bench_quality.py --against 4e103b3   # before / after issue 14

With ``--against REV_OR_DIR`` it prints instead what this checkout costs per photo over another
(a git revision or a checkout directory): both versions' ``analyze()`` and per-stage CPU timed
*interleaved* by ``benchmarks/ab_cost.py`` (two runs made one after the other differ by 10-20 ms
on a shared machine, the size of the budget), with the ratio to issue 14's 25 ms budget.
"""

from __future__ import annotations

import os

os.environ["OMP_NUM_THREADS"] = "1"
os.environ["OPENBLAS_NUM_THREADS"] = "1"
os.environ["MKL_NUM_THREADS"] = "1"
os.environ["LISTING_LENS_ORT_THREADS"] = "1"

import argparse  # noqa: E402
import io  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import cv2  # noqa: E402
from PIL import Image  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))
cv2.setNumThreads(1)

from analyzer.config import marketplace  # noqa: E402
from analyzer.engine import analyze  # noqa: E402
from analyzer.io.loader import load_image  # noqa: E402
from analyzer.quality.context import ImageContext  # noqa: E402
from analyzer.quality.registry import checks  # noqa: E402
from analyzer.vision.mask import model_available  # noqa: E402

TARGET_MS = {False: 150.0, True: 350.0}
DEFAULT_IMAGE = (REPO.parent / "shared" / "data" / "luma" / "pub" / "media" / "catalog" /
                 "product" / "m" / "h" / "mh01-black_main.jpg")


def test_jpeg(path: Path | None, long_side: int) -> bytes:
    if path is None or not path.is_file():
        cands = sorted((REPO.parent / "shared" / "data" / "luma").rglob("*_main.jpg"))
        if not cands:
            raise SystemExit("no luma photo found; pass --image PATH")
        path = cands[0]
    im = Image.open(path).convert("RGB")
    s = long_side / max(im.size)
    im = im.resize((round(im.width * s), round(im.height * s)), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    im.save(buf, format="JPEG", quality=90)
    print(f"image: {path.name} resized to {im.width} x {im.height} px, "
          f"{len(buf.getvalue()) / 1024:.0f} KB JPEG")
    return buf.getvalue()


def time_analyze(data: bytes, use_model: bool, repeats: int) -> tuple[list[float], list[float]]:
    analyze(data, name="bench.jpg", use_model=use_model)  # warm-up: model session, imports
    wall, cpu = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        r = analyze(data, name="bench.jpg", use_model=use_model)
        wall.append(1000 * (time.perf_counter() - t0))
        cpu.append(1000 * (time.process_time() - c0))
        assert r.ok, r.error
    return wall, cpu


def stages(data: bytes, use_model: bool, repeats: int) -> dict[str, float]:
    """Median CPU ms of each stage: decode, mask, each check."""
    out: dict[str, list[float]] = {}
    fns = checks()
    for _ in range(repeats):
        c0 = time.process_time()
        img = load_image(data, name="bench.jpg")
        out.setdefault("decode", []).append(time.process_time() - c0)
        ctx = ImageContext(img, marketplace(), use_model=use_model)
        c0 = time.process_time()
        ctx.gray, ctx.lab  # noqa: B018 - shared derivatives, computed once per image
        out.setdefault("gray+lab", []).append(time.process_time() - c0)
        c0 = time.process_time()
        ctx.mask_result  # noqa: B018
        out.setdefault("mask", []).append(time.process_time() - c0)
        for name, fn in fns.items():
            c0 = time.process_time()
            fn(ctx)
            out.setdefault(name, []).append(time.process_time() - c0)
    return {k: 1000 * statistics.median(v) for k, v in out.items()}


def mixed(n: int) -> None:
    """Mean and median CPU ms per photo of analyze() (u2netp), the overlays check and its text
    finder on ``bench_throughput.sample(n, 18)``."""
    from bench_throughput import sample

    from analyzer.quality import overlays
    from analyzer.quality.overlays.text import find_text

    paths = sample(n, 18)
    if not paths:
        print("\nmixed set: no photos under ../shared/data")
        return
    out: dict[str, list[float]] = {"analyze()": [], "overlays check": [], "find_text": []}
    analyze(paths[0].read_bytes(), name=paths[0].name)  # warm-up
    for p in paths:
        data = p.read_bytes()
        c0 = time.process_time()
        analyze(data, name=p.name)
        out["analyze()"].append(time.process_time() - c0)
        ctx = ImageContext(load_image(data, name=p.name), marketplace(), use_model=True)
        ctx.gray, ctx.lab, ctx.mask_result  # noqa: B018 - shared inputs, timed elsewhere
        c0 = time.process_time()
        overlays.check(ctx)
        out["overlays check"].append(time.process_time() - c0)
        th = ctx.thresholds("overlays")
        zone, _, lab_s, _ = overlays.text_zone(ctx, th)
        c0 = time.process_time()
        find_text(ctx.rgb, zone, th, ctx.image.scale == 1.0, ctx.gray_u8, lab_s)  # as the check
        out["find_text"].append(time.process_time() - c0)
    print(f"\nmixed set ({n} luma + {n} grocery in-store + {n} clothing photos, u2netp mask), "
          "CPU ms per photo: " + ", ".join(
              f"{k} mean {1000 * statistics.mean(v):.0f} / median {1000 * statistics.median(v):.0f}"
              for k, v in out.items()))


def against(before: str, data: bytes, pairs: int, n_mixed: int) -> int:
    """Before / after per-stage CPU of this photo, both masks, interleaved, and with
    ``n_mixed`` of the mixed set's photos (``--mixed``) too; the budget is issue 14's 25 ms."""
    import tempfile

    from ab_cost import run
    from bench_throughput import sample

    models = (False, True) if model_available() else (False,)
    with tempfile.TemporaryDirectory() as d:
        photo = Path(d) / "bench.jpg"
        photo.write_bytes(data)
        run(before, [photo], pairs, models)
    if n_mixed:
        photos = sample(n_mixed, 18)
        if photos:
            print(f"\nmixed set: {n_mixed} luma + {n_mixed} in-store + {n_mixed} clothing photos")
            run(before, photos, max(pairs, len(photos)), models)
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--image", type=Path, default=DEFAULT_IMAGE)
    ap.add_argument("--long-side", type=int, default=1500)
    ap.add_argument("--mixed", type=int, default=0, metavar="N",
                    help="also time N photos of each real set (luma, in-store, clothing)")
    ap.add_argument("--against", metavar="REV_OR_DIR",
                    help="instead: the cost per photo before (this revision or checkout) and "
                         "after (this checkout), timed interleaved (benchmarks/ab_cost.py)")
    ap.add_argument("--pairs", type=int, default=60, help="with --against: timed pairs per mask")
    args = ap.parse_args(argv)

    data = test_jpeg(args.image, args.long_side)
    if args.against:
        return against(args.against, data, args.pairs, args.mixed)
    print(f"threads: 1 (OMP, OpenCV, onnxruntime); u2netp available: {model_available()}; "
          f"load average now: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores\n")
    print("| mode | median wall ms | p90 wall ms | median CPU ms | target ms | "
          "CPU / target |")
    print("|---|---|---|---|---|---|")
    for use_model in (False, True):
        if use_model and not model_available():
            print("| with u2netp mask | (model not installed) | | | | |")
            continue
        wall, cpu = time_analyze(data, use_model, args.repeats)
        p90 = sorted(wall)[int(0.9 * (len(wall) - 1))]
        med_cpu = statistics.median(cpu)
        label = "with u2netp mask" if use_model else "without (classical mask)"
        print(f"| {label} | {statistics.median(wall):.0f} | {p90:.0f} | {med_cpu:.0f} | "
              f"{TARGET_MS[use_model]:.0f} | {med_cpu / TARGET_MS[use_model]:.2f} |")
    for use_model in (False, True):
        if use_model and not model_available():
            continue
        st = stages(data, use_model, max(3, args.repeats // 3))
        print(f"\nper-stage median CPU ms ({'u2netp' if use_model else 'classical'} mask): "
              + ", ".join(f"{k} {v:.0f}" for k, v in st.items()))
    if args.mixed:
        mixed(args.mixed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
