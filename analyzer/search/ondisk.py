"""Compressed on-disk vector index for catalogs too large for exact search in memory.

A flat index of 5 million 1280-d float32 vectors is 25 GB; it fits neither in RAM nor in the time a
seller waits. Past a size threshold (``search.ondisk_threshold`` in thresholds.yaml) a catalog gets
an IVF-PQ index on disk:

1. **Candidate generation** (approximate, compressed, memory-mapped). Vectors are rotated by PCA to
   ``pca_dim`` dimensions, assigned to one of ``nlist`` coarse cells (inverted file, IVF; the cell
   centroids are searched with an HNSW graph so assignment stays cheap at millions of vectors) and
   stored as product-quantised codes of ``m`` bytes (PQ, Jegou et al., "Product quantization for
   nearest neighbor search", TPAMI 2011). A query visits the ``nprobe`` nearest cells and ranks
   their codes by asymmetric distance. The inverted lists live in an ``.ivfdata`` file that FAISS
   memory-maps (``OnDiskInvertedLists``), so resident memory is the pages a query touches.
2. **Re-ranking** (exact). The best ``rerank`` candidates are re-scored with exact cosine
   similarity ``q . x`` against the catalog's own float16 embedding shards, read through
   ``np.load(mmap_mode="r")``; the returned similarities are exact, only the candidate set is
   approximate.

Because catalog vectors are L2-normalised, ranking by L2 distance equals ranking by cosine
(``|q - x|^2 = 2 - 2 q.x``), so the index uses FAISS's L2 path (the best optimised one).

Two engines sit behind the same small interface (``build`` / ``open`` / ``search`` / ``add`` /
``remove``): :class:`FaissIVFPQIndex` (the default, chosen on the benchmark in
benchmarks/bench_scale.py) and :class:`LanceIVFPQIndex` (LanceDB's IVF_PQ, optional extra).

Incremental updates: ``add`` encodes only the new vectors with the already trained quantisers and
merges them with the existing on-disk lists into a new list file (FAISS) or appends them (LanceDB);
``remove`` tombstones ids in the index folder (FAISS; codes dropped at the next rebuild) or deletes
the rows (LanceDB ``delete``). ``search`` also accepts an ``alive`` mask (tombstones kept in the
catalog metadata) and drops dead ids before re-ranking, so a removal is never visible even before
the index is touched. Re-train (a full rebuild) only when the catalog's distribution has drifted
far from the training sample, e.g. after it has grown several-fold.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from analyzer.errors import ErrorCode, ListingLensError
from analyzer.search.scoring import BlockScorer, faiss_search, gather_rows
from analyzer.search.vector_index import VectorIndex

INDEX_META = "index.json"
FORMAT_VERSION = 1


class RowSource(Protocol):
    """Anything that returns float rows by integer position: an ndarray, an np.memmap or
    :class:`ShardedVectors`."""

    shape: tuple[int, ...]

    def __getitem__(self, ids: Any) -> np.ndarray: ...


class ShardedVectors:
    """Row access over a list of ``.npy`` embedding shards (float16 or float32), memory-mapped.

    Rows are numbered across shards in order. Nothing is read until rows are asked for, so a
    5 M x 1280 float16 catalog (12.8 GB) costs no RAM to open.
    """

    def __init__(self, shards: Sequence[str | Path | np.ndarray]) -> None:
        self._arrays = [np.load(s, mmap_mode="r") if isinstance(s, (str, Path)) else s
                        for s in shards]
        if not self._arrays:
            raise ListingLensError(ErrorCode.CATALOG_NOT_FOUND, "no embedding shards given")
        dims = {a.shape[1] for a in self._arrays}
        if len(dims) != 1:
            raise ListingLensError(ErrorCode.CATALOG_MISMATCH,
                                   f"embedding shards disagree on dimension: {sorted(dims)}")
        sizes = np.array([a.shape[0] for a in self._arrays], dtype=np.int64)
        self._starts = np.concatenate([[0], np.cumsum(sizes)])
        self.shape = (int(self._starts[-1]), int(dims.pop()))
        self.dtype = self._arrays[0].dtype

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, ids: Any) -> np.ndarray:
        if isinstance(ids, slice):
            ids = np.arange(*ids.indices(self.shape[0]))
        return self.take(ids).astype(np.float32, copy=False)

    def take(self, ids: Any) -> np.ndarray:
        """Rows by id in their stored dtype (see :func:`~analyzer.search.index.gather_rows`)."""
        return gather_rows(self._arrays, self._starts, ids)

    def iter_chunks(self, chunk: int = 100_000) -> Iterator[tuple[int, np.ndarray]]:
        yield from iter_chunks(self, chunk)


def iter_chunks(vectors: RowSource, chunk: int = 100_000) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(start, float32 rows)`` blocks; never more than ``chunk`` rows in memory."""
    n = vectors.shape[0]
    for start in range(0, n, chunk):
        yield start, np.ascontiguousarray(vectors[start:min(n, start + chunk)], dtype=np.float32)


