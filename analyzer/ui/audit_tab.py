"""The store audit tab: every uploaded image in one sortable, filterable table, plus downloads."""

from __future__ import annotations

import streamlit as st

from analyzer.results import ImageReport
from analyzer.ui import charts, tables
from analyzer.ui.text import check_label


def render_kpis(reports: list[ImageReport]) -> None:
    ok = [r for r in reports if r.ok]
    n_ready = sum(r.grade in ("A", "B") for r in ok)
    n_block = sum(any(f.severity == "error" for f in r.flags) for r in ok)
    avg = sum(r.scores.get("overall", 0.0) for r in ok) / len(ok) if ok else None
    c = st.columns(4)
    c[0].metric("Photos", len(reports), help="Images analysed (zips expanded)")
    c[1].metric("Average score", "–" if avg is None else f"{avg:.0f}")  # noqa: RUF001
    c[2].metric("Ready to list (A/B)", f"{n_ready} / {len(ok)}" if ok else "–",  # noqa: RUF001
                help="Of the photos that could be analysed")
    unread = len(reports) - len(ok)
    # the unreadable files are in the label (a new user read "5" for 3 photos with errors; a
    # longer value is cut short in the column)
    c[3].metric("Must-fix or unreadable" if unread else "With a must-fix issue",
                n_block + unread,
                help=f"{n_block} photo{'s' if n_block != 1 else ''} with an error-level flag"
                     + (f", plus {unread} file{'s' if unread != 1 else ''} that could not be "
                        "read" if unread else ""))


def render_audit(reports: list[ImageReport], marketplace_key: str, marketplace_label: str,
                 thumbs: dict[str, bytes] | None = None, catalog: str | None = None,
                 batch_id: str = "", missing_search: int = 0) -> bool:
    """The audit tab; returns True when the seller asked to simulate searches for all photos."""
    if not reports:
        st.info("Upload photos or a zip of your store's photos to audit them all at once.")
        return False
    render_kpis(reports)
    run_all = False
    if missing_search and catalog:
        c1, c2 = st.columns([3, 1.2], vertical_alignment="center")
        c1.caption(f"{missing_search} photo{'s' if missing_search != 1 else ''} without a "
                   "search simulation yet (a few seconds each): their search and lookalike "
                   "columns are empty.")
        run_all = c2.button("Simulate searches for all", icon=":material/travel_explore:",
                            key="run-all-search", width="stretch")
    df = tables.audit_frame(reports, thumbs)

    f1, f2, f3 = st.columns([2, 2, 1.2])
    grades = f1.multiselect("Grade", ["A", "B", "C", "D", "F", "—"], default=[],
                            placeholder="All grades", key="audit-grades")
    text = f2.text_input("File name contains", key="audit-text", placeholder="e.g. shoe")
    only = f3.toggle("Only must-fix", key="audit-only", help="Errors and unreadable files")
    view = tables.filter_frame(df, grades, text, only)

    score_cols = tables.check_columns(view)
    cfg = {
        "photo": st.column_config.ImageColumn("Photo", width="small"),
        "file": st.column_config.TextColumn("File", width="medium"),
        "status": None,
        "grade": st.column_config.TextColumn("Grade", width="small"),
        "overall": st.column_config.ProgressColumn("Overall", min_value=0, max_value=100,
                                                   format="%.0f"),
        "errors": st.column_config.NumberColumn("Must fix", help="error-level issues",
                                                width="small"),
        "warnings": st.column_config.NumberColumn("Should fix", help="warning-level issues",
                                                  width="small"),
        "top issue": st.column_config.TextColumn("Top issue", width="large"),
        "fix": st.column_config.TextColumn("Fix", width="large"),
        "gain if fixed": st.column_config.NumberColumn(
            "Gain if fixed", format="+%.0f",
            help="Overall points this photo would gain if its flagged issues were fixed "
                 "(the audit's fix-first order)"),
        "width": None, "height": None, "hash": None,
    }
    for c in score_cols:
        # the check's first word as the header ("Exposure", not "Exposure & c..." cut by a
        # narrow column), the whole name on hover
        cfg[c] = st.column_config.NumberColumn(check_label(c).split(" ")[0], format="%.0f",
                                               help=check_label(c))
    st.caption(f"{len(view)} of {len(df)} photos · click a column header to sort · "
               f"rules of {marketplace_label}")
    # An unreadable file has no scores: an empty cell, not the word "None"
    st.dataframe(view, column_config=cfg, hide_index=True, width="stretch",
                 height=min(38 + 35 * len(view), 460), key="audit-table", placeholder="")

    left, right = st.columns(2, gap="large")
    with left:
        st.markdown("##### Grades")
        st.plotly_chart(charts.grade_distribution([r.grade for r in reports if r.ok]),
                        config={"displayModeBar": False}, key="audit-grades-chart")
    with right:
        st.markdown("##### Most common issues")
        issues = tables.issue_frame(reports)
        if issues.empty:
            st.success("No issues in any photo.", icon=":material/check_circle:")
        else:
            counts = issues.drop_duplicates(["file", "code"])
            st.plotly_chart(charts.issue_counts(counts), config={"displayModeBar": False},
                            key="audit-issues-chart")

    st.markdown("##### Download the report")
    d1, d2, _ = st.columns([1, 1, 2])
    d1.download_button("CSV (all photos)", icon=":material/download:",
                       data=tables.audit_csv(reports), file_name="listing-lens-audit.csv",
                       mime="text/csv", key="dl-csv", width="stretch")
    # The PDF takes a few seconds per hundred photos: built on request, kept for this batch.
    pdf_key = f"pdf-{batch_id}-{marketplace_key}"
    pdf = st.session_state.get(pdf_key)
    if pdf is None and d2.button("Build the PDF report", icon=":material/picture_as_pdf:",
                                 key="mk-pdf", width="stretch"):
        with st.spinner(f"Building the PDF for {len(reports)} photos…"):
            pdf = _pdf(reports, marketplace_key, thumbs, catalog)
        if pdf is not None:
            st.session_state[pdf_key] = pdf
    if pdf is not None:
        d2.download_button("PDF report", icon=":material/picture_as_pdf:", data=pdf,
                           file_name="listing-lens-audit.pdf", mime="application/pdf",
                           key="dl-pdf", width="stretch", type="primary")
    return run_all


def _pdf(reports: list[ImageReport], marketplace_key: str, thumbs: dict[str, bytes] | None,
         catalog: str | None) -> bytes | None:
    try:
        return tables.audit_pdf(reports, marketplace=marketplace_key, thumbnails=thumbs,
                                catalog=catalog)
    except Exception as e:  # a report bug must not take the audit table down
        st.warning(f"The PDF could not be built ({type(e).__name__}); the CSV is complete.")
        return None
