"""The per-image quality checks. Each check module registers itself in :mod:`registry`."""
