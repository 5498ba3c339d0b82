"""The hostile corpus through `listing-lens analyze --format json`, as a user would run it.

One subprocess for the whole corpus (good photos beside the bad files): every input gets either
an analysis or its exact error code, the order is kept, the exit status is 2 (some failed), and
nothing resembling a traceback reaches stdout or stderr.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from corpus import Case, good_photo_sources, make_corpus, shared_or_none

from analyzer.cli import main

REPO = Path(__file__).resolve().parents[1]
EMPTY_CONTENT = ("transparent.png", "all_white.jpg", "all_black.jpg")


def _cli(args: list[str], timeout: int = 900) -> subprocess.CompletedProcess:
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONWARNINGS="default")
    return subprocess.run([sys.executable, "-m", "analyzer.cli", *args], capture_output=True,
                          text=True, cwd=REPO, timeout=timeout, env=env)


def _assert_no_traceback(text: str) -> None:
    assert "Traceback" not in text
    assert 'File "' not in text  # a frame line of a traceback


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, request) -> list[Case]:
    good = good_photo_sources(shared_or_none(request))
    return make_corpus(tmp_path_factory.mktemp("hostile"), good, huge=True)


@pytest.fixture(scope="module")
def run(corpus):
    cases = [c for c in corpus if c.kind == "image"]
    # A path with `..` in it is the user's own business and must simply work.
    sub = cases[0].path.parent / "sub"
    sub.mkdir(exist_ok=True)
    dotdot = Case("dotdot", sub / ".." / cases[0].path.name, True, None, "path with ..")
    cases.append(dotdot)
    proc = _cli(["analyze", "--format", "json", *[str(c.path) for c in cases]])
    return cases, proc


@pytest.mark.slow
def test_exit_status_and_clean_streams(run):
    cases, proc = run
    _assert_no_traceback(proc.stderr)
    _assert_no_traceback(proc.stdout)
    assert proc.returncode == 2, proc.stderr[-2000:]


@pytest.mark.slow
def test_every_input_has_its_exact_outcome_in_order(run):
    cases, proc = run
    results = json.loads(proc.stdout)
    assert [r["file"] for r in results] == [str(c.path) for c in cases]
    wrong = {}
    for case, r in zip(cases, results, strict=True):
        got = None if r["ok"] else r["error"]["code"]
        if got != case.expect_code and case.name not in EMPTY_CONTENT:
            wrong[case.name] = {"expected": case.expect_code, "got": r.get("error")}
    assert not wrong, wrong


@pytest.mark.slow
def test_good_files_are_fully_analysed(run):
    cases, proc = run
    results = json.loads(proc.stdout)
    good = [(c, r) for c, r in zip(cases, results, strict=True)
            if c.expect_ok and c.name not in EMPTY_CONTENT]
    assert len(good) >= 25
    for c, r in good:
        assert r["ok"], (c.name, r.get("error"))
        assert r["grade"] in "ABCDEF" and 0 <= r["scores"]["overall"] <= 100
        assert r["width"] > 0 and r["height"] > 0
    by_name = {c.name: r for c, r in zip(cases, results, strict=True)}
    assert (by_name["exif_orientation_6.jpg"]["width"],
            by_name["exif_orientation_6.jpg"]["height"]) == (400, 600)
    assert (by_name["huge_12000.jpg"]["width"], by_name["huge_12000.jpg"]["height"]) == \
        (12_000, 12_000)


@pytest.mark.slow
def test_error_messages_are_specific(run):
    cases, proc = run
    by_name = {c.name: r for c, r in zip(cases, json.loads(proc.stdout), strict=True)}
    assert "PDF" in by_name["spec.pdf"]["error"]["message"]
    assert "SVG" in by_name["drawing.svg"]["error"]["message"]
    assert "150 MP" in by_name["bomb_50000.png"]["error"]["message"]
    assert "truncated" in by_name["truncated.jpg"]["error"]["message"]
    assert "1 x 1" in by_name["tiny_1x1.png"]["error"]["message"]
    for r in by_name.values():
        if not r["ok"]:
            assert r["error"]["code"] != "INTERNAL_ERROR", r


@pytest.mark.slow
@pytest.mark.parametrize("name", EMPTY_CONTENT)
def test_empty_content_images_are_analysed_not_crashed(run, name):
    """Decision: a fully transparent, all-white or all-black image is analysed (it will score
    badly and get flags such as 'no product found'); it is never an error, and a check that
    crashes on an empty product mask is a bug (INTERNAL_ERROR)."""
    cases, proc = run
    r = {c.name: r for c, r in zip(cases, json.loads(proc.stdout), strict=True)}[name]
    assert r["ok"], r.get("error")
    assert r["grade"] in "ABCDEF"


def test_in_process_cli_on_a_small_mix(tmp_path, capsys):
    cases = {c.name: c for c in make_corpus(tmp_path, None, huge=False)}
    names = ["good_00.jpg", "empty.jpg", "bomb_50000.png", "notes.jpg", "truncated.png",
             "<script>alert('x')<script>.jpg", "good_01.jpg"]
    rc = main(["analyze", "--format", "json", "--no-model",
               *[str(cases[n].path) for n in names]])
    out = capsys.readouterr()
    _assert_no_traceback(out.err)
    results = json.loads(out.out)
    assert rc == 2
    assert [None if r["ok"] else r["error"]["code"] for r in results] == \
        [cases[n].expect_code for n in names]
    assert results[5]["file"].endswith("<script>alert('x')<script>.jpg")


def test_table_format_and_all_good_exit_zero(tmp_path, capsys):
    cases = {c.name: c for c in make_corpus(tmp_path, None, huge=False)}
    names = ["good_00.jpg", "a&b <i>c<i> &amp;.jpg", "tasse_à_café_商品_🙂.jpg"]
    rc = main(["analyze", "--no-model", *[str(cases[n].path) for n in names]])
    out = capsys.readouterr()
    assert rc == 0, out
    assert "ERROR" not in out.out and len(out.out.strip().splitlines()) == 2 + len(names)
    rc = main(["analyze", "--no-model", str(cases["empty.jpg"].path)])
    assert rc == 2 and "EMPTY_FILE" in capsys.readouterr().out


def test_missing_path_and_empty_folder(tmp_path, capsys):
    rc = main(["analyze", "--format", "json", "--no-model", str(tmp_path / "nope.jpg")])
    out = capsys.readouterr()
    assert rc == 2 and json.loads(out.out)[0]["error"]["code"] == "FILE_NOT_FOUND"
    (tmp_path / "empty_dir").mkdir()
    rc = main(["analyze", "--no-model", str(tmp_path / "empty_dir")])
    out = capsys.readouterr()
    assert rc == 2 and "no images" in out.err
    _assert_no_traceback(out.err)


_CRASHING_CHECK = """
import sys
from analyzer.quality import registry
registry.checks()  # import the real checks first, then add one that always fails

@registry.register("sharpness")
def boom(ctx):
    raise RuntimeError("simulated bug in a check")

from analyzer.cli import main
sys.exit(main(["analyze", "--format", "json", "--no-model", sys.argv[1]]))
"""


def test_a_crashing_check_is_internal_error_without_traceback(tmp_path):
    cases = {c.name: c for c in make_corpus(tmp_path, None, huge=False)}
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, "-c", _CRASHING_CHECK, str(cases["good_00.jpg"].path)],
                          capture_output=True, text=True, cwd=REPO, timeout=600, env=env)
    assert proc.returncode == 2
    (r,) = json.loads(proc.stdout)
    assert r["error"]["code"] == "INTERNAL_ERROR"
    _assert_no_traceback(proc.stderr)
