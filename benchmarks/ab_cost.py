"""What a code change costs per photo: the quality engine of two checkouts timed *interleaved*.

Two whole benchmark runs, one per version, disagree by 10-20 ms on a shared machine (the load
changes between them), which is the size of the budgets being checked (issue 14: its measures
may add at most 25 ms a photo). Here four long-lived processes, two per version in swapped
positions, are asked in turn for one photo each, so both versions see the same machine at the
same moment, and a process's own speed (where its memory landed, which core it got: a few ms
either way, measured) cancels out. Each request times ``analyze()`` and a staged pass (decode,
grey + Lab, mask, each check) in CPU ms; the figures are the medians of the paired differences
with their interquartile range.

``before`` is a directory holding another checkout, or a git revision of this repository, which
is checked out for the run into a temporary worktree (``git worktree add --detach``) and removed
after it.

Usage::

    .venv/bin/python benchmarks/bench_quality.py --against 4e103b3 [--pairs 60]
    .venv/bin/python benchmarks/ab_cost.py 4e103b3 --pairs 60 [--model] [--image PATH ...]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
WORKER = Path(__file__).resolve().parent / "ab_worker.py"


@contextlib.contextmanager
def checkout(before: str) -> Iterator[Path]:
    """``before`` as a directory: itself; else a temporary worktree of that git revision."""
    p = Path(before)
    if (p / "analyzer").is_dir():
        yield p.resolve()
        return
    tmp = Path(tempfile.mkdtemp(prefix="listing-lens-ab-"))
    wt = tmp / "before"
    try:
        subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", "-q", str(wt),
                        before], check=True, capture_output=True, text=True)
    except subprocess.CalledProcessError as e:
        shutil.rmtree(tmp, ignore_errors=True)
        raise SystemExit(f"{before!r} is neither a checkout nor a git revision here: "
                         f"{e.stderr.strip()}") from e
    try:
        yield wt
    finally:
        subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(wt)],
                       check=False, capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)


def _quartiles(v: list[float]) -> tuple[float, float, float]:
    if len(v) < 2:
        return (v[0], v[0], v[0]) if v else (0.0, 0.0, 0.0)
    q1, q2, q3 = statistics.quantiles(v, n=4)
    return q1, statistics.median(v), q3


def interleaved(roots: tuple[Path, Path], photos: list[Path], use_model: bool, pairs: int
                ) -> dict[str, tuple[list[float], list[float]]]:
    """Per stage: (times of the first root, of the second), one pair per request."""
    version = (0, 1, 1, 0)  # two processes per version, in swapped positions
    procs = [subprocess.Popen([sys.executable, str(WORKER), str(roots[v]),
                               "1" if use_model else "0", *map(str, photos)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
             for v in version]
    out: dict[str, tuple[list[float], list[float]]] = {}
    try:
        for v, p in zip(version, procs, strict=True):
            word, _, where = (p.stdout.readline() if p.stdout else "").strip().partition(" ")
            if word != "ready":
                raise SystemExit("a timing process failed to start (its error is above)")
            if Path(where) != roots[v].resolve():  # an installed copy would shadow the checkout
                raise SystemExit(f"timing {roots[v]} imported the analyzer from {where}")
        for i in range(pairs):
            pair = (0, 1) if i % 2 == 0 else (2, 3)
            order = pair if (i // 2) % 2 == 0 else pair[::-1]  # who goes first alternates
            got: dict[int, dict[str, float]] = {}
            for k in order:
                assert procs[k].stdin and procs[k].stdout
                procs[k].stdin.write(f"{i}\n")
                procs[k].stdin.flush()
                line = procs[k].stdout.readline()
                if not line:
                    raise SystemExit("a timing process stopped (its error is above)")
                got[version[k]] = json.loads(line)
            for stage in got[1]:
                a, b = out.setdefault(stage, ([], []))
                a.append(got[0].get(stage, 0.0))
                b.append(got[1][stage])
    finally:
        for p in procs:
            p.kill()
            p.wait()
    return out


def report(times: dict[str, tuple[list[float], list[float]]], label: str,
           budget_ms: float | None) -> None:
    print(f"\n{label}: CPU ms per photo, medians over {len(times['analyze()'][0])} pairs")
    print("| stage | before | after | after - before (median of pairs) | IQR |")
    print("|---|---|---|---|---|")
    for stage, (a, b) in times.items():
        q1, med, q3 = _quartiles([y - x for x, y in zip(a, b, strict=True)])
        print(f"| {stage} | {statistics.median(a):.1f} | {statistics.median(b):.1f} | "
              f"{med:+.1f} | {q1:+.1f} .. {q3:+.1f} |")
    if budget_ms:
        a, b = times["analyze()"]
        med = _quartiles([y - x for x, y in zip(a, b, strict=True)])[1]
        print(f"added per photo: {med:+.1f} ms against a budget of {budget_ms:.0f} ms "
              f"(ratio {med / budget_ms:.2f})")


def run(before: str, photos: list[Path], pairs: int, models: tuple[bool, ...],
        budget_ms: float | None = 25.0) -> None:
    with checkout(before) as old:
        print(f"before: {old}  after: {REPO}  photos: {len(photos)}")
        for use_model in models:
            times = interleaved((old, REPO), photos, use_model, pairs)
            report(times, "u2netp mask" if use_model else "classical mask", budget_ms)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("before", help="a checkout directory or a git revision")
    ap.add_argument("--image", type=Path, nargs="*", default=[],
                    help="photos to time (default: bench_quality.py's 1500 px studio JPEG)")
    ap.add_argument("--pairs", type=int, default=60)
    ap.add_argument("--model", action="store_true", help="the u2netp mask (default: classical)")
    ap.add_argument("--budget-ms", type=float, default=25.0)
    args = ap.parse_args(argv)
    photos = list(args.image)
    tmp = None
    if not photos:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from bench_quality import DEFAULT_IMAGE, test_jpeg

        tmp = tempfile.NamedTemporaryFile(suffix=".jpg", delete=False)  # noqa: SIM115
        tmp.write(test_jpeg(DEFAULT_IMAGE, 1500))
        tmp.close()
        photos = [Path(tmp.name)]
    try:
        run(args.before, photos, args.pairs, (args.model,), args.budget_ms)
    finally:
        if tmp is not None:
            Path(tmp.name).unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
