"""Read the images in an uploaded zip without trusting anything the zip says.

API
---
``iter_zip_images(source, *, max_archive_bytes=None, max_members=None,
max_total_uncompressed=None, max_member_bytes=None) -> ZipScan``
    ``source``: a path, ``bytes`` or a binary file object (e.g. a Streamlit upload).
    Raises :class:`~analyzer.errors.ListingLensError` for the archive as a whole:
    ``FILE_NOT_FOUND``, ``EMPTY_FILE``, ``BAD_ARCHIVE`` (not a zip, corrupt central directory),
    ``ARCHIVE_TOO_LARGE`` (archive file bigger than ``max_zip_mb``, more than
    ``max_zip_members`` entries, or declared image bytes over ``max_zip_uncompressed_mb``).
    Limits default to thresholds.yaml ``limits:``; the keyword arguments are in bytes/counts.

``ZipScan``
    ``.skipped``: list of :class:`SkippedMember` ``(name, reason, code)``: non-image files,
    ``__MACOSX/`` and dotfiles, nested archives (never expanded), and unsafe non-image entries.
    ``.names``: the sanitised names of the image members, in archive order.
    Iterating yields :class:`ZipMember` ``(name, data, error)`` lazily, one member in memory at a
    time. ``name`` is relative POSIX with ``..``, absolute and drive parts and control characters
    removed; other characters (``<``, ``"``, ...) are kept, so escape it wherever it is shown and
    pass it through ``safe_output_path`` before using it as a file name. ``data`` is the
    member's bytes, or ``None`` with ``error`` a ``ListingLensError``:
    ``UNSAFE_PATH`` (``../``, absolute path, drive letter, symlink), ``FILE_TOO_LARGE`` (one
    member over ``max_file_mb``), ``BAD_ARCHIVE`` (CRC error, encrypted, unknown compression),
    ``ARCHIVE_TOO_LARGE`` (the running total of bytes actually read passed the limit).
    ``len(scan)`` is the number of image members.

``safe_output_path(out_dir, relative_name, *, mkdir=False) -> Path``
    A path guaranteed to lie inside ``out_dir`` for a file named after user input (a zip member,
    an upload's filename): separators normalised, ``..``/absolute/drive parts dropped, characters
    that are unsafe on any OS replaced, over-long components shortened. Raises ``UNSAFE_PATH``
    only if the result would still escape (e.g. through a symlink already inside ``out_dir``).

``is_zip(source) -> bool``
    True when the bytes or file start like a zip archive.

Why: a zip is the hostile input par excellence. Its central directory declares names, sizes and
file types, and all of them can lie; a 10 MB zip can expand to terabytes (zip bomb), and member
names like ``../../.bashrc`` write outside the target folder (zip slip). Sizes are checked as
declared and again while reading, counting real bytes, so a lying header cannot exhaust memory.
"""

from __future__ import annotations

import io
import re
import stat
import unicodedata
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from analyzer.config import limits
from analyzer.errors import ErrorCode, ListingLensError
from analyzer.io.loader import IMAGE_EXTENSIONS

_MB = 1024 * 1024
_CHUNK = 1 * _MB
ARCHIVE_EXTENSIONS = (".zip", ".rar", ".7z", ".tar", ".gz", ".tgz", ".bz2", ".xz", ".zst", ".cbz")
# Characters that are illegal or dangerous in a file name on Windows, macOS or Linux.
_BAD_CHARS = re.compile(r'[<>:"|?*\x00-\x1f\x7f]')
_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")
_DRIVE = re.compile(r"^[A-Za-z]:")
_MAX_COMPONENT_BYTES = 200


@dataclass(frozen=True)
class ZipMember:
    """One image entry: its sanitised relative POSIX name and either its bytes or an error."""

    name: str
    data: bytes | None
    error: ListingLensError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class SkippedMember:
    """An entry that was not read, and why (``code`` set when it was unsafe)."""

    name: str
    reason: str
    code: str | None = None


