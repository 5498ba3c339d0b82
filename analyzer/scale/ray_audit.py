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
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

TASK_NAME = "listing_lens_audit"
# Ray re-runs a task whose worker died this many times before the image is recorded as failed.
MAX_RETRIES = 3

_STATE: dict[str, Any] = {}


def _ensure_worker(config: tuple[Any, ...]) -> str:
    """Set this worker process up for ``config`` (once); returns its local thumbnail folder."""
    from analyzer.audit import runner

    if _STATE.get("config") != config:
        thumbs = _STATE.get("thumbs") or tempfile.mkdtemp(prefix="ll-audit-thumbs-")
        marketplace, use_model, catalog, threads = config
        runner.setup_worker(marketplace, use_model, catalog, thumbs, threads)
        _STATE.update(config=config, thumbs=thumbs)
    return str(_STATE["thumbs"])


def _task(config: tuple[Any, ...], fn: Callable[..., Any], *args: Any
          ) -> tuple[Any, bytes | None]:
    """Ray task body: ``fn(*args)`` in a set-up worker, plus the result's thumbnail bytes."""
    from analyzer.audit.runner import thumbnail_path

    thumbs = _ensure_worker(config)
    value = fn(*args)
    thumb = None
    h = value.get("content_hash") if isinstance(value, dict) else None
    if h:
        p = thumbnail_path(thumbs, h)
        if p.is_file():
            thumb = p.read_bytes()
            p.unlink(missing_ok=True)
    return value, thumb


class RayPool:
    """The audit's pool interface (``submit``/``shutdown``) over Ray tasks.

    ``address``: a running cluster (``ray start --head`` prints it; ``auto`` finds the local
    one); None starts a local Ray for this audit unless one is already initialised (and stops it
    at ``shutdown``). ``workers``: images analysed at once (default: the cluster's CPUs).
    """

    def __init__(self, marketplace: str | None, use_model: bool, catalog: str | None,
                 thumb_dir: str | Path, *, address: str | None = None,
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
                from analyzer.errors import ErrorCode, ListingLensError

                where = f"the Ray cluster at {address}" if address else "a local Ray"
                raise ListingLensError(ErrorCode.INTERNAL_ERROR,
                                       f"could not start or reach {where}: {e}") from e
            self.started_here = True
        self.workers = max(1, int(workers or ray.cluster_resources().get("CPU", 1)))
        self.thumb_dir = Path(thumb_dir)
        self._config = (marketplace, use_model, catalog, 1)
        self._remote = ray.remote(_task).options(name=TASK_NAME, num_cpus=1,
                                                 max_retries=max_retries,
                                                 retry_exceptions=False)
        self._refs: dict[cf.Future, Any] = {}

    def submit(self, fn: Callable[..., Any], *args: Any) -> cf.Future:
        """Run ``fn(*args)`` (a module-level function) as a Ray task; the future gives its value."""
        ref = self._remote.remote(self._config, fn, *args)
        out: cf.Future = cf.Future()
        self._refs[out] = ref

        def done(f: cf.Future) -> None:
            from analyzer.audit.runner import store_thumbnail

            self._refs.pop(out, None)
            try:
                value, thumb = f.result()
            except BaseException as e:  # worker lost for good, or cancelled: the caller decides
                out.set_exception(e)
                return
            if thumb and isinstance(value, dict) and value.get("content_hash"):
                try:
                    store_thumbnail(self.thumb_dir, value["content_hash"], thumb)
                except OSError as e:
                    value.setdefault("notes", []).append(f"thumbnail not saved ({e})")
            out.set_result(value)

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
        if self.started_here and self._ray.is_initialized():
            self._ray.shutdown()
            self.started_here = False

