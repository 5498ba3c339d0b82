"""Listing Lens dashboard: `make run` (streamlit run app.py).

Layout only; the work happens in ``analyzer`` (engine, search) and ``analyzer.ui`` (rendering,
caching). The quality report cards appear first; the search simulation (seconds per photo) runs
after everything else is on screen and then refreshes the page from the cache.
"""

from __future__ import annotations

import streamlit as st

from analyzer.config import marketplace
from analyzer.ui import layout, pipeline, resources
from analyzer.ui.audit_tab import render_audit
from analyzer.ui.fix_panel import render_fix, render_fix_all, upload_bytes
from analyzer.ui.report_card import file_caption, render_report_card
from analyzer.ui.search_panel import render_differentiation, render_search
from analyzer.ui.text import md_escape, sentence
from analyzer.ui.uploads import UPLOAD_TYPES

st.set_page_config(page_title="Listing Lens", page_icon=":material/center_focus_strong:",
                   layout="wide", initial_sidebar_state="expanded")
layout.inject_css()
settings, catalog_error = layout.sidebar()
mkt = marketplace(settings.marketplace)

# Models and catalog load in the background on first use: the page never waits for them.
models_ready = resources.warm_models_async(settings.use_model)
search = resources.search_now(settings.catalog, catalog_error)
cache = resources.result_cache()

layout.header()
files = st.file_uploader(
    "Drop product photos or a zip of your store's photos", type=list(UPLOAD_TYPES),
    accept_multiple_files=True, key="uploads",
    help="Several photos at once, or one zip with a whole store.")

if not files:
    layout.empty_state()
    st.stop()

uploads = [(f.name, f.getvalue()) for f in files]
bar = st.empty()
if not models_ready.done():
    with st.spinner("Loading the quality models (first start only)…"):
        models_ready.exception()  # waits; the checks must not import in two threads at once


def _progress(frac: float, text: str) -> None:
    bar.progress(min(max(frac, 0.0), 1.0), text=md_escape(text))


batch = pipeline.run_batch(uploads, settings, cache, progress=_progress)
bar.empty()
for note in batch.notes:
    st.caption(f":material/info: {md_escape(note)}")

reports = [r for i in batch.items
           if (r := pipeline.light_report(i, cache, settings, search)) is not None]
good_items = [i for i in batch.items if i.error_report is None]
for r in reports:
    if not r.ok:
        err = r.error or {}
        name, msg = md_escape(r.file), md_escape(sentence(err.get("message", "")))
        # most messages name the file already: bold it there rather than say it twice
        text = (msg.replace(name, f"**{name}**", 1) if name and name in msg
                else f"**{name}** could not be analysed: {msg}")
        st.error(f"{text} (`{err.get('code', '')}`)", icon=":material/broken_image:")
if not search.ok and search.error:
    note = sentence(search.error, capitalize=True)
    st.info(f"{md_escape(note)} The quality report below is complete.",
            icon=":material/travel_explore:")

tab_card, tab_search, tab_diff, tab_audit = st.tabs(
    [":material/fact_check: Report card", ":material/travel_explore: Search simulation",
     ":material/compare: Lookalikes", f":material/inventory_2: Store audit ({len(reports)})"])

item = None
pending = False
if good_items:
    grades = [getattr(pipeline.light_report(i, cache, settings, search), "grade", "?")
              for i in good_items]
    with tab_card:
        pick = 0
        if len(good_items) > 1:
            pick = st.selectbox("Photo", range(len(good_items)), key="pick",
                                format_func=lambda k: f"{grades[k]} · {good_items[k].name}")
        item = good_items[pick]
        selected = pipeline.full_report(item, uploads, settings, cache, search)
        pending = pipeline.needs_search(item, settings, search, cache)
        st.subheader(md_escape(item.name), anchor=False)
        st.caption(f"{file_caption(selected)} · checked against {mkt.label}'s main-image rules")
        render_report_card(selected, mkt, resources.product_mask)
        render_fix(selected, upload_bytes(item, uploads), settings, search)
    with tab_search:
        if not pending:
            render_search(selected, search,
                          cache.get_extras(pipeline.search_key(item, settings, search)))
    with tab_diff:
        if not pending:
            render_differentiation(selected, search, resources.catalog_map(search),
                                   cache.get_extras(pipeline.search_key(item, settings, search)))
else:
    for t in (tab_card, tab_search, tab_diff):
        with t:
            st.warning("None of the uploaded files could be analysed; see the messages above.")

with tab_audit:
    run_all = render_audit(
        reports, settings.marketplace, mkt.label, thumbs=cache.thumbs,
        catalog=search.catalog_dir if search.ok else None, batch_id=pipeline.batch_id(batch),
        missing_search=sum(pipeline.needs_search(i, settings, search, cache)
                           for i in good_items))
    render_fix_all(good_items, lambda i: (pipeline.full_report(i, uploads, settings, cache),
                                          upload_bytes(i, uploads)),
                   settings, pipeline.batch_id(batch))

# The slow parts, last: everything above is already on screen.
if search.loading:
    with tab_search, st.spinner("Opening the catalog…"):
        resources.search_future(settings.catalog).exception()  # waits; never raises
    st.rerun()
if pending and item is not None:
    slots = []
    for t in (tab_search, tab_diff):
        with t:
            slots.append(st.empty())
    n_q = getattr(getattr(search.ctx, "cfg", None), "n_queries", "")
    for s in slots:
        s.progress(0.05, text=f"Simulating {n_q} shopper searches against the catalog…")
    pipeline.enrich_items([item], uploads, settings, search, cache,
                          progress=lambda f, t: [s.progress(max(f, 0.05), text=md_escape(t))
                                                 for s in slots])
    if not pipeline.needs_search(item, settings, search, cache):
        st.rerun()
if run_all:
    with tab_audit:
        all_bar = st.progress(0.0, text="Simulating shopper searches…")
    pipeline.enrich_items(good_items, uploads, settings, search, cache,
                          progress=lambda f, t: all_bar.progress(f, text=md_escape(t)))
    st.rerun()
