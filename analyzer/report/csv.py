"""The audit CSV: one row per input image, stable documented columns, safe to open in Excel.

Columns (:data:`COLUMNS`; new columns are only ever appended at the end):

==========================  ===================================================================
file                        the image's name in the source (path relative to the folder/zip,
                            or the CSV's ``image`` cell)
product_id, title           from the source CSV (empty otherwise)
ok                          1 when the image was analysed, 0 when it failed
error_code, error_message   why it failed (see the error codes in the README)
width, height, format       original pixel size and file format
grade                       A-F (an ``error`` flag caps it, and so does a ``warning`` from a check
                            scored under ``cap_warning_below``; see thresholds.yaml)
overall                     0-100 weighted overall score
sharpness ... overlays      0-100 score of each check (analyzer.quality.registry order)
search_score                0-100 search-rank simulation score (with a catalog; else empty)
differentiation_score       0-100 how distinct the photo is from its lookalikes (with a catalog)
expected_gain               points the image would gain if its flags were fixed
                            (analyzer.quality.priority); the fix-first order
grade_if_fixed              the grade with every flag fixed (most by a re-shoot; with ``--fix``,
                            ``fix_grade_after`` is what the automatic fix reached)
n_errors, n_warnings,       number of flags of each severity
n_info
flag_codes                  all flag codes, ``;``-separated, most severe first
top_issue, top_fix          the most severe flag's message and what to do about it
search_rank                 median rank of the product among the catalog's products over
                            the simulated shopper photo searches (1 = first)
search_top_k_share          share (0-1) of those searches with the product on the first
                            results page (``search.primary_k`` results, 10 by default)
search_percentile           how the photo ranks against the catalog's own products (0-100)
search_rank_if_fixed        median rank after the simulatable fixes (``search_fixes``:
                            whiten_background, crop_to_fill), when any apply
nearest_lookalike           product id of the most similar catalog product
lookalike_similarity        its cosine similarity (0-1)
near_duplicates             catalog images that are near-copies of this photo
content_hash                SHA-256 of the file (the resume key)
search_visual_rank          median *visual match rank* (stage 1, ``search.visual``); the
                            ``search_*`` figures above are the expected search position
search_suppressed           true when the marketplace hides this main image from search
fixed_file                  ``audit --fix``: the fixed photo's path (empty without --fix or
                            when it could not be fixed; then fix_error says why)
fix_grade_before,           grade and overall score of the photo as uploaded ...
fix_overall_before
fix_grade_after,            ... and of the fixed photo, re-graded
fix_overall_after
fix_flags_after             the fixed photo's flag codes, ``;``-separated
fix_changes                 what the fix changed (change codes, ``;``-separated)
fix_notes                   what it could not fix, ``|``-separated
fix_error                   the error code when the photo could not be fixed
search_outside_catalog      true when the catalog does not cover the product
                            (OUTSIDE_CATALOG): the search_* figures then mean little
                            (appended last, so the older columns keep their places)
grade_cap                   why the grade is below what ``overall`` gives, as the report card
                            says it: a must-fix issue, or a should-fix issue whose check scored
                            under ``cap_warning_below`` (named with that score); empty when the
                            score alone gives the grade
cover_art                   1 when the photo was judged as cover art, as the seller declared
                            (``--cover-art``, the dashboard's box): its background and clutter
                            were measured, not judged (appended last)
==========================  ===================================================================

Encoding is UTF-8 with a byte-order mark (``utf-8-sig``): Excel then shows accented and
non-Latin titles correctly; pandas and Python's ``csv`` with ``encoding="utf-8-sig"`` read it.
Text cells that start with ``=``, ``+``, ``-``, ``@``, tab or carriage return are prefixed with
``'`` so a spreadsheet shows them as text instead of running them as formulas (OWASP "CSV
injection"); numbers are written as numbers.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from analyzer.codes import issue_name
from analyzer.quality.overall import cap_sentence, result_grade_cap
from analyzer.quality.priority import expected_gain
from analyzer.quality.registry import CHECK_MODULES
from analyzer.results import judged_as_cover_art
from analyzer.search.summary import SearchSummary

SCORE_COLUMNS = ("overall", *CHECK_MODULES)
# The fix's figures (fix_figures), in the audit CSV and alone in the dashboard's fixes.csv.
FIX_FIGURE_COLUMNS: tuple[str, ...] = (
    "fixed_file", "fix_grade_before", "fix_overall_before", "fix_grade_after",
    "fix_overall_after", "fix_flags_after", "fix_changes", "fix_notes", "fix_error")
COLUMNS: tuple[str, ...] = (
    "file", "product_id", "title", "ok", "error_code", "error_message",
    "width", "height", "format", "grade", *SCORE_COLUMNS,
    "search_score", "differentiation_score",
    "expected_gain", "grade_if_fixed", "n_errors", "n_warnings", "n_info",
    "flag_codes", "top_issue", "top_fix",
    "search_rank", "search_top_k_share", "search_percentile", "search_rank_if_fixed",
    "search_fixes", "nearest_lookalike", "lookalike_similarity", "near_duplicates",
    "content_hash", "search_visual_rank", "search_suppressed",
    *FIX_FIGURE_COLUMNS,
    "search_outside_catalog", "grade_cap", "cover_art",
)
ENCODING = "utf-8-sig"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> Any:
    """Make a text cell inert in spreadsheets; numbers and empty values pass unchanged."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def search_figures(result: dict[str, Any]) -> dict[str, Any]:
    """The search/differentiation columns of a result (all None when it has no search data),
    from its typed :class:`~analyzer.search.summary.SearchSummary`."""
    sm = SearchSummary.from_result(result)
    if sm is None:
        return dict.fromkeys(SEARCH_COLUMNS)
    top = sm.nearest[0] if sm.nearest else None
    return {
        "search_rank": sm.expected.median_rank,
        "search_top_k_share": sm.expected.top_k_share,
        "search_percentile": sm.expected.percentile,
        "search_rank_if_fixed": sm.what_if.figures.median_rank if sm.what_if else None,
        "search_fixes": ";".join(sm.what_if.fixes) if sm.what_if else "",
        "nearest_lookalike": top.product_id if top else None,
        "lookalike_similarity": round(top.similarity, 4)
        if top and top.similarity is not None else None,
        "near_duplicates": sm.near_duplicates,
        "search_visual_rank": sm.visual.median_rank if sm.visual else None,
        "search_suppressed": sm.suppressed,
        "search_outside_catalog": sm.outside_catalog,
    }


