"""The safe zip reader: traversal, symlinks, bombs, lying headers, junk members, output paths."""

from __future__ import annotations

import io
import stat
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
from corpus import raw_zip, write_zip_bomb
from PIL import Image

from analyzer.errors import ErrorCode, ListingLensError
from analyzer.io.archive import (
    _OverBudget,
    _read_bounded,
    is_zip,
    iter_zip_images,
    safe_output_path,
    sanitize_name,
)

MB = 1024 * 1024


def _png(color=(200, 30, 30), size=(40, 30)) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.full((size[1], size[0], 3), color, np.uint8)).save(buf, "PNG")
    return buf.getvalue()


def _zip(entries: list[tuple[str | zipfile.ZipInfo, bytes]]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries:
            zf.writestr(name, data)
    return buf.getvalue()


def _symlink(name: str, target: str) -> tuple[zipfile.ZipInfo, bytes]:
    info = zipfile.ZipInfo(name)
    info.create_system = 3
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info, target.encode()


def _by_name(scan) -> dict:
    return {m.name: m for m in scan}


def test_good_members_are_read_in_order_with_their_bytes():
    a, b = _png((255, 0, 0)), _png((0, 0, 255))
    scan = iter_zip_images(_zip([("shop/a.png", a), ("b.PNG", b), ("readme.txt", b"hi")]))
    members = list(scan)
    assert [m.name for m in members] == ["shop/a.png", "b.PNG"]
    assert members[0].data == a and members[1].data == b
    assert all(m.ok for m in members)
    assert [(s.name, s.code) for s in scan.skipped] == [("readme.txt", None)]


def test_path_traversal_absolute_and_drive_names_are_unsafe():
    png = _png()
    scan = iter_zip_images(_zip([
        ("../../evil.png", png), ("/etc/abs.png", png), ("C:/win/drive.png", png),
        ("..\\..\\back.png", png), ("ok/../../../sneaky.png", png), ("fine.png", png),
    ]))
    got = {m.name: m for m in scan}
    assert got["fine.png"].ok
    unsafe = {n for n, m in got.items() if m.error is not None}
    assert unsafe == {"evil.png", "etc/abs.png", "win/drive.png", "back.png", "ok/sneaky.png"}
    for n in unsafe:
        assert got[n].error.code == ErrorCode.UNSAFE_PATH and got[n].data is None
    # Names handed to callers never escape, even for the refused members.
    for n in got:
        assert not n.startswith("/") and ".." not in n.split("/") and "\\" not in n


def test_symlink_members_are_never_read():
    png = _png()
    link_img, target = _symlink("link.png", "/etc/passwd")
    link_txt, target2 = _symlink("notes", "../../secret")
    scan = iter_zip_images(_zip([(link_img, target), (link_txt, target2), ("real.png", png)]))
    got = _by_name(scan)
    assert got["link.png"].error.code == ErrorCode.UNSAFE_PATH and got["link.png"].data is None
    assert got["real.png"].data == png
    assert [(s.name, s.code) for s in scan.skipped] == [("notes", "UNSAFE_PATH")]


def test_macosx_dotfiles_nested_zips_and_non_images_are_skipped_and_listed():
    png = _png()
    inner = _zip([("inner.png", png)])
    scan = iter_zip_images(_zip([
        ("__MACOSX/._a.png", b"junk"), (".DS_Store", b"junk"), ("dir/.hidden.png", png),
        ("nested.zip", inner), ("catalog.csv", b"a,b"), ("a.png", png), ("folder/", b""),
    ]))
    assert scan.names == ["a.png"]
    reasons = {s.name: s.reason for s in scan.skipped}
    assert set(reasons) == {"__MACOSX/._a.png", ".DS_Store", "dir/.hidden.png", "nested.zip",
                            "catalog.csv"}
    assert "nested archive" in reasons["nested.zip"]
    assert "not an image" in reasons["catalog.csv"]


def test_duplicate_member_names_are_kept_and_made_unique():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf, pytest.warns(UserWarning):
        zf.writestr("x.png", _png((1, 2, 3)))
        zf.writestr("x.png", _png((4, 5, 6)))
    scan = iter_zip_images(buf.getvalue())
    assert scan.names == ["x.png", "x (2).png"]
    assert len({m.data for m in scan}) == 2


@pytest.mark.parametrize("data", [b"not a zip at all", b"PK\x03\x04" + b"\x00" * 40, _png()])
def test_non_zip_or_corrupt_archive_is_bad_archive(data):
    with pytest.raises(ListingLensError) as e:
        iter_zip_images(data)
    assert e.value.code == ErrorCode.BAD_ARCHIVE


def test_truncated_zip_is_bad_archive():
    z = _zip([("a.png", _png()), ("b.png", _png())])
    with pytest.raises(ListingLensError) as e:
        iter_zip_images(z[: len(z) - 30])
    assert e.value.code == ErrorCode.BAD_ARCHIVE


def test_empty_and_missing_archives(tmp_path):
    with pytest.raises(ListingLensError) as e:
        iter_zip_images(b"")
    assert e.value.code == ErrorCode.EMPTY_FILE
    with pytest.raises(ListingLensError) as e:
        iter_zip_images(tmp_path / "nope.zip")
    assert e.value.code == ErrorCode.FILE_NOT_FOUND


def test_archive_file_size_limit_applies_to_paths_bytes_and_streams(tmp_path):
    z = _zip([("a.png", _png())])
    p = tmp_path / "a.zip"
    p.write_bytes(z)
    for src in (p, z, io.BytesIO(z)):
        with pytest.raises(ListingLensError) as e:
            iter_zip_images(src, max_archive_bytes=len(z) - 1)
        assert e.value.code == ErrorCode.ARCHIVE_TOO_LARGE
    assert iter_zip_images(p).names == ["a.png"]


def test_too_many_members_is_refused_before_reading():
    z = _zip([(f"{i}.png", b"x") for i in range(11)])
    with pytest.raises(ListingLensError) as e:
        iter_zip_images(z, max_members=10)
    assert e.value.code == ErrorCode.ARCHIVE_TOO_LARGE
    assert "11 entries" in e.value.message


def test_zip_bomb_is_refused_from_declared_sizes(tmp_path):
    # 30 members x 40 MB of zeros = 1.2 GB declared in a ~1 MB file; the default limit is 1000 MB.
    path = write_zip_bomb(tmp_path / "bomb.zip", members=30, member_mb=40)
    assert path.stat().st_size < 2 * MB
    with pytest.raises(ListingLensError) as e:
        iter_zip_images(path)
    assert e.value.code == ErrorCode.ARCHIVE_TOO_LARGE
    assert "zip bomb" in e.value.message


def _deflate(data: bytes) -> bytes:
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    return comp.compress(data) + comp.flush()


def test_one_oversized_member_is_an_error_for_that_member_only():
    png = _png()
    zeros = b"\x00" * (60 * MB)
    z = raw_zip([("good.png", _deflate(png), zlib.crc32(png), len(png)),
                 ("big.png", _deflate(zeros), zlib.crc32(zeros), len(zeros))])
    got = _by_name(iter_zip_images(z))
    assert got["good.png"].data == png
    assert got["big.png"].error.code == ErrorCode.FILE_TOO_LARGE and got["big.png"].data is None


def test_lying_header_never_yields_more_than_declared():
    # The central directory says 100 bytes; the stream really holds 5 MB of zeros.
    payload = _deflate(b"\x00" * (5 * MB))
    z = raw_zip([("liar.png", payload, zlib.crc32(b"\x00" * (5 * MB)), 100)])
    (m,) = list(iter_zip_images(z))
    assert m.data is None and m.error.code == ErrorCode.BAD_ARCHIVE


def test_bounded_reader_counts_real_bytes():
    payload = _deflate(b"\x00" * (3 * MB))
    zf = zipfile.ZipFile(io.BytesIO(raw_zip([("z.png", payload, zlib.crc32(b"\x00" * (3 * MB)),
                                                3 * MB)])))
    with pytest.raises(_OverBudget) as e:
        _read_bounded(zf, zf.infolist()[0], budget=MB)
    assert e.value.read == MB + 1
    assert len(_read_bounded(zf, zf.infolist()[0], budget=3 * MB)) == 3 * MB


def test_declared_total_limit_is_exact():
    png = _png(size=(300, 300))
    z = _zip([(f"{i}.png", png) for i in range(5)])
    scan = iter_zip_images(z, max_total_uncompressed=len(png) * 5)
    assert all(m.ok for m in scan)
    with pytest.raises(ListingLensError) as e:
        iter_zip_images(z, max_total_uncompressed=len(png) * 5 - 1)
    assert e.value.code == ErrorCode.ARCHIVE_TOO_LARGE


def test_corrupt_member_does_not_stop_the_others():
    png = _png()
    z = bytearray(_zip([("a.png", png), ("b.png", png)]))
    # Flip bytes inside the first member's compressed data: CRC or inflate error for it alone.
    start = 30 + len("a.png")
    z[start + 5: start + 15] = b"\xff" * 10
    got = _by_name(iter_zip_images(bytes(z)))
    assert got["a.png"].error.code == ErrorCode.BAD_ARCHIVE
    assert got["b.png"].data == png


def test_encrypted_member_is_bad_archive():
    info_flag_zip = bytearray(_zip([("a.png", _png())]))
    # Set the "encrypted" general-purpose flag bit in the local and central headers.
    for sig in (b"PK\x03\x04", b"PK\x01\x02"):
        i = info_flag_zip.find(sig)
        off = i + (6 if sig == b"PK\x03\x04" else 8)
        info_flag_zip[off] |= 0x01
    (m,) = list(iter_zip_images(bytes(info_flag_zip)))
    assert m.error.code == ErrorCode.BAD_ARCHIVE and "encrypted" in m.error.message


def test_is_zip(tmp_path):
    z = _zip([("a.png", _png())])
    assert is_zip(z) and not is_zip(_png()) and not is_zip(b"")
    (tmp_path / "a.zip").write_bytes(z)
    assert is_zip(tmp_path / "a.zip") and not is_zip(tmp_path / "missing.zip")


@pytest.mark.parametrize("name", [
    "../../etc/passwd", "/abs/x.jpg", "C:\\Windows\\x.jpg", "a/../../b.jpg", "..", "",
    "<script>alert(1)</script>.jpg", 'quo"te.jpg', "nul\x00byte.jpg", "é" * 300 + ".jpg",
    "a\\..\\..\\b.jpg", "....//....//x.jpg",
])
def test_safe_output_path_stays_inside(tmp_path, name):
    out = tmp_path / "out"
    out.mkdir()
    p = safe_output_path(out, name, mkdir=True)
    assert p.resolve().is_relative_to(out.resolve())
    assert p != out.resolve()
    assert all(len(part.encode()) <= 255 for part in p.parts)
    p.write_bytes(b"x")  # a real, writable file name on this OS


def test_safe_output_path_keeps_ordinary_names(tmp_path):
    assert safe_output_path(tmp_path, "shop/red mug (1).jpg") == tmp_path.resolve() / "shop" / \
        "red mug (1).jpg"
    assert sanitize_name("<b>x.png") == "_b_x.png"
    assert sanitize_name("ab:c|d?.png") == "ab_c_d_.png"


def test_safe_output_path_refuses_symlink_escape(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (tmp_path / "elsewhere").mkdir()
    (out / "link").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(ListingLensError) as e:
        safe_output_path(out, "link/x.jpg")
    assert e.value.code == ErrorCode.UNSAFE_PATH


def test_streamlit_like_upload_object():
    z = _zip([("a.png", _png())])
    scan = iter_zip_images(io.BytesIO(z))
    assert [m.name for m in scan if m.ok] == ["a.png"]


def test_iterating_twice_reads_again(tmp_path):
    p = tmp_path / "a.zip"
    p.write_bytes(_zip([("a.png", _png())]))
    scan = iter_zip_images(Path(p))
    assert [m.data for m in scan] == [m.data for m in scan]


def test_member_names_keep_their_characters_but_not_their_structure():
    png = _png()
    scan = iter_zip_images(_zip([("<script>alert(1)<script>.png", png),
                                 ('it\'s "quoted" a|b?.png', png),
                                 ("tab\there\x01.png", png)]))
    assert scan.names == ["<script>alert(1)<script>.png", 'it\'s "quoted" a|b?.png',
                          "tab_here_.png"]
    # ...and the same names become portable file names when written out.
    assert sanitize_name(scan.names[0]) == "_script_alert(1)_script_.png"
