"""The dashboard's "Fix it" action (report card) and "Download fixed photos" (store audit).

The fix runs in the page's own process, on the report the page already has (its working image
and product mask: no second mask run), with the upload's bytes so a large photo is fixed at its
native size. Results are kept per (photo, marketplace, mask setting) in the session.
"""

from __future__ import annotations

import io
import zipfile
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import streamlit as st

from analyzer.codes import FlagCode
from analyzer.fix.runner import FixOutcome, fix_report, output_name
from analyzer.fix.types import ChangeCode, FixKind
from analyzer.quality.priority import SEARCH_KEYS, check_of
from analyzer.results import ImageReport
from analyzer.ui.report_card import cap_text, grade_badge_html
from analyzer.ui.state import SearchHandle, Settings
from analyzer.ui.tables import issue_label
from analyzer.ui.text import md_escape

_STORE = "ll-fixes"
_MAX_KEPT = 24  # fixed photos kept in the session (a few MB each)


def _store() -> OrderedDict:
    if _STORE not in st.session_state:
        st.session_state[_STORE] = OrderedDict()
    return st.session_state[_STORE]


def fix_key(report: ImageReport, settings: Settings) -> tuple[str, str, bool, str, bool]:
    # the title and the cover declaration grade the photo, and so its fixed copy
    return (report.content_hash, settings.marketplace, settings.use_model, report.title,
            report.cover_art)


def fixed_for(report: ImageReport, data: bytes | None, settings: Settings) -> FixOutcome:
    """The fix of ``report``'s photo, from the session when it was made before."""
    store = _store()
    key = fix_key(report, settings)
    if key in store:
        store.move_to_end(key)
        return store[key]
    outcome = fix_report(report, data, marketplace=settings.marketplace,
                         use_model=settings.use_model, keep_after_image=True)
    store[key] = outcome
    while len(store) > _MAX_KEPT:
        store.popitem(last=False)
    return outcome


def search_after(outcome: FixOutcome, settings: Settings, search: SearchHandle
                 ) -> dict[str, Any] | None:
    """The search simulation of the fixed photo (once per outcome), when a catalog is loaded."""
    after = outcome.after_report
    if not search.ok or after is None or after.image is None:
        return None
    if after.search is None:
        enriched = replace(after, flags=list(after.flags), scores=dict(after.scores))
        try:
            search.ctx.enrich(enriched, marketplace=settings.marketplace)
        except Exception:  # the fix stands without its search figures
            return None
        after.search = enriched.search
    return after.search


def position_text(before: dict[str, Any] | None, after: dict[str, Any] | None) -> str | None:
    """'median rank 14 -> 5; first screen 31% -> 62%' (None without the fixed photo's figures)."""
    if not after:
        return None
    pk = str(after.get("primary_k", 10))
    a_rank, a_share = after.get("median_rank"), (after.get("top_k_share") or {}).get(pk)
    if a_rank is None or a_share is None:
        return None
    if before and before.get("median_rank") is not None:
        b_share = (before.get("top_k_share") or {}).get(pk) or 0.0
        return (f"Expected search position: median rank {before['median_rank']:g} → "
                f"**{a_rank:g}**; on the first {pk} results in {b_share:.0%} → "
                f"**{a_share:.0%}** of simulated searches")
    return (f"Expected search position of the fixed photo: median rank **{a_rank:g}**; on the "
            f"first {pk} results in **{a_share:.0%}** of simulated searches")


_OFFER = {
    FixKind.COLOR: "correct the colour cast",
    FixKind.PROPS: "remove the stray objects beside the product",
    FixKind.BACKGROUND: "make the background pure white with clean edges",
    FixKind.FRAMING: "reframe it to the marketplace's fill target and shape",
}


# Flags the saved copy answers by itself (analyzer/fix/output.py: sRGB JPEG, transparency on
# white), and what the offer says for the first of them.
_SAVING_FIXES = frozenset({FlagCode.CMYK, FlagCode.BACKGROUND_TRANSPARENT,
                           FlagCode.FORMAT_NOT_ACCEPTED, FlagCode.ANIMATED})
_SAVING_WORDS = {"ANIMATED": " (its first frame)", "BACKGROUND_TRANSPARENT":
                 " (its transparent areas filled with white)", "CMYK": " (from CMYK)",
                 "FORMAT_NOT_ACCEPTED": ""}


