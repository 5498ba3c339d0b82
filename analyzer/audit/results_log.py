"""``results.jsonl``: the audit's resumable, append-only log of results, and the thumbnails
written beside it (named by content hash).

Opening the log repairs a half-written last line (a crash mid-write) and indexes every finished
result by content hash, so a re-run skips what is done; at the end the log is rewritten as one
line per input, in input order. Failures that may not happen again (a crashed worker, a bug) are
not indexed as done, so they are retried on the next run.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from analyzer.errors import ErrorCode

# Failures that may not happen again (a crashed worker, a bug): retried when the audit re-runs.
RETRY_CODES = frozenset({ErrorCode.INTERNAL_ERROR.value})


def thumbnail_path(thumb_dir: str | Path, content_hash: str) -> Path:
    return Path(thumb_dir) / f"{content_hash[:64]}.jpg"


def _valid_hash(content_hash: str) -> bool:
    return bool(content_hash) and all(c in "0123456789abcdef" for c in content_hash)


def store_thumbnail(thumb_dir: str | Path, content_hash: str, data: bytes) -> Path | None:
    """Write encoded thumbnail bytes under their hash (atomic; an existing file is kept). The
    temporary name carries the process and thread, so concurrent writers never share it."""
    if not _valid_hash(content_hash):
        return None
    out = thumbnail_path(thumb_dir, content_hash)
    if out.exists():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, out)
    return out


def crash_result(h: str, what: str = "the worker process stopped", title: str = ""
                 ) -> dict[str, Any]:
    return {"file": "", "ok": False, "content_hash": h, "title": title,
            "error": {"code": ErrorCode.INTERNAL_ERROR.value,
                      "message": f"{what} while analysing this image (out of memory?); "
                                 "re-run the audit to retry it"},
            "width": 0, "height": 0, "format": "", "scores": {}, "grade": "", "metrics": {},
            "flags": [], "notes": []}


def listing_key(content_hash: str, title: str = "") -> str:
    """What one result stands for: the image (its content hash) with the listing's title, when
    one was given. A title can change the verdict (one that names a set makes the other objects
    pieces of the product), so the same photo listed under two titles is two results."""
    t = (title or "").strip()
    if not content_hash or not t:
        return content_hash
    return f"{content_hash}:{hashlib.sha256(t.encode()).hexdigest()[:16]}"


def result_key(result: dict[str, Any]) -> str | None:
    """The resume key of a result (:func:`listing_key`), unless it should be retried."""
    h = result.get("content_hash") or ""
    err = result.get("error") or {}
    if not h or err.get("code") in RETRY_CODES:
        return None
    return listing_key(h, result.get("title") or "")


class ResultsLog:
    """``results.jsonl`` as an append-only, per-line-flushed log indexed by listing key
    (:func:`listing_key`: the content hash, with the title when there is one).

    Opening it repairs a half-written last line (a crash mid-write) and indexes every finished
    result, keeping only the byte offset of each (memory stays small for big stores).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._offsets: dict[str, int] = {}  # finished results: resume key -> byte offset
        self._latest: dict[str, int] = {}   # any result with a hash (incl. retryable failures)
        self._repair_and_index()
        self._fh = open(self.path, "ab")  # noqa: SIM115 - kept open for the whole audit

    def _repair_and_index(self) -> None:
        if not self.path.exists():
            return
        with open(self.path, "r+b") as f:
            data_end = f.seek(0, io.SEEK_END)
            if data_end == 0:
                return
            f.seek(max(0, data_end - 1))
            if f.read(1) != b"\n":
                # Cut a partial last line: it would corrupt the next line appended after it.
                f.seek(0)
                content = f.read()
                last_nl = content.rfind(b"\n")
                f.truncate(last_nl + 1 if last_nl >= 0 else 0)
            f.seek(0)
            pos = 0
            for line in f:
                try:
                    r = json.loads(line)
                except (json.JSONDecodeError, UnicodeDecodeError):
                    pos += len(line)
                    continue
                if isinstance(r, dict):
                    self._index(r, pos)
                pos += len(line)

    def _index(self, r: dict[str, Any], pos: int) -> None:
        h = r.get("content_hash") or ""
        if h:
            self._latest[listing_key(h, r.get("title") or "")] = pos
        key = result_key(r)
        if key:
            self._offsets[key] = pos

    def __contains__(self, key: str) -> bool:
        return key in self._offsets

    def __len__(self) -> int:
        return len(self._offsets)

    def append(self, result: dict[str, Any]) -> None:
        line = (json.dumps(result, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
        pos = self._fh.seek(0, io.SEEK_END)
        self._fh.write(line)
        self._fh.flush()
        self._index(result, pos)

    def get(self, key: str) -> dict[str, Any] | None:
        pos = self._latest.get(key)
        if pos is None:
            return None
        with open(self.path, "rb") as f:
            f.seek(pos)
            return json.loads(f.readline())

    def close(self) -> None:
        if not self._fh.closed:
            self._fh.close()

    def compact(self, order: Iterable[OrderEntry]) -> int:
        """Rewrite the file as one line per input, in input order (atomic replace)."""
        self._fh.flush()
        tmp = self.path.with_suffix(".jsonl.tmp")
        n = 0
        self._offsets, latest = {}, self._latest
        self._latest = {}
        with open(self.path, "rb") as src, open(tmp, "wb") as dst:
            for e in order:
                r = e.inline
                if r is None and e.key is not None:
                    pos = latest.get(e.key)
                    if pos is not None:
                        src.seek(pos)
                        r = json.loads(src.readline())
                if r is None:  # never expected: keep one row per input whatever happens
                    r = crash_result(e.key or "", "the result was lost")
                r = {**r, "file": e.name, "product_id": e.product_id, "title": e.title}
                self._index(r, dst.tell())
                dst.write((json.dumps(r, ensure_ascii=False, separators=(",", ":"))
                           + "\n").encode())
                n += 1
        self.close()
        os.replace(tmp, self.path)
        self._fh = open(self.path, "ab")  # noqa: SIM115
        return n


@dataclass
class OrderEntry:
    """One input in input order: where its result is (``key``) or the result itself."""

    name: str
    product_id: str
    title: str
    key: str | None = None
    inline: dict[str, Any] | None = None


def iter_results(path: str | Path) -> Iterator[dict[str, Any]]:
    """The results of a finished audit (``results.jsonl``), one dict per input."""
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line:
                yield json.loads(line)