@dataclass(frozen=True)
class _Planned:
    name: str
    info: zipfile.ZipInfo | None
    error: ListingLensError | None


@dataclass
class ZipScan:
    """The checked table of contents of a zip; iterate it to read the images one by one."""

    _source: bytes | Path
    _planned: list[_Planned]
    skipped: list[SkippedMember] = field(default_factory=list)
    max_member_bytes: int = 0
    max_total_uncompressed: int = 0

    @property
    def names(self) -> list[str]:
        return [p.name for p in self._planned]

    def __len__(self) -> int:
        return len(self._planned)

    def __iter__(self) -> Iterator[ZipMember]:
        total = 0
        over = False
        zf = _open_zip(self._source)
        try:
            for p in self._planned:
                if p.error is not None:
                    yield ZipMember(p.name, None, p.error)
                    continue
                if over:
                    yield ZipMember(p.name, None, _too_large_total(self.max_total_uncompressed))
                    continue
                remaining = self.max_total_uncompressed - total
                if remaining <= 0:
                    over = True
                    yield ZipMember(p.name, None, _too_large_total(self.max_total_uncompressed))
                    continue
                budget = min(self.max_member_bytes, remaining)
                try:
                    data = _read_bounded(zf, p.info, budget)
                except _OverBudget as e:
                    total += e.read  # work done counts too, so lying headers cannot loop forever
                    if budget < self.max_member_bytes:
                        over = True
                        err = _too_large_total(self.max_total_uncompressed)
                    else:
                        err = ListingLensError(
                            ErrorCode.FILE_TOO_LARGE,
                            f"{p.name} holds more than {self.max_member_bytes / _MB:.0f} MB "
                            "(more than its header declared); refused")
                    yield ZipMember(p.name, None, err)
                    continue
                except ListingLensError as e:
                    yield ZipMember(p.name, None, e)
                    continue
                total += len(data)
                yield ZipMember(p.name, data, None)
        finally:
            zf.close()

    def read_all(self) -> list[ZipMember]:
        """Every image member at once (holds them all in memory: fine for small archives)."""
        return list(self)


class _OverBudget(Exception):
    def __init__(self, read: int) -> None:
        self.read = read


def _too_large_total(limit: int) -> ListingLensError:
    return ListingLensError(
        ErrorCode.ARCHIVE_TOO_LARGE,
        f"the archive expands to more than {limit / _MB:.0f} MB of images; split it into smaller "
        "zips")


def _read_bounded(zf: zipfile.ZipFile, info: zipfile.ZipInfo, budget: int) -> bytes:
    """Read one member, counting real bytes: stop as soon as ``budget`` is passed."""
    buf = bytearray()
    try:
        with zf.open(info) as fh:
            while True:
                chunk = fh.read(min(_CHUNK, budget + 1 - len(buf)) or 1)
                if not chunk:
                    break
                buf += chunk
                if len(buf) > budget:
                    raise _OverBudget(len(buf))
    except _OverBudget:
        raise
    except RuntimeError as e:  # zipfile raises RuntimeError for encrypted members
        raise ListingLensError(ErrorCode.BAD_ARCHIVE,
                               f"{info.filename!r} is encrypted; zip it without a password") from e
    except NotImplementedError as e:
        raise ListingLensError(
            ErrorCode.BAD_ARCHIVE,
            f"{info.filename!r} uses a compression method this tool cannot read ({e}); "
            "re-zip with standard (deflate) compression") from e
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError) as e:
        raise ListingLensError(ErrorCode.BAD_ARCHIVE,
                               f"{info.filename!r} is damaged inside the zip ({e})") from e
    return bytes(buf)


