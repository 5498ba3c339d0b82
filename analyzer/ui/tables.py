"""Data frames for the store audit tab (pure: reports in, pandas out) and its CSV and PDF
downloads (made by ``analyzer.report``, the same files as the command-line audit's)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from analyzer.codes import issue_name
from analyzer.quality.priority import expected_gain
from analyzer.quality.registry import CHECK_MODULES
from analyzer.report.csv import csv_bytes
from analyzer.results import ImageReport, sort_flags
from analyzer.ui.text import SEVERITY_LABELS, check_label


def _gain(report: ImageReport) -> float | None:
    return float(expected_gain(report.to_dict()).points)


def data_url(jpeg: bytes | None) -> str | None:
    import base64

    return None if not jpeg else "data:image/jpeg;base64," + base64.b64encode(jpeg).decode()


def audit_frame(reports: list[ImageReport],
                thumbs: dict[str, bytes] | None = None) -> pd.DataFrame:
    """One row per uploaded image: grade, scores, issue counts, the top issue and its fix.

    With ``thumbs`` (content hash -> JPEG) a ``photo`` column holds data URLs for the table.
    """
    rows: list[dict[str, Any]] = []
    for r in reports:
        flags = sort_flags(r.flags)
        top = flags[0] if flags else None
        row: dict[str, Any] = {}
        if thumbs is not None:
            row["photo"] = data_url(thumbs.get(r.content_hash))
        row |= {
            "file": r.file,
            "status": "ok" if r.ok else "failed",
            "grade": r.grade if r.ok else "—",
            "overall": r.scores.get("overall") if r.ok else None,
        }
        for c in CHECK_MODULES:
            row[c] = r.scores.get(c)
        for extra in ("search", "differentiation"):
            if extra in r.scores:
                row[extra] = r.scores[extra]
        # An unreadable file is one must-fix (as the page's "With a must-fix issue" counts it).
        row["errors"] = sum(f.severity == "error" for f in flags) + (0 if r.ok else 1)
        row["warnings"] = sum(f.severity == "warning" for f in flags)
        if r.ok:
            row["top issue"] = (f"{SEVERITY_LABELS.get(top.severity, '')}: {top.message}"
                                if top else "no issue")
            row["fix"] = top.fix if top else ""
        else:
            err = r.error or {}
            row["top issue"] = f"unreadable ({err.get('code', 'ERROR')}): {err.get('message', '')}"
            row["fix"] = "re-export the file as JPEG or PNG and upload it again"
        row["gain if fixed"] = _gain(r) if r.ok else None
        row["width"], row["height"] = (r.width or None), (r.height or None)
        row["hash"] = r.content_hash[:12]
        rows.append(row)
    df = pd.DataFrame(rows)
    if not df.empty:
        # Columns that no report has (e.g. search when no catalog) are dropped.
        df = df.dropna(axis=1, how="all")
        # Fix-first order: unreadable files, then the biggest expected gain, then lowest score.
        df["_failed"] = df["status"] != "ok"
        # A batch where every file failed has no score columns left after the dropna above.
        order = [("_failed", False), ("gain if fixed", False), ("overall", True)]
        keys = [k for k, _ in order if k in df]
        asc = [a for k, a in order if k in df]
        df = (df.sort_values(keys, ascending=asc, na_position="last", kind="stable")
              .drop(columns="_failed").reset_index(drop=True))
    return df


def issue_frame(reports: list[ImageReport]) -> pd.DataFrame:
    """One row per flag (code, severity, plain label, check), for the 'most common issues' chart."""
    rows = []
    for r in reports:
        if not r.ok:
            code = (r.error or {}).get("code", "ERROR")
            rows.append({"file": r.file, "code": code, "severity": "error",
                         "label": "Unreadable file", "check": "file"})
            continue
        for f in r.flags:
            rows.append({"file": r.file, "code": f.code, "severity": f.severity,
                         "label": issue_label(f.code), "check": f.check})
    return pd.DataFrame(rows, columns=["file", "code", "severity", "label", "check"])


def issue_label(code: str) -> str:
    return issue_name(code)


def filter_frame(df: pd.DataFrame, grades: list[str] | None = None, text: str = "",
                 only_problems: bool = False) -> pd.DataFrame:
    """The rows whose grade is in ``grades``, whose file name contains ``text`` (any case)."""
    out = df
    if grades:
        out = out[out["grade"].isin(grades)]
    if text:
        out = out[out["file"].str.contains(text, case=False, regex=False)]
    if only_problems:
        out = out[(out["errors"] > 0) | (out["status"] != "ok")]
    return out


def audit_csv(reports: list[ImageReport]) -> bytes:
    """The audit CSV with analyzer.report's documented columns."""
    return csv_bytes(r.to_dict() for r in reports)


def audit_pdf(reports: list[ImageReport], *, marketplace: str | None = None,
              thumbnails: dict[str, bytes] | None = None, catalog: str | None = None,
              store_name: str = "My store") -> bytes:
    """The store audit PDF from analyzer.report."""
    import io

    from analyzer.report.pdf import build_pdf

    buf = io.BytesIO()
    build_pdf([r.to_dict() for r in reports], buf, store_name=store_name,
              marketplace=marketplace, thumbnails=thumbnails or None, catalog=catalog)
    return buf.getvalue()


def check_columns(df: pd.DataFrame) -> list[str]:
    return [c for c in (*CHECK_MODULES, "search", "differentiation") if c in df.columns]


def column_label(c: str) -> str:
    return check_label(c)
