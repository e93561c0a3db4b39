"""No cyclic-GC passes while posture-gate makes or walks millions of objects at once (a
saved run of 100k findings, the reports written from it).

Parsed JSON, the model's dataclasses and the reports' dicts hold no reference cycles:
refcounting frees them, and the collector's passes over them only cost time (a quarter of
the CPU of loading and rendering 100k findings). Garbage made before is collected first.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def paused(*, freeze: bool = False) -> Iterator[None]:
    """The collector off inside; with `freeze`, what exists on leaving (the loaded run,
    long-lived) is kept out of every later pass (gc.freeze)."""
    enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        if freeze:
            gc.freeze()
        if enabled:
            gc.enable()
