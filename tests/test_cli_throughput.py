"""`analyze --workers`: the same JSON as one process, in input order; the CLI's light start-up;
the classical mask not depending on which images the process cut before."""

from __future__ import annotations

import concurrent.futures as cf
import json
import multiprocessing as mp
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from analyzer.audit.pools import LocalPools
from analyzer.cli import main

REPO = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "onnxruntime", "streamlit", "torchvision")


def _busy(seed: int, size: tuple[int, int] = (360, 300)) -> np.ndarray:
    """A product on a textured, coloured floor: the classical mask runs GrabCut on it."""
    rng = np.random.default_rng(seed)
    h, w = size[1], size[0]
    im = (rng.normal(0, 18, (h, w, 3)) + rng.integers(60, 160, 3)).clip(0, 255).astype(np.uint8)
    y0, x0 = h // 4 + int(rng.integers(-20, 20)), w // 4 + int(rng.integers(-20, 20))
    im[y0: y0 + h // 2, x0: x0 + w // 2] = rng.integers(0, 255, 3, dtype=np.uint8)
    im[y0 + 10: y0 + 30, x0 + 10: x0 + w // 3] = rng.integers(0, 255, 3, dtype=np.uint8)
    return im


def test_workers_give_the_same_json_in_input_order(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    paths = []
    for i in range(5):
        p = tmp_path / f"{9 - i}_img.png"  # names sort against input order
        Image.fromarray(_busy(i)).save(p)
        paths.append(str(p))
    bad = tmp_path / "0_bad.jpg"
    bad.write_bytes(b"\xff\xd8\xff not a jpeg")
    paths.insert(2, str(bad))
    out = {}
    for n in ("1", "2"):
        rc = main(["analyze", *paths, "--format", "json", "--no-model", "--workers", n])
        assert rc == 2  # one input failed
        out[n] = json.loads(capsys.readouterr().out)
    assert [r["file"] for r in out["2"]] == paths
    assert out["2"] == out["1"]
    assert out["2"][2]["ok"] is False and all(r["ok"] for i, r in enumerate(out["2"]) if i != 2)


def test_workers_below_one_is_a_clear_error(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    p = tmp_path / "a.png"
    Image.fromarray(_busy(0)).save(p)
    assert main(["analyze", str(p), "--workers", "0"]) == 2
    assert "--workers" in capsys.readouterr().err


def test_classical_mask_does_not_depend_on_earlier_images() -> None:
    from analyzer.vision.mask import classical_prob

    a, b = _busy(1), _busy(2)
    alone = classical_prob(b)
    for _ in range(3):
        classical_prob(a)
    assert np.array_equal(classical_prob(b), alone)


@pytest.mark.parametrize("argv", [
    ["--help"], ["analyze", "--help"], ["analyze", "/nonexistent/x.jpg"],
    ["analyze", "--no-model", "{img}"], ["analyze", "--marketplace", "nope", "x.jpg"],
    ["search", "/nonexistent/q.jpg"], ["audit", "/nonexistent", "--out", "{tmp}/o"],
])
def test_cli_start_imports_nothing_heavy(argv: list[str], tmp_path: Path) -> None:
    """--help, bad input and --no-model never import torch / onnxruntime / streamlit (a fresh
    interpreter, so nothing the test session imported counts)."""
    img = tmp_path / "a.png"
    Image.fromarray(_busy(0)).save(img)
    argv = [a.format(img=img, tmp=tmp_path) for a in argv]
    code = (
        "import sys\n"
        "from analyzer.cli import main\n"
        "try:\n"
        f"    main({argv!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules), file=sys.stderr)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                          env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"}, timeout=300)
    assert "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert proc.stderr.strip().splitlines()[-1] == "[]", proc.stderr[-2000:]


def test_map_ordered_survives_a_dead_worker() -> None:
    """A worker that dies costs the calls in flight (``on_lost``), the rest run on a new pool,
    and the output keeps input order."""
    import operator
    import os

    from analyzer.audit.pools import map_ordered
    from analyzer.audit.worker import WorkerConfig

    class OneProcess(LocalPools):  # a real process pool of one worker (not the in-process one)
        def __call__(self):  # type: ignore[no-untyped-def]
            return cf.ProcessPoolExecutor(1, mp_context=mp.get_context("spawn"))

    calls = [(abs, -1), (os.abort,), (abs, -3), (abs, -4), (abs, -5), (abs, -6)]
    out = list(map_ordered(OneProcess(WorkerConfig(None), workers=1), operator.call, calls,
                           on_lost=lambda args, what: ("lost", args[0].__name__)))
    # one worker: abs(-1) finishes before the abort; abs(-3) was queued behind it and is lost
    assert out == [1, ("lost", "abort"), ("lost", "abs"), 4, 5, 6]


def test_a_worker_error_reaches_the_parent_as_itself(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    """A catalog that the workers cannot open stops `analyze --workers 2` with its own code."""
    p = tmp_path / "a.png"
    Image.fromarray(_busy(0)).save(p)
    assert main(["analyze", str(p), str(p), "--workers", "2", "--no-model",
                 "--catalog", str(tmp_path / "no-catalog")]) == 2
    assert "CATALOG_NOT_FOUND" in capsys.readouterr().err