def _to_source(source: str | Path | bytes | bytearray | memoryview | BinaryIO,
               max_archive_bytes: int) -> bytes | Path:
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    elif isinstance(source, (str, Path)):
        path = Path(source)
        if not path.is_file():
            raise ListingLensError(ErrorCode.FILE_NOT_FOUND, f"archive not found: {source}")
        size = path.stat().st_size
        if size == 0:
            raise ListingLensError(ErrorCode.EMPTY_FILE, "the archive is empty (0 bytes)")
        if size > max_archive_bytes:
            raise _archive_file_too_large(size, max_archive_bytes)
        return path
    else:  # a binary file object: read at most one byte past the limit
        data = source.read(max_archive_bytes + 1)
    if len(data) == 0:
        raise ListingLensError(ErrorCode.EMPTY_FILE, "the archive is empty (0 bytes)")
    if len(data) > max_archive_bytes:
        raise _archive_file_too_large(len(data), max_archive_bytes)
    return data


def _archive_file_too_large(size: int, limit: int) -> ListingLensError:
    more = "more than " if size == limit + 1 else ""
    return ListingLensError(
        ErrorCode.ARCHIVE_TOO_LARGE,
        f"the archive is {more}{size / _MB:.1f} MB; the limit is {limit / _MB:.0f} MB")


def _open_zip(source: bytes | Path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(io.BytesIO(source) if isinstance(source, bytes) else source)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError,
            NotImplementedError, IndexError, KeyError, UnicodeDecodeError) as e:
        raise ListingLensError(
            ErrorCode.BAD_ARCHIVE, f"not a readable zip archive ({e}); re-create the zip") from e


def is_zip(source: str | Path | bytes) -> bool:
    if isinstance(source, (bytes, bytearray, memoryview)):
        head = bytes(source[:4])
    else:
        try:
            with open(source, "rb") as f:
                head = f.read(4)
        except OSError:
            return False
    return head in (b"PK\x03\x04", b"PK\x05\x06")


def _components(raw: str, for_fs: bool = True) -> tuple[list[str], bool]:
    """Split a user-supplied relative name into safe components; flag if anything was unsafe.

    Structure is always made safe (separators, ``..``, absolute paths, drive letters, control
    characters). ``for_fs`` also replaces characters that some file systems reject (``<>:"|?*``);
    names that are only shown keep them (they are escaped where they are displayed).
    """
    name = unicodedata.normalize("NFC", raw).replace("\\", "/")
    unsafe = name.startswith("/") or bool(_DRIVE.match(name)) or "\x00" in name
    parts: list[str] = []
    for part in name.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            unsafe = True
            continue
        if _DRIVE.match(part):
            unsafe = True
            part = part[2:]
        part = (_BAD_CHARS if for_fs else _CONTROL_CHARS).sub("_", part).strip(" ")
        if part in ("", ".", ".."):
            continue
        parts.append(_shorten(part))
    return parts, unsafe


def _shorten(part: str) -> str:
    if len(part.encode("utf-8")) <= _MAX_COMPONENT_BYTES:
        return part
    suffix = PurePosixPath(part).suffix[:16]
    stem = part[: len(part) - len(suffix)]
    while len((stem + suffix).encode("utf-8")) > _MAX_COMPONENT_BYTES:
        stem = stem[:-1]
    return stem + suffix


def sanitize_name(raw: str, for_fs: bool = True) -> str:
    """A user-supplied relative name made safe ('_' when nothing is left).

    ``for_fs=False`` gives the display form used for zip member names (see :func:`_components`).
    """
    parts, _ = _components(raw, for_fs)
    return "/".join(parts) or "_"


def safe_output_path(out_dir: str | Path, relative_name: str, *, mkdir: bool = False) -> Path:
    """A path for ``relative_name`` that is guaranteed to be inside ``out_dir``."""
    root = Path(out_dir).resolve()
    parts, _ = _components(str(relative_name))
    target = root.joinpath(*(parts or ["_"]))
    # resolve() follows symlinks that may already exist under out_dir.
    if not target.resolve().is_relative_to(root):
        raise ListingLensError(ErrorCode.UNSAFE_PATH,
                               f"{relative_name!r} would be written outside the output folder")
    if mkdir:
        target.parent.mkdir(parents=True, exist_ok=True)
    return target


