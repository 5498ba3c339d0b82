"""Uploads: images pass through, zips are expanded, every failure is one entry."""

from __future__ import annotations

import io
import zipfile

import numpy as np
from PIL import Image

from analyzer.ui.uploads import expand_uploads


def _png(color: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.full((40, 40, 3), color, np.uint8)).save(buf, "PNG")
    return buf.getvalue()


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def test_images_pass_through_and_empty_file_is_an_error_entry() -> None:
    scan = expand_uploads([("a.png", _png()), ("empty.jpg", b"")])
    assert [e.name for e in scan.entries] == ["a.png", "empty.jpg"]
    assert scan.entries[0].data is not None and scan.entries[0].error is None
    assert scan.entries[1].data is None and scan.entries[1].error["code"] == "EMPTY_FILE"
    assert len(scan.entries[0].content_hash) == 64


def test_zip_is_expanded_with_skipped_members_noted() -> None:
    z = _zip({"shop/red.png": _png(), "shop/blue.png": _png((0, 0, 200)),
              "readme.txt": b"hello", "__MACOSX/._red.png": b"junk"})
    scan = expand_uploads([("store.zip", z), ("c.png", _png())])
    names = [e.name for e in scan.entries]
    assert names == ["store.zip/shop/red.png", "store.zip/shop/blue.png", "c.png"]
    assert all(e.data for e in scan.entries)
    assert scan.entries[0].member == "shop/red.png" and scan.entries[0].source == "store.zip"
    assert len(scan.notes) == 1 and "skipped 2" in scan.notes[0]


def test_zip_slip_member_is_refused_but_others_go_on() -> None:
    z = _zip({"../../evil.png": _png(), "ok.png": _png()})
    scan = expand_uploads([("s.zip", z)])
    by = {e.member: e for e in scan.entries}
    bad = [e for e in scan.entries if e.error]
    assert len(bad) == 1 and bad[0].error["code"] == "UNSAFE_PATH"
    assert by["ok.png"].data is not None


def test_broken_zip_and_zip_without_images_are_one_error_each() -> None:
    scan = expand_uploads([("broken.zip", b"PK\x03\x04garbage"),
                           ("text.zip", _zip({"a.txt": b"x"}))])
    assert [e.error["code"] for e in scan.entries] == ["BAD_ARCHIVE", "BAD_ARCHIVE"]
    assert "no images" in scan.entries[1].error["message"]
