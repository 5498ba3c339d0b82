"""Fetch product images from http(s) URLs for a catalog build: bounded, polite, resumable.

Used by ``listing-lens catalog build SOURCE`` when the CSV's ``image`` column holds URLs (a
seller's own listings, or competitors' main images copied from a results page). Standard
library only (``urllib``, threads): the work is waiting on sockets, not computing.

- **Concurrency**: ``workers`` downloads at a time, at most ``per_host`` to any one host (a
  results page's images usually come from one CDN, which throttles or blocks floods).
- **Time**: a socket ``timeout`` for connecting and for each read, and a whole-download
  ``deadline``, so a server that sends a byte now and then cannot hold a worker forever.
- **Retries**: connection errors, time-outs, HTTP 408/429/5xx are retried ``retries`` times with
  exponential back-off (``backoff`` x 2^attempt seconds, with jitter); 4xx answers, non-images and
  oversized files are final.
- **Limits**: a ``Content-Type`` that is not an image (an HTML error or login page) is refused
  before its body is read (``NOT_AN_IMAGE``); a declared ``Content-Length`` over ``max_bytes``
  is refused at once and a body that grows past it is cut off (``FILE_TOO_LARGE``); the first
  bytes must be an image signature (JPEG, PNG, GIF, WebP, BMP, TIFF) whatever the header says.
- **Cache**: each file is stored under ``cache_dir`` by the sha256 of its URL, written to a
  temporary name and renamed when complete; a URL already there is not fetched again, so a
  stopped build resumes where it was.

Every failure is a :class:`~analyzer.errors.ListingLensError` (``DOWNLOAD_FAILED``,
``NOT_AN_IMAGE``, ``FILE_TOO_LARGE``) recorded per URL; one bad URL never stops the others.
"""

from __future__ import annotations

import hashlib
import os
import random
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from analyzer.errors import ErrorCode, ListingLensError

USER_AGENT = "listing-lens-catalog/1 (+catalog build; one request per image)"
# First bytes of the formats the loader reads.
_SIGNATURES = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a", b"BM",
               b"II*\x00", b"MM\x00*")
_RETRY_STATUS = {408, 425, 429, 500, 502, 503, 504}


def is_url(s: str) -> bool:
    """True for an http(s) URL with a host (the only schemes a catalog build fetches)."""
    try:
        parts = urlsplit(str(s).strip())
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc)


def looks_like_image(head: bytes) -> bool:
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return True
    return any(head.startswith(s) for s in _SIGNATURES)


@dataclass(frozen=True)
class DownloadConfig:
    workers: int = 16
    per_host: int = 4
    timeout: float = 10.0          # seconds to connect, and between two reads
    deadline: float = 60.0         # seconds for the whole file
    retries: int = 2
    backoff: float = 0.5
    max_bytes: int = 50 * 1024 * 1024
    chunk: int = 64 * 1024

    @classmethod
    def default(cls) -> DownloadConfig:
        """Defaults, with the size limit of the image loader (``limits.max_file_mb``)."""
        try:
            from analyzer.config import limits

            return cls(max_bytes=int(float(limits()["max_file_mb"]) * 1024 * 1024))
        except Exception:  # noqa: BLE001 - the built-in default is a safe limit too
            return cls()


@dataclass
class Download:
    """The outcome for one URL: ``path`` of the cached file, or ``error``."""

    url: str
    path: Path | None = None
    error: ListingLensError | None = None
    cached: bool = False
    attempts: int = 0


def cache_path(cache_dir: Path, url: str) -> Path:
    """Where ``url``'s bytes live in the cache (by the sha256 of the URL)."""
    return Path(cache_dir) / f"{hashlib.sha256(url.encode('utf-8')).hexdigest()[:32]}.img"


class _Retry(Exception):
    """A failure worth another attempt (connection, time-out, 5xx/429)."""


def _fail(code: ErrorCode, msg: str) -> ListingLensError:
    return ListingLensError(code, msg)


