"""`listing-lens fix`: the JSON contract, exit codes, never touching inputs, --overwrite."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from PIL import Image

from analyzer.cli import main
from tests.fix_helpers import textured_blob

FIELDS = {"file", "ok", "error", "output", "changes", "before", "after", "notes"}
GRADE_FIELDS = {"grade", "overall", "flags"}


def _photo(path: Path, backdrop: tuple[int, int, int] = (200, 198, 190), seed: int = 0) -> Path:
    rgb, _ = textured_blob(size=(900, 1200), center=(450, 600), axes=(330, 260),
                           backdrop=backdrop, seed=seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rgb).save(path, quality=95)
    return path


def _sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def _run(capsys, *args: str) -> tuple[int, list[dict], str]:  # type: ignore[no-untyped-def]
    rc = main(["fix", *args, "--format", "json", "--no-model"])
    out = capsys.readouterr()
    return rc, json.loads(out.out), out.err


@pytest.fixture()
def inputs(tmp_path: Path) -> dict[str, Path]:
    bad = tmp_path / "in" / "broken.jpg"
    good = _photo(tmp_path / "in" / "grey.jpg")
    bad.write_bytes(b"\xff\xd8\xff\xe0 not a jpeg at all")
    png = _photo(tmp_path / "in" / "sub" / "shot.png", seed=3)
    return {"good": good, "bad": bad, "png": png}


def test_json_contract_order_exit_code_and_outputs(capsys, tmp_path: Path,
                                                   inputs: dict[str, Path]) -> None:
    out_dir = tmp_path / "out"
    before = {k: _sha(p) for k, p in inputs.items()}
    rc, res, err = _run(capsys, str(inputs["good"]), str(inputs["bad"]), str(inputs["png"]),
                        "--out", str(out_dir))
    assert rc == 2  # one input could not be handled
    assert "Traceback" not in err
    assert [Path(r["file"]).name for r in res] == ["grey.jpg", "broken.jpg", "shot.png"]
    for r in res:
        assert set(r) == FIELDS
    ok, bad, png = res
    assert ok["ok"] and ok["error"] is None
    assert set(ok["before"]) == GRADE_FIELDS and set(ok["after"]) == GRADE_FIELDS
    assert "BACKGROUND_NOT_WHITE" in ok["before"]["flags"]
    assert "BACKGROUND_NOT_WHITE" not in ok["after"]["flags"]
    assert ok["after"]["overall"] > ok["before"]["overall"]
    assert all(set(c) == {"code", "message"} for c in ok["changes"])
    assert "BACKGROUND_WHITENED" in [c["code"] for c in ok["changes"]]
    assert Path(ok["output"]) == out_dir / "grey_fixed.jpg" and Path(ok["output"]).is_file()
    with Image.open(ok["output"]) as im:
        assert im.format == "JPEG"
    assert not bad["ok"] and bad["output"] is None and bad["after"] is None
    assert set(bad["error"]) == {"code", "message"} and bad["error"]["code"] == "CORRUPT_IMAGE" \
        or bad["error"]["code"] in {"NOT_AN_IMAGE", "TRUNCATED_IMAGE", "CORRUPT_IMAGE"}
    assert png["ok"] and Path(png["output"]).name == "shot_fixed.jpg"
    # Inputs are never modified.
    assert {k: _sha(p) for k, p in inputs.items()} == before


def test_existing_output_is_kept_unless_overwrite(capsys, tmp_path: Path,
                                                  inputs: dict[str, Path]) -> None:
    out_dir = tmp_path / "out"
    rc, res, _ = _run(capsys, str(inputs["good"]), "--out", str(out_dir))
    assert rc == 0 and res[0]["ok"]
    target = Path(res[0]["output"])
    target.write_bytes(b"seller's own edit")
    rc, res, _ = _run(capsys, str(inputs["good"]), "--out", str(out_dir))
    assert rc == 2 and res[0]["error"]["code"] == "OUTPUT_EXISTS" and res[0]["output"] is None
    assert target.read_bytes() == b"seller's own edit"
    rc, res, _ = _run(capsys, str(inputs["good"]), "--out", str(out_dir), "--overwrite")
    assert rc == 0 and res[0]["ok"]
    assert target.read_bytes()[:2] == b"\xff\xd8"


def test_output_into_the_input_folder_never_replaces_an_input(capsys, tmp_path: Path) -> None:
    d = tmp_path / "shop"
    a = _photo(d / "a.jpg")
    # An input named like the output of another input: even --overwrite must not replace it.
    a_fixed = _photo(d / "a_fixed.jpg", seed=2)
    digests = {p: _sha(p) for p in (a, a_fixed)}
    rc, res, _ = _run(capsys, str(a), str(a_fixed), "--out", str(d), "--overwrite")
    assert rc == 0
    assert {p: _sha(p) for p in (a, a_fixed)} == digests
    assert [Path(r["output"]).name for r in res] == ["a_fixed_2.jpg", "a_fixed_fixed.jpg"]
    # A folder run into its own folder does not take its earlier outputs for inputs.
    rc, res, err = _run(capsys, str(d), "--out", str(d), "--overwrite")
    assert rc == 0 and [Path(r["file"]).name for r in res] == ["a.jpg"]
    assert "skipped 3 fixed photo(s) of an earlier run" in err  # said, not silent
    assert {p: _sha(p) for p in (a, a_fixed)} == digests


def test_same_names_from_two_folders_get_two_outputs(capsys, tmp_path: Path) -> None:
    p1 = _photo(tmp_path / "x" / "p.jpg")
    p2 = _photo(tmp_path / "y" / "p.jpg", seed=1)
    rc, res, _ = _run(capsys, str(p1), str(p2), "--out", str(tmp_path / "o"))
    assert rc == 0
    assert [Path(r["output"]).name for r in res] == ["p_fixed.jpg", "p_fixed_2.jpg"]


def test_no_images_and_unknown_marketplace_are_clear_errors(capsys, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    assert main(["fix", str(tmp_path / "empty"), "--out", str(tmp_path / "o")]) == 2
    assert "no images" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        main(["fix", str(tmp_path), "--out", str(tmp_path / "o"), "--marketplace", "nope"])
    assert e.value.code == 2


def test_unwritable_output_folder_is_an_error_code(capsys, tmp_path: Path,
                                                   inputs: dict[str, Path]) -> None:
    blocker = tmp_path / "file_not_dir"
    blocker.write_text("x")
    rc, res, err = _run(capsys, str(inputs["good"]), "--out", str(blocker))
    assert rc == 2 and res[0]["error"]["code"] == "OUTPUT_NOT_WRITABLE"
    assert "is a file, not a folder" in res[0]["error"]["message"]
    assert res[0]["after"] is None and not res[0]["changes"]  # nothing worked on in vain
    assert "Traceback" not in err and blocker.read_text() == "x"
    # A folder that cannot be created (under a file): said once per input, before any work.
    rc, res, err = _run(capsys, str(inputs["good"]), "--out", str(blocker / "sub"))
    assert rc == 2 and res[0]["error"]["code"] == "OUTPUT_NOT_WRITABLE"
    assert "cannot create the folder" in res[0]["error"]["message"]
    assert res[0]["after"] is None and "Traceback" not in err


def test_table_format(capsys, tmp_path: Path, inputs: dict[str, Path]) -> None:
    rc = main(["fix", str(inputs["good"]), str(inputs["bad"]), "--out", str(tmp_path / "o"),
               "--no-model"])
    out = capsys.readouterr().out
    assert rc == 2
    assert "grey.jpg" in out and "BACKGROUND_WHITENED" in out and "ERROR" in out