SEARCH_COLUMNS = ("search_rank", "search_top_k_share", "search_percentile",
                  "search_rank_if_fixed", "search_fixes", "nearest_lookalike",
                  "lookalike_similarity", "near_duplicates", "search_visual_rank",
                  "search_suppressed", "search_outside_catalog")


def fix_figures(result: dict[str, Any]) -> dict[str, Any]:
    """The ``audit --fix`` columns of a result (empty without a fix)."""
    fx = result.get("fix")
    if not isinstance(fx, dict):
        return {}
    before, after = fx.get("before") or {}, fx.get("after") or {}
    return {
        "fixed_file": fx.get("output") or "",
        "fix_grade_before": before.get("grade"), "fix_overall_before": before.get("overall"),
        "fix_grade_after": after.get("grade"), "fix_overall_after": after.get("overall"),
        "fix_flags_after": ";".join(after.get("flags") or []),
        "fix_changes": ";".join(c.get("code", "") for c in fx.get("changes") or []),
        "fix_notes": " | ".join(fx.get("notes") or []),
        "fix_error": (fx.get("error") or {}).get("code", ""),
    }


def grade_cap_text(result: dict[str, Any]) -> str | None:
    """Why a result's grade is below what its overall score gives (the report card's sentence,
    checks named as the CSV's and the PDF's score columns, capitalised), or None."""
    cap = result_grade_cap(result)
    scores = result.get("scores") or {}
    return None if cap is None else cap_sentence(cap, scores, issue_name, str.capitalize)


def row_for(result: dict[str, Any]) -> dict[str, Any]:
    """One CSV row (not yet neutralised) for an analyze-JSON result."""
    err = result.get("error") or {}
    scores = result.get("scores") or {}
    flags = result.get("flags") or []
    sev = [f.get("severity") for f in flags]
    gain = expected_gain(result)
    row: dict[str, Any] = {
        "file": result.get("file", ""),
        "product_id": result.get("product_id", "") or "",
        "title": result.get("title", "") or "",
        "ok": 1 if result.get("ok") else 0,
        "error_code": err.get("code", ""),
        "error_message": err.get("message", ""),
        "width": result.get("width") or "",
        "height": result.get("height") or "",
        "format": result.get("format", ""),
        "grade": result.get("grade", ""),
        "search_score": scores.get("search"),
        "differentiation_score": scores.get("differentiation"),
        "expected_gain": gain.points if result.get("ok") else None,
        "grade_if_fixed": gain.grade_after,
        "n_errors": sev.count("error"),
        "n_warnings": sev.count("warning"),
        "n_info": sev.count("info"),
        "flag_codes": ";".join(f.get("code", "") for f in flags),
        "top_issue": flags[0].get("message", "") if flags else "",
        "top_fix": flags[0].get("fix", "") if flags else "",
        "content_hash": result.get("content_hash", ""),
        "grade_cap": grade_cap_text(result) or "",
        "cover_art": int(judged_as_cover_art(result)) if result.get("ok") else "",
    }
    for c in SCORE_COLUMNS:
        row[c] = scores.get(c)
    row.update(search_figures(result))
    row.update(fix_figures(result))
    return {c: ("" if row.get(c) is None else row[c]) for c in COLUMNS}


def _write(results: Iterable[dict[str, Any]], fh: io.TextIOBase) -> int:
    w = csv.DictWriter(fh, fieldnames=list(COLUMNS), extrasaction="ignore",
                       quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    w.writeheader()
    n = 0
    for r in results:
        w.writerow({k: neutralise(v) for k, v in row_for(r).items()})
        n += 1
    return n


def write_csv(results: Iterable[dict[str, Any]], path: str | Path) -> Path:
    """Write the report CSV (streams: ``results`` may be a generator over results.jsonl)."""
    path = Path(path)
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "w", encoding=ENCODING, newline="") as fh:
        _write(results, fh)
    tmp.replace(path)
    return path


FIX_COLUMNS: tuple[str, ...] = ("file", *FIX_FIGURE_COLUMNS)


def fix_csv_bytes(outcomes: Iterable[dict[str, Any]]) -> bytes:
    """One row per fix outcome (``FixOutcome.to_dict()``), with ``audit --fix``'s columns: the
    dashboard's zip of fixed photos carries it beside ``fixes.json``."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=FIX_COLUMNS, extrasaction="ignore")
    w.writeheader()
    for d in outcomes:
        row = {"file": d.get("file")} | fix_figures({"fix": d})
        w.writerow({k: neutralise(v) for k, v in row.items()})
    return buf.getvalue().encode(ENCODING)


def csv_bytes(results: Iterable[dict[str, Any]]) -> bytes:
    """The same CSV as bytes, for a download button."""
    buf = io.StringIO()
    _write(results, buf)
    return buf.getvalue().encode(ENCODING)