def _fetch(url: str, dest: Path, cfg: DownloadConfig) -> None:
    """One attempt: stream ``url`` into ``dest`` (via a temporary file). Raises _Retry or a
    final ListingLensError."""
    req = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, "Accept": "image/*"})
    start = time.monotonic()
    try:
        resp = urllib.request.urlopen(req, timeout=cfg.timeout)  # noqa: S310 - scheme checked
    except urllib.error.HTTPError as e:
        if e.code in _RETRY_STATUS:
            raise _Retry(f"HTTP {e.code}") from e
        raise _fail(ErrorCode.DOWNLOAD_FAILED, f"HTTP {e.code} {e.reason}") from e
    except (urllib.error.URLError, TimeoutError, OSError) as e:
        reason = getattr(e, "reason", e)
        raise _Retry(f"cannot connect ({reason})") from e
    with resp:
        ctype = (resp.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if ctype and not (ctype.startswith("image/") or ctype in (
                "application/octet-stream", "binary/octet-stream")):
            raise _fail(ErrorCode.NOT_AN_IMAGE, f"the server sent {ctype}, not an image")
        length = resp.headers.get("Content-Length")
        if length and length.isdigit() and int(length) > cfg.max_bytes:
            raise _fail(ErrorCode.FILE_TOO_LARGE,
                        f"{int(length) / 1e6:.1f} MB; the limit is {cfg.max_bytes / 1e6:.0f} MB")
        tmp = dest.with_name(dest.name + f".{os.getpid()}.{threading.get_ident()}.part")
        size = 0
        try:
            with open(tmp, "wb") as f:
                head: bytes | None = b""   # first bytes, until enough to tell the format
                while True:
                    if time.monotonic() - start > cfg.deadline:
                        raise _Retry(f"not complete after {cfg.deadline:g} s")
                    try:
                        # read1: what has arrived (up to chunk), so a trickle cannot keep one
                        # read waiting past the deadline.
                        buf = resp.read1(cfg.chunk)
                    except TimeoutError as e:
                        raise _Retry(f"no data for {cfg.timeout:g} s") from e
                    except (OSError, ValueError) as e:  # connection reset, bad chunking
                        raise _Retry(f"connection broken ({e})") from e
                    if head is not None and (len(head) + len(buf) >= 12 or not buf):
                        if not looks_like_image(head + buf) and (head or buf):
                            raise _fail(ErrorCode.NOT_AN_IMAGE,
                                        "the content is not an image file")
                        head = None
                    elif head is not None:
                        head += buf
                    if not buf:
                        break
                    size += len(buf)
                    if size > cfg.max_bytes:
                        raise _fail(ErrorCode.FILE_TOO_LARGE,
                                    f"more than {cfg.max_bytes / 1e6:.0f} MB")
                    f.write(buf)
            if size == 0:
                raise _fail(ErrorCode.NOT_AN_IMAGE, "the server sent an empty file")
            if length and length.isdigit() and size < int(length):
                raise _Retry(f"only {size} of {length} bytes arrived")
            os.replace(tmp, dest)
        finally:
            if tmp.exists():
                tmp.unlink()


def download_one(url: str, cache_dir: Path, cfg: DownloadConfig,
                 host_slots: Callable[[str], threading.Semaphore] | None = None) -> Download:
    """Fetch ``url`` into the cache (or find it there) with retries; never raises."""
    url = str(url).strip()
    res = Download(url=url)
    if not is_url(url):
        res.error = _fail(ErrorCode.DOWNLOAD_FAILED, "not an http(s) URL")
        return res
    dest = cache_path(cache_dir, url)
    if dest.is_file() and dest.stat().st_size > 0:
        res.path, res.cached = dest, True
        return res
    dest.parent.mkdir(parents=True, exist_ok=True)
    host = urlsplit(url).netloc.lower()
    last = ""
    for attempt in range(cfg.retries + 1):
        res.attempts = attempt + 1
        slot = host_slots(host) if host_slots else None
        try:
            if slot is not None:
                slot.acquire()
            try:
                _fetch(url, dest, cfg)
            finally:
                if slot is not None:
                    slot.release()
            res.path = dest
            return res
        except ListingLensError as e:
            res.error = e
            return res
        except _Retry as e:
            last = str(e)
        except Exception as e:  # noqa: BLE001 - one odd URL must not stop the build
            last = f"{type(e).__name__}: {e}"
        if attempt < cfg.retries:
            time.sleep(cfg.backoff * (2 ** attempt) * (1 + 0.25 * random.random()))
    res.error = _fail(ErrorCode.DOWNLOAD_FAILED,
                      f"{last} (after {cfg.retries + 1} attempts)")
    return res


def download_all(urls: Iterable[str], cache_dir: str | Path, cfg: DownloadConfig | None = None,
                 progress: Callable[[Download], None] | None = None) -> dict[str, Download]:
    """Fetch every distinct URL (concurrently, ``per_host`` at a time per host); the result maps
    each URL to its :class:`Download`. ``progress`` is called once per URL as it finishes."""
    cfg = cfg or DownloadConfig.default()
    cache_dir = Path(cache_dir).expanduser()
    cache_dir.mkdir(parents=True, exist_ok=True)
    todo = list(dict.fromkeys(str(u).strip() for u in urls))
    slots: dict[str, threading.Semaphore] = {}
    lock = threading.Lock()

    def host_slots(host: str) -> threading.Semaphore:
        with lock:
            if host not in slots:
                slots[host] = threading.Semaphore(max(1, cfg.per_host))
            return slots[host]

    out: dict[str, Download] = {}
    with ThreadPoolExecutor(max_workers=max(1, cfg.workers)) as pool:
        futures = [pool.submit(download_one, u, cache_dir, cfg, host_slots) for u in todo]
        for u, fut in zip(todo, futures, strict=True):
            out[u] = fut.result()
            if progress is not None:
                progress(out[u])
    return out