def offer_text(report: ImageReport) -> str:
    """What Fix it would do to *this* photo (its flags, planned as the fix plans them), so the
    offer does not promise a white background where the marketplace does not ask for one."""
    from analyzer.fix.plan import plan

    codes = {f.code for f in report.flags}
    kinds = plan(codes).kinds
    steps = [_OFFER[k] for k in kinds if k in _OFFER]
    # the JPEG it saves is itself the fix of these (a new user's try: a CMYK photo was told
    # "nothing a fix answers was flagged" beside its CMYK flag)
    saved = sorted(FlagCode(c).value for c in codes & _SAVING_FIXES)
    if steps:
        what = "; ".join(steps) + "; save it as an sRGB JPEG"
    elif saved:
        what = (f"save it as an sRGB JPEG{_SAVING_WORDS[saved[0]]}, which answers "
                f"{', '.join(saved)}")
    else:
        what = "nothing a fix answers was flagged: it would only save a clean sRGB JPEG copy"
    return (f"Makes a marketplace-ready copy of this photo: {what}. The copy is graded again; "
            "your file is not changed.")


def capped_by(outcome: FixOutcome) -> str | None:
    """Why the fixed photo's high score got a lower grade (:func:`report_card.cap_text`)."""
    after = outcome.after_report
    if after is None or outcome.after is None:
        return None
    return cap_text(outcome.after.grade, outcome.after.overall, after.flags, after.scores)


def whatif_note(before: dict[str, Any] | None, after: dict[str, Any] | None) -> str | None:
    """Why the fixed photo's first-screen share is not the search panel's what-if figure, when
    both are on the page and differ (a seller sees two numbers for "after the fix")."""
    if not before or not after:
        return None
    pk = str(after.get("primary_k", 10))
    est = ((before.get("what_if") or {}).get("top_k_share") or {}).get(pk)
    got = (after.get("top_k_share") or {}).get(pk)
    if est is None or got is None or round(100 * est) == round(100 * got):
        return None
    return (f"The search panel's “What if you fix it?” estimated {est:.0%} from a quick edit of "
            f"your photo (background whitened, product cropped to fill the frame); {got:.0%} "
            "is this fixed photo itself, searched the same way. Trust this one.")


def render_fix(report: ImageReport, data: bytes | None, settings: Settings,
               search: SearchHandle) -> FixOutcome | None:
    """The "Fix it" action under a report card; returns the outcome once it was asked for."""
    if not report.ok or report.image is None:
        return None
    st.markdown("#### Fix it for me")
    key = fix_key(report, settings)
    if key not in _store():
        ask = st.empty()  # the offer goes once the fix is made (not left above its result)
        with ask.container():
            st.caption(offer_text(report))
            clicked = st.button("Fix it", icon=":material/auto_fix_high:", type="primary",
                                key=f"fix-{report.content_hash[:16]}")
        if not clicked:
            return None
        ask.empty()
    with st.spinner("Fixing the photo and grading the result…"):
        outcome = fixed_for(report, data, settings)
    if not outcome.ok:
        err = outcome.error or {}
        st.error(f"This photo could not be fixed: {md_escape(err.get('message', ''))} "
                 f"(`{err.get('code', '')}`)", icon=":material/auto_fix_off:")
        return outcome
    if outcome.warning:
        st.warning(outcome.warning[:1].upper() + outcome.warning[1:] + ".",
                   icon=":material/warning:")
    left, right = st.columns(2)
    left.image(report.image.rgb, caption="Your photo", width="stretch")
    right.image(outcome.image, caption="Fixed", width="stretch")
    b, a = outcome.before, outcome.after
    g1, g2 = st.columns([1, 2], vertical_alignment="center")
    g1.markdown(grade_badge_html(a.grade, a.overall or 0.0), unsafe_allow_html=True)
    g2.markdown(f"Re-graded: **{b.grade}** ({b.overall:.0f}) → **{a.grade}** "
                f"({a.overall:.0f})")
    capped = capped_by(outcome)
    if capped:
        g2.caption(capped)
    # The fixed photo is graded on its own; its search figures are the position line below,
    # so the original's search flags are not "cleared" by it.
    searched = {f.code for f in report.flags if check_of(f.code, f.check) in SEARCH_KEYS}
    # (a flag the fix hid without answering it is carried into the re-grade: never "gone")
    gone = [c for c in b.flags if c not in a.flags and c not in searched]
    if gone:
        g2.caption("Cleared: " + ", ".join(issue_label(c) for c in gone))
    new = [c for c in a.flags if c not in b.flags]
    kept = [c for c in a.flags if c in b.flags]
    if new:
        g2.caption("New on the fixed copy: " + ", ".join(issue_label(c) for c in new))
    if kept:
        g2.caption("Still flagged: " + ", ".join(issue_label(c) for c in kept))
    if all(c.code == ChangeCode.CONVERTED for c in outcome.changes):
        st.info("Nothing in the photo itself was changed (the notes below say why): the copy "
                "is only re-saved as an sRGB JPEG.", icon=":material/info:")
    outside = any(f.code == "OUTSIDE_CATALOG" for f in report.flags)
    after_search = None if outside else search_after(outcome, settings, search)
    text = position_text(report.search, after_search)
    if outside and search.ok:  # the card says its search figures are not meaningful: no rank
        st.caption("No search position for the fixed copy: the catalog does not cover this "
                   "product (see the report card).")
    if text:
        st.markdown(text)
        note = whatif_note(report.search, after_search)
        if note:
            st.caption(note)
    st.markdown("\n".join(f"- {md_escape(c.message)}" for c in outcome.changes))
    for n in outcome.notes:
        if n != outcome.warning:  # already the warning above the pictures
            st.caption(f":material/info: {md_escape(n)}")
    st.download_button("Download fixed photo", data=outcome.jpeg or b"",
                       file_name=output_name(report.file), mime="image/jpeg",
                       icon=":material/download:", key=f"dl-fix-{report.content_hash[:16]}")
    return outcome


