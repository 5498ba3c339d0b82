from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not (SHARED_DATA / "luma").is_dir():
        pytest.skip("../shared/data is not present")
    return SHARED_DATA


@pytest.fixture(scope="session")
def luma_main_images(shared_data: Path) -> list[Path]:
    """Main (first) image of each luma product, in manifest order."""
    import csv

    with open(shared_data / "luma" / "MANIFEST_products.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    return [shared_data / "luma" / r["images"].split("|")[0] for r in rows]


@pytest.fixture(scope="session")
def clothing_images(shared_data: Path) -> list[Path]:
    return sorted((shared_data / "clothing" / "images").glob("*.jpg"))


@pytest.fixture(scope="module")
def ray_session():
    """A local Ray with 2 CPUs for one test module (no outside cluster), shut down after it."""
    import ray

    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    ray.init(num_cpus=2, include_dashboard=False, object_store_memory=512 * 1024**2,
             log_to_driver=False)
    yield ray
    ray.shutdown()
