"""How fast hostile inputs are refused and how much memory the biggest valid ones take.

Run: .venv/bin/python benchmarks/bench_hostile.py [--repeat 5] [--skip-png]

Prints, for the limits in analyzer/data/thresholds.yaml:
- the PNG decompression bomb (50,000 x 50,000 px claimed): time to refuse, peak RSS rise;
- a valid 12,000 x 12,000 JPEG (144 MP): load time, peak RSS rise;
- a valid 12,000 x 12,000 RGBA PNG (144 MP, the worst valid non-JPEG case): same;
- a zip bomb (30 x 40 MB members = 1.2 GB declared): time to refuse;
- a legitimate 300-image zip: time to read every member, peak RSS rise (members stream);
- responsiveness: the latency of loading an ordinary photo while another thread keeps feeding
  bombs to the loader, against the same latency with no bombs.
Each memory figure comes from a fresh interpreter (ru_maxrss after - before the operation).
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from corpus import _huge_jpeg, png_bomb, product_photo, write_zip_bomb  # noqa: E402

from analyzer.config import limits  # noqa: E402
from analyzer.errors import ListingLensError  # noqa: E402
from analyzer.io.archive import iter_zip_images  # noqa: E402
from analyzer.io.loader import load_image  # noqa: E402

# VmHWM (not ru_maxrss: Linux carries the parent's ru_maxrss into a child across fork/exec),
# reset through clear_refs right before the operation so imports do not count.
_MEASURE = """
import json, sys, time
from analyzer.errors import ListingLensError

