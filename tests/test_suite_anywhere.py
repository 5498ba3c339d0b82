"""The suite runs on a clone without ../shared: shipped test photos are there with their
licences, and tests that need the real data are skipped, marked and counted."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import AMATEUR_DIR, STUDIO_PHOTO, demo_catalog_main_images

TESTS = Path(__file__).resolve().parent


def test_shipped_photos_exist_with_their_licences() -> None:
    studio = demo_catalog_main_images()
    assert len(studio) == 199 and all(p.is_file() for p in studio)
    assert studio[5].name == STUDIO_PHOTO.name  # luma main image no. 5 either way
    amateur = sorted(AMATEUR_DIR.glob("*.jpg"))
    assert len(amateur) == 24
    assert "CC0 1.0" in (AMATEUR_DIR / "LICENSE").read_text()
    assert STUDIO_PHOTO.is_file()
    for folder in (AMATEUR_DIR, STUDIO_PHOTO.parent):
        assert "github.com" in (folder / "NOTICE").read_text()
    assert "Open Software License" in (STUDIO_PHOTO.parent / "LICENSE.txt").read_text()


def test_tests_needing_shared_data_are_skipped_and_counted(tmp_path: Path) -> None:
    """A tiny suite under the real conftest: a test marked ``shared``, one that only asks for
    ``luma_main_images`` (marked automatically), and one that uses the shipped photos."""
    shutil.copy(TESTS / "conftest.py", tmp_path / "conftest.py")
    (tmp_path / "test_mini.py").write_text(
        "import pytest\n\n"
        "@pytest.mark.shared\n"
        "def test_marked():\n    pass\n\n"
        "def test_asks_for_real_data(luma_main_images):\n    pass\n\n"
        "def test_shipped(amateur_photos):\n    assert amateur_photos\n",
        encoding="utf-8")
    # The copied conftest finds the shipped photos relative to itself: point them back.
    text = (tmp_path / "conftest.py").read_text(encoding="utf-8")
    text = text.replace('Path(__file__).resolve().parent / "data"',
                        f'Path({str(TESTS)!r}) / "data"')
    (tmp_path / "conftest.py").write_text(text, encoding="utf-8")
    env = {**os.environ, "LISTING_LENS_NO_SHARED": "1"}

    def pytest(*args: str) -> str:
        run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                              *args, str(tmp_path)], capture_output=True, text=True, env=env,
                             cwd=tmp_path, timeout=120)
        assert run.returncode == 0, run.stdout + run.stderr
        return run.stdout + run.stderr

    out = pytest()
    assert "1 passed, 2 skipped" in out, out
    assert "2 tests skipped: they measure accuracy on ../shared/data" in out, out
    # Both count as `shared`, so `-m "not shared"` leaves only the test on shipped photos.
    out = pytest("-m", "not shared")
    assert "1 passed, 2 deselected" in out, out
    assert "tests skipped: they measure accuracy" not in out, out
