"""Store audit on Ray: same outputs as the local engine, resumable, exactly once under a kill."""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("ray")

from analyzer.audit.runner import RESULTS_FILE, iter_results, run_audit  # noqa: E402

pytestmark = [pytest.mark.ray, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[1]
BROKEN = {"empty.jpg": "EMPTY_FILE", "notes.jpg": "NOT_AN_IMAGE", "cut.jpg": "TRUNCATED_IMAGE"}


@pytest.fixture(scope="module")
def store(tmp_path_factory, studio_photos, amateur_photos) -> Path:
    """7 studio shots, 2 phone photos, a duplicate listing and three broken files."""
    root = tmp_path_factory.mktemp("store") / "shop"
    (root / "phone").mkdir(parents=True)
    for p in studio_photos[:7]:
        shutil.copy(p, root / p.name)
    for p in amateur_photos[:2]:
        shutil.copy(p, root / "phone" / p.name)
    shutil.copy(studio_photos[0], root / "zz_copy.jpg")
    (root / "empty.jpg").write_bytes(b"")
    (root / "notes.jpg").write_text("price list: 12.99 EUR\n", encoding="utf-8")
    data = studio_photos[1].read_bytes()
    (root / "cut.jpg").write_bytes(data[: len(data) // 3])
    return root


@pytest.fixture(scope="module")
def local_audit(store, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("local") / "out"
    run_audit(store, out, workers=1, progress=False)
    return out


def _results(out: Path) -> list[dict]:
    return list(iter_results(out / RESULTS_FILE))


def _csv(out: Path) -> list[dict]:
    with open(out / "report.csv", encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def _assert_same_as_local(out: Path, local: Path) -> None:
    got, want = _results(out), _results(local)
    assert [r["file"] for r in got] == [r["file"] for r in want]  # one row per input, in order
    for a, b in zip(got, want, strict=True):
        assert a == b, a["file"]
    assert _csv(out) == _csv(local)
    thumbs = sorted(p.name for p in (out / "thumbs").glob("*.jpg"))
    assert thumbs == sorted(p.name for p in (local / "thumbs").glob("*.jpg"))
    assert len(thumbs) == 9  # every readable, distinct image
    assert (out / "report.pdf").stat().st_size > 0


def test_ray_audit_matches_local(ray_session, store, local_audit, tmp_path) -> None:
    out = tmp_path / "out"
    summary = run_audit(store, out, engine="ray", workers=2, progress=False)
    assert summary.engine == "ray" and summary.workers == 2
    assert summary.total == 13 and summary.duplicates == 1
    assert summary.analysed == 11   # 9 photos + the truncated and the text file; no duplicate
    assert summary.failed == 3 and summary.exit_code == 2
    failed = {r["file"]: r["error"]["code"] for r in _results(out) if not r["ok"]}
    assert failed == BROKEN
    _assert_same_as_local(out, local_audit)


def test_ray_audit_resumes(ray_session, store, local_audit, tmp_path) -> None:
    """A crashed audit (half its log lost) re-runs only the missing images."""
    out = tmp_path / "out"
    shutil.copytree(local_audit, out)
    lines = (out / RESULTS_FILE).read_text(encoding="utf-8").splitlines(keepends=True)
    kept = lines[:5] + [lines[5][:40]]  # five finished results and a half-written line
    (out / RESULTS_FILE).write_text("".join(kept), encoding="utf-8")
    done = {json.loads(x)["content_hash"] for x in kept[:5]} - {""}
    assert 0 < len(done) < 5
    summary = run_audit(store, out, engine="ray", workers=2, progress=False)
    assert summary.resumed == len(done)
    assert summary.analysed == 11 - len(done)
    _assert_same_as_local(out, local_audit)


def _running_audit_tasks() -> list[int]:
    import psutil

    from analyzer.scale.ray_audit import TASK_NAME

    me = os.getpid()
    return [p.info["pid"] for p in psutil.process_iter(["pid", "cmdline"])
            if p.info["pid"] != me and TASK_NAME in " ".join(p.info.get("cmdline") or [])]


def test_killed_worker_loses_and_duplicates_nothing(ray_session, store, local_audit,
                                                    tmp_path) -> None:
    killed: list[int] = []

    def kill_one(done: int, total: int) -> None:
        # Ray names a worker process after the task it is running: this one is mid-image.
        if not killed and done >= 1:
            pids = _running_audit_tasks()
            if pids:
                os.kill(pids[0], signal.SIGKILL)
                killed.append(pids[0])

    out = tmp_path / "out"
    summary = run_audit(store, out, engine="ray", workers=2, progress=False,
                        on_progress=kill_one)
    assert killed, "no Ray worker was caught running an audit task"
    assert summary.analysed == 11      # each distinct input analysed once from the driver's view
    assert not [r for r in _results(out) if (r.get("error") or {}).get("code")
                == "INTERNAL_ERROR"]   # the killed task was re-run, not recorded as lost
    _assert_same_as_local(out, local_audit)


def test_cli_audit_engine_ray(ray_session, store, local_audit, tmp_path, capsys) -> None:
    from analyzer.cli import main

    out = tmp_path / "out"
    rc = main(["audit", str(store), "--out", str(out), "--engine", "ray", "--workers", "2",
               "--quiet"])
    assert rc == 2  # three broken files
    assert json.loads((out / "audit.json").read_text())["engine"] == "ray"
    _assert_same_as_local(out, local_audit)
    rc = main(["audit", str(store), "--out", str(tmp_path / "o2"), "--ray-address", "auto"])
    assert rc == 2
    assert "--ray-address needs --engine ray" in capsys.readouterr().err


def test_local_engine_does_not_import_ray(store, tmp_path) -> None:
    code = ("import sys; from analyzer.audit.runner import run_audit; "
            f"s = run_audit({str(store / 'empty.jpg')!r}, {str(tmp_path / 'o')!r}, workers=1, "
            "progress=False, reports=False); assert s.total == 1; "
            "assert 'ray' not in sys.modules, 'local audit imported ray'")
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
