"""A catalog built from image URLs (a local HTTP server started here, on 127.0.0.1): good images
are fetched and embedded, a 404, an HTML page, a 60 MB file and a response that never finishes
are listed in ``skipped`` with their codes, and the catalog answers searches like one built from
the same files. Also: the per-host limit, retries, the cache (a second build fetches nothing)
and the CLI."""

from __future__ import annotations

import csv
import http.server
import json
import threading
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from analyzer.io.download import (
    DownloadConfig,
    download_all,
    download_one,
    is_url,
    looks_like_image,
)
from analyzer.search.catalog import Catalog, build_catalog
from tests.catalog_helpers import COLORS, SHAPES, product_photo

EMBEDDER = "builtin:global"
HUGE = 60 * 1024 * 1024
FAST = DownloadConfig(workers=8, per_host=2, timeout=1.0, deadline=4.0, retries=1, backoff=0.05)


class _Server:
    """Routes: /img/NAME (a JPEG), /missing.jpg (404), /page.jpg (an HTML page), /huge.jpg
    (60 MB with its length declared), /huge-stream.jpg (60 MB, length undeclared),
    /slow.jpg (a JPEG start, then a byte every 0.3 s, never finishing), /flaky.jpg (503 once, then a
    JPEG). Counts requests per path and the most requests in flight at once."""

    def __init__(self, images: dict[str, bytes]) -> None:
        self.images = images
        self.hits: Counter[str] = Counter()
        self.active = 0
        self.max_active = 0
        self.lock = threading.Lock()
        self.stop = threading.Event()
        srv = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def log_message(self, *a) -> None:  # quiet
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                with srv.lock:
                    srv.hits[self.path] += 1
                    srv.active += 1
                    srv.max_active = max(srv.max_active, srv.active)
                try:
                    self._route()
                except (BrokenPipeError, ConnectionResetError):
                    pass
                finally:
                    with srv.lock:
                        srv.active -= 1

            def _send(self, code: int, ctype: str, body: bytes, length: bool = True) -> None:
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                if length:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _route(self) -> None:
                p = self.path
                if p.startswith("/img/") and p[5:] in srv.images:
                    time.sleep(0.05)   # long enough for concurrent requests to overlap
                    self._send(200, "image/jpeg", srv.images[p[5:]])
                elif p == "/page.jpg":
                    self._send(200, "text/html; charset=utf-8",
                               b"<html><body>Please log in</body></html>")
                elif p == "/huge.jpg":
                    self.send_response(200)
                    self.send_header("Content-Type", "image/jpeg")
                    self.send_header("Content-Length", str(HUGE))
                    self.end_headers()
                    self.wfile.write(b"\xff\xd8\xff\xe0" + bytes(1 << 20))
                elif p == "/huge-stream.jpg":
                    self.send_response(200)
                    self.send_header("Content-Type", "image/jpeg")
                    self.end_headers()
                    chunk = bytes(1 << 20)
                    self.wfile.write(b"\xff\xd8\xff\xe0")
                    for _ in range(HUGE >> 20):
                        self.wfile.write(chunk)
                elif p == "/slow.jpg":
                    self.send_response(200)
                    self.send_header("Content-Type", "image/jpeg")
                    self.send_header("Content-Length", "100000")
                    self.end_headers()
                    self.wfile.write(b"\xff\xd8\xff\xe0")
                    # A byte now and then: no read ever times out, only the whole-file deadline
                    # ends it; the handler ends when the client hangs up.
                    while not srv.stop.wait(0.3):
                        self.wfile.write(b"\x00")
                        self.wfile.flush()
                elif p == "/flaky.jpg":
                    if srv.hits[p] == 1:
                        self._send(503, "text/plain", b"busy")
                    else:
                        self._send(200, "image/jpeg", next(iter(srv.images.values())))
                else:
                    self._send(404, "text/plain", b"not found")

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> _Server:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()


