"""`listing-lens catalog build` and `listing-lens search`: the JSON contracts."""

from __future__ import annotations

import json
import shutil

import pytest

from analyzer.cli import main
from tests.catalog_helpers import write_products


@pytest.fixture(scope="module")
def cli_catalog(tmp_path_factory):
    src = tmp_path_factory.mktemp("cli_src")
    write_products(src / "prods" / "P0", n_products=1, views=3)
    for i in range(1, 5):
        write_products(src / "tmp", n_products=i + 1, views=1)
    # Four more single-image products, named by file.
    for p in sorted((src / "tmp").glob("*.jpg"))[:4]:
        p.rename(src / "prods" / p.name)
    out = src / "catalog"
    # Built here, not by the first test, so that every test also runs alone (-k, a rerun).
    assert main(["catalog", "build", str(src / "prods"), "--out", str(out), "--embedder",
                 "builtin:global", "--format", "json", "--no-progress"]) == 0
    return src, out


def test_catalog_build_json(cli_catalog, capsys, tmp_path):
    src, _ = cli_catalog
    prods = tmp_path / "prods"
    shutil.copytree(src / "prods", prods)
    (prods / "broken.jpg").write_bytes(b"GIF89a broken")
    out = tmp_path / "catalog"
    rc = main(["catalog", "build", str(prods), "--out", str(out), "--embedder",
               "builtin:global", "--format", "json", "--no-progress"])
    res = json.loads(capsys.readouterr().out)
    assert rc == 0
    assert res["catalog"] == str(out) and res["items"] == 7
    assert len(res["skipped"]) == 1 and res["skipped"][0]["file"].endswith("broken.jpg")
    assert set(res["skipped"][0]) == {"file", "code", "message"}
    rc = main(["catalog", "info", str(out), "--format", "json"])
    info = json.loads(capsys.readouterr().out)
    assert rc == 0 and info["count"] == 7 and info["products"] == 5


def test_search_json_contract(cli_catalog, capsys, tmp_path):
    src, out = cli_catalog
    views = sorted((src / "prods" / "P0").glob("*.jpg"))
    singles = sorted((src / "prods").glob("p*.jpg"))
    bad = tmp_path / "bad.jpg"
    bad.write_text("not an image")
    queries = [str(views[0]), str(bad), str(singles[1])]
    rc = main(["search", *queries, "--catalog", str(out), "-k", "3", "--format", "json"])
    res = json.loads(capsys.readouterr().out)
    assert rc == 2                                    # one query failed, the others ran
    assert [r["query"] for r in res] == queries       # input order
    assert res[1]["results"] == [] and res[1]["error"]["code"] == "NOT_AN_IMAGE"
    for r in (res[0], res[2]):
        assert "error" not in r and len(r["results"]) == 3
        assert [x["rank"] for x in r["results"]] == [1, 2, 3]
        assert len({x["product_id"] for x in r["results"]}) == 3     # one row per product
        for x in r["results"]:
            assert set(x) == {"rank", "product_id", "image", "title", "category", "similarity"}
            assert -1.0 <= x["similarity"] <= 1.0
    # A photo that is in the catalog finds its own product first, at similarity ~1.
    assert res[0]["results"][0]["product_id"] == "P0"
    assert res[0]["results"][0]["similarity"] > 0.99
    assert res[2]["results"][0]["image"].endswith(singles[1].name)
    # k larger than the number of products: every product once.
    rc = main(["search", str(views[1]), "--catalog", str(out), "-k", "50", "--format", "json"])
    res = json.loads(capsys.readouterr().out)
    assert rc == 0 and len(res[0]["results"]) == 5


def test_text_query_on_image_only_catalog(cli_catalog, capsys):
    src, out = cli_catalog
    img = sorted((src / "prods" / "P0").glob("*.jpg"))[0]
    rc = main(["search", str(img), "--text", "red bag", "--catalog", str(out), "--format",
               "json"])
    res = json.loads(capsys.readouterr().out)
    assert rc == 2 and [r["kind"] for r in res] == ["image", "text"]
    assert len(res[0]["results"]) == 5
    assert res[1]["error"]["code"] == "EMBEDDER_UNAVAILABLE" and res[1]["results"] == []


def test_search_table_and_missing_catalog(cli_catalog, capsys, tmp_path):
    src, out = cli_catalog
    img = sorted((src / "prods" / "P0").glob("*.jpg"))[0]
    assert main(["search", str(img), "--catalog", str(out), "-k", "2"]) == 0
    table = capsys.readouterr().out
    assert "query:" in table and table.count("\n") >= 2
    assert main(["search", str(img), "--catalog", str(tmp_path / "nope")]) == 2
    assert "CATALOG_NOT_FOUND" in capsys.readouterr().err


def test_catalog_build_takes_the_ray_address_under_both_names():
    from analyzer.cli import build_parser

    for opt in ("--ray-address", "--address"):
        args = build_parser().parse_args(["catalog", "build", "src", "--out", "dst",
                                          "--engine", "ray", opt, "10.0.0.1:6379"])
        assert (args.engine, args.address) == ("ray", "10.0.0.1:6379")


def test_a_category_the_catalog_lacks_is_an_error_naming_its_categories(cli_catalog, capsys):
    """A mistyped --category was "(no results)" and exit 0 (a twelfth new user's try): now a
    clear error with the catalog's own categories; a real one still filters."""
    from analyzer.search.catalog import Catalog

    src, out = cli_catalog
    img = sorted((src / "prods" / "P0").glob("*.jpg"))[0]
    assert main(["search", str(img), "--catalog", str(out), "--category", "Nonexistent"]) == 2
    err = capsys.readouterr().err
    assert "UNKNOWN_CATEGORY" in err and "'Nonexistent'" in err
    cats = sorted({str(c) for c in Catalog.open(out).meta["category"]})
    assert cats and cats[0] in err
    assert main(["search", str(img), "--catalog", str(out), "--category", cats[0],
                 "--format", "json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res[0]["results"] and all(r["category"] == cats[0] for r in res[0]["results"])
    # any case of a real one (a fourteenth new user's "watches" for "Watches")
    other_case = cats[0].swapcase()
    assert main(["search", str(img), "--catalog", str(out), "--category", other_case,
                 "--format", "json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert [r["product_id"] for r in again[0]["results"]] == [
        r["product_id"] for r in res[0]["results"]]


def test_search_table_columns_stay_in_line_with_long_ids():
    """A thirteenth new user's try: a long product id pushed the title and category columns
    out of line."""
    from analyzer.cli.search import format_table

    out = [{"query": "q.jpg", "results": [
        {"rank": 1, "similarity": 0.5, "product_id": "24-WG085_Group-EXTRA-LONG-ID",
         "title": "Set of Sprite Yoga Straps", "category": "Fitness"},
        {"rank": 2, "similarity": 0.4, "product_id": "24-WG03", "title": "Clamber Watch",
         "category": "Watches"}]}]
    lines = format_table(out).splitlines()
    assert lines[1].split() == ["rank", "sim", "product", "title", "category"]
    starts = [ln.index(word) for ln, word in zip(lines[2:], ("Set of", "Clamber"), strict=True)]
    assert starts[0] == starts[1] == lines[1].index("title")
    cats = [ln.index(word) for ln, word in zip(lines[2:], ("Fitness", "Watches"), strict=True)]
    assert cats[0] == cats[1] == lines[1].index("category")
