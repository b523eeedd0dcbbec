"""Boleta's composition root: settings, wiring and the ``boleta`` command line."""

__all__ = ["cli", "settings", "stack"]