def _products(folder: Path, n: int = 12, views: int = 2) -> list[dict]:
    """``n`` distinct products (shape x colour), ``views`` photos each, as CSV rows."""
    folder.mkdir(parents=True, exist_ok=True)
    names = list(COLORS)
    rows = []
    for i in range(n):
        shape, cname = SHAPES[i % len(SHAPES)], names[(i // len(SHAPES) + i) % len(names)]
        for v in range(views):
            p = folder / f"p{i:02d}_{v}.jpg"
            Image.fromarray(product_photo(shape, COLORS[cname], v)).save(p, quality=92)
            rows.append({"image": str(p), "product_id": f"P{i:02d}",
                         "title": f"{cname} {shape}", "category": "Shapes"})
    return rows


def _write_csv(path: Path, rows: list[dict]) -> Path:
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["image", "product_id", "title", "category"])
        w.writeheader()
        w.writerows(rows)
    return path


BAD = {"/missing.jpg": "DOWNLOAD_FAILED", "/page.jpg": "NOT_AN_IMAGE",
       "/huge.jpg": "FILE_TOO_LARGE", "/slow.jpg": "DOWNLOAD_FAILED"}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("urls")
    rows = _products(tmp / "photos")
    images = {Path(r["image"]).name: Path(r["image"]).read_bytes() for r in rows}
    file_cat = build_catalog(_write_csv(tmp / "files.csv", rows), tmp / "from_files",
                             embedder=EMBEDDER, progress=False)
    with _Server(images) as srv:
        url_rows = [{**r, "image": f"{srv.base}/img/{Path(r['image']).name}"} for r in rows]
        bad_rows = [{"image": srv.base + p, "product_id": f"BAD{i}", "title": "", "category": ""}
                    for i, p in enumerate(BAD)]
        src = _write_csv(tmp / "urls.csv", url_rows[:7] + bad_rows + url_rows[7:])
        t0 = time.monotonic()
        res = build_catalog(src, tmp / "from_urls", embedder=EMBEDDER, progress=False,
                            download_config=FAST)
        took = time.monotonic() - t0
        hits_after_first = Counter(srv.hits)
        max_active = srv.max_active
        # The same URLs again with the first catalog's downloads as the cache: nothing fetched.
        res2 = build_catalog(src, tmp / "again", embedder=EMBEDDER, progress=False,
                             download_config=FAST,
                             download_cache=tmp / "from_urls" / "images" / "url")
        hits_after_second = Counter(srv.hits)
    return {"rows": rows, "file": file_cat, "url": res, "again": res2, "took": took,
            "hits1": hits_after_first, "hits2": hits_after_second, "max_active": max_active}


def test_every_good_image_is_in_and_the_bad_urls_are_listed_with_codes(built):
    res = built["url"]
    assert res.items == len(built["rows"]) == built["file"].items
    got = {s["file"].rsplit("/", 1)[-1]: s["code"] for s in res.skipped}
    assert got == {p.lstrip("/"): c for p, c in BAD.items()}
    assert all(s["message"] for s in res.skipped)
    # The never-finishing response was given up after the deadline, and the build went on.
    assert built["took"] < 60
    cat = Catalog.open(res.catalog)
    assert cat.meta["source_url"].str.startswith("http://127.0.0.1").all()
    for i in range(len(cat)):
        assert cat.image_path(i).is_file() and cat.image_path(i).is_relative_to(res.catalog)


def test_url_catalog_answers_the_same_searches_as_the_file_catalog(built):
    a, b = Catalog.open(built["file"].catalog), Catalog.open(built["url"].catalog)
    order_a = a.meta.set_index("content_hash")["item_id"]
    rows_b = order_a.loc[b.meta["content_hash"]].to_numpy()
    np.testing.assert_allclose(b.embeddings, a.embeddings[rows_b], atol=1e-3)
    emb = a.embedder("cpu")
    queries = [product_photo(SHAPES[i % 5], COLORS[c], 2)
               for i, c in enumerate(list(COLORS) * 2)]
    q = emb.embed(queries)
    ta = a.search_products(q, 5)
    tb = b.search_products(q, 5)
    agree = np.mean([len({r["product_id"] for r in x} & {r["product_id"] for r in y}) / 5
                     for x, y in zip(ta, tb, strict=True)])
    assert agree >= 0.98
    assert len({r["product_id"] for r in ta[0]}) == 5   # five different products answer


def test_per_host_limit_cache_and_retry(built):
    # (+1: a handler notices that the client gave up on the never-finishing file 0.3 s late)
    assert 1 <= built["max_active"] <= FAST.per_host + 1
    h1, h2 = built["hits1"], built["hits2"]
    goods = [p for p in h1 if p.startswith("/img/")]
    assert len(goods) == len(built["rows"]) and all(h1[p] == 1 for p in goods)
    assert all(h2[p] == h1[p] for p in goods)            # the second build used the cache
    assert h1["/slow.jpg"] == FAST.retries + 1 and h1["/missing.jpg"] == 1
    assert built["again"].items == built["url"].items


def test_download_one_retries_a_busy_server_and_cuts_an_undeclared_huge_stream(tmp_path):
    with _Server({"a.jpg": b"\xff\xd8\xff\xe0" + bytes(100)}) as srv:
        d = download_one(srv.base + "/flaky.jpg", tmp_path, FAST)
        assert d.path is not None and d.attempts == 2 and srv.hits["/flaky.jpg"] == 2
        cfg = replace(FAST, max_bytes=5 * 1024 * 1024)
        d = download_one(srv.base + "/huge-stream.jpg", tmp_path, cfg)
        assert d.path is None and d.error.code.value == "FILE_TOO_LARGE"
        assert not list(tmp_path.glob("*.part"))   # nothing half-written is left behind
        out = download_all([srv.base + "/img/a.jpg", "ftp://example.com/x.jpg", "not a url"],
                           tmp_path / "c", FAST)
        assert out[srv.base + "/img/a.jpg"].path is not None
        assert out["ftp://example.com/x.jpg"].error.code.value == "DOWNLOAD_FAILED"


def test_url_and_signature_helpers():
    assert is_url("https://cdn.example.com/a.jpg") and is_url("HTTP://x/y")
    assert not is_url("/home/me/a.jpg") and not is_url("file:///etc/passwd")
    assert not is_url("http://") and not is_url("photos/a.jpg")
    assert looks_like_image(b"\x89PNG\r\n\x1a\n....") and looks_like_image(b"RIFF1234WEBPVP8 ")
    assert not looks_like_image(b"<!DOCTYPE html>")


def test_cli_build_from_url_csv(tmp_path, capsys):
    from analyzer.cli import main

    img = tmp_path / "a.jpg"
    Image.fromarray(product_photo("circle", COLORS["red"])).save(img, quality=92)
    with _Server({"a.jpg": img.read_bytes()}) as srv:
        src = _write_csv(tmp_path / "s.csv", [
            {"image": srv.base + "/img/a.jpg", "product_id": "A", "title": "", "category": ""},
            {"image": srv.base + "/page.jpg", "product_id": "B", "title": "", "category": ""}])
        rc = main(["catalog", "build", str(src), "--out", str(tmp_path / "cat"), "--embedder",
                   EMBEDDER, "--format", "json", "--no-progress", "--timeout", "2",
                   "--per-host", "2"])
    out = json.loads(capsys.readouterr().out)
    assert rc == 0 and out["items"] == 1
    assert [s["code"] for s in out["skipped"]] == ["NOT_AN_IMAGE"]
