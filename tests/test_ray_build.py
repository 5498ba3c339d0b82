"""Catalog build on Ray: same output as the local build, resumable, exactly once under a kill."""

from __future__ import annotations

import os
import shutil
import signal
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("ray")

from analyzer.search.catalog import Catalog, build_catalog  # noqa: E402

pytestmark = [pytest.mark.ray, pytest.mark.slow]


@pytest.fixture(scope="module")
def source(tmp_path_factory, studio_photos) -> Path:
    """22 real luma main images and two unreadable files."""
    src = tmp_path_factory.mktemp("src")
    for p in studio_photos[:22]:
        shutil.copy(p, src / p.name)
    (src / "zz_empty.jpg").write_bytes(b"")
    (src / "zz_text.jpg").write_text("not a photo")
    return src


def _by_image(cat: Catalog) -> dict[str, np.ndarray]:
    emb = cat.embeddings
    return {Path(r.image).name: emb[int(r.item_id)] for r in cat.meta.itertuples()}


def _assert_exactly_once(cat: Catalog, source: Path) -> None:
    names = [Path(i).name for i in cat.meta["image"]]
    good = sorted(p.name for p in source.iterdir() if not p.name.startswith("zz_"))
    assert sorted(names) == good                       # nothing lost, nothing twice
    assert list(cat.meta["item_id"]) == list(range(len(cat)))
    assert len(cat.embeddings) == len(cat)
    for t in cat.meta["thumb"]:
        assert (cat.root / t).stat().st_size > 0


def test_ray_build_matches_local(ray_session, source, tmp_path):
    from analyzer.scale.ray_build import build_catalog_ray

    local = build_catalog(source, tmp_path / "local", progress=False)
    res = build_catalog_ray(source, tmp_path / "ray", workers=1, chunk=8, batch_size=4,
                            progress=False)
    assert res.items == local.items == 22
    assert sorted(s["file"] for s in res.skipped) == sorted(s["file"] for s in local.skipped)
    assert {s["code"] for s in res.skipped} == {"EMPTY_FILE", "NOT_AN_IMAGE"}
    a, b = Catalog.open(tmp_path / "local"), Catalog.open(tmp_path / "ray")
    assert a.manifest["embedder_id"] == b.manifest["embedder_id"]
    _assert_exactly_once(b, source)
    ea, eb = _by_image(a), _by_image(b)
    for name, v in ea.items():
        np.testing.assert_allclose(eb[name], v, atol=2e-3)
    # the downstream search works unchanged on the Ray-built catalog
    sims, ids = b.search(eb[next(iter(eb))][None, :], 1)
    assert sims[0, 0] > 0.99


def test_ray_build_resumes_by_chunk(ray_session, source, tmp_path):
    from analyzer.scale.ray_build import PROGRESS, build_catalog_ray

    out = tmp_path / "cat"
    first = build_catalog_ray(source, out, workers=1, chunk=8, batch_size=4, progress=False,
                              max_chunks=1)
    assert (out / PROGRESS).exists() and not (out / "manifest.json").exists()
    assert 0 < first.items <= 8
    shards_before = sorted(p.name for p in (out / "embeddings").iterdir())
    calls = []
    build_catalog_ray(source, out, workers=1, chunk=8, batch_size=4, progress=False,
                      on_chunk=lambda d, t: calls.append((d, t)))
    assert calls == [(2, 3), (3, 3)]          # 24 files = 3 chunks; the first is not redone
    assert not (out / PROGRESS).exists()
    cat = Catalog.open(out)
    _assert_exactly_once(cat, source)
    assert set(shards_before) <= {p.name for p in (out / "embeddings").iterdir()}


def _embed_actor_pids() -> list[int]:
    import psutil

    me = os.getpid()
    pids = []
    for p in psutil.process_iter(["pid", "cmdline"]):
        cmd = " ".join(p.info.get("cmdline") or [])
        if p.info["pid"] != me and "EmbedActor" in cmd:
            pids.append(p.info["pid"])
    return pids


def test_killed_worker_loses_and_duplicates_nothing(ray_session, source, tmp_path):
    from analyzer.scale.ray_build import build_catalog_ray

    killed: list[int] = []

    def kill_one(done: int, total: int) -> None:
        if done == 1 and not killed:
            pids = _embed_actor_pids()
            assert pids, "no embedding actor process found"
            os.kill(pids[0], signal.SIGKILL)
            killed.append(pids[0])

    res = build_catalog_ray(source, tmp_path / "cat", workers=1, chunk=4, batch_size=2,
                            progress=False, on_chunk=kill_one)
    assert killed
    assert res.items == 22
    _assert_exactly_once(Catalog.open(tmp_path / "cat"), source)
