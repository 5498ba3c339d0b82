"""benchmarks/ab_cost.py: the interleaved before/after timing runs end to end and says what it
measured (no timing is asserted: figures belong to the benchmark, not to the tests)."""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

import ab_cost  # noqa: E402


def _photo(path: Path) -> Path:
    rng = np.random.default_rng(0)
    rgb = np.full((640, 520, 3), 245, np.uint8)
    rgb[150:500, 120:400] = rng.integers(40, 200, (350, 280, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="JPEG", quality=90)
    path.write_bytes(buf.getvalue())
    return path


def test_a_checkout_against_itself_prints_every_stage(tmp_path: Path, capsys) -> None:
    ab_cost.run(str(REPO), [_photo(tmp_path / "p.jpg")], pairs=2, models=(False,))
    out = capsys.readouterr().out
    for stage in ("analyze()", "decode", "mask", "sharpness", "clutter", "overlays"):
        assert f"| {stage} |" in out
    assert "medians over 2 pairs" in out
    assert "against a budget of 25 ms" in out


def test_an_unknown_revision_is_a_clear_error() -> None:
    if shutil.which("git") is None or subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True).returncode:
        pytest.skip("not a git checkout")
    with pytest.raises(SystemExit, match="neither a checkout nor a git revision"), \
            ab_cost.checkout("no-such-revision-0000"):
        pass


def test_a_revision_is_checked_out_and_removed_after(capsys) -> None:
    if shutil.which("git") is None or subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True).returncode:
        pytest.skip("not a git checkout")
    with ab_cost.checkout("HEAD") as wt:
        assert (wt / "analyzer" / "engine.py").is_file()
        where = wt
    assert not where.exists()
