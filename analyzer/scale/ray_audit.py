"""Store audit on Ray: the local audit's loop, with Ray tasks in place of worker processes.

:func:`analyzer.audit.runner.run_audit` (``engine="ray"``) keeps everything that makes the local
audit safe, on the driver: reading each input and hashing it (the resume key), skipping what
``results.jsonl`` already holds, counting duplicate listings, appending each result as it arrives
and rewriting the log in input order at the end. Only the per-image analysis moves: each image
is one Ray task (``audit_one`` on the bytes the driver read), submitted through :class:`RayPool`,
which offers the ``submit() -> concurrent.futures.Future`` interface of the local process pool.

* **Exactly once.** The driver writes one result per future it submitted. A worker process that
  dies mid-task (killed, out of memory) makes Ray run the task again on another worker
  (``max_retries``); the driver still sees one future completing once, so nothing is lost and
  nothing is written twice. A task that keeps killing its workers fails after ``max_retries``
  and is recorded as ``INTERNAL_ERROR`` (retried on the next run), as in the local engine.
* **State per worker, not per task.** Ray reuses worker processes between tasks; the first task
  of a worker sets it up (thread limits, the catalog's search context) and later tasks with the
  same settings reuse it, so models and catalogs load once per worker.
* **No shared disk needed for outputs.** Workers get the image bytes from the driver and send
  the small PDF thumbnail back with the result; the driver writes it into ``DIR/thumbs``. Only a
  ``--catalog`` must be readable at the same path on every node.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import os
from collections.abc import Callable
from typing import Any

from analyzer.audit.worker import WorkerConfig, setup_worker
from analyzer.errors import ErrorCode, ListingLensError

TASK_NAME = "listing_lens_audit"
# Ray re-runs a task whose worker died this many times before the image is recorded as failed.
MAX_RETRIES = 3

def _task(cfg: WorkerConfig, fn: Callable[..., Any], *args: Any) -> Any:
    """Ray task body: ``fn(*args)`` in a worker set up for ``cfg`` (once per worker process)."""
    setup_worker(cfg)
    return fn(*args)


class RayPools:
    """The audit's pool factory (:mod:`analyzer.audit.pools`) over Ray tasks.

    ``address``: a running cluster (``ray start --head`` prints it; ``auto`` finds the local
    one); None starts a local Ray for this audit unless one is already initialised (and stops it
    at ``close``). ``workers``: images analysed at once (default: the cluster's CPUs). Ray
    replaces lost workers itself, so the one pool never breaks and every call returns it.
    """

    def __init__(self, cfg: WorkerConfig, *, address: str | None = None,
                 workers: int | None = None, max_retries: int = MAX_RETRIES) -> None:
        import ray

        self._ray = ray
        self.started_here = False
        if not ray.is_initialized():
            os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
            local = address is None
            try:
                ray.init(address=address, num_cpus=workers if local else None,
                         include_dashboard=False, ignore_reinit_error=True,
                         log_to_driver=False,
                         object_store_memory=512 * 1024**2 if local else None)
            except Exception as e:  # a wrong address, a cluster that is down
                where = f"the Ray cluster at {address}" if address else "a local Ray"
                raise ListingLensError(ErrorCode.INTERNAL_ERROR,
                                       f"could not start or reach {where}: {e}") from e
            self.started_here = True
        self.workers = max(1, int(workers or ray.cluster_resources().get("CPU", 1)))
        remote = ray.remote(_task).options(name=TASK_NAME, num_cpus=1, max_retries=max_retries,
                                           retry_exceptions=False)
        self._pool = RayPool(ray, remote, cfg)

    def __call__(self) -> RayPool:
        return self._pool

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        if self.started_here and self._ray.is_initialized():
            self._ray.shutdown()
            self.started_here = False


class RayPool:
    """``submit(fn, *args) -> Future`` over Ray tasks (the interface of a process pool)."""

    def __init__(self, ray: Any, remote: Any, cfg: WorkerConfig) -> None:
        self._ray = ray
        self._remote = remote
        self._cfg = cfg
        self._refs: dict[cf.Future, Any] = {}

    def submit(self, fn: Callable[..., Any], *args: Any) -> cf.Future:
        """Run ``fn(*args)`` (a module-level function) as a Ray task; the future gives its value."""
        ref = self._remote.remote(self._cfg, fn, *args)
        out: cf.Future = cf.Future()
        self._refs[out] = ref

        def done(f: cf.Future) -> None:
            self._refs.pop(out, None)
            try:
                out.set_result(f.result())
            except BaseException as e:  # worker lost for good, or cancelled: the caller decides
                out.set_exception(e)

        ref.future().add_done_callback(done)
        return out

    def shutdown(self, wait: bool = True, cancel_futures: bool = False) -> None:
        if cancel_futures:
            for ref in list(self._refs.values()):
                with contextlib.suppress(Exception):  # already finished
                    self._ray.cancel(ref, force=True)
        if wait and self._refs:
            with contextlib.suppress(Exception):
                cf.wait(list(self._refs))