@dataclass
class IndexParams:
    """Tunables of the on-disk index (defaults from :func:`default_params`)."""

    nlist: int = 1024          # coarse cells
    m: int = 32                # PQ bytes per vector
    pca_dim: int = 256         # 0 = no PCA rotation
    nprobe: int = 64           # cells visited per query
    # Candidates re-scored exactly. 1M x 1308 bench (one thread, nprobe 64): 500 -> recall@10
    # 0.930, p50 4.6 ms; 1000 -> 0.980, p50 5.3 ms (the float16 rows are scored in small blocks,
    # so a deeper re-rank costs little; PQ32 codes alone order the neighbours too coarsely).
    rerank: int = 1000
    # ... and at least this share of the catalog: the denser the catalog, the more coarsely PQ
    # codes order the neighbours, so a fixed candidate count finds fewer of them. 5M x 1308
    # (nprobe 64): 1000 -> recall@10 0.833, 2000 -> 0.943, 4000 -> 0.983 at p50 15 ms.
    rerank_fraction: float = 0.0008
    train_size: int = 100_000  # vectors sampled to train PCA, k-means and PQ
    hnsw_m: int = 32           # links per node of the HNSW graph over the cell centroids
    seed: int = 0

    def candidates(self, ntotal: int) -> int:
        """How many candidates are re-ranked exactly in a catalog of ``ntotal`` items."""
        return max(int(self.rerank), math.ceil(self.rerank_fraction * ntotal))

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> IndexParams:
        known = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        return cls(**known)


