"""Start the dashboard as a real server on a free port (for the browser test and the benchmark).

``with running_app() as url:`` starts ``streamlit run app.py`` headless, waits until its health
endpoint answers, and stops the process group on exit (no stray servers on a shared machine).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-dev-shm-usage"]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(url: str, timeout: float = 90.0, proc: subprocess.Popen | None = None) -> float:
    """Poll Streamlit's health endpoint; returns the seconds it took."""
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with code {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return time.perf_counter() - t0
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"streamlit did not answer at {url} within {timeout:.0f} s")


@contextlib.contextmanager
def running_app(port: int | None = None, log_path: Path | None = None,
                env: dict[str, str] | None = None, timeout: float = 90.0) -> Iterator[str]:
    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-m", "streamlit", "run", str(REPO / "app.py"),
           "--server.port", str(port), "--server.address", "127.0.0.1",
           "--server.headless", "true", "--browser.gatherUsageStats", "false",
           "--server.fileWatcherType", "none"]
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    log = open(log_path, "wb") if log_path else subprocess.DEVNULL  # noqa: SIM115
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, env=full_env,
                            start_new_session=True)
    try:
        wait_ready(url, timeout, proc)
        yield url
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
        if log_path:
            log.close()  # type: ignore[union-attr]


def launch_browser(playwright):  # type: ignore[no-untyped-def]
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                      headless=True)


def upload_and_wait_grade(page, files: list[str | Path], timeout_ms: int = 120_000) -> str:  # type: ignore[no-untyped-def]
    """Upload files through the real uploader and return the first grade shown."""
    page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(
        [str(f) for f in files])
    grade = page.locator('[data-testid="ll-grade"]').first
    grade.wait_for(state="visible", timeout=timeout_ms)
    return grade.inner_text().strip()


def settle(page, timeout_ms: int = 15_000) -> None:  # type: ignore[no-untyped-def]
    """Wait until the app has stopped running and every visible Plotly chart has drawn."""
    import contextlib

    page.wait_for_timeout(300)  # a rerun may be about to start
    with contextlib.suppress(Exception):
        page.wait_for_function(
            """() => !document.querySelector('[data-testid="stStatusWidgetRunningIcon"],'
                 + '[data-testid="stStatusWidgetRunningManIcon"], [data-stale="true"]')""",
            timeout=timeout_ms)
    with contextlib.suppress(Exception):
        page.wait_for_function(
            """() => [...document.querySelectorAll('[data-testid="stPlotlyChart"]')]
                 .filter(e => e.offsetParent !== null)
                 .every(e => e.querySelector('.main-svg'))""", timeout=timeout_ms)
    page.wait_for_timeout(300)
