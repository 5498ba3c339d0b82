"""Exact inner-product scoring over a catalog's float16 shards, block by block, and the FAISS
search call shared by every index kind (a leaf module: no other part of the package).

All vectors are L2-normalised, so the inner product is the cosine similarity.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

BLOCK_ROWS = 65_536
# FAISS spreads a batch of queries over its OpenMP threads; a single query runs on one thread
# anyway, but the idle ones spin-wait after each call: on 2 cores that took the CPU per single
# query at 1M items from 4 to 23 ms (benchmarks/bench_scale.py --threads 2). Batches smaller than
# this search on one thread.
FAISS_ONE_THREAD_BELOW = 8


def pad_results(sims: np.ndarray, ids: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    q, have = sims.shape
    if have >= k:
        return sims[:, :k], ids[:, :k]
    s = np.full((q, k), -np.inf, np.float32)
    i = np.full((q, k), -1, np.int64)
    s[:, :have], i[:, :have] = sims, ids
    return s, i


def iter_blocks(shards: Sequence[np.ndarray], rows: int = BLOCK_ROWS):  # type: ignore[no-untyped-def]
    """(first row id, float32 block) over the concatenation of ``shards``."""
    base = 0
    for sh in shards:
        for s in range(0, len(sh), rows):
            yield base + s, np.asarray(sh[s:s + rows], dtype=np.float32)
        base += len(sh)


class BlockScorer:
    """``q @ rows.T`` in float32 for row blocks stored as float16, without a float32 copy of
    the block.

    Converting a whole 65k x 1280 float16 block to float32 first costs more than the product
    itself (NumPy's half-to-float cast runs ~6 ns per element here, and the fresh 330 MB
    buffer page-faults). Rows are instead converted ``CONVERT_ROWS`` at a time into one small
    reused float32 buffer (cache-resident) by torch's vectorised cast and multiplied straight
    into the output: the result is the float32 product, ~10x faster (benchmarks/bench_search.py:
    exact rank of one query over 1M x 1308 float16 rows in about a second on one core).
    Without torch, or for float32 rows, it is the plain NumPy product.
    """

    CONVERT_ROWS = 512

    def __init__(self, queries: np.ndarray) -> None:
        self.q = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        try:
            import torch
        except ImportError:  # pragma: no cover - torch is a dependency
            torch = None
        self._torch = torch
        self._qt = torch.from_numpy(self.q) if torch is not None else None
        self._buf = None

    def __call__(self, block: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """(q, len(block)) similarities, written into ``out`` when given."""
        if out is None:
            out = np.empty((len(self.q), len(block)), np.float32)
        if block.dtype != np.float16 or self._torch is None:
            np.matmul(self.q, np.asarray(block, dtype=np.float32).T, out=out)
            return out
        torch = self._torch
        step = self.CONVERT_ROWS
        if self._buf is None or self._buf.shape[1] != block.shape[1]:
            self._buf = torch.empty((step, block.shape[1]), dtype=torch.float32)
        with warnings.catch_warnings():  # a read-only memory map: torch only reads it here
            warnings.simplefilter("ignore", UserWarning)
            src = torch.from_numpy(np.ascontiguousarray(block))
        dst = torch.from_numpy(out)
        for s in range(0, len(block), step):
            chunk = src[s:s + step]
            buf = self._buf[:len(chunk)]
            buf.copy_(chunk)
            torch.matmul(self._qt, buf.T, out=dst[:, s:s + len(chunk)])
        return out


def iter_scores(queries: np.ndarray, shards: Sequence[np.ndarray], rows: int = BLOCK_ROWS):  # type: ignore[no-untyped-def]
    """(first row id, (q, rows) float32 similarities) block by block over ``shards``."""
    score = BlockScorer(queries)
    base = 0
    for sh in shards:
        for s in range(0, len(sh), rows):
            yield base + s, score(sh[s:s + rows])
        base += len(sh)


def exact_scores(queries: np.ndarray, shards: Sequence[np.ndarray]) -> np.ndarray:
    """(q, N) float32 similarities of every query to every row (for product-level search)."""
    n = sum(len(s) for s in shards)
    score = BlockScorer(queries)
    out = np.empty((len(score.q), n), np.float32)
    base = 0
    for sh in shards:
        for s in range(0, len(sh), BLOCK_ROWS):
            block = sh[s:s + BLOCK_ROWS]
            score(block, out[:, base + s:base + s + len(block)])
        base += len(sh)
    return out


def gather_rows(shards: Sequence[np.ndarray], starts: np.ndarray, ids: Any) -> np.ndarray:
    """Rows by global id (any order) from ``shards`` whose first global ids are ``starts``, in
    their stored dtype (float16 stays float16: :class:`BlockScorer` converts it in small blocks,
    much faster than NumPy's half-to-float cast; mixed dtypes give float32)."""
    ids = np.asarray(ids, dtype=np.int64).reshape(-1)
    dtypes = {a.dtype for a in shards}
    out = np.empty((len(ids), shards[0].shape[1]),
                   dtype=dtypes.pop() if len(dtypes) == 1 else np.float32)
    if len(ids) == 0:
        return out
    if ids.min() < 0 or ids.max() >= starts[len(shards)]:
        raise IndexError("row id out of range")
    shard_of = np.searchsorted(starts, ids, side="right") - 1
    for j in np.unique(shard_of):
        sel = np.flatnonzero(shard_of == j)
        local = ids[sel] - starts[j]
        order = np.argsort(local, kind="stable")  # ascending offsets: sequential-ish reads
        out[sel[order]] = shards[j][local[order]]
    return out


def count_better(queries: np.ndarray, shards: Sequence[np.ndarray],
                 thresholds: np.ndarray) -> np.ndarray:
    """Exact rank support: for each query, how many rows score strictly above its threshold
    (e.g. the listing's own similarity); rank = count + 1. One pass over the rows, memory one
    block of scores."""
    t = np.asarray(thresholds, dtype=np.float32).reshape(-1, 1)
    counts = np.zeros(len(t), np.int64)
    for _, s in iter_scores(queries, shards):
        counts += (s > t).sum(axis=1)
    return counts


def faiss_search(index: Any, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """``index.search(queries, k)``, on one OpenMP thread for fewer than
    ``FAISS_ONE_THREAD_BELOW`` queries. The thread count is per calling thread in OpenMP, so
    concurrent app sessions do not change each other's."""
    import faiss

    if len(queries) >= FAISS_ONE_THREAD_BELOW:
        return index.search(queries, k)
    prev = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        return index.search(queries, k)
    finally:
        faiss.omp_set_num_threads(prev)


def topk_rows(sims: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-k of each row of ``sims`` (q, n), sorted best first."""
    n = sims.shape[1]
    kk = min(k, n)
    if kk == 0:
        empty = np.zeros((len(sims), 0), np.float32)
        return pad_results(empty, empty.astype(np.int64), k)
    part = np.argpartition(-sims, kk - 1, axis=1)[:, :kk] if kk < n else \
        np.tile(np.arange(n), (len(sims), 1))
    psims = np.take_along_axis(sims, part, axis=1)
    order = np.argsort(-psims, axis=1, kind="stable")
    return pad_results(np.take_along_axis(psims, order, axis=1).astype(np.float32),
                np.take_along_axis(part, order, axis=1).astype(np.int64), k)


class RowFile:
    """The rows of a 2-D ``.npy`` file, read with ``pread`` instead of a memory map.

    Re-scoring candidates reads rows scattered all over a catalog's shards; through a memory map
    each read maps the pages around it into the process (the kernel's fault-around), so the
    process's resident memory grows towards the whole file (2.8 GB at 1M x 1408 float16). Read
    with ``pread`` the rows come from the page cache the same way but nothing stays mapped.
    Supports what the index kinds use: ``shape``, ``dtype``, ``len``, a slice, an id array.
    """

    def __init__(self, path: Any) -> None:
        with open(path, "rb") as f:
            version = np.lib.format.read_magic(f)
            read = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                    else np.lib.format.read_array_header_2_0)
            shape, fortran, dtype = read(f)
            self._offset = f.tell()
        if len(shape) != 2 or fortran:
            raise ValueError(f"{path}: not a C-ordered 2-D array")
        self.shape = (int(shape[0]), int(shape[1]))
        self.dtype = np.dtype(dtype)
        self.ndim = 2
        self._row = self.shape[1] * self.dtype.itemsize
        self._fd = os.open(path, os.O_RDONLY)

    def __len__(self) -> int:
        return self.shape[0]

    def __del__(self) -> None:
        fd = getattr(self, "_fd", None)
        if fd is not None:
            os.close(fd)

    def __getitem__(self, key: Any) -> np.ndarray:
        if isinstance(key, slice):
            start, stop, step = key.indices(self.shape[0])
            if step != 1:
                raise IndexError("RowFile slices take step 1")
            out = np.empty((max(0, stop - start), self.shape[1]), self.dtype)
            if len(out):
                os.preadv(self._fd, [memoryview(out).cast("B")],
                          self._offset + start * self._row)
            return out
        ids = np.asarray(key, dtype=np.int64).reshape(-1)
        out = np.empty((len(ids), self.shape[1]), self.dtype)
        for j, i in enumerate(ids):
            os.preadv(self._fd, [memoryview(out[j]).cast("B")], self._offset + int(i) * self._row)
        return out
