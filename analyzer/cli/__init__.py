"""The `listing-lens` command line. Each subcommand lives in its own module with
``add_parser(subparsers)``; the list below is the one place they are wired in."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

SUBCOMMAND_MODULES = ("analyze", "catalog", "search", "audit", "fix")


def build_parser() -> argparse.ArgumentParser:
    from analyzer import __version__

    parser = argparse.ArgumentParser(
        prog="listing-lens",
        description="Grade product listing photos and simulate where they rank in search by photo.",
    )
    parser.add_argument("--version", action="version", version=f"listing-lens {__version__}")
    parser.add_argument("--debug", action="store_true",
                        help="log internal errors with their tracebacks (for bug reports)")
    sub = parser.add_subparsers(dest="command", required=True)
    for mod in SUBCOMMAND_MODULES:
        try:
            m = importlib.import_module(f"analyzer.cli.{mod}")
        except ModuleNotFoundError as e:
            if e.name == f"analyzer.cli.{mod}":
                continue
            raise
        m.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    from analyzer.errors import ListingLensError

    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.WARNING,
                        format="%(levelname)s: %(message)s")
    try:
        return int(args.func(args) or 0)
    except ListingLensError as e:
        print(f"error: {e.code.value}: {e.message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
