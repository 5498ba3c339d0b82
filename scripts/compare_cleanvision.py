"""Compare our sharpness and exposure scores with the open-source peer cleanvision.

On the same images (luma main images; the same images Gaussian-blurred at sigma 2-3 px at
1000 px; darkened by 1.5-2.5 stops; brightened by 1-2 stops, made by scripts/evaluate_quality.py)
this prints the AUROC of cleanvision's ``blurry``, ``dark`` and ``light`` scores and of ours at
separating the originals from the degraded copies, and how often each tool flags the sharp
originals.

cleanvision runs in its own virtual environment, as a subprocess, so its dependencies never mix
with ours::

    python3 -m venv /work/cleanvision-venv
    /work/cleanvision-venv/bin/pip install cleanvision

Without that venv the script says so and exits 0 (it is an evaluation script, not a test).
cleanvision's blur score is the standard deviation of PIL's FIND_EDGES filter on a copy at most
64 px on its long side (cleanvision 0.3, ``MAX_RESOLUTION_FOR_BLURRY_DETECTION``); its scores are
in [0, 1] with 1 = no issue.

Usage::

    .venv/bin/python scripts/compare_cleanvision.py [--limit 60] [--venv /work/cleanvision-venv]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import evaluate_quality as ev  # noqa: E402

DEFAULT_VENV = Path("/work/cleanvision-venv")

CLEANVISION_RUNNER = textwrap.dedent("""
    import sys
    from cleanvision import Imagelab
    lab = Imagelab(data_path=sys.argv[1])
    lab.find_issues({"blurry": {}, "dark": {}, "light": {}}, n_jobs=1, verbose=False)
    lab.issues.to_csv(sys.argv[2])
""")


def run_cleanvision(python: Path, folder: Path, out_csv: Path) -> None:
    proc = subprocess.run([str(python), "-c", CLEANVISION_RUNNER, str(folder), str(out_csv)],
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if proc.returncode != 0:  # its progress bars go to stderr: show them only on failure
        raise SystemExit(f"cleanvision failed (exit {proc.returncode}):\n{proc.stderr[-2000:]}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--limit", type=int, default=60, help="luma images (0 = all 199)")
    ap.add_argument("--venv", default=str(DEFAULT_VENV))
    ap.add_argument("--no-model", action="store_true", help="classical mask for our scores")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    python = Path(args.venv) / "bin" / "python"
    if not python.is_file():
        print(f"cleanvision venv not found at {args.venv}: skipping the comparison.\n"
              f"Create it with: python3 -m venv {args.venv} && "
              f"{args.venv}/bin/pip install cleanvision")
        return 0
    if not (ev.DATA / "luma").is_dir():
        print(f"no data at {ev.DATA}: skipping the comparison")
        return 0
    names = {"luma", "luma_blur", "luma_dark", "luma_bright"}
    sets = ev.build_sets(names, args.limit, args.seed)

    import pandas as pd

    with tempfile.TemporaryDirectory(prefix="ll_cleanvision_") as tmp:
        folder = Path(tmp) / "images"
        folder.mkdir()
        origin = {}
        for sname, paths in sets.items():
            for p in paths:
                q = folder / f"{sname}__{p.name}"
                shutil.copyfile(p, q)
                origin[q.name] = sname
        out_csv = Path(tmp) / "issues.csv"
        print(f"running cleanvision on {len(origin)} images ...", flush=True)
        run_cleanvision(python, folder, out_csv)
        cv = pd.read_csv(out_csv, index_col=0)
    cv["set"] = [origin[Path(i).name] for i in cv.index]

    checks = ev.import_checks(["sharpness", "exposure"])
    evaluator = ev.Evaluator(checks, "amazon", not args.no_model, ev.CACHE_DIR)
    ours = {s: [evaluator.run(p) for p in paths] for s, paths in sets.items()}

    def cv_col(s: str, col: str) -> list[float]:
        return cv.loc[cv["set"] == s, col].astype(float).tolist()

    def our(s: str, key: str) -> list[float]:
        return [r["scores"].get(key) for r in ours[s] if "error" not in r]

    def base(s: str, key: str, sign: float = 1.0) -> list[float]:
        return [sign * r["baseline"][key] for r in ours[s] if "error" not in r]

    rows = [
        ("blur: original vs blurred", "luma_blur", "blurry_score", "sharpness",
         ("laplacian_var", 1.0)),
        ("dark: original vs darkened", "luma_dark", "dark_score", "exposure",
         ("mean_luma", 1.0)),
        ("light: original vs brightened", "luma_bright", "light_score", "exposure",
         ("mean_luma", -1.0)),
    ]
    n = len(sets["luma"])
    print(f"\nAUROC on {n} luma main images vs the same degraded (1.0 = perfect, 0.5 = chance)\n")
    print("| comparison | cleanvision | ours | whole-image baseline |")
    print("|---|---|---|---|")
    for label, bad, cv_score, our_score, (bkey, bsign) in rows:
        a_cv = ev.auroc(cv_col("luma", cv_score), cv_col(bad, cv_score))
        a_us = ev.auroc(our("luma", our_score), our(bad, our_score))
        a_b = ev.auroc(base("luma", bkey, bsign), base(bad, bkey, bsign))
        print(f"| {label} | {a_cv:.3f} | {a_us:.3f} ({our_score}) | {a_b:.3f} ({bkey}) |")

    def cv_rate(s: str, issue: str) -> float:
        return 100.0 * float(cv.loc[cv["set"] == s, f"is_{issue}_issue"].astype(bool).mean())

    def our_rate(s: str, code: str) -> float:
        rs = [r for r in ours[s] if "error" not in r]
        return 100.0 * float(np.mean([any(c == code for fl in r["flags"].values()
                                          for c, _ in fl) for r in rs]))

    print("\nFlag rates (% of images)\n")
    print("| set | cleanvision blurry | our BLURRY | cleanvision dark | our UNDEREXPOSED | "
          "cleanvision light | our OVEREXPOSED |")
    print("|---|---|---|---|---|---|---|")
    for s in ("luma", "luma_blur", "luma_dark", "luma_bright"):
        print(f"| {s} | {cv_rate(s, 'blurry'):.0f} | {our_rate(s, 'BLURRY'):.0f} | "
              f"{cv_rate(s, 'dark'):.0f} | {our_rate(s, 'UNDEREXPOSED'):.0f} | "
              f"{cv_rate(s, 'light'):.0f} | {our_rate(s, 'OVEREXPOSED'):.0f} |")
    med = cv.groupby("set")["blurry_score"].median()
    print("\ncleanvision median blurry_score: " + ", ".join(f"{k} {v:.3f}" for k, v in
                                                         med.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
