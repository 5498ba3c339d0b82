"""`listing-lens analyze`: the JSON contract, the table, exit codes and folder expansion."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from analyzer.cli import main
from analyzer.quality.registry import CHECK_MODULES as SCORE_CHECKS

FIELDS = {"file", "ok", "error", "width", "height", "format", "scores", "grade", "metrics",
          "flags", "content_hash", "notes"}


def _write(path: Path, size: tuple[int, int] = (640, 480), seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    im = np.full((size[1], size[0], 3), 255, np.uint8)
    h, w = size[1], size[0]
    im[h // 4: 3 * h // 4, w // 4: 3 * w // 4] = rng.integers(0, 255, (3,), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(im).save(path)
    return path


def _run(capsys, *args: str) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    rc = main(["analyze", *args])
    out = capsys.readouterr()
    return rc, out.out, out.err


@pytest.fixture()
def files(tmp_path: Path) -> dict[str, Path]:
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 this is not really a jpeg")
    return {"a": _write(tmp_path / "b_first.png", seed=1), "bad": bad,
            "c": _write(tmp_path / "a_last.jpg", (1200, 1200), seed=2)}


def test_json_list_in_input_order_with_error_for_bad_file(capsys, files):
    rc, out, _ = _run(capsys, str(files["a"]), str(files["bad"]), str(files["c"]),
                      "--format", "json", "--no-model")
    assert rc == 2
    res = json.loads(out)
    assert [r["file"] for r in res] == [str(files["a"]), str(files["bad"]), str(files["c"])]
    for r in res:
        assert set(r) >= FIELDS
    ok_a, bad, ok_c = res
    assert bad["ok"] is False and bad["error"]["code"] in ("NOT_AN_IMAGE", "TRUNCATED_IMAGE",
                                                           "CORRUPT_IMAGE")
    assert bad["error"]["message"] and bad["scores"] == {} and bad["flags"] == []
    for r in (ok_a, ok_c):
        assert r["ok"] is True and r["error"] is None
        assert r["grade"] in list("ABCDF")
        assert {"overall", "sharpness", "exposure", "resolution", "overlays"} <= set(r["scores"])
        assert all(0 <= v <= 100 for v in r["scores"].values())
        assert len(r["content_hash"]) == 64
        for f in r["flags"]:
            assert {"code", "severity", "message", "fix"} <= set(f)
            assert f["check"] in SCORE_CHECKS
    assert (ok_a["width"], ok_a["height"], ok_a["format"]) == (640, 480, "PNG")
    assert "LOW_RESOLUTION" not in {f["code"] for f in ok_a["flags"]}  # 640 px >= 500 px
    assert "NO_ZOOM" in {f["code"] for f in ok_a["flags"]}


def test_exit_zero_when_all_analysed(capsys, files):
    rc, out, _ = _run(capsys, str(files["a"]), "--format", "json", "--no-model")
    assert rc == 0 and len(json.loads(out)) == 1


def test_folders_expand_recursively_sorted_skipping_non_images(capsys, tmp_path):
    _write(tmp_path / "shop" / "z.png")
    _write(tmp_path / "shop" / "sub" / "m.jpg")
    _write(tmp_path / "shop" / ".hidden" / "h.png")
    (tmp_path / "shop" / "readme.txt").write_text("not an image")
    rc, out, _ = _run(capsys, str(tmp_path / "shop"), "--format", "json", "--no-model")
    assert rc == 0
    names = [Path(r["file"]).relative_to(tmp_path / "shop").as_posix() for r in json.loads(out)]
    assert names == ["sub/m.jpg", "z.png"]


def test_marketplace_changes_severity(capsys, tmp_path):
    small = _write(tmp_path / "small.png", (400, 300))
    sev = {}
    for m in ("amazon", "etsy"):
        _, out, _ = _run(capsys, str(small), "--format", "json", "--no-model",
                         "--marketplace", m)
        sev[m] = {f["code"]: f["severity"] for f in json.loads(out)[0]["flags"]}
    assert sev["amazon"]["LOW_RESOLUTION"] == "error"
    assert "LOW_RESOLUTION" not in sev["etsy"]  # Etsy sets no minimum size


def test_table_output(capsys, files):
    rc, out, _ = _run(capsys, str(files["a"]), str(files["bad"]), "--no-model")
    assert rc == 2
    lines = out.strip().splitlines()
    assert lines[0].startswith("file") and "grade" in lines[0] and "overa" in lines[0]
    assert len(lines) == 4  # header, rule, one row per input
    assert any("ERROR" in ln and "broken.jpg" in ln for ln in lines)
    assert any("b_first.png" in ln for ln in lines)


def test_empty_folder_and_bad_marketplace(capsys, tmp_path):
    (tmp_path / "empty").mkdir()
    rc, _, err = _run(capsys, str(tmp_path / "empty"), "--format", "json")
    assert rc == 2 and "no images" in err
    # beside a photo, an empty folder is said, not passed over in silence (a new user's try)
    photo = _write(tmp_path / "p.png")
    rc, out, err = _run(capsys, str(photo), str(tmp_path / "empty"), "--format", "json",
                        "--no-model")
    assert rc == 0 and len(json.loads(out)) == 1
    assert f"note: no images found in {tmp_path / 'empty'}" in err
    with pytest.raises(SystemExit) as e:
        main(["analyze", str(tmp_path), "--marketplace", "nowhere"])
    assert e.value.code == 2


def test_missing_file_is_reported_not_raised(capsys, tmp_path):
    rc, out, _ = _run(capsys, str(tmp_path / "nope.jpg"), "--format", "json", "--no-model")
    res = json.loads(out)
    assert rc == 2 and res[0]["error"]["code"] == "FILE_NOT_FOUND"


class _RecordingSearch:
    """A stand-in SearchContext: records how each report was enriched."""

    calls: list[dict] = []

    @classmethod
    def open(cls, catalog_dir: str, *a, **kw) -> _RecordingSearch:  # type: ignore[no-untyped-def]
        return cls()

    def warm(self) -> None:
        pass

    def enrich(self, report, **kw):  # type: ignore[no-untyped-def]
        assert report.image is not None  # the one path keeps the decoded image for the search
        self.calls.append({"file": report.file, **kw})
        report.search = {"median_rank": 1.0}
        return None


def test_catalog_search_uses_the_chosen_marketplace(files, tmp_path, capsys, monkeypatch) -> None:
    """`analyze --catalog --marketplace etsy` ran the search half with Amazon's severities."""
    from analyzer.search import catalog, integration

    _RecordingSearch.calls = []
    monkeypatch.setattr(integration, "SearchContext", _RecordingSearch)
    monkeypatch.setattr(catalog.Catalog, "open", classmethod(lambda cls, d: None))
    rc, out, _ = _run(capsys, str(files["a"]), str(files["bad"]), "--catalog", str(tmp_path),
                      "--marketplace", "etsy", "--format", "json", "--no-model",
                      "--workers", "1")
    data = json.loads(out)
    assert rc == 2  # the broken file
    assert [c["marketplace"] for c in _RecordingSearch.calls] == ["etsy"]
    assert data[0]["search"] == {"median_rank": 1.0} and "search" not in data[1]


