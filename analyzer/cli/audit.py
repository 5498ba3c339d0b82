"""`listing-lens audit SOURCE --out DIR [--catalog DIR] [--marketplace amazon] [--workers N]
[--engine local|ray [--ray-address ADDR]] [--fix]`.

Audits every image of a store (a folder, a zip, or a CSV with an ``image`` column) and writes
``DIR/results.jsonl`` (one analyze-JSON object per input), ``DIR/report.csv`` and
``DIR/report.pdf``. Re-running the same command resumes: images already in results.jsonl (by
content hash) are not analysed again. Exit status 0 when every image was audited, 2 when some
failed (they are listed in the reports), 130 when interrupted (finished work is kept).
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys

from analyzer.config import default_marketplace, marketplace_keys
from analyzer.errors import ErrorCode, ListingLensError


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "audit", help="audit a whole store: folder, zip or CSV -> results.jsonl, CSV, PDF",
        description=__doc__.split("\n\n")[1] if __doc__ else None)
    p.add_argument("source", metavar="SOURCE",
                   help="a folder (recursive), a .zip, or a .csv with an 'image' column "
                        "(and optional 'product_id', 'title')")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder (created)")
    p.add_argument("--catalog", default=None, metavar="DIR",
                   help="catalog folder: add search-rank simulation and lookalikes")
    p.add_argument("--marketplace", default=default_marketplace(), choices=marketplace_keys(),
                   help="whose image rules apply (default: %(default)s)")
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="worker processes (default: number of CPU cores; 1 = no subprocesses)")
    p.add_argument("--engine", default="local", choices=("local", "ray"),
                   help="local (worker processes on this machine) or ray (one Ray task per "
                        "image, on a local Ray or a cluster)")
    p.add_argument("--ray-address", default=None, metavar="ADDR",
                   help="Ray cluster address, e.g. auto or HEAD_IP:6379 (with --engine ray; "
                        "default: start a local Ray)")
    p.add_argument("--store-name", default=None, help="name printed on the PDF cover")
    p.add_argument("--no-model", action="store_true",
                   help="classical product mask instead of the neural one (faster, rougher)")
    p.add_argument("--no-pdf-limit", action="store_true",
                   help="a page for every image with an issue (default: the 150 worth most)")
    p.add_argument("--fix", action="store_true",
                   help="also write a fixed photo of each image under DIR/fixed/ (white "
                        "background, colour, framing, props) with its before/after grade in "
                        "the CSV and PDF")
    p.add_argument("--cover-art", action="store_true",
                   help="every photo is printed media's cover art, edge to edge (books, films, "
                        "music, games): its background and props are not judged")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def run(args: argparse.Namespace) -> int:
    from analyzer.audit.runner import run_audit

    if args.workers is not None and args.workers < 1:
        print("error: --workers must be at least 1", file=sys.stderr)
        return 2
    if args.ray_address and args.engine != "ray":
        print("error: --ray-address needs --engine ray", file=sys.stderr)
        return 2
    if args.engine == "ray":
        try:
            import ray  # noqa: F401
        except ImportError as e:
            raise ListingLensError(
                ErrorCode.INTERNAL_ERROR,
                "--engine ray needs Ray; install it with pip install 'listing-lens[ray]'") from e
    # `kill` (SIGTERM) stops the audit like Ctrl-C: workers are stopped, finished work is kept.
    with contextlib.suppress(ValueError):  # not in the main thread: leave signals alone
        signal.signal(signal.SIGTERM, _raise_interrupt)
    summary = run_audit(
        args.source, args.out, marketplace=args.marketplace, catalog=args.catalog,
        workers=args.workers, use_model=not args.no_model, progress=not args.quiet,
        store_name=args.store_name, pdf_detail_limit=10**9 if args.no_pdf_limit else None,
        engine=args.engine, ray_address=args.ray_address, fix=args.fix,
        cover_art=args.cover_art)
    ok = summary.total - summary.failed
    # files refused before any analysis (unreadable, too large) are in no other count: said, so
    # the counts add up to the total (a new user's try: "16 analysed now" of 17)
    unread = summary.total - summary.analysed - summary.resumed - summary.duplicates
    print(f"audited {ok} of {summary.total} images in {summary.elapsed_s:.1f} s "
          f"({summary.analysed} analysed now, "
          + (f"{unread} refused before analysis, " if unread > 0 else "")
          + f"{summary.resumed} already done, {summary.duplicates} "
          + ("duplicate" if summary.duplicates == 1 else "duplicates")
          + (" of another file, graded once" if summary.duplicates else "") + ")",
          file=sys.stderr)
    for dup, first in summary.duplicate_of[:20]:  # which files, not only how many
        print(f"duplicate: {dup} has the same photo as {first} (graded once)", file=sys.stderr)
    if len(summary.duplicate_of) > 20:
        print(f"... and {len(summary.duplicate_of) - 20} more duplicates", file=sys.stderr)
    if summary.regraded:
        print(f"graded again: {summary.regraded} photos that {args.out} held results for with "
              "another marketplace, mask, catalog or cover-art setting", file=sys.stderr)
    if summary.skipped:
        print(f"skipped {len(summary.skipped)} non-image files", file=sys.stderr)
    for f in summary.failed_files[:20]:
        print(f"  failed: {f['file']}: {f['code']}: {f['message']}", file=sys.stderr)
    if summary.failed > 20:
        print(f"  ... and {summary.failed - 20} more (see report.csv)", file=sys.stderr)
    print(f"results: {summary.results_path}\nCSV:     {summary.csv_path}\n"
          f"PDF:     {summary.pdf_path}")
    if args.fix:
        from analyzer.audit.runner import FIXED_DIR

        print(f"fixed:   {summary.out_dir / FIXED_DIR}")
    return summary.exit_code
