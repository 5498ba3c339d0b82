"""`listing-lens fix PATH... --marketplace amazon --out DIR [--format json|table] [--no-model]
[--overwrite]`.

Makes a marketplace-ready main image from each photo (white background, colour cast, framing,
props, sRGB JPEG) and re-grades it. The JSON output is a contract (see README): a list, one
object per input in input order, ``{"file", "ok", "error", "output", "changes", "before",
"after", "notes"}``. Exit status 0 when every input was handled, 2 when some could not be. An
input is never modified; an existing output is never replaced without ``--overwrite``.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from analyzer.cli.output import emit
from analyzer.config import default_marketplace, marketplace_keys

# Names the fix gives its outputs (see analyzer.fix.runner.write_outcome).
_OUTPUT_STEM = re.compile(r"_fixed(_\d+)?$")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("fix", help="fix listing photos for a marketplace and re-grade them")
    p.add_argument("paths", nargs="+", metavar="PATH", help="image files or folders (recursive)")
    p.add_argument("--marketplace", default=default_marketplace(), choices=marketplace_keys(),
                   help="whose image rules apply (default: %(default)s)")
    p.add_argument("--out", required=True, metavar="DIR",
                   help="folder for the fixed photos (created); names are NAME_fixed.jpg")
    p.add_argument("--format", default="table", choices=("json", "table"),
                   help="output (default: %(default)s)")
    p.add_argument("--no-model", action="store_true",
                   help="use the classical product mask instead of the neural one (faster)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace fixed photos already in --out (inputs are never replaced)")
    p.set_defaults(func=run)


def format_table(results: list[dict]) -> str:
    from analyzer.cli.output import fit, name_width

    name_w = name_width([r["file"] for r in results])
    head = f"{fit('file', name_w)}  before  after  changes"
    lines = [head, "-" * len(head)]
    for r in results:
        name = fit(r["file"], name_w)
        if not r["ok"]:
            lines.append(f"{name}  ERROR {r['error']['code']}: {r['error']['message']}")
            continue
        b, a = r["before"], r["after"]
        ch = ", ".join(c["code"] for c in r["changes"])
        lines.append(f"{name}  {b['grade']:>2} {b['overall']:3.0f}  "
                     f"{a['grade']:>2} {a['overall']:3.0f}  {ch} -> {r['output']}")
        lines.extend(f"{'':<{name_w}}    note: {n}" for n in r["notes"])
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from analyzer.fix.runner import fix_source, write_outcome
    from analyzer.io.loader import iter_image_paths

    out = Path(args.out).resolve()
    paths: list[Path] = []
    # No output ever lands on a file given as input or found in an input folder.
    protect: set[Path] = set()
    earlier = 0
    for arg in args.paths:
        found = iter_image_paths([arg])
        protect.update(p.resolve() for p in found)
        if Path(arg).is_dir():  # fixed photos of an earlier run in that folder are not inputs
            kept = [p for p in found
                    if not (p.resolve().parent == out and _OUTPUT_STEM.search(p.stem))]
            earlier += len(found) - len(kept)
            found = kept
        paths.extend(found)
    if earlier:
        print(f"skipped {earlier} fixed photo(s) of an earlier run in {args.out} "
              "(NAME_fixed.jpg): they are outputs, not inputs", file=sys.stderr)
    if not paths:
        print("error: no images found in the given paths", file=sys.stderr)
        return 2
    taken: set[str] = set()
    results = []
    problem = None
    if out.exists() and not out.is_dir():
        problem = (f"--out {args.out} is a file, not a folder: give the folder the fixed "
                   "photos go to")
    else:
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            problem = (f"cannot create the folder --out {args.out} ({e.strerror or e}): give a "
                       "folder you can write to")
    if problem:
        # Nothing could be written: every input gets the error at once, none is worked on.
        from analyzer.errors import ErrorCode, ListingLensError
        from analyzer.fix.runner import FixOutcome

        err = ListingLensError(ErrorCode.OUTPUT_NOT_WRITABLE, problem).to_dict()
        results = [FixOutcome(file=str(p), ok=False, error=err).to_dict() for p in paths]
        return emit(results, args.format, format_table)
    for p in paths:
        outcome = fix_source(p, marketplace=args.marketplace, use_model=not args.no_model)
        write_outcome(outcome, args.out, overwrite=args.overwrite, taken=taken, protect=protect)
        results.append(outcome.to_dict())
    return emit(results, args.format, format_table)
