"""Stage progress: ``[sss] stage... 42% ... 1.23 s`` on stderr, or a callback.

Long stages of the C++ core (eigenvectors, constrained and relaxed
sparsification) record the fraction of their work done
(``_core.progress_fraction()``, see cpp/include/sss/progress.hpp); while such a
stage runs, a helper thread polls it (the core releases the GIL) and shows it.
"""

from __future__ import annotations

import sys
import threading
import time

import numpy as np

try:
    import resource
except ImportError:  # not on Windows
    resource = None
from contextlib import contextmanager

__all__ = ["Progress", "Cancelled"]


class Cancelled(Exception):
    """Raised when a progress callback returned False (the computation stopped)."""


def _core_fraction():
    """The core's progress reader, reset to 0 (None for a core without it)."""
    try:
        from . import _core
        _core.report_progress(0.0)
        return _core.progress_fraction
    except (ImportError, AttributeError):
        return None


class Progress:
    """Times named stages into ``timings`` and reports them.

    Parameters
    ----------
    enabled : bool or callable
        True: each stage is reported on `stream` (default stderr) as
        ``[sss] name... 1.23 s``; in stages that report their progress the
        fraction done is shown while they run (updated in place on a
        terminal, every 10% otherwise). False: silent. A callable
        ``(stage, fraction_done)`` is called at the start (0.0) and end (1.0)
        of every stage and about every `interval` seconds in between;
        returning False cancels: the stage stops at its next check and
        :class:`Cancelled` is raised.
    stream : file, optional
    interval : float, optional
        Seconds between two polls of the running stage's progress (0.25).

    ``peak_memory`` holds the process's peak resident memory (MiB,
    high-water mark) at the end of each stage.
    """

    def __init__(self, enabled=True, stream=None, interval: float = 0.25):
        if not (callable(enabled) or enabled is None
                or isinstance(enabled, (bool, np.bool_))):
            raise TypeError(f"progress must be True, False or a callable (stage, fraction), "
                            f"got {type(enabled).__name__} {enabled!r}")
        self.callback = enabled if callable(enabled) else None
        self.enabled = bool(enabled) and self.callback is None
        self.stream = stream
        self.interval = float(interval)
        self.timings: dict[str, float] = {}
        self.peak_memory: dict[str, float] = {}
        self.cancelled = False
        self._current = None

    def _out(self):
        return self.stream if self.stream is not None else sys.stderr

    def _notify(self, name: str, fraction: float) -> None:
        if self.callback is not None and self.callback(name, fraction) is False:
            self.cancelled = True

    def _poll(self, name: str, stop: threading.Event, read) -> None:
        out = self._out()
        tty = bool(getattr(out, "isatty", lambda: False)())
        shown, told = 0.0, 0.0
        while not stop.wait(self.interval):
            f = float(read())
            if self.callback is not None:
                if f != told:
                    told = f
                    self._notify(name, f)
                if self.cancelled:
                    _request_cancel()
                    return
            elif tty and f - shown >= 0.01:
                print(f"\r[sss] {name}... {100 * f:3.0f}%", end="", file=out, flush=True)
                shown = f
            elif not tty and int(10 * f) > int(10 * shown) and f < 1:
                print(f" {10 * int(10 * f)}%", end="", file=out, flush=True)
                shown = f

    def begin(self, name: str, fractions: bool = False) -> None:
        """Start stage `name`; `fractions`: it reports its progress (see :meth:`stage`)."""
        if self.enabled:
            print(f"[sss] {name}...", end="", file=self._out(), flush=True)
        self._notify(name, 0.0)
        if self.cancelled:
            raise Cancelled(f"cancelled by the progress callback before {name}")
        self._stop, self._poller = threading.Event(), None
        read = _core_fraction() if fractions else None
        if read is not None and (self.enabled or self.callback is not None):
            self._poller = threading.Thread(target=self._poll, args=(name, self._stop, read),
                                            daemon=True)
            self._poller.start()
        self._current = name
        self._t0 = time.perf_counter()

    def _stop_poller(self):
        self._stop.set()
        if self._poller is not None:
            self._poller.join()

    def end(self) -> None:
        """End the stage started by :meth:`begin`: record and report its time."""
        name, self._current = self._current, None
        self._stop_poller()
        dt = time.perf_counter() - self._t0
        self.timings[name] = self.timings.get(name, 0.0) + dt
        if resource is not None:
            kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            self.peak_memory[name] = kib / 1024.0  # Linux reports KiB
        if self.enabled:
            out = self._out()
            tty = bool(getattr(out, "isatty", lambda: False)())
            prefix = f"\r[sss] {name}..." if (tty and self._poller is not None) else ""
            print(f"{prefix} {dt:.2f} s   " if prefix else f" {dt:.2f} s", file=out, flush=True)
        if self.cancelled:
            _clear_cancel()
            raise Cancelled(f"cancelled by the progress callback during {name}")
        self._notify(name, 1.0)

    def _fail(self):
        """Close a stage that raised; the Cancelled to raise instead, if the
        callback cancelled it."""
        name, self._current = getattr(self, "_current", None), None
        if name is None:
            return None
        self._stop_poller()
        if self.enabled:
            print(" failed", file=self._out(), flush=True)
        if self.cancelled:
            _clear_cancel()
            return Cancelled(f"cancelled by the progress callback during {name}")
        return None

    @contextmanager
    def stage(self, name: str, fractions: bool = False):
        """Time the block as stage `name`; `fractions`: it reports its progress."""
        self.begin(name, fractions)
        try:
            yield
        except BaseException:
            exc = self._fail()
            if exc is not None:
                raise exc from None
            raise
        self.end()

    def run(self, compute):
        """``compute(on_stage)`` for a computation that reports its own stages
        by calling ``on_stage(name, begin, fractions)`` at the start
        (begin=True) and end of each (the core's pipeline)."""
        def on_stage(name, begin, fractions):
            if begin:
                self.begin(name, fractions)
            else:
                self.end()
        try:
            return compute(on_stage)
        except BaseException:
            exc = self._fail()
            if exc is not None:
                raise exc from None
            raise


def _core_call(name: str) -> None:
    """Call _core.<name>() if this core has it (cancellation is optional)."""
    try:
        from . import _core
    except ImportError:
        return
    fn = getattr(_core, name, None)
    if fn is not None:
        fn()


def _request_cancel() -> None:
    _core_call("request_cancel")


def _clear_cancel() -> None:
    _core_call("clear_cancel")
