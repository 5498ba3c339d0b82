"""Turn what the uploader gives (images and zips of a store's photos) into named image entries.

A zip is expanded with :func:`analyzer.io.archive.iter_zip_images` (bounded, zip-slip safe). Each
entry either carries bytes or a :class:`~analyzer.errors.ListingLensError` as a dict, so one bad
file becomes one error row and the rest go on. Nothing here imports Streamlit.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from analyzer.errors import ErrorCode, ListingLensError

IMAGE_TYPES = ("jpg", "jpeg", "jpe", "png", "webp", "tif", "tiff", "bmp", "gif", "heic", "heif",
               "avif")
UPLOAD_TYPES = (*IMAGE_TYPES, "zip")


@dataclass(frozen=True)
class UploadEntry:
    """One image to analyse: ``name`` for display, ``data`` or an ``error`` dict {code, message}.

    ``member`` is the path inside the zip ``source`` came from (None for a plain image upload).
    """

    name: str
    data: bytes | None
    error: dict[str, str] | None = None
    source: str = ""
    member: str | None = None

    @property
    def content_hash(self) -> str | None:
        return hashlib.sha256(self.data).hexdigest() if self.data is not None else None


@dataclass
class UploadScan:
    entries: list[UploadEntry] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # skipped zip members, in words


def looks_like_zip(name: str, data: bytes) -> bool:
    return name.lower().endswith(".zip") or data[:4] in (b"PK\x03\x04", b"PK\x05\x06")


def iter_zip(name: str, data: bytes, notes: list[str]) -> Iterator[UploadEntry]:
    """The image members of one uploaded zip, lazily; archive-level failures become one entry."""
    from analyzer.io.archive import iter_zip_images

    try:
        scan = iter_zip_images(data)
    except ListingLensError as e:
        yield UploadEntry(name=name, data=None, error=e.to_dict(), source=name)
        return
    skipped = list(scan.skipped)
    if skipped:
        shown = ", ".join(s.name for s in skipped[:5]) + (" …" if len(skipped) > 5 else "")
        what = ("1 entry that is not an image" if len(skipped) == 1
                else f"{len(skipped)} entries that are not images")
        notes.append(f"{name}: skipped {what} ({shown})")
    if len(scan) == 0:
        yield UploadEntry(name=name, data=None, source=name, error=ListingLensError(
            ErrorCode.BAD_ARCHIVE, "the zip holds no images (JPEG, PNG, WebP, ...)").to_dict())
        return
    for m in scan:
        yield UploadEntry(name=f"{name}/{m.name}", data=m.data,
                          error=None if m.error is None else m.error.to_dict(),
                          source=name, member=m.name)


def iter_uploads(files: Iterable[tuple[str, bytes]], notes: list[str]) -> Iterator[UploadEntry]:
    """Images pass through; zips are expanded lazily; every failure is an entry with an error.

    Lazy so a big zip is never held expanded in memory: the caller analyses an entry and drops
    its bytes before the next is read.
    """
    for name, data in files:
        if not data:
            err = ListingLensError(ErrorCode.EMPTY_FILE, "the file is empty (0 bytes)")
            yield UploadEntry(name=name, data=None, source=name, error=err.to_dict())
        elif looks_like_zip(name, data):
            yield from iter_zip(name, data, notes)
        else:
            yield UploadEntry(name=name, data=data, source=name)


def expand_uploads(files: Iterable[tuple[str, bytes]]) -> UploadScan:
    """All entries at once (see :func:`iter_uploads`)."""
    out = UploadScan()
    out.entries = list(iter_uploads(files, out.notes))
    return out
