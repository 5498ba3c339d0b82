"""Throughput of `listing-lens analyze` against cleanvision, on the same images, in one run.

Commands, each a whole process timed from outside (wall seconds, the children's CPU seconds,
images/s), run in turn ``--rounds`` times (A B C ... A B C ...), so a drift in the machine's load
hits every command alike; the load average is printed before and after each command, because
on a shared machine the absolute figures mean little and the ratios in the same run are what
counts:

* cleanvision 0.3 (its own virtual environment, a subprocess: its dependencies never mix with
  ours), six checks: dark, light, blurry, low_information, odd_aspect_ratio, grayscale; all
  cores (its default ``n_jobs``);
* ``listing-lens analyze --format json`` (u2netp mask) with ``--workers 1`` and with the
  machine's cores;
* the same with ``--no-model`` (classical mask).

Images: ``--folder DIR``, or a seeded sample of ``--n`` photos from each of luma (studio main
images), grocery in-store and amateur clothing (``../shared/data``), linked into a temporary
folder.

    python3 -m venv /tmp/cv && /tmp/cv/bin/pip install cleanvision
    .venv/bin/python benchmarks/bench_throughput.py [--n 40] [--rounds 1] [--venv /tmp/cv]
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"

CLEANVISION = textwrap.dedent("""
    import sys
    from cleanvision import Imagelab
    lab = Imagelab(data_path=sys.argv[1])
    lab.find_issues({k: {} for k in ("dark", "light", "blurry", "low_information",
                                     "odd_aspect_ratio", "grayscale")}, verbose=False)
    print(len(lab.issues))
""")


def sample(n: int, seed: int) -> list[Path]:
    rng = random.Random(seed)
    luma = sorted((DATA / "luma").rglob("*.jpg"))
    grocery = sorted((DATA / "grocery" / "dataset" / "train").rglob("*.jpg"))
    clothing = sorted((DATA / "clothing").rglob("*.jpg"))
    out: list[Path] = []
    for group in (luma, grocery, clothing):
        out += rng.sample(group, min(n, len(group)))
    return out


def timed(cmd: list[str]) -> dict[str, float]:
    """Wall and CPU seconds (user + sys of the command and its children) of one run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                          cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode not in (0, 2):  # 2: some inputs could not be analysed (still timed)
        raise SystemExit(f"{cmd[:4]} failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall": wall, "cpu": cpu, "load_before": load, "load_after": os.getloadavg()[0]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--folder", type=Path, default=None)
    ap.add_argument("--n", type=int, default=40, help="photos per set (3 sets)")
    ap.add_argument("--seed", type=int, default=18)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--venv", default="/tmp/cv", help="cleanvision's virtual environment")
    ap.add_argument("--workers", default=f"1,{os.cpu_count() or 1}")
    args = ap.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="ll-throughput-") as tmp:
        folder = args.folder
        if folder is None:
            if not DATA.is_dir():
                print(f"no data at {DATA}: give --folder")
                return 0
            folder = Path(tmp) / "images"
            folder.mkdir()
            for i, p in enumerate(sample(args.n, args.seed)):
                (folder / f"{i:04d}_{p.name}").symlink_to(p.resolve())
        n_img = sum(1 for p in folder.rglob("*") if p.is_file())
        ll = [sys.executable, "-m", "analyzer.cli", "analyze", str(folder), "--format", "json"]
        cmds: dict[str, list[str]] = {}
        cv_python = Path(args.venv) / "bin" / "python"
        if cv_python.is_file():
            cmds["cleanvision 6 checks"] = [str(cv_python), "-c", CLEANVISION, str(folder)]
        else:
            print(f"no cleanvision venv at {args.venv}: its row is skipped "
                  f"(python3 -m venv {args.venv} && {args.venv}/bin/pip install cleanvision)")
        for w in (int(x) for x in args.workers.split(",")):
            cmds[f"analyze --workers {w}"] = [*ll, "--workers", str(w)]
            cmds[f"analyze --no-model --workers {w}"] = [*ll, "--no-model", "--workers", str(w)]
        runs: dict[str, list[dict[str, float]]] = {k: [] for k in cmds}
        for r in range(args.rounds):
            for name, cmd in cmds.items():
                runs[name].append(timed(cmd))
                x = runs[name][-1]
                print(f"round {r + 1} {name:<32} {x['wall']:7.1f} s wall {x['cpu']:7.1f} s CPU  "
                      f"load {x['load_before']:.1f} -> {x['load_after']:.1f}", flush=True)

    print(f"\n{n_img} images, {os.cpu_count()} cores, median of {args.rounds} round(s)")
    print(f"{'command':<34}{'wall s':>8}{'CPU s':>8}{'img/s':>8}{'CPU ms/img':>11}"
          f"{'vs cleanvision':>15}  load avg (1 min) during")
    ref = None
    if "cleanvision 6 checks" in runs:
        ref = n_img / statistics.median(x["wall"] for x in runs["cleanvision 6 checks"])
    for name, xs in runs.items():
        wall = statistics.median(x["wall"] for x in xs)
        cpu = statistics.median(x["cpu"] for x in xs)
        rate = n_img / wall
        ratio = f"{rate / ref:.2f}x" if ref else "-"
        loads = ", ".join(f"{x['load_before']:.1f}-{x['load_after']:.1f}" for x in xs)
        print(f"{name:<34}{wall:8.1f}{cpu:8.1f}{rate:8.2f}{1000 * cpu / n_img:11.0f}{ratio:>15}"
              f"  {loads}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
