"""Where a store audit's images come from: a folder, a zip file or a CSV, as one item stream.

Every source yields :class:`AuditItem` objects (display name, product id, title and a picklable
loader of the file's bytes), so the runner never cares where an image lives. Problems with one
row or member (a missing file, an unsafe zip entry) become that item's ``error`` and are reported
like any failed image; only a source that cannot be read at all raises
:class:`~analyzer.errors.ListingLensError` (``FILE_NOT_FOUND``, ``BAD_CSV``, ``BAD_ARCHIVE``,
``ARCHIVE_TOO_LARGE``).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from analyzer.errors import ErrorCode, ListingLensError
from analyzer.io.loader import iter_image_paths

# Columns a CSV may have; matched case-insensitively, surrounding spaces ignored.
CSV_IMAGE_COLUMN = "image"
CSV_OPTIONAL_COLUMNS = ("product_id", "title")
_CSV_ALIASES = {"image": ("image", "image_path", "path", "file", "filename"),
                "product_id": ("product_id", "sku", "asin", "id"),
                "title": ("title", "name", "product_name")}
_CSV_MAX_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class PathLoader:
    """Reads a file on disk (picklable, so a worker process can call it)."""

    path: Path

    def __call__(self) -> bytes:
        from analyzer.io.loader import _read_source

        return _read_source(self.path, str(self.path))[0]


@dataclass(frozen=True)
class BytesLoader:
    data: bytes = field(repr=False)

    def __call__(self) -> bytes:
        return self.data


@dataclass(frozen=True)
class AuditItem:
    """One listing image to audit.

    ``name`` is what reports show (path relative to the source). ``load()`` returns the bytes or
    raises ListingLensError; ``error`` is set instead of a loader when the item is known to be
    unreadable before any byte is read (e.g. a ``../`` zip member).
    """

    name: str
    product_id: str = ""
    title: str = ""
    loader: Callable[[], bytes] | None = field(default=None, repr=False)
    error: ListingLensError | None = None

    def read(self) -> bytes:
        if self.error is not None:
            raise self.error
        if self.loader is None:
            raise ListingLensError(ErrorCode.FILE_NOT_FOUND, f"no data for {self.name}")
        return self.loader()

    def with_bytes(self, data: bytes) -> AuditItem:
        return AuditItem(self.name, self.product_id, self.title, BytesLoader(data), None)


@dataclass
class AuditSource:
    """A checked source: ``len()`` items (known before reading), ``skipped`` entries that are not
    images (listed in the report), and a lazy iterator over the items."""

    kind: str  # "folder" | "zip" | "csv" | "file"
    label: str
    count: int
    _iter: Callable[[], Iterator[AuditItem]] = field(repr=False)
    skipped: list[dict[str, str]] = field(default_factory=list)

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Iterator[AuditItem]:
        return self._iter()


def open_source(source: str | Path) -> AuditSource:
    """Open a folder (recursive), a ``.zip`` or a ``.csv`` as an :class:`AuditSource`."""
    path = Path(source)
    if not path.exists():
        raise ListingLensError(ErrorCode.FILE_NOT_FOUND, f"source not found: {source}")
    if path.is_dir():
        return folder_source(path)
    from analyzer.io.archive import is_zip

    if path.suffix.lower() == ".zip" or is_zip(path):
        return zip_source(path)
    if path.suffix.lower() in (".csv", ".tsv", ".txt"):
        return csv_source(path)
    # A single image file: an audit of one.
    return AuditSource("file", path.name, 1,
                       lambda: iter([AuditItem(path.name, loader=PathLoader(path))]))


def folder_source(root: Path) -> AuditSource:
    root = Path(root)
    paths = iter_image_paths([root])
    images = set(paths)
    skipped = [{"name": str(p.relative_to(root)), "reason": "not an image file"}
               for p in sorted(root.rglob("*"))
               if p.is_file() and p not in images
               and not any(part.startswith(".") for part in p.relative_to(root).parts)]

    def items() -> Iterator[AuditItem]:
        for p in paths:
            yield AuditItem(p.relative_to(root).as_posix(), loader=PathLoader(p))

    return AuditSource("folder", root.name or str(root), len(paths), items, skipped)


def zip_source(path: Path) -> AuditSource:
    """Images of a zip via :mod:`analyzer.io.archive` (bounded sizes, no path traversal).

    Members are read lazily, one at a time, in the parent process; nothing is ever extracted to
    disk, so a hostile member name cannot write anywhere.
    """
    from analyzer.io.archive import iter_zip_images

    scan = iter_zip_images(path)
    skipped = [{"name": s.name, "reason": s.reason, **({"code": s.code} if s.code else {})}
               for s in scan.skipped]

    def items() -> Iterator[AuditItem]:
        for m in scan:
            if m.error is not None:
                yield AuditItem(m.name, error=m.error)
            else:
                yield AuditItem(m.name, loader=BytesLoader(m.data or b""))

    return AuditSource("zip", path.name, len(scan), items, skipped)


def _decode_csv(raw: bytes) -> str:
    for enc in ("utf-8-sig", "cp1252"):
        try:
            return raw.decode(enc)
        except UnicodeDecodeError:
            continue
    return raw.decode("latin-1")


def read_csv_rows(path: Path) -> tuple[list[dict[str, str]], dict[str, str]]:
    """Parse the CSV; returns rows and the mapping canonical column -> header used.

    Raises BAD_CSV when the file is empty, too large, not parseable, or has no image column.
    """
    size = path.stat().st_size
    if size == 0:
        raise ListingLensError(ErrorCode.BAD_CSV, f"{path.name} is empty")
    if size > _CSV_MAX_BYTES:
        raise ListingLensError(ErrorCode.BAD_CSV,
                               f"{path.name} is {size / 1e6:.0f} MB; the limit is "
                               f"{_CSV_MAX_BYTES // (1024 * 1024)} MB")
    text = _decode_csv(path.read_bytes())
    if "\x00" in text[:4096]:
        raise ListingLensError(ErrorCode.BAD_CSV, f"{path.name} is not a text CSV file")
    sample = text[:8192]
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sample, ",;\t|")
    except csv.Error:
        dialect = csv.excel
    try:
        reader = csv.DictReader(io.StringIO(text), dialect=dialect)
        header = [h.strip() for h in (reader.fieldnames or [])]
        rows = list(reader)
    except csv.Error as e:
        raise ListingLensError(ErrorCode.BAD_CSV, f"{path.name} could not be parsed: {e}") from e
    lower = {h.lower(): raw for h, raw in zip(header, reader.fieldnames or [], strict=False)}
    cols: dict[str, str] = {}
    for canon, aliases in _CSV_ALIASES.items():
        for a in aliases:
            if a in lower:
                cols[canon] = lower[a]
                break
    if "image" not in cols:
        shown = ", ".join(header[:8]) or "(no header row)"
        raise ListingLensError(
            ErrorCode.BAD_CSV,
            f"{path.name} has no '{CSV_IMAGE_COLUMN}' column (found: {shown}); add a header row "
            f"with an '{CSV_IMAGE_COLUMN}' column holding each photo's path, and optionally "
            "'product_id' and 'title'")
    return rows, cols


def csv_source(path: Path) -> AuditSource:
    """Rows of a CSV with an ``image`` column (paths relative to the CSV's folder).

    A row whose file is missing, or that names a URL, becomes a FILE_NOT_FOUND result for that
    row; the audit goes on.
    """
    rows, cols = read_csv_rows(path)
    base = path.parent

    def items() -> Iterator[AuditItem]:
        for i, row in enumerate(rows, start=2):  # line 1 is the header
            ref = (row.get(cols["image"]) or "").strip()
            pid = (row.get(cols.get("product_id", ""), "") or "").strip()
            title = (row.get(cols.get("title", ""), "") or "").strip()
            if not ref:
                yield AuditItem(f"(row {i})", pid, title, error=ListingLensError(
                    ErrorCode.FILE_NOT_FOUND, f"row {i} of {path.name} has an empty image cell"))
                continue
            if ref.lower().startswith(("http://", "https://", "ftp://")):
                yield AuditItem(ref, pid, title, error=ListingLensError(
                    ErrorCode.FILE_NOT_FOUND,
                    f"row {i}: {ref} is a web address; this tool works offline, so download "
                    "the photos and list their file paths"))
                continue
            p = Path(ref).expanduser()
            if not p.is_absolute():
                p = base / p
            if not p.is_file():
                yield AuditItem(ref, pid, title, error=ListingLensError(
                    ErrorCode.FILE_NOT_FOUND, f"row {i}: file not found: {ref}"))
                continue
            yield AuditItem(ref, pid, title, loader=PathLoader(p))

    return AuditSource("csv", path.name, len(rows), items)
