"""`listing-lens catalog build|add|info`: make and grow a reference catalog.

    listing-lens catalog build SOURCE --out DIR [--embedder builtin|clip:MODEL:WEIGHTS]
                               [--engine local|ray] [--format json]
    listing-lens catalog add SOURCE --catalog DIR [--format json]
    listing-lens catalog info DIR [--format json]

SOURCE is a folder of images or a CSV with columns image,product_id,title,category (image paths
may be relative to the CSV, or http(s) URLs: they are downloaded into DIR/images/url/, a few at a
time per host, with time-outs, retries and size limits; a re-run resumes from what is there).
With --format json, build/add print
``{"catalog": DIR, "items": N, "skipped": [{"file", "code", "message"}, ...]}``. Unreadable images
and failed URLs (DOWNLOAD_FAILED, NOT_AN_IMAGE, FILE_TOO_LARGE) are skipped, listed, and do not
fail the build (exit status 0 when a catalog was written).
"""

from __future__ import annotations

import argparse
import json
import sys

from analyzer.errors import ErrorCode, ListingLensError


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("catalog", help="build or extend a reference catalog for visual search")
    csub = p.add_subparsers(dest="catalog_command", required=True)

    b = csub.add_parser("build", help="embed a folder or CSV of product images into a catalog")
    b.add_argument("source", metavar="SOURCE", help="folder of images or CSV "
                   "(image,product_id,title,category)")
    b.add_argument("--out", required=True, metavar="DIR", help="catalog folder to create")
    b.add_argument("--embedder", default="builtin",
                   help="builtin (default, offline) or clip:MODEL:WEIGHTS")
    b.add_argument("--allow-download", action="store_true",
                   help="let a CLIP pretrained tag be downloaded (off by default)")
    b.add_argument("--device", default="auto", help="auto, cpu or cuda")
    b.add_argument("--batch-size", type=int, default=16)
    b.add_argument("--overwrite", action="store_true", help="replace an existing catalog at --out")
    b.add_argument("--engine", default="local", choices=("local", "ray"),
                   help="local (this process) or ray (a Ray cluster, for millions of images)")
    b.add_argument("--ray-address", "--address", dest="address", default=None,
                   help="Ray cluster address, e.g. auto or HEAD_IP:6379 (with --engine ray)")
    b.add_argument("--format", default="table", choices=("json", "table"),
                   help="output (default: %(default)s)")
    b.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    _add_download_args(b)
    b.set_defaults(func=run_build)

    a = csub.add_parser("add", help="add images to an existing catalog (only they are embedded)")
    a.add_argument("source", metavar="SOURCE", help="folder of images or CSV")
    a.add_argument("--catalog", required=True, metavar="DIR")
    a.add_argument("--device", default="auto")
    a.add_argument("--batch-size", type=int, default=16)
    a.add_argument("--format", default="table", choices=("json", "table"),
                   help="output (default: %(default)s)")
    a.add_argument("--no-progress", action="store_true")
    _add_download_args(a)
    a.set_defaults(func=run_add)

    i = csub.add_parser("info", help="describe a catalog (manifest and counts)")
    i.add_argument("catalog", metavar="DIR")
    i.add_argument("--format", default="table", choices=("json", "table"),
                   help="output (default: %(default)s)")
    i.set_defaults(func=run_info)


def _add_download_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("image URLs in the CSV")
    g.add_argument("--download-cache", metavar="DIR", default=None,
                   help="cache of downloaded images (default: the catalog's images/url/)")
    g.add_argument("--download-workers", type=int, default=16, help="downloads at a time")
    g.add_argument("--per-host", type=int, default=4, help="downloads at a time from one host")
    g.add_argument("--timeout", type=float, default=10.0,
                   help="seconds to connect and between reads (a whole file: 6x this)")
    g.add_argument("--retries", type=int, default=2, help="retries of a failed download")


def _download_config(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from dataclasses import replace

    from analyzer.io.download import DownloadConfig

    for name in ("download_workers", "per_host", "retries"):
        if getattr(args, name) < (0 if name == "retries" else 1):
            raise ListingLensError(ErrorCode.BAD_CSV, f"--{name.replace('_', '-')} is too small")
    if not args.timeout > 0:
        raise ListingLensError(ErrorCode.BAD_CSV, "--timeout must be positive")
    return replace(DownloadConfig.default(), workers=args.download_workers,
                   per_host=args.per_host, timeout=args.timeout, deadline=6 * args.timeout,
                   retries=args.retries)


def _print_result(res: dict, fmt: str, verb: str) -> None:
    if fmt == "json":
        json.dump(res, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
        return
    print(f"{verb} {res['catalog']}: {res['items']} images")
    for s in res["skipped"]:
        print(f"  skipped {s['file']}: {s['code']}: {s['message']}")


def _ray_build(args: argparse.Namespace) -> dict:
    try:
        import ray  # noqa: F401
    except ImportError as e:
        raise ListingLensError(
            ErrorCode.INTERNAL_ERROR,
            "--engine ray needs Ray; install it with pip install 'listing-lens[ray]'") from e
    try:
        from analyzer.scale.ray_build import build_catalog_ray
    except ImportError as e:
        raise ListingLensError(ErrorCode.INTERNAL_ERROR,
                               f"the Ray catalog builder is not available ({e})") from e
    res = build_catalog_ray(args.source, args.out, embedder=args.embedder, address=args.address)
    return res.to_dict() if hasattr(res, "to_dict") else dict(res)


def run_build(args: argparse.Namespace) -> int:
    if args.engine == "ray":
        res = _ray_build(args)
    else:
        from analyzer.search.catalog import build_catalog

        res = build_catalog(args.source, args.out, embedder=args.embedder,
                            progress=not args.no_progress, device=args.device,
                            batch_size=args.batch_size, overwrite=args.overwrite,
                            allow_download=args.allow_download,
                            download_cache=args.download_cache,
                            download_config=_download_config(args)).to_dict()
    _print_result(res, args.format, "built")
    return 0


def run_add(args: argparse.Namespace) -> int:
    from analyzer.search.catalog import add_to_catalog

    res = add_to_catalog(args.catalog, args.source, progress=not args.no_progress,
                         device=args.device, batch_size=args.batch_size,
                         download_cache=args.download_cache,
                         download_config=_download_config(args)).to_dict()
    _print_result(res, args.format, "updated")
    return 0


def run_info(args: argparse.Namespace) -> int:
    from analyzer.search.catalog import Catalog

    cat = Catalog.open(args.catalog)
    info = dict(cat.manifest)
    info["catalog"] = str(cat.root)
    info["products"] = int(cat.meta["product_id"].nunique()) if len(cat.meta) else 0
    info["categories"] = {str(k): int(v) for k, v in
                          cat.meta["category"].value_counts().items()} if len(cat.meta) else {}
    if args.format == "json":
        json.dump(info, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
        return 0
    print(f"catalog   {info['catalog']}")
    print(f"images    {info['count']} ({info['products']} products, {len(info['shards'])} shards)")
    print(f"embedder  {info['embedder_id']} (dim {info['dim']}, {info.get('dtype')})")
    print(f"index     {(info.get('index') or {}).get('kind', 'exact')}")
    print(f"created   {info.get('created')}  updated {info.get('updated')}")
    for k, v in info["categories"].items():
        print(f"  {k or '(none)'}: {v}")
    return 0
