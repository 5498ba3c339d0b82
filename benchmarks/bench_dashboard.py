"""Dashboard timing in real headless Chromium: cold start and upload -> first report card.

    .venv/bin/python benchmarks/bench_dashboard.py [--warm-runs 3] [--screens DIR]

Figures (printed against the aims of issue 4):
  server start     `streamlit run` -> health endpoint answers
  page ready       first page load -> uploader visible
  cold first card  first upload -> grade shown (includes model and catalog loads)
  warm card        upload of a new photo in a fresh session, models warm (median of runs)
  cached card      the same photo again in a fresh session (per-content-hash cache)
  search ready     upload -> search simulation shown (after the card; needs the catalog)
"""

from __future__ import annotations

import argparse
import signal
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

AIM_SEARCH_S = 4.0  # search simulation on screen after the card (issue 18)
AIM_WARM_S = 2.0
AIM_COLD_S = 15.0


def photos(n: int) -> list[Path]:
    import csv

    data = REPO.parent / "shared" / "data" / "luma"
    with open(data / "MANIFEST_products.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    return [data / r["images"].split("|")[0] for r in rows[: n]]


def wait_search(page, t0: float, timeout_ms: int = 300_000) -> float:  # type: ignore[no-untyped-def]
    """Seconds from ``t0`` until the search tab shows its figures (NaN without a catalog)."""
    shown = page.get_by_text("Where your listing ranks")
    off = page.get_by_text("The search simulation is off").or_(
        page.get_by_text("Pick the demo catalog"))
    try:
        shown.or_(off).first.wait_for(state="attached", timeout=timeout_ms)
    except Exception:
        return float("nan")
    if shown.count() == 0:
        return float("nan")  # no catalog: nothing to time
    return time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--warm-runs", type=int, default=3)
    ap.add_argument("--screens", type=Path, default=None, help="save screenshots here")
    args = ap.parse_args()
    # `timeout` and Ctrl-C must still stop the app server (the harness's finally block).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    from playwright.sync_api import sync_playwright

    from analyzer.ui.harness import launch_browser, running_app, upload_and_wait_grade

    imgs = photos(args.warm_runs + 1)
    out: dict[str, float | list[float]] = {}
    t0 = time.perf_counter()
    with running_app(timeout=180) as url:
        out["server start"] = time.perf_counter() - t0
        with sync_playwright() as p:
            browser = launch_browser(p)

            def fresh_page():  # type: ignore[no-untyped-def]
                page = browser.new_page(viewport={"width": 1440, "height": 1000})
                t = time.perf_counter()
                page.goto(url)
                page.locator('[data-testid="stFileUploader"]').wait_for(timeout=180_000)
                return page, time.perf_counter() - t

            page, out["page ready"] = fresh_page()
            t = time.perf_counter()
            grade = upload_and_wait_grade(page, [imgs[0]], timeout_ms=300_000)
            out["cold first card"] = time.perf_counter() - t
            out["cold search ready"] = wait_search(page, t)
            print(f"cold: {imgs[0].name} -> grade {grade}")
            if args.screens:
                args.screens.mkdir(parents=True, exist_ok=True)
                page.wait_for_timeout(1500)
                page.screenshot(path=str(args.screens / "bench-card.png"), full_page=True)
            page.close()

            warm, warm_search = [], []
            for img in imgs[1:]:
                page, _ = fresh_page()
                t = time.perf_counter()
                upload_and_wait_grade(page, [img], timeout_ms=120_000)
                warm.append(time.perf_counter() - t)
                warm_search.append(wait_search(page, t))
                page.close()
            out["warm card"] = warm
            out["warm search ready"] = warm_search

            page, _ = fresh_page()
            t = time.perf_counter()
            upload_and_wait_grade(page, [imgs[1]], timeout_ms=120_000)
            out["cached card"] = time.perf_counter() - t
            page.close()
            browser.close()

    cold_total = float(out["server start"]) + float(out["page ready"]) + \
        float(out["cold first card"])
    warm_med = statistics.median(out["warm card"]) if out["warm card"] else float("nan")
    print()
    print(f"{'measure':<36}{'seconds':>9}   aim")
    print(f"{'server start (streamlit run)':<36}{out['server start']:>9.2f}")
    print(f"{'page ready (uploader visible)':<36}{out['page ready']:>9.2f}")
    print(f"{'cold first card (models load)':<36}{out['cold first card']:>9.2f}")
    print(f"{'cold start total':<36}{cold_total:>9.2f}   <= {AIM_COLD_S:.0f} s "
          f"{'OK' if cold_total <= AIM_COLD_S else 'MISSED'}")
    print(f"{'warm card, median of ' + str(len(out['warm card'])):<36}{warm_med:>9.2f}   "
          f"<= {AIM_WARM_S:.0f} s {'OK' if warm_med <= AIM_WARM_S else 'MISSED'}"
          f"   (runs: {', '.join(f'{v:.2f}' for v in out['warm card'])})")
    print(f"{'cached card (same photo again)':<36}{out['cached card']:>9.2f}")
    ws = [v for v in out["warm search ready"] if v == v]
    print(f"{'search simulation shown, cold':<36}{out['cold search ready']:>9.2f}")
    if ws:
        print(f"{'search simulation shown, warm median':<36}{statistics.median(ws):>9.2f}")
        # the aim: the search figures on screen <= 4 s after the card, per upload
        after = [s - c for s, c in zip(out["warm search ready"], out["warm card"], strict=True)
                 if s == s]
        med = statistics.median(after)
        print(f"{'  of which after the card, median':<36}{med:>9.2f}   <= {AIM_SEARCH_S:.0f} s "
              f"{'OK' if med <= AIM_SEARCH_S else 'MISSED'}"
              f"   (runs: {', '.join(f'{v:.2f}' for v in after)})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
