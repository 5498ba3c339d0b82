"""Listing Lens dashboard: `make run` (streamlit run app.py).

Layout only; the work happens in ``analyzer`` (engine, search) and ``analyzer.ui`` (rendering).
"""

from __future__ import annotations

import streamlit as st

from analyzer.config import marketplace
from analyzer.ui import layout, pipeline, resources
from analyzer.ui.audit_tab import render_audit
from analyzer.ui.report_card import file_caption, render_report_card
from analyzer.ui.search_panel import render_differentiation, render_search
from analyzer.ui.text import md_escape
from analyzer.ui.uploads import UPLOAD_TYPES

st.set_page_config(page_title="Listing Lens", page_icon="🔍", layout="wide",
                   initial_sidebar_state="expanded")
layout.inject_css()
settings, _catalog_error = layout.sidebar()
mkt = marketplace(settings.marketplace)

with st.spinner("Loading models and catalog…"):
    resources.warm_models(settings.use_model)
    search = resources.search_handle(settings.catalog)
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


def _progress(frac: float, text: str) -> None:
    bar.progress(min(max(frac, 0.0), 1.0), text=md_escape(text))


batch = pipeline.run_batch(uploads, settings, search, cache, progress=_progress)
bar.empty()
for note in batch.notes:
    st.caption(f":material/info: {md_escape(note)}")

reports = [pipeline.light_report(i, cache) for i in batch.items]
reports = [r for r in reports if r is not None]
bad = [r for r in reports if not r.ok]
good_items = [i for i in batch.items if i.error_report is None]
for r in bad:
    err = r.error or {}
    st.error(f"**{md_escape(r.file)}** could not be analysed: "
             f"{md_escape(err.get('message', ''))} (`{err.get('code', '')}`)",
             icon=":material/broken_image:")
if not search.ok and search.error:
    st.info(f"{md_escape(search.error)} The quality report below is complete.",
            icon=":material/travel_explore:")

tab_card, tab_search, tab_diff, tab_audit = st.tabs(
    [":material/fact_check: Report card", ":material/travel_explore: Search simulation",
     ":material/compare: Lookalikes", f":material/inventory_2: Store audit ({len(reports)})"])

selected = None
if good_items:
    light = {id(i): pipeline.light_report(i, cache) for i in good_items}
    with tab_card:
        if len(good_items) > 1:
            pick = st.selectbox(
                "Photo", range(len(good_items)), key="pick",
                format_func=lambda k: f"{light[id(good_items[k])].grade} · "
                                      f"{good_items[k].name}")
        else:
            pick = 0
        item = good_items[pick]
        selected = pipeline.full_report(item, uploads, settings, search, cache)
        st.subheader(md_escape(item.name), anchor=False)
        st.caption(f"{file_caption(selected)} · checked against {mkt.label}'s main-image rules")
        def get_mask(r):  # the product mask, computed once per photo
            return resources.product_mask_for(r.content_hash, settings.use_model, r)

        render_report_card(selected, mkt, get_mask)
    with tab_search:
        render_search(selected, search, cache.get_extras(item.key))
    with tab_diff:
        render_differentiation(selected, search, resources, get_mask)
else:
    for t in (tab_card, tab_search, tab_diff):
        with t:
            st.warning("None of the uploaded files could be analysed; see the messages above.")

with tab_audit:
    render_audit(reports, settings.marketplace, mkt.label, thumbs=cache.thumbs,
                 catalog=search.catalog_dir if search.ok else None,
                 batch_id=pipeline.batch_id(batch))
