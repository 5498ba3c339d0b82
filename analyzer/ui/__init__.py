"""The Streamlit dashboard's building blocks (``app.py`` only wires them together).

Pure helpers, unit-tested without Streamlit:

- ``text``: plain-language labels, rule texts, markdown escaping of user text;
- ``overlays``: report + maps -> RGB overlay arrays (mask, blur, edges, fill box, white map);
- ``charts``: Plotly figure builders (check bars, rank shares, what-if, catalog map, audit);
- ``uploads``: uploaded files and zips -> named image entries (bad files become error entries);
- ``tables``: the audit data frame, filters, CSV/PDF through ``analyzer.report``;
- ``state``: settings, the per-content-hash result cache, catalog opening, the 2-D catalog map;
- ``pipeline``: a batch of uploads through the quality checks, then the search simulation.

Streamlit parts: ``resources`` (``st.cache_resource``: models, catalog, caches), ``layout``
(sidebar, header, empty state), ``report_card``, ``search_panel``, ``audit_tab``.
``harness`` starts the app on a free port for the browser test and the benchmark.
"""