def _is_symlink(info: zipfile.ZipInfo) -> bool:
    # Unix zips store st_mode in the high 16 bits of external_attr.
    return info.create_system == 3 and stat.S_ISLNK(info.external_attr >> 16)


def iter_zip_images(
    source: str | Path | bytes | BinaryIO,
    *,
    max_archive_bytes: int | None = None,
    max_members: int | None = None,
    max_total_uncompressed: int | None = None,
    max_member_bytes: int | None = None,
) -> ZipScan:
    """Check a zip's table of contents and return a :class:`ZipScan` over its image members."""
    lim = limits()
    max_archive_bytes = int(max_archive_bytes or lim["max_zip_mb"] * _MB)
    max_members = int(max_members or lim["max_zip_members"])
    max_total = int(max_total_uncompressed or lim["max_zip_uncompressed_mb"] * _MB)
    max_member = int(max_member_bytes or lim["max_file_mb"] * _MB)

    src = _to_source(source, max_archive_bytes)
    zf = _open_zip(src)
    try:
        infos = zf.infolist()
    finally:
        zf.close()
    if len(infos) > max_members:
        raise ListingLensError(
            ErrorCode.ARCHIVE_TOO_LARGE,
            f"the archive has {len(infos)} entries; the limit is {max_members}")

    planned: list[_Planned] = []
    skipped: list[SkippedMember] = []
    seen: dict[str, int] = {}
    declared = 0
    for info in infos:
        if info.is_dir():
            continue
        parts, unsafe = _components(info.filename, for_fs=False)
        name = "/".join(parts) or "_"
        hidden = any(p.startswith(".") or p == "__MACOSX" for p in parts)
        lower = name.lower()
        is_image = lower.endswith(IMAGE_EXTENSIONS)
        symlink = _is_symlink(info)
        if hidden and not unsafe:
            skipped.append(SkippedMember(name, "system or hidden file (__MACOSX/, dotfile)"))
            continue
        if not is_image:
            if unsafe or symlink:
                skipped.append(SkippedMember(name, "unsafe entry (symlink or path outside the "
                                             "archive)", ErrorCode.UNSAFE_PATH.value))
            elif lower.endswith(ARCHIVE_EXTENSIONS):
                skipped.append(SkippedMember(name, "nested archive: not expanded"))
            else:
                skipped.append(SkippedMember(name, "not an image file"))
            continue

        n = seen.get(name, 0) + 1
        seen[name] = n
        if n > 1:  # the same name twice: keep both, make the second unique
            p = PurePosixPath(name)
            name = str(p.with_name(f"{p.stem} ({n}){p.suffix}"))

        if symlink:
            planned.append(_Planned(name, None, ListingLensError(
                ErrorCode.UNSAFE_PATH,
                f"{name} is a symbolic link inside the zip; links are never followed")))
        elif unsafe:
            planned.append(_Planned(name, None, ListingLensError(
                ErrorCode.UNSAFE_PATH,
                f"{info.filename!r} points outside the archive folder (../, absolute path or "
                "drive letter); refused")))
        elif info.file_size > max_member:
            planned.append(_Planned(name, None, ListingLensError(
                ErrorCode.FILE_TOO_LARGE,
                f"{name} is {info.file_size / _MB:.0f} MB uncompressed; the limit per image is "
                f"{max_member / _MB:.0f} MB")))
        else:
            declared += info.file_size
            planned.append(_Planned(name, info, None))
    if declared > max_total:
        raise ListingLensError(
            ErrorCode.ARCHIVE_TOO_LARGE,
            f"the archive declares {declared / _MB:.0f} MB of images; the limit is "
            f"{max_total / _MB:.0f} MB (possible zip bomb); split it into smaller zips")
    return ZipScan(src, planned, skipped, max_member_bytes=max_member,
                   max_total_uncompressed=max_total)