def test_table_stays_aligned_with_wide_file_names_and_shows_full_headers() -> None:
    from analyzer.cli.analyze import format_table
    from analyzer.cli.output import display_width, fit

    assert display_width("商品写真.jpg") == 12 and display_width("cafe\u0301.jpg") == 8
    assert display_width(fit("很长的商品照片名称" * 8 + ".jpg", 20)) == 20
    scores = {c: 90.0 for c in ("overall", "sharpness", "exposure", "background", "framing",
                                "clutter", "resolution", "overlays")}
    rows = [{"file": f, "ok": True, "grade": "A", "scores": scores, "flags": []}
            for f in ("商品写真.jpg", "shoe.jpg")]
    lines = format_table(rows).splitlines()
    assert "sharpness" in lines[0] and "background" in lines[0]  # not squeezed to 5 letters
    # the grade column starts at the same terminal column on every row
    cols = [display_width(line[:line.index("  A  ")]) for line in lines[2:]]
    assert len(set(cols)) == 1


def test_python_dash_m_analyzer_is_the_command(tmp_path):
    """``python -m analyzer`` runs the ``listing-lens`` command (a new user's first try failed
    with "No module named analyzer.__main__")."""
    import subprocess
    import sys

    from PIL import Image

    p = tmp_path / "white.png"
    Image.new("RGB", (600, 600), (255, 255, 255)).save(p)
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, "-m", "analyzer", "--help"], cwd=root,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "analyze" in out.stdout
    out = subprocess.run([sys.executable, "-m", "analyzer", "analyze", str(p), "--no-model",
                          "--format", "json"], cwd=root, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode in (0, 1) and '"grade"' in out.stdout, out.stderr[-500:]
