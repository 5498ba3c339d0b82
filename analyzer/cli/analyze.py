"""`listing-lens analyze PATH... [--marketplace amazon] [--format json|table]`.

The JSON output is a contract other tools depend on (see README): a list, one object per input in
input order. Exit status 0 when every input was analysed, 2 when some were not.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from analyzer.config import default_marketplace, marketplace_keys


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("analyze", help="grade listing photos (files or folders)")
    p.add_argument("paths", nargs="+", metavar="PATH", help="image files or folders (recursive)")
    p.add_argument("--marketplace", default=default_marketplace(), choices=marketplace_keys())
    p.add_argument("--format", default="table", choices=("json", "table"))
    p.add_argument("--no-model", action="store_true",
                   help="use the classical product mask instead of the neural one (faster)")
    p.add_argument("--catalog", default=None,
                   help="catalog folder: add search-rank simulation and differentiation")
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="worker processes (default: the machine's cores; 1 = this process)")
    p.set_defaults(func=run)


def format_table(results: list[dict]) -> str:
    cols = ("overall", "sharpness", "exposure", "background", "framing", "clutter",
            "resolution", "overlays")
    name_w = min(max([len(r["file"]) for r in results] + [4]), 48)
    head = f"{'file':<{name_w}}  grade  " + "  ".join(f"{c[:5]:>5}" for c in cols) + "  top issue"
    lines = [head, "-" * len(head)]
    for r in results:
        name = r["file"] if len(r["file"]) <= name_w else "..." + r["file"][-(name_w - 3):]
        if not r["ok"]:
            lines.append(f"{name:<{name_w}}  {'-':^5}  ERROR {r['error']['code']}: "
                         f"{r['error']['message']}")
            continue
        scores = "  ".join(f"{r['scores'].get(c, float('nan')):5.0f}" for c in cols)
        top = r["flags"][0]["message"] if r["flags"] else "no issues"
        lines.append(f"{name:<{name_w}}  {r['grade']:^5}  {scores}  {top}")
    return "\n".join(lines)


def analyze_one(path: str, marketplace: str | None, use_model: bool,
                search: Any = None) -> dict[str, Any]:
    """One input's analyze-JSON dict (with the search simulation when ``search`` is an open
    SearchContext); the same function runs in this process and in the worker processes."""
    from analyzer.engine import analyze

    report = analyze(path, marketplace=marketplace, use_model=use_model,
                     keep_image=search is not None)
    if search is not None and report.ok:
        search.enrich(report)
    report.image = None
    return report.to_dict()


def _work(path: str) -> dict[str, Any]:
    """In a worker process: :func:`analyze_one` with the worker's settings. A ListingLensError
    comes back as data (its constructor's arguments do not survive pickling) and is raised again
    in the parent, as it would be without workers."""
    from analyzer.audit.runner import worker_state
    from analyzer.errors import ListingLensError

    w = worker_state()
    if w.get("init_error"):
        return {"__error__": w["init_error"]}
    try:
        return analyze_one(path, w["marketplace"], w["use_model"], w["search"])
    except ListingLensError as e:
        return {"__error__": e.to_dict()}


def _lost(args: tuple, what: str) -> dict[str, Any]:
    from analyzer.engine import error_report
    from analyzer.errors import ErrorCode, ListingLensError

    return error_report(args[0], ListingLensError(
        ErrorCode.INTERNAL_ERROR, f"{what} while analysing this image (out of memory?)")).to_dict()


def _results_parallel(paths: list[str], args: argparse.Namespace, workers: int) -> list[dict]:
    from analyzer.audit.runner import map_ordered
    from analyzer.errors import ListingLensError

    results = []
    for r in map_ordered(_work, [(p,) for p in paths], workers=workers,
                         marketplace=args.marketplace, use_model=not args.no_model,
                         catalog=args.catalog, on_lost=_lost):
        if "__error__" in r:
            raise ListingLensError(r["__error__"]["code"], r["__error__"]["message"])
        results.append(r)
    return results


def run(args: argparse.Namespace) -> int:
    from analyzer.io.loader import iter_image_paths

    paths = [str(p) for p in iter_image_paths(args.paths)]
    if not paths:
        print("error: no images found in the given paths", file=sys.stderr)
        return 2
    if args.workers is not None and args.workers < 1:
        print("error: --workers must be at least 1", file=sys.stderr)
        return 2
    # Each worker costs a process start and its own model session (~1-2 s), so never more
    # workers than inputs; one worker runs here, in this process.
    workers = min(args.workers or os.cpu_count() or 1, len(paths))
    if workers > 1:
        if args.catalog:
            from analyzer.search.catalog import Catalog

            Catalog.open(args.catalog)  # CATALOG_NOT_FOUND / MISMATCH now, before any work
        results = _results_parallel(paths, args, workers)
    else:
        search_ctx = None
        if args.catalog:
            from analyzer.search.integration import SearchContext

            search_ctx = SearchContext.open(args.catalog)
        results = [analyze_one(p, args.marketplace, not args.no_model, search_ctx)
                   for p in paths]
    if args.format == "json":
        json.dump(results, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        print(format_table(results))
    return 0 if all(r["ok"] for r in results) else 2
