"""Minimal stage progress reporting: ``[sss] stage... 1.23 s`` on stderr."""

from __future__ import annotations

import sys
import time
from contextlib import contextmanager

__all__ = ["Progress"]


class Progress:
    """Times named stages into ``timings`` and, if `enabled`, reports each on
    stderr as ``[sss] name... 1.23 s``."""

    def __init__(self, enabled: bool = True, stream=None):
        self.enabled = bool(enabled)
        self.stream = stream
        self.timings: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str):
        out = self.stream if self.stream is not None else sys.stderr
        if self.enabled:
            print(f"[sss] {name}...", end="", file=out, flush=True)
        t0 = time.perf_counter()
        try:
            yield
        except BaseException:
            if self.enabled:
                print(" failed", file=out, flush=True)
            raise
        dt = time.perf_counter() - t0
        self.timings[name] = self.timings.get(name, 0.0) + dt
        if self.enabled:
            print(f" {dt:.2f} s", file=out, flush=True)
