"""Fixtures for the whole suite, and the rule that keeps it runnable on any clone.

Two kinds of photo fixtures:

* ``shared_data``, ``luma_main_images``, ``clothing_images``: the real sets in ../shared/data.
  Only tests that measure accuracy on real data use them; such a test is marked
  ``@pytest.mark.shared`` and is skipped (and counted at the end of the run) where the data is
  absent. A test that asks for one of these fixtures gets the marker even if its author forgot it.
* ``studio_photos``, ``studio_photo``, ``amateur_photos``: "some real product photos" for
  everything else (audit, dashboard, CLI, reports, Ray, a made defect on a real shot). They are
  the ../shared/data sets when present and otherwise real photos shipped with the repository:
  the demo catalog's copies of the same luma main images (resized to 512 px,
  assets/demo_catalog/NOTICE), one full-size luma shot (tests/data/studio) and 24 CC0 clothing
  photos (tests/data/amateur).

``LISTING_LENS_NO_SHARED=1`` runs the suite as a clone without ../shared would.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
DEMO_CATALOG = REPO / "assets" / "demo_catalog"
AMATEUR_DIR = Path(__file__).resolve().parent / "data" / "amateur"
STUDIO_PHOTO = Path(__file__).resolve().parent / "data" / "studio" / "mb06-gray-0.jpg"
SHARED_FIXTURES = frozenset({"shared_data", "luma_main_images", "clothing_images"})
SHARED_REASON = "measures accuracy on ../shared/data, which is not present"


def shared_present() -> bool:
    """Whether ../shared/data can be used (``LISTING_LENS_NO_SHARED=1`` hides it)."""
    if os.environ.get("LISTING_LENS_NO_SHARED", "") not in ("", "0"):
        return False
    return (SHARED_DATA / "luma").is_dir()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # A test that reaches the real data through a fixture is an accuracy-on-real-data test.
    for item in items:
        if SHARED_FIXTURES & set(getattr(item, "fixturenames", ())) and \
                item.get_closest_marker("shared") is None:
            item.add_marker(pytest.mark.shared)


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("shared") is not None and not shared_present():
        pytest.skip(SHARED_REASON)


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    n = sum(1 for r in terminalreporter.stats.get("skipped", [])
            if isinstance(r.longrepr, tuple) and SHARED_REASON in str(r.longrepr[2]))
    if n:
        terminalreporter.write_line(
            f"{n} tests skipped: they measure accuracy on ../shared/data, which is not present "
            "(every other test ran on the photos shipped in the repository)")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not shared_present():
        pytest.skip(SHARED_REASON)
    return SHARED_DATA


def _luma_manifest(shared_data: Path) -> list[dict]:
    with open(shared_data / "luma" / "MANIFEST_products.csv", newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="session")
def luma_main_images(shared_data: Path) -> list[Path]:
    """Main (first) image of each luma product, in manifest order."""
    return [shared_data / "luma" / r["images"].split("|")[0] for r in _luma_manifest(shared_data)]


@pytest.fixture(scope="session")
def clothing_images(shared_data: Path) -> list[Path]:
    return sorted((shared_data / "clothing" / "images").glob("*.jpg"))


def demo_catalog_main_images() -> list[Path]:
    """The first image of each product in the shipped demo catalog, in catalog order: the luma
    main images in manifest order, resized to 512 px, with the same file names."""
    seen: set[str] = set()
    out: list[Path] = []
    with open(DEMO_CATALOG / "catalog.csv", newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if row["product_id"] not in seen:
                seen.add(row["product_id"])
                out.append(DEMO_CATALOG / row["image"])
    return out


@pytest.fixture(scope="session")
def studio_photos() -> list[Path]:
    """Studio product shots on white (199, one per product, distinct file names): the full-size
    luma main images from ../shared/data, or the demo catalog's 512 px copies of them."""
    if shared_present():
        return [SHARED_DATA / "luma" / r["images"].split("|")[0]
                for r in _luma_manifest(SHARED_DATA)]
    return demo_catalog_main_images()


@pytest.fixture(scope="session")
def studio_photo() -> Path:
    """One full-size studio shot (luma 24-MB06, 1080 x 1340) for tests that apply a made defect
    to a real photo: luma main image no. 5 from ../shared/data, or the same file shipped in
    tests/data/studio (OSL-3.0/AFL-3.0)."""
    if shared_present():
        return SHARED_DATA / "luma" / _luma_manifest(SHARED_DATA)[5]["images"].split("|")[0]
    return STUDIO_PHOTO


@pytest.fixture(scope="session")
def amateur_photos() -> list[Path]:
    """Amateur phone photos of clothing on floors and beds: the clothing set from ../shared/data
    (1,200), or its first 24 files shipped in tests/data/amateur (CC0)."""
    if shared_present():
        return sorted((SHARED_DATA / "clothing" / "images").glob("*.jpg"))
    return sorted(AMATEUR_DIR.glob("*.jpg"))


@pytest.fixture(scope="session")
def studio_tops() -> list[tuple[str, str, Path]]:
    """(product id, title, main image) of every luma "Tops" product in manifest order (98): the
    full-size images from ../shared/data, or the demo catalog's 512 px copies of them."""
    if shared_present():
        from tests.rank_helpers import luma_tops, main_image

        return [(r["product_key"], r["name"], main_image(SHARED_DATA, r))
                for r in luma_tops(SHARED_DATA)]
    seen: set[str] = set()
    out: list[tuple[str, str, Path]] = []
    with open(DEMO_CATALOG / "catalog.csv", newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if row["product_id"] not in seen:
                seen.add(row["product_id"])
                if row["category"] == "Tops":
                    out.append((row["product_id"], row["title"], DEMO_CATALOG / row["image"]))
    return out


@pytest.fixture(scope="module")
def ray_session():
    """A local Ray with 2 CPUs for one test module (no outside cluster), shut down after it."""
    import ray

    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    ray.init(num_cpus=2, include_dashboard=False, object_store_memory=512 * 1024**2,
             log_to_driver=False)
    yield ray
    ray.shutdown()
