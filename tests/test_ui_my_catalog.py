"""The dashboard's "My catalog": pasted URLs or a CSV become a catalog (local server on
127.0.0.1), built once per source."""

from __future__ import annotations

import csv
import io

import pytest
from PIL import Image

from analyzer.errors import ListingLensError
from analyzer.search.catalog import Catalog
from analyzer.ui.my_catalog import build_my_catalog, catalog_dir_for, source_csv
from tests.catalog_helpers import COLORS, product_photo
from tests.test_catalog_urls import FAST, _Server


def _rows(data: bytes) -> list[dict]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"))))


def test_pasted_lines_and_csv_become_a_source_csv():
    rows = _rows(source_csv("https://a.example/x.jpg\n\n  https://a.example/y.jpg  \r\n"))
    assert [r["image"] for r in rows] == ["https://a.example/x.jpg", "https://a.example/y.jpg"]
    assert [r["product_id"] for r in rows] == ["item-0001", "item-0002"]
    rows = _rows(source_csv("\ufeffimage,product_id,title\nhttps://a/x.jpg,P1,Red shoe\n,P2,\n"))
    assert rows == [{"image": "https://a/x.jpg", "product_id": "P1", "title": "Red shoe",
                     "category": ""}]
    for bad in ("", "   \n ", "image,title\n,no image\n"):
        with pytest.raises(ListingLensError) as e:
            source_csv(bad)
        assert e.value.code.value == "BAD_CSV"
    assert catalog_dir_for(b"a") != catalog_dir_for(b"b")


def test_build_my_catalog_from_pasted_urls(tmp_path):
    images = {}
    for i, c in enumerate(("red", "blue", "green")):
        buf = io.BytesIO()
        Image.fromarray(product_photo(("circle", "rect", "tri")[i], COLORS[c])).save(buf, "JPEG")
        images[f"{c}.jpg"] = buf.getvalue()
    with _Server(images) as srv:
        text = "\n".join([f"{srv.base}/img/{n}" for n in images] + [srv.base + "/missing.jpg"])
        data = source_csv(text)
        folder, skipped = build_my_catalog(data, root=tmp_path, embedder="builtin:global",
                                           download_config=FAST)
        hits = sum(srv.hits.values())
        again, skipped2 = build_my_catalog(data, root=tmp_path, embedder="builtin:global",
                                           download_config=FAST)
        assert sum(srv.hits.values()) == hits          # built once: nothing fetched again
    assert again == folder and skipped2 == skipped
    assert len(Catalog.open(folder)) == 3
    assert [s["code"] for s in skipped] == ["DOWNLOAD_FAILED"]
    with _Server({}) as srv, pytest.raises(ListingLensError):
        build_my_catalog(source_csv(srv.base + "/page.jpg"), root=tmp_path,
                         embedder="builtin:global", download_config=FAST)


def test_a_build_with_nothing_usable_says_why_line_by_line(tmp_path):
    """Offline or a line that is not a URL: the error names the first lines and their reasons,
    and says none "could be downloaded" when that is all that went wrong (a new user's try got
    only "FILE_NOT_FOUND: none of the 3 images could be used")."""
    with _Server({}) as srv:
        with pytest.raises(ListingLensError) as e:
            build_my_catalog(source_csv(f"{srv.base}/a.jpg\n{srv.base}/b.jpg"), root=tmp_path,
                             embedder="builtin:global", download_config=FAST)
        assert e.value.code.value == "DOWNLOAD_FAILED"
        assert "none of the 2 images could be downloaded" in e.value.message
        assert "online" in e.value.message and "HTTP 404" in e.value.message
        assert f"{srv.base}/a.jpg" in e.value.message and f"{srv.base}/b.jpg" in e.value.message
        with pytest.raises(ListingLensError) as e:
            build_my_catalog(source_csv(f"{srv.base}/a.jpg\nnot a url"), root=tmp_path,
                             embedder="builtin:global", download_config=FAST)
        assert "none of the 2 images could be used" in e.value.message
        assert "not a url" in e.value.message
