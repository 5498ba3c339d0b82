"""The Streamlit dashboard's building blocks.

Pure helpers (``text``, ``overlays``, ``charts``, ``uploads``, ``tables``) take results and return
strings, arrays, figures or data frames, so they are unit-tested without Streamlit; the ``render_*``
modules (``report_card``, ``search_panel``, ``audit_tab``) lay them out; ``state`` holds what is
loaded once per process and the per-image result cache. ``app.py`` only wires them together.
"""