def fixed_zip(outcomes: Sequence[FixOutcome]) -> bytes:
    """The fixed photos (ok ones) as a zip, one ``NAME_fixed.jpg`` each (numbered on clashes),
    plus ``fixes.json`` with every photo's changes, grades and notes and ``fixes.csv`` with the
    same as ``listing-lens audit --fix``'s fix columns (a spreadsheet of grades before and
    after)."""
    import json

    from analyzer.report.csv import fix_csv_bytes

    buf = io.BytesIO()
    names: set[str] = set()
    listing = []
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:  # JPEGs do not compress
        for o in outcomes:
            d = o.to_dict()
            if o.ok and o.jpeg:
                base = output_name(o.file)
                name, i = base, 2
                while name in names:
                    name = f"{base[:-4]}_{i}.jpg"
                    i += 1
                names.add(name)
                z.writestr(name, o.jpeg)
                d["output"] = name  # which file of the zip is this photo's
            listing.append(d)
        z.writestr("fixes.json", json.dumps(listing, indent=1, ensure_ascii=False))
        z.writestr("fixes.csv", fix_csv_bytes(listing))
    return buf.getvalue()


def upload_bytes(item: Any, files: Sequence[tuple[str, bytes]]) -> bytes | None:
    """The bytes of a batch item (:class:`analyzer.ui.pipeline.BatchItem`): the uploaded file,
    or its member of an uploaded zip."""
    from analyzer.ui.uploads import iter_uploads

    if not 0 <= item.source < len(files):
        return None
    name, data = files[item.source]
    if item.member is None:
        return data
    for entry in iter_uploads([(name, data)], []):
        if entry.member == item.member:
            return entry.data
    return None


# Short words for the audit table's "Changed" column (the full sentences are on each card and
# in fixes.json).
_CHANGE_LABELS = {
    ChangeCode.COLOR_CORRECTED: "colour corrected",
    ChangeCode.PROPS_REMOVED: "other objects removed",
    ChangeCode.BACKGROUND_WHITENED: "background made white",
    ChangeCode.REFRAMED: "reframed",
    ChangeCode.CONVERTED: "saved as JPEG",
}


def fix_summary_rows(outcomes: Sequence[FixOutcome]) -> list[dict[str, str]]:
    """One row per photo for the audit tab's table: the grade before and after, what the fix
    changed and its first note (or why it could not fix)."""
    rows = []
    for o in outcomes:
        if not o.ok:
            why = (o.error or {}).get("message") or "could not be fixed"
            rows.append({"Photo": o.file, "Before": o.before.grade if o.before else "-",
                         "After": "-", "Check": "", "Changed": "not fixed", "Note": why})
            continue
        changed = ", ".join(_CHANGE_LABELS.get(c.code, str(c.code)) for c in o.changes
                            if c.code != ChangeCode.CONVERTED) or "only re-saved as JPEG"
        rows.append({"Photo": o.file, "Before": o.before.grade if o.before else "-",
                     "After": o.after.grade if o.after else "-",
                     "Check": "yes" if o.warning else "", "Changed": changed,
                     "Note": o.notes[0] if o.notes else ""})
    return rows


