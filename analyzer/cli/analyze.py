"""`listing-lens analyze PATH... [--marketplace amazon] [--format json|table]`.

The JSON output is a contract other tools depend on (see README): a list, one object per input in
input order. Exit status 0 when every input was analysed, 2 when some were not.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from analyzer.cli.output import emit
from analyzer.config import default_marketplace, marketplace_keys


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("analyze", help="grade listing photos (files or folders)")
    p.add_argument("paths", nargs="+", metavar="PATH", help="image files or folders (recursive)")
    p.add_argument("--marketplace", default=default_marketplace(), choices=marketplace_keys(),
                   help="whose image rules apply (default: %(default)s)")
    p.add_argument("--format", default="table", choices=("json", "table"),
                   help="output (default: %(default)s)")
    p.add_argument("--no-model", action="store_true",
                   help="use the classical product mask instead of the neural one (faster)")
    p.add_argument("--catalog", default=None,
                   help="catalog folder: add search-rank simulation and differentiation")
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="worker processes (default: the machine's cores; 1 = this process)")
    p.add_argument("--title", default="", metavar="TEXT",
                   help="the product's title, for every input (a title naming a set, kit or "
                        "bundle makes the other items on the backdrop part of the product, not "
                        "props); for many products use `audit` with a CSV title column")
    p.add_argument("--cover-art", action="store_true",
                   help="the photos are printed media's cover art, edge to edge (books, films, "
                        "music, games): their background and props are not judged")
    p.set_defaults(func=run)


def format_table(results: list[dict]) -> str:
    from analyzer.cli.output import fit, name_width

    cols = ("overall", "sharpness", "exposure", "background", "framing", "clutter",
            "resolution", "overlays")
    name_w = name_width([r["file"] for r in results])
    head = (f"{fit('file', name_w)}  grade  " + "  ".join(f"{c:>{len(c)}}" for c in cols)
            + "  top issue")
    lines = [head, "-" * len(head)]
    for r in results:
        name = fit(r["file"], name_w)
        if not r["ok"]:
            lines.append(f"{name}  {'-':^5}  ERROR {r['error']['code']}: "
                         f"{r['error']['message']}")
            continue
        scores = "  ".join(f"{r['scores'].get(c, float('nan')):{len(c)}.0f}" for c in cols)
        top = r["flags"][0]["message"] if r["flags"] else "no issues"
        lines.append(f"{name}  {r['grade']:^5}  {scores}  {top}")
    return "\n".join(lines)


def _lost(args: tuple, what: str) -> dict[str, Any]:
    from analyzer.engine import error_report
    from analyzer.errors import ErrorCode, ListingLensError

    return error_report(args[0], ListingLensError(
        ErrorCode.INTERNAL_ERROR, f"{what} while analysing this image (out of memory?); "
                                  "run it again")).to_dict()


def run(args: argparse.Namespace) -> int:
    from analyzer.audit.pools import LocalPools, map_ordered
    from analyzer.audit.worker import WorkerConfig, analyze_path, warm
    from analyzer.io.loader import iter_image_paths

    if args.workers is not None and args.workers < 1:
        print("error: --workers must be at least 1", file=sys.stderr)
        return 2
    paths: list[str] = []
    empty: list[str] = []
    for arg in args.paths:
        found = [str(p) for p in iter_image_paths([arg])]
        if not found:
            empty.append(str(arg))
        paths.extend(found)
    if not paths:
        print("error: no images found in the given paths", file=sys.stderr)
        return 2
    for arg in empty:  # a folder among several that holds no image is said, not passed over
        print(f"note: no images found in {arg}", file=sys.stderr)
    if args.catalog:
        from analyzer.search.catalog import Catalog

        Catalog.open(args.catalog)  # CATALOG_NOT_FOUND / MISMATCH now, before any work
    # The audit's pool: each worker loads its models (and the catalog) once. A worker costs a
    # process start and its own model session (~1-2 s), so never more workers than inputs; one
    # runs in this process.
    workers = min(args.workers or os.cpu_count() or 1, len(paths))
    pools = LocalPools(WorkerConfig(args.marketplace, not args.no_model, args.catalog,
                                    cover_art=args.cover_art), workers=workers)
    results = list(map_ordered(pools, analyze_path, [(p, args.title) for p in paths],
                               on_lost=_lost,
                               prepare=warm if args.catalog else None))
    return emit(results, args.format, format_table)