def status(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024

kind, path = sys.argv[1], sys.argv[2]
if kind == "zip":
    from analyzer.io.archive import iter_zip_images
else:
    from analyzer.io.loader import load_image
base = status("VmRSS")
try:
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
except OSError:
    pass
t = time.perf_counter()
code = None
try:
    if kind == "zip":
        n = sum(len(m.data or b"") for m in iter_zip_images(path))
    else:
        load_image(path)
except ListingLensError as e:
    code = e.code.value
dt = time.perf_counter() - t
peak = status("VmHWM")
print(json.dumps({"seconds": dt, "rss_rise_mb": peak - base, "peak_rss_mb": peak,
                  "code": code}))
"""


def measure(kind: str, path: Path) -> dict:
    out = subprocess.run([sys.executable, "-c", _MEASURE, kind, str(path)], capture_output=True,
                         text=True, cwd=REPO, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def timed(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def refuse(fn) -> None:
    try:
        fn()
    except ListingLensError:
        return
    raise AssertionError("expected a ListingLensError")


def responsiveness(photo: bytes, bomb: bytes, repeat: int) -> tuple[float, float]:
    quiet = timed(lambda: load_image(photo), repeat * 4)
    stop = threading.Event()

    def attacker() -> None:
        while not stop.is_set():
            refuse(lambda: load_image(bomb))

    th = threading.Thread(target=attacker, daemon=True)
    th.start()
    try:
        busy = timed(lambda: load_image(photo), repeat * 4)
    finally:
        stop.set()
        th.join()
    return quiet, busy


def app_timings(uploads: dict[str, tuple[str, bytes]]) -> dict[str, float]:
    """Wall time of one dashboard script run (Streamlit AppTest, in-process) per upload, after
    a warm-up run that loads the models: the server time one user's upload occupies."""
    from streamlit.testing.v1 import AppTest

    out = {}
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=600)
    at.run()
    for label, (name, data) in uploads.items():
        at = AppTest.from_file(str(REPO / "app.py"), default_timeout=600)
        at.run()
        at.file_uploader[0].set_value([(name, data, "application/octet-stream")])
        t = time.perf_counter()
        at.run()
        out[label] = time.perf_counter() - t
        errors = " ".join(e.value for e in at.error)
        out[label + " error"] = errors[:120]
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--skip-png", action="store_true", help="skip the 144 MP PNG (slow to make)")
    ap.add_argument("--app", action="store_true",
                    help="also time dashboard script runs (AppTest) for bomb and photo uploads")
    args = ap.parse_args()
    lim = limits()
    print(f"limits: max_pixels={lim['max_pixels']:,} max_file_mb={lim['max_file_mb']} "
          f"max_zip_mb={lim['max_zip_mb']} max_zip_members={lim['max_zip_members']} "
          f"max_zip_uncompressed_mb={lim['max_zip_uncompressed_mb']}")
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        bomb = png_bomb()
        (tmp / "bomb.png").write_bytes(bomb)
        t = timed(lambda: refuse(lambda: load_image(bomb)), args.repeat * 10)
        m = measure("image", tmp / "bomb.png")
        print(f"PNG bomb 50,000 x 50,000 ({len(bomb)} bytes): refused in {t * 1e3:.2f} ms "
              f"({m['code']}), RSS rise {m['rss_rise_mb']:.1f} MB")

        (tmp / "huge.jpg").write_bytes(_huge_jpeg())
        runs = [measure("image", tmp / "huge.jpg") for _ in range(3)]
        print(f"JPEG 12,000 x 12,000 ({(tmp / 'huge.jpg').stat().st_size / 1e6:.1f} MB file): "
              f"load {statistics.median(r['seconds'] for r in runs):.2f} s, RSS rise "
              f"{max(r['rss_rise_mb'] for r in runs):.0f} MB (peak RSS "
              f"{max(r['peak_rss_mb'] for r in runs):.0f} MB)")

        if not args.skip_png:
            from PIL import Image, ImageDraw

            im = Image.new("RGBA", (12_000, 12_000), (255, 255, 255, 0))
            ImageDraw.Draw(im).rectangle([2000, 2000, 10000, 10000], fill=(200, 40, 40, 255))
            im.save(tmp / "huge.png", compress_level=1)
            del im
            r = measure("image", tmp / "huge.png")
            print(f"PNG RGBA 12,000 x 12,000 ({(tmp / 'huge.png').stat().st_size / 1e6:.1f} MB "
                  f"file): load {r['seconds']:.2f} s, RSS rise {r['rss_rise_mb']:.0f} MB "
                  f"(peak RSS {r['peak_rss_mb']:.0f} MB)")

        zb = write_zip_bomb(tmp / "bomb.zip", members=30, member_mb=40)
        t = timed(lambda: refuse(lambda: iter_zip_images(zb)), args.repeat)
        print(f"zip bomb (30 x 40 MB declared = 1.2 GB, {zb.stat().st_size / 1e6:.1f} MB file): "
              f"refused in {t * 1e3:.1f} ms")

        import zipfile

        photo_buf = io.BytesIO()
        product_photo((1600, 1600), seed=3).save(photo_buf, "JPEG", quality=92)
        photo = photo_buf.getvalue()
        zp = tmp / "shop.zip"
        with zipfile.ZipFile(zp, "w", zipfile.ZIP_STORED) as zf:
            for i in range(300):
                zf.writestr(f"shop/item_{i:03d}.jpg", photo + i.to_bytes(4, "big"))
        r = measure("zip", zp)
        print(f"zip of 300 photos ({zp.stat().st_size / 1e6:.0f} MB): read every member in "
              f"{r['seconds']:.2f} s, RSS rise {r['rss_rise_mb']:.0f} MB (members stream one "
              "at a time)")

        quiet, busy = responsiveness(photo, bomb, args.repeat)
        print(f"ordinary 1600 px photo load: {quiet * 1e3:.0f} ms alone, {busy * 1e3:.0f} ms "
              "while another thread feeds PNG bombs to the loader non-stop")

        if args.app:
            t = app_timings({"PNG bomb": ("bomb.png", bomb),
                             "zip bomb": ("bomb.zip", zb.read_bytes()),
                             "ordinary photo": ("photo.jpg", photo)})
            for label in ("PNG bomb", "zip bomb", "ordinary photo"):
                print(f"dashboard run with one upload, {label}: {t[label]:.2f} s "
                      f"[{t[label + ' error'] or 'analysed'}]")


if __name__ == "__main__":
    main()
