"""`listing-lens search QUERY... --catalog DIR [-k 10] [--text "red bag"] [--format json]`.

Finds the catalog products that look most like each query photo (or, with a CLIP catalog, match
each text). The JSON output is a contract: a list, one object per query in input order (image
queries first, then --text queries)::

    {"query": str, "kind": "image"|"text",
     "results": [{"rank", "product_id", "image", "title", "category", "similarity"}, ...]}

with k results per query, one row per product (a product with several images counts once, at
its best image). A query that cannot be read gets ``"error": {"code", "message"}`` and
``"results": []``; the others still run, and the exit status is 2.
"""

from __future__ import annotations

import argparse
import json
import sys

from analyzer.errors import ErrorCode, ListingLensError

RESULT_KEYS = ("rank", "product_id", "image", "title", "category", "similarity")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("search", help="search a catalog by photo (or by text with CLIP)")
    p.add_argument("queries", nargs="*", metavar="QUERY", help="query images (files or folders)")
    p.add_argument("--text", action="append", default=[], metavar="TEXT",
                   help="a text query (needs a CLIP catalog); may be repeated")
    p.add_argument("--catalog", default=None, metavar="DIR",
                   help="catalog folder (default: the shipped demo catalog)")
    p.add_argument("-k", type=int, default=10, help="results per query (products)")
    p.add_argument("--category", default=None, help="only products of this category")
    p.add_argument("--embedder", default=None,
                   help="embedder spec, when the catalog's own cannot be found (e.g. moved "
                        "CLIP weights); it must produce the catalog's embedder id")
    p.add_argument("--device", default="auto")
    p.add_argument("--format", default="table", choices=("json", "table"),
                   help="output (default: %(default)s)")
    p.set_defaults(func=run)


def format_table(out: list[dict]) -> str:
    lines = []
    for o in out:
        lines.append(f"query: {o['query']}")
        if "error" in o:
            lines.append(f"  ERROR {o['error']['code']}: {o['error']['message']}")
            continue
        if not o["results"]:
            lines.append("  (no results)")
            continue
        # columns as wide as this query's longest id and title (a long id pushed every column
        # after it out of line, a thirteenth new user's try), a title cut at 40 characters
        rows = [(str(r["product_id"]), str(r["title"])[:40], str(r["category"]))
                for r in o["results"]]
        wid = max(10, *(len(i) for i, _, _ in rows))
        wt = max(5, *(len(t) for _, t, _ in rows))
        lines.append(f"  {'rank':>4}  {'sim':<5}  {'product':<{wid}}  {'title':<{wt}}  category")
        for r, (pid, title, cat) in zip(o["results"], rows, strict=True):
            lines.append(f"  {r['rank']:>4}  {r['similarity']:.3f}  {pid:<{wid}}  {title:<{wt}}  "
                         f"{cat}")
    return "\n".join(lines)


def run_search(catalog_dir, image_queries: list, texts: list[str], k: int = 10,  # type: ignore[no-untyped-def]
               category: str | None = None, embedder: str | None = None,
               device: str = "auto") -> list[dict]:
    """The search CLI's JSON objects for ``image_queries`` then ``texts`` (library entry point)."""
    import numpy as np

    from analyzer.io.loader import load_image
    from analyzer.search.catalog import Catalog

    if k < 1:
        raise ValueError("k must be at least 1")
    cat = Catalog.open(catalog_dir)
    if category is not None:
        known = sorted({str(c) for c in cat.meta["category"]})
        # the catalog's own spelling for any case ("watches" for "Watches", a fourteenth new
        # user's try)
        category = next((k for k in known if k.casefold() == category.casefold()), category)
        if category not in known:  # an exact match: a typo would read as "no results"
            shown = ", ".join(known[:12]) + (" ..." if len(known) > 12 else "")
            raise ListingLensError(ErrorCode.UNKNOWN_CATEGORY,
                                   f"the catalog has no category {category!r}; its categories: "
                                   f"{shown or 'none'}")
    out: list[dict] = []
    images, slots = [], []
    for q in image_queries:
        o: dict = {"query": str(q), "kind": "image", "results": []}
        out.append(o)
        try:
            images.append(load_image(q, name=str(q)).rgb)
            slots.append(o)
        except ListingLensError as e:
            o["error"] = e.to_dict()
    # The embedder (torch, its weights: seconds) only when there is something to embed, so
    # that unreadable queries get their errors at once.
    emb = cat.embedder(device, spec=embedder) if images or texts else None
    vecs = [emb.embed(images)] if emb is not None and images else []
    text_slots = []
    for t in texts:
        o = {"query": t, "kind": "text", "results": []}
        out.append(o)
        text_slots.append(o)
    if texts and emb is not None:
        try:
            vecs.append(emb.embed_text(list(texts)))
            slots += text_slots
        except ListingLensError as e:
            for o in text_slots:
                o["error"] = e.to_dict()
    if slots:
        results = cat.search_products(np.concatenate(vecs), k, category=category)
        for o, rows in zip(slots, results, strict=True):
            o["results"] = [{key: r[key] for key in RESULT_KEYS} for r in rows]
    return out


def run(args: argparse.Namespace) -> int:
    from analyzer.io.loader import iter_image_paths
    from analyzer.search.catalog import DEMO_CATALOG

    if not args.queries and not args.text:
        print("error: give query images and/or --text queries", file=sys.stderr)
        return 2
    if args.k < 1:
        print("error: -k must be at least 1", file=sys.stderr)
        return 2
    paths = iter_image_paths(args.queries) if args.queries else []
    out = run_search(args.catalog or DEMO_CATALOG, paths, args.text, k=args.k,
                     category=args.category, embedder=args.embedder, device=args.device)
    if args.format == "json":
        json.dump(out, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        print(format_table(out))
    return 2 if any("error" in o for o in out) else 0