def other_fixes(batch_id: str, settings: Settings) -> list[str]:
    """The marketplaces (and mask settings) this batch's photos were already fixed for, other
    than ``settings``' (their zips stay in the session under their own keys)."""
    from analyzer.config import marketplace as get_marketplace

    prefix = f"fixzip-{batch_id}-"
    here = f"{prefix}{settings.marketplace}-{settings.use_model}"
    out = []
    for k in list(st.session_state.keys()):
        k = str(k)
        if not k.startswith(prefix) or k.endswith("-rows") or k == here:
            continue
        mkt, _, model = k[len(prefix):].rpartition("-")
        try:
            label = get_marketplace(mkt).label
        except Exception:  # a key of another shape: not ours to describe
            continue
        if model != str(settings.use_model):  # the mask setting differs: say which
            label += " (neural mask)" if model == "True" else " (classical mask)"
        out.append(label)
    return sorted(set(out))


def render_fix_all(items: Sequence[Any],
                   load: Callable[[Any], tuple[ImageReport, bytes | None]],
                   settings: Settings, batch_id: str = "") -> None:
    """'Download fixed photos' on the store audit tab (fixes made on request, then zipped);
    ``load(item)`` gives an item's full report and its bytes, only when the seller asks. The
    zip and a per-photo table (grade before and after, what changed) are kept in the session,
    so both stay on the page after the next click."""
    if not items:
        return
    st.markdown("##### Fixed photos")
    zkey = f"fixzip-{batch_id}-{settings.marketplace}-{settings.use_model}"
    data = st.session_state.get(zkey)
    rows: list[dict[str, str]] = st.session_state.get(zkey + "-rows", [])
    if data is None:
        other = other_fixes(batch_id, settings)
        if other:  # made under another marketplace or mask: kept, not lost
            st.caption(f"Fixed photos made for {', '.join(other)} are kept: switch back to "
                       "download them, or fix again for this marketplace's rules.")
        label = "Fix the photo" if len(items) == 1 else f"Fix all {len(items)} photos"
        if not st.button(label, icon=":material/auto_fix_high:",
                         key="fix-all"):
            st.caption("Makes a marketplace-ready copy of every photo (a second or two each).")
            return
        bar = st.progress(0.0, text="Fixing photos…")
        outcomes = []
        for n, item in enumerate(items, 1):
            report, raw = load(item)
            o = (fixed_for(report, raw, settings) if report.ok else
                 FixOutcome(file=report.file, ok=False, error=report.error))
            # the item's own name: two uploads of the same bytes share one cached report,
            # named after the first (a seller's "été 水筒.jpg" came back as the zip's
            # "01_clean_bottle.jpg", a thirteenth new user's try)
            outcomes.append(replace(o, file=getattr(item, "name", o.file)))
            bar.progress(n / len(items), text=f"Fixed {n} of {len(items)}")
        bar.empty()
        data = fixed_zip(outcomes)
        rows = fix_summary_rows(outcomes)
        st.session_state[zkey] = data
        st.session_state[zkey + "-rows"] = rows
    failed = sum(r["After"] == "-" for r in rows)
    better = sum(1 for r in rows if r["After"] not in ("-", r["Before"])
                 and r["After"] < r["Before"])  # grades are letters: "A" < "B"
    worse = sum(1 for r in rows if r.get("Check") == "yes")
    st.caption(f"{len(rows) - failed} of {len(rows)} photos fixed; the grade went up on "
               f"{better}." + (f" {failed} could not be fixed: the table says why (and "
                               "fixes.json in the zip)." if failed else ""))
    if worse:
        st.warning(f"{worse} fixed cop{'y grades' if worse == 1 else 'ies grade'} worse or "
                   "raise a problem the original did not (\"Check\" column): compare before "
                   "you use them.", icon=":material/warning:")
    if rows:
        st.dataframe(rows, hide_index=True, width="stretch")
    st.download_button("Download fixed photos (zip)", data=data, file_name="fixed-photos.zip",
                       mime="application/zip", icon=":material/download:", key="dl-fix-zip",
                       type="primary")
