"""Start-up objects (modules, clients, servers, caches) live as long as the process."""

from __future__ import annotations

import gc


def freeze_startup_objects() -> None:
    """Move everything allocated so far out of the cyclic collector's generations, so its
    collections stop walking objects that can never be garbage (gc.freeze, Python 3.7+).
    Called by each process's composition root once it is set up, before serving."""
    gc.collect()
    gc.freeze()
