"""Where the audit's per-image work runs: pool kinds registered by dotted path.

A pool kind is a factory class: ``Kind(cfg, workers=..., address=...)`` sets up what is shared
(a Ray runtime, say), has ``workers`` (images analysed at once), and each call returns a pool
with ``submit(fn, *args) -> concurrent.futures.Future`` and ``shutdown(wait, cancel_futures)``
that runs :mod:`analyzer.audit.worker` functions. The runner calls the factory again when a
pool breaks (a worker process killed); ``close()`` ends what the factory set up.

Kinds are resolved lazily from :data:`POOL_KINDS` (the pattern of FiftyOne Brain's similarity
backends), so the audit loop never imports Ray, and Ray's module never imports the loop.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import importlib
import multiprocessing as mp
import os
import signal
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from typing import Any, Protocol

from analyzer.audit.worker import WorkerConfig, setup_worker
from analyzer.errors import ErrorCode, ListingLensError

POOL_KINDS: dict[str, str] = {
    "local": "analyzer.audit.pools:LocalPools",
    "ray": "analyzer.scale.ray_audit:RayPools",
}


class Pool(Protocol):
    def submit(self, fn: Any, *args: Any) -> cf.Future: ...

    def shutdown(self, wait: bool = True, cancel_futures: bool = False) -> None: ...


class PoolFactory(Protocol):
    workers: int

    def __call__(self) -> Pool: ...

    def close(self) -> None: ...


def n_workers_requested(workers: int | None) -> int:
    return max(1, int(workers or os.cpu_count() or 1))


def pool_factory(engine: str, cfg: WorkerConfig, *, workers: int | None = None,
                 address: str | None = None) -> PoolFactory:
    """The pool factory of kind ``engine`` (a key of :data:`POOL_KINDS`)."""
    path = POOL_KINDS.get(engine)
    if path is None:
        raise ListingLensError(ErrorCode.INTERNAL_ERROR,
                               f"unknown audit engine '{engine}'; choose "
                               f"{' or '.join(POOL_KINDS)}")
    module, _, name = path.partition(":")
    cls = getattr(importlib.import_module(module), name)
    return cls(cfg, workers=workers, address=address)


def kill_pool(pool: Any) -> None:
    """Stop a pool now: cancel what waits, terminate worker processes mid-image."""
    procs = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for p in procs:
        with contextlib.suppress(Exception):  # already gone
            p.terminate()


def map_ordered(pools: PoolFactory, fn: Callable[..., Any], calls: Iterable[tuple], *,
                on_lost: Callable[[tuple, str], Any],
                prepare: Callable[[], Any] | None = None) -> Iterator[Any]:
    """``fn(*args)`` for each ``args`` of ``calls`` on ``pools``' workers, yielded in input
    order, with at most ``2 x workers`` calls in flight (memory stays flat however many inputs
    there are; the head of the queue is awaited while the others keep running).

    ``prepare`` runs once on a worker first (e.g. a catalog's baseline, computed once and cached
    on disk before every worker needs it). A worker that dies breaks the pool: each call still in
    flight then yields ``on_lost(args, what)`` and the rest go to a new pool, as in the audit.
    ``fn`` must be a module-level function (pickled by name); its exceptions are raised here.
    """
    pool = pools()
    pending: deque[tuple[tuple, cf.Future]] = deque()
    try:
        if prepare is not None:
            pool.submit(prepare).result()
        it = iter(calls)
        while True:
            while len(pending) < 2 * pools.workers:
                args = next(it, None)
                if args is None:
                    break
                pending.append((args, pool.submit(fn, *args)))
            if not pending:
                break
            args, fut = pending.popleft()
            try:
                yield fut.result()
            except cf.process.BrokenProcessPool:
                what = "the worker process stopped"
                yield on_lost(args, what)
                for a, _ in pending:
                    yield on_lost(a, what)
                pending.clear()
                kill_pool(pool)
                pool = pools()
        pool.shutdown(wait=True)
    except BaseException:
        kill_pool(pool)
        raise


class SerialPool:
    """The pool interface run in this process (one worker: no start-up cost, easy debugging)."""

    def __init__(self, cfg: WorkerConfig) -> None:
        setup_worker(cfg, fresh=True)

    def submit(self, fn: Any, *args: Any) -> cf.Future:
        fut: cf.Future = cf.Future()
        try:
            fut.set_result(fn(*args))
        except Exception as e:  # the same contract as a process pool's future
            fut.set_exception(e)
        return fut

    def shutdown(self, wait: bool = True, cancel_futures: bool = False) -> None:
        pass


def _init_process(cfg: WorkerConfig) -> None:
    # Ctrl-C is handled by the parent, which stops the pool; workers must not die mid-line.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    setup_worker(cfg)


class LocalPools:
    """Worker processes on this machine (spawned, so no torch/onnxruntime thread pool is ever
    forked), one thread each; ``workers=1`` runs in this process with its own thread settings."""

    def __init__(self, cfg: WorkerConfig, *, workers: int | None = None,
                 address: str | None = None) -> None:
        if address:
            raise ListingLensError(ErrorCode.INTERNAL_ERROR,
                                   "an address is for the ray engine; the local one needs none")
        self.cfg = cfg
        self.workers = n_workers_requested(workers)

    def __call__(self) -> Pool:
        if self.workers == 1:
            return SerialPool(replace(self.cfg, threads=0))
        return cf.ProcessPoolExecutor(max_workers=self.workers,
                                      mp_context=mp.get_context("spawn"),
                                      initializer=_init_process, initargs=(self.cfg,))

    def close(self) -> None:
        pass