def default_params(n: int, dim: int, overrides: dict[str, Any] | None = None) -> IndexParams:
    """Sizes that scale with the catalog: ``nlist ~ 4 sqrt(n)`` (power of two, 64..65536), at
    least ~40 training vectors per cell, PQ code size that divides the rotated dimension."""
    nlist = int(2 ** round(math.log2(max(64.0, 4.0 * math.sqrt(max(n, 1))))))
    nlist = int(min(65536, max(64, nlist)))
    nlist = min(nlist, max(16, n // 40))
    pca_dim = min(256, dim) if dim > 256 else 0
    d_eff = pca_dim or dim
    m = 32
    while d_eff % m:
        m //= 2
    p = IndexParams(nlist=nlist, m=max(1, m), pca_dim=pca_dim,
                    nprobe=min(nlist, 64), train_size=int(min(n, max(50_000, 40 * nlist))))
    for k, v in (overrides or {}).items():
        if k in IndexParams.__dataclass_fields__ and v is not None:
            setattr(p, k, type(getattr(p, k))(v))
    return p


def _normalise(q: np.ndarray) -> np.ndarray:
    q = np.ascontiguousarray(np.atleast_2d(q), dtype=np.float32)
    norms = np.linalg.norm(q, axis=1, keepdims=True)
    return q / np.maximum(norms, 1e-12)


def _sample_ids(n: int, size: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if size >= n:
        return np.arange(n, dtype=np.int64)
    return np.sort(rng.choice(n, size=size, replace=False)).astype(np.int64)


def dir_size(path: str | Path) -> int:
    path = Path(path)
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


class OnDiskIndex:
    """Common part of both engines: exact re-ranking, tombstones, metadata."""

    kind = "base"

    def __init__(self, root: Path, vectors: RowSource, meta: dict[str, Any]) -> None:
        self.root = Path(root)
        self.vectors = vectors
        self.meta = meta
        self.params = IndexParams.from_dict(meta.get("params", {}))

    # -- to implement --------------------------------------------------------------------------
    def _candidates(self, q: np.ndarray, n: int) -> np.ndarray:
        """(q, n) int64 ids of approximate nearest neighbours, -1 padded."""
        raise NotImplementedError

    @property
    def ntotal(self) -> int:
        raise NotImplementedError

    def add(self, vectors: np.ndarray, ids: np.ndarray) -> None:
        raise NotImplementedError

    def remove(self, ids: np.ndarray) -> int:
        raise NotImplementedError

    # -- shared ------------------------------------------------------------------------------
    @property
    def dim(self) -> int:
        return int(self.meta["dim"])

    def search(self, queries: np.ndarray, k: int, *, alive: np.ndarray | None = None,
               nprobe: int | None = None, rerank: int | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` by exact cosine among the re-ranked candidates.

        Returns ``(sims (q,k) float32, ids (q,k) int64)``, best first, padded with ``-inf``/``-1``
        when fewer than ``k`` live items exist. ``alive`` (bool per item id) hides tombstoned
        items; when filtering leaves fewer than ``k`` candidates the candidate pool is widened.
        """
        q = _normalise(queries)
        if q.shape[1] != self.dim:
            raise ListingLensError(ErrorCode.CATALOG_MISMATCH,
                                   f"query dimension {q.shape[1]} != index dimension {self.dim}")
        if nprobe is not None:
            self._set_nprobe(nprobe)
        n_cand = max(int(rerank or self.params.candidates(self.ntotal)), k)
        out_s = np.full((len(q), k), -np.inf, dtype=np.float32)
        out_i = np.full((len(q), k), -1, dtype=np.int64)
        todo = np.arange(len(q))
        limit = max(1, self.ntotal)
        while len(todo):
            cand = self._candidates(q[todo], min(n_cand, limit))
            retry = []
            for row, qi in enumerate(todo):
                ids = cand[row]
                ids = ids[ids >= 0]
                if alive is not None:
                    ids = ids[(ids < len(alive)) & alive[np.minimum(ids, len(alive) - 1)]]
                ids = np.unique(ids)
                if len(ids) < k and n_cand < limit:
                    retry.append(qi)
                    continue
                if len(ids) == 0:
                    continue
                rows = (self.vectors.take(ids) if isinstance(self.vectors, ShardedVectors)
                        else np.asarray(self.vectors[ids]))
                sims = BlockScorer(q[qi])(rows)[0]
                top = np.argsort(-sims, kind="stable")[:k]
                out_s[qi, :len(top)] = sims[top]
                out_i[qi, :len(top)] = ids[top]
            todo = np.asarray(retry, dtype=np.int64)
            n_cand *= 4
        return out_s, out_i

    def _set_nprobe(self, nprobe: int) -> None:
        self.params.nprobe = int(nprobe)

    def _save_meta(self) -> None:
        self.meta["params"] = asdict(self.params)
        self.meta["count"] = self.meta["ntotal"] = int(self.ntotal)
        tmp = self.root / (INDEX_META + ".tmp")
        tmp.write_text(json.dumps(self.meta, indent=2))
        os.replace(tmp, self.root / INDEX_META)


# ---------------------------------------------------------------------------------------------
# FAISS
# ---------------------------------------------------------------------------------------------

class FaissIVFPQIndex(OnDiskIndex):
    """``PCA{pca_dim},IVF{nlist}_HNSW{hnsw_m},PQ{m}`` with on-disk, memory-mapped inverted lists."""

    kind = "faiss-ivfpq"
    INDEX_FILE = "ivfpq.index"
    TRAINED_FILE = "trained.index"     # PCA + centroids + PQ codebooks, no vectors
    REMOVED_FILE = "removed.npy"       # tombstoned ids, dropped at the next full rebuild

    @staticmethod
    def data_file(generation: int) -> str:
        return f"ivfpq-{generation:04d}.ivfdata"

    def __init__(self, root: Path, vectors: RowSource, meta: dict[str, Any]) -> None:
        import faiss

        super().__init__(root, vectors, meta)
        flags = (faiss.IO_FLAG_ONDISK_SAME_DIR | faiss.IO_FLAG_SKIP_PRECOMPUTE_TABLE
                 | faiss.IO_FLAG_READ_ONLY)
        self.index = faiss.read_index(str(self.root / self.INDEX_FILE), flags)
        self._ivf = _ivfpq(self.index)
        self._ivf.use_precomputed_table = -1  # the tables would cost nlist*m*256*4 bytes of RAM
        self._set_nprobe(self.params.nprobe)

        rp = self.root / self.REMOVED_FILE
        self._removed = np.load(rp) if rp.is_file() else np.zeros(0, np.int64)

    @property
    def ntotal(self) -> int:
        return int(self.index.ntotal) - len(self._removed)

    def _set_nprobe(self, nprobe: int) -> None:
        super()._set_nprobe(nprobe)
        self._ivf.nprobe = int(nprobe)

    def _candidates(self, q: np.ndarray, n: int) -> np.ndarray:
        _, ids = faiss_search(self.index, q, n + len(self._removed))
        if len(self._removed):
            ids = np.where(np.isin(ids, self._removed), -1, ids)
        return ids

    @classmethod
    def build(cls, root: str | Path, vectors: RowSource, params: IndexParams,
              ids: np.ndarray | None = None, block: int = 1_000_000,
              chunk: int = 100_000, log: Any = None) -> FaissIVFPQIndex:
        """Train on a sample, encode all rows block by block, merge into one on-disk file.

        Peak memory ~ ``train_size * dim * 4`` (training) or ``block * m`` bytes of codes plus one
        ``chunk`` of float32 rows (adding), whatever the catalog size.
        """
        import faiss
        from faiss.contrib.ondisk import merge_ondisk

        root = Path(root)
        root.mkdir(parents=True, exist_ok=True)
        n, dim = int(vectors.shape[0]), int(vectors.shape[1])
        if n == 0:
            raise ListingLensError(ErrorCode.CATALOG_NOT_FOUND, "cannot index an empty catalog")
        ids = np.arange(n, dtype=np.int64) if ids is None else np.asarray(ids, dtype=np.int64)
        t0 = time.perf_counter()
        spec = (f"PCA{params.pca_dim}," if params.pca_dim else "") + \
            f"IVF{params.nlist}_HNSW{params.hnsw_m},PQ{params.m}x8"
        index = faiss.index_factory(dim, spec, faiss.METRIC_L2)
        ivf = _ivfpq(index)
        ivf.cp.seed = params.seed
        ivf.cp.niter = 10
        # k-means assigns with a flat index; the HNSW graph is only built over the final centroids
        # (with the HNSW quantiser as the clustering index it would be rebuilt every iteration).
        ivf.clustering_index = faiss.IndexFlatL2(params.pca_dim or dim)
        # 64 points per PQ centroid (16k per sub-quantiser) is plenty for 8-bit codes and keeps
        # PQ training to seconds; the default (256) costs minutes on two cores.
        ivf.pq.cp.max_points_per_centroid = 64
        ivf.pq.cp.niter = 15
        ivf.use_precomputed_table = -1
        # Polysemous training (re-ordering codes for Hamming filtering) is unused here and costs
        # minutes; the re-ranking does that job exactly.
        ivf.do_polysemous_training = False
        train = vectors[_sample_ids(n, params.train_size, params.seed)]
        train = np.ascontiguousarray(train, dtype=np.float32)
        index.train(train)
        del train
        t_train = time.perf_counter() - t0
        if log:
            log(f"trained {spec} on {min(n, params.train_size)} vectors in {t_train:.1f}s")

        tmp = Path(tempfile.mkdtemp(prefix="ivfblocks-", dir=root))
        try:
            empty_path = root / cls.TRAINED_FILE
            faiss.write_index(index, str(empty_path))
            block_files = []
            for b0 in range(0, n, block):
                part = faiss.read_index(str(empty_path))
                _ivfpq(part).use_precomputed_table = -1
                for c0 in range(b0, min(n, b0 + block), chunk):
                    c1 = min(n, b0 + block, c0 + chunk)
                    x = np.ascontiguousarray(vectors[c0:c1], dtype=np.float32)
                    part.add_with_ids(x, ids[c0:c1])
                    if log:
                        log(f"encoded {c1}/{n} ({time.perf_counter() - t0:.0f}s)")
                fname = tmp / f"block{len(block_files):05d}.index"
                faiss.write_index(part, str(fname))
                block_files.append(str(fname))
                del part
            final = faiss.read_index(str(empty_path))
            data_path = root / cls.data_file(0)
            for old in root.glob("ivfpq*.ivfdata"):
                old.unlink()
            (root / cls.REMOVED_FILE).unlink(missing_ok=True)
            merge_ondisk(final, block_files, str(data_path))
            faiss.write_index(final, str(root / cls.INDEX_FILE))
            del final
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        meta = {"kind": cls.kind, "format_version": FORMAT_VERSION, "dim": dim, "count": n,
                "ntotal": n, "spec": spec, "params": asdict(params), "generation": 0,
                "build_seconds": round(time.perf_counter() - t0, 2),
                "train_seconds": round(t_train, 2),
                "built": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        (root / INDEX_META).write_text(json.dumps(meta, indent=2))
        return cls(root, vectors, meta)

    def add(self, vectors: np.ndarray, ids: np.ndarray) -> None:
        """Encode only the new rows with the trained quantisers, then merge the old on-disk lists
        and the new ones into a new ``.ivfdata`` generation (a sequential copy of the compact
        codes, ~m + 8 bytes per vector; nothing is re-trained or re-encoded). FAISS's in-place
        append to ``OnDiskInvertedLists`` is avoided: growing lists there corrupted ids in our
        tests (faiss-cpu 1.15)."""
        import faiss

        x = _normalise(vectors)
        ids = np.asarray(ids, dtype=np.int64)
        new = faiss.read_index(str(self.root / self.TRAINED_FILE))
        _ivfpq(new).use_precomputed_table = -1
        new.add_with_ids(x, ids)
        gen = int(self.meta.get("generation", 0)) + 1
        final = faiss.read_index(str(self.root / self.TRAINED_FILE))
        fivf = _ivfpq(final)
        inv = faiss.OnDiskInvertedLists(fivf.nlist, fivf.code_size,
                                        str(self.root / self.data_file(gen)))
        vec = faiss.InvertedListsPtrVector()
        vec.push_back(self._ivf.invlists)
        vec.push_back(_ivfpq(new).invlists)
        total = inv.merge_from_multiple(vec.data(), vec.size(), False)
        final.ntotal = fivf.ntotal = total
        fivf.replace_invlists(inv, True)
        inv.this.disown()
        tmp = self.root / (self.INDEX_FILE + ".tmp")
        faiss.write_index(final, str(tmp))
        del final, new
        os.replace(tmp, self.root / self.INDEX_FILE)   # the commit point
        self.meta["generation"] = gen
        self.__init__(self.root, self.vectors, self.meta)
        for old in self.root.glob("ivfpq-*.ivfdata"):
            if old.name != self.data_file(gen):
                old.unlink()
        self._save_meta()

    def remove(self, ids: np.ndarray) -> int:
        """Tombstone ids (``removed.npy``): they never come back from ``search``; their codes
        are dropped at the next full rebuild. Returns how many ids were newly removed."""
        ids = np.unique(np.asarray(ids, dtype=np.int64))
        fresh = np.setdiff1d(ids, self._removed)
        self._removed = np.union1d(self._removed, fresh)
        tmp = self.root / "removed.tmp.npy"
        np.save(tmp, self._removed)
        os.replace(tmp, self.root / self.REMOVED_FILE)
        self._save_meta()
        return int(len(fresh))


# ---------------------------------------------------------------------------------------------
# LanceDB
# ---------------------------------------------------------------------------------------------

class LanceIVFPQIndex(OnDiskIndex):
    """LanceDB table (item_id, float16 vector) with its IVF_PQ index; same exact re-ranking."""

    kind = "lance-ivfpq"
    TABLE = "vectors"

    def __init__(self, root: Path, vectors: RowSource, meta: dict[str, Any]) -> None:
        os.environ.setdefault("LANCE_LOG", "error")  # its per-query deprecation warnings
        try:
            import lancedb
        except ImportError as e:  # pragma: no cover - optional extra
            raise ListingLensError(ErrorCode.INTERNAL_ERROR,
                                   "LanceDB is not installed: pip install 'listing-lens[lance]'"
                                   ) from e
        super().__init__(root, vectors, meta)
        self._db = lancedb.connect(str(self.root / "lance"))
        self._tbl = self._db.open_table(self.TABLE)

    @property
    def ntotal(self) -> int:
        return int(self._tbl.count_rows())

    @staticmethod
    def _batches(vectors: RowSource, ids: np.ndarray, chunk: int) -> Iterator[Any]:
        import pyarrow as pa

        dim = int(vectors.shape[1])
        for start, x in iter_chunks(vectors, chunk):
            flat = pa.array(x.astype(np.float16).reshape(-1), type=pa.float16())
            yield pa.RecordBatch.from_arrays(
                [pa.array(ids[start:start + len(x)], type=pa.int64()),
                 pa.FixedSizeListArray.from_arrays(flat, dim)],
                names=["item_id", "vector"])

    @classmethod
    def build(cls, root: str | Path, vectors: RowSource, params: IndexParams,
              ids: np.ndarray | None = None, chunk: int = 100_000,
              log: Any = None) -> LanceIVFPQIndex:
        import lancedb
        import pyarrow as pa

        root = Path(root)
        root.mkdir(parents=True, exist_ok=True)
        n, dim = int(vectors.shape[0]), int(vectors.shape[1])
        ids = np.arange(n, dtype=np.int64) if ids is None else np.asarray(ids, dtype=np.int64)
        t0 = time.perf_counter()
        schema = pa.schema([pa.field("item_id", pa.int64()),
                            pa.field("vector", pa.list_(pa.float16(), dim))])
        if (root / "lance").exists():
            shutil.rmtree(root / "lance")
        db = lancedb.connect(str(root / "lance"))
        reader = pa.RecordBatchReader.from_batches(schema, cls._batches(vectors, ids, chunk))
        tbl = db.create_table(cls.TABLE, data=reader, schema=schema)
        t_write = time.perf_counter() - t0
        if log:
            log(f"lance table written in {t_write:.1f}s")
        # Lance has no PCA step and its PQ sub-vectors must divide dim: take the divisor giving
        # sub-vectors closest to 12 dimensions. Its training sample is sample_rate * nlist.
        m = min((d for d in range(1, dim + 1) if dim % d == 0), key=lambda d: abs(dim / d - 12))
        tbl.create_index(metric="l2", num_partitions=params.nlist, num_sub_vectors=m,
                         vector_column_name="vector", index_type="IVF_PQ",
                         sample_rate=max(8, params.train_size // params.nlist))
        meta = {"kind": cls.kind, "format_version": FORMAT_VERSION, "dim": dim, "count": n,
                "ntotal": n, "spec": f"lance IVF_PQ nlist={params.nlist} m={m}",
                "params": asdict(params),
                "build_seconds": round(time.perf_counter() - t0, 2),
                "built": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        (root / INDEX_META).write_text(json.dumps(meta, indent=2))
        return cls(root, vectors, meta)

    def _candidates(self, q: np.ndarray, n: int) -> np.ndarray:
        out = np.full((len(q), n), -1, dtype=np.int64)
        for i, v in enumerate(q):
            res = (self._tbl.search(v, vector_column_name="vector").distance_type("l2")
                   .nprobes(self.params.nprobe).limit(n).select(["item_id"]).to_arrow())
            got = res.column("item_id").to_numpy()
            out[i, :len(got)] = got
        return out

    def add(self, vectors: np.ndarray, ids: np.ndarray) -> None:
        import pyarrow as pa

        x = _normalise(vectors)
        ids = np.asarray(ids, dtype=np.int64)
        schema = self._tbl.schema
        self._tbl.add(pa.Table.from_batches(list(self._batches(x, ids, len(x) or 1)),
                                            schema=schema))
        self._save_meta()

    def remove(self, ids: np.ndarray) -> int:
        ids = [int(i) for i in np.asarray(ids).reshape(-1)]
        if not ids:
            return 0
        before = self.ntotal
        self._tbl.delete(f"item_id IN ({', '.join(map(str, ids))})")
        self._save_meta()
        return before - self.ntotal


def _ivfpq(index: Any) -> Any:
    """The IndexIVFPQ inside a (PCA-wrapped) index, as its concrete class."""
    import faiss

    return faiss.downcast_index(faiss.extract_index_ivf(index))


ENGINES: dict[str, type[OnDiskIndex]] = {
    "faiss": FaissIVFPQIndex, FaissIVFPQIndex.kind: FaissIVFPQIndex,
    "lance": LanceIVFPQIndex, LanceIVFPQIndex.kind: LanceIVFPQIndex,
}


def build_index(root: str | Path, vectors: RowSource, *, engine: str = "faiss",
                params: IndexParams | dict[str, Any] | None = None,
                ids: np.ndarray | None = None, log: Any = None) -> OnDiskIndex:
    """Build an on-disk index of ``vectors`` (rows = item ids unless ``ids`` given) in ``root``."""
    if engine not in ENGINES:
        raise ListingLensError(ErrorCode.INTERNAL_ERROR,
                               f"unknown index engine '{engine}'; choose faiss or lance")
    n, dim = int(vectors.shape[0]), int(vectors.shape[1])
    if not isinstance(params, IndexParams):
        params = default_params(n, dim, params)
    return ENGINES[engine].build(root, vectors, params, ids=ids, log=log)  # type: ignore[attr-defined]


def index_exists(root: str | Path) -> bool:
    return (Path(root) / INDEX_META).is_file()


def open_index(root: str | Path, vectors: RowSource) -> OnDiskIndex:
    """Open an index built by :func:`build_index`; ``vectors`` supplies rows for re-ranking."""
    root = Path(root)
    try:
        meta = json.loads((root / INDEX_META).read_text())
        cls = ENGINES[meta["kind"]]
    except (OSError, ValueError, KeyError) as e:
        raise ListingLensError(ErrorCode.CATALOG_NOT_FOUND,
                               f"no readable on-disk index in {root}") from e
    if int(meta["dim"]) != int(vectors.shape[1]):
        raise ListingLensError(ErrorCode.CATALOG_MISMATCH,
                               f"index dimension {meta['dim']} != catalog dimension "
                               f"{vectors.shape[1]}; rebuild the index")
    return cls(root, vectors, meta)


# ---------------------------------------------------------------------------------------------
# The catalog's index interface (analyzer.search.vector_index.VectorIndex)
# ---------------------------------------------------------------------------------------------

class OnDiskVectorIndex(VectorIndex):
    """Adapter: the on-disk FAISS IVF-PQ index as a catalog ``VectorIndex``.

    ``build(shards)`` writes into a scratch folder; ``save(folder)`` moves the files into the
    catalog's ``index/`` folder; ``load(folder, shards)`` memory-maps them again. Registered in
    ``analyzer.search.vector_index.INDEX_KINDS`` under ``faiss-ivfpq``.
    """

    kind = FaissIVFPQIndex.kind

    def __init__(self, impl: OnDiskIndex) -> None:
        self.impl = impl

    @property
    def ntotal(self) -> int:
        return self.impl.ntotal

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        return self.impl.search(queries, k)

    @classmethod
    def build(cls, shards: Sequence[np.ndarray], params: dict[str, Any] | None = None,
              scratch: str | Path | None = None) -> OnDiskVectorIndex:
        root = Path(tempfile.mkdtemp(prefix="ondisk-", dir=scratch))
        return cls(build_index(root, ShardedVectors(shards), engine="faiss", params=params))

    def save(self, folder: Path) -> None:
        folder = Path(folder)
        src = self.impl.root
        if src.resolve() == folder.resolve():
            return
        folder.mkdir(parents=True, exist_ok=True)
        for f in src.iterdir():
            shutil.move(str(f), str(folder / f.name))
        shutil.rmtree(src, ignore_errors=True)
        self.impl = open_index(folder, self.impl.vectors)

    @classmethod
    def load(cls, folder: Path, shards: Sequence[np.ndarray]) -> OnDiskVectorIndex:
        return cls(open_index(folder, ShardedVectors(shards)))

    def extend(self, shards: Sequence[np.ndarray]) -> int:
        """Index the rows of ``shards`` beyond ``ntotal`` (catalog add); returns how many."""
        vecs = ShardedVectors(shards)
        start = self.impl.ntotal
        self.impl.vectors = vecs
        n = vecs.shape[0] - start
        if n > 0:
            self.impl.add(vecs[start:], np.arange(start, vecs.shape[0]))
        return max(n, 0)
