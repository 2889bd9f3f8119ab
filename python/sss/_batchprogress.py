"""A small progress reporter for the command line (no dependencies).

On a terminal it keeps one status line at the bottom, redrawn in place:

    [##########..........] 2/4  50%  0:41 elapsed, ~0:41 left  photo.jpg: layer colours

Messages (stage timings, warnings, errors) are printed above it. When stderr
is not a terminal (a log file, a pipe) the same information is printed as
plain lines, one per stage, and the bar once per finished file.
"""

from __future__ import annotations

import sys
import time


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class BatchProgress:
    """Progress of a batch of `total` files, written to `stream`.

    Parameters
    ----------
    total : int
        Number of files in the batch.
    stream : file, optional
        Where to write (default ``sys.stderr``).
    enabled : bool, optional
        False writes nothing at all (``--quiet``).
    width : int, optional
        Characters of the bar.
    """

    def __init__(self, total: int, *, stream=None, enabled: bool = True, width: int = 24):
        self.total = max(int(total), 0)
        self.stream = sys.stderr if stream is None else stream
        self.enabled = enabled
        self.width = width
        self.done = 0
        self.current = ""
        self.stage_name = ""
        self.stage_done = None
        self.t0 = time.monotonic()
        self.t_stage = self.t0
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._drawn = False

    # ------------------------------------------------------------ output
    def _write(self, text: str) -> None:
        if self.enabled:
            self.stream.write(text)
            self.stream.flush()

    def _clear(self) -> None:
        if self.tty and self._drawn:
            self._write("\r\033[K")
            self._drawn = False

    def bar(self) -> str:
        """The status line: bar, count, percentage, elapsed and remaining time."""
        frac = self.done / self.total if self.total else 1.0
        fill = int(round(frac * self.width))
        elapsed = time.monotonic() - self.t0
        text = (f"[{'#' * fill}{'.' * (self.width - fill)}] {self.done}/{self.total} "
                f"{int(round(100 * frac)):3d}%  {_clock(elapsed)} elapsed")
        if 0 < self.done < self.total:
            text += f", ~{_clock(elapsed / self.done * (self.total - self.done))} left"
        if self.current and self.done < self.total:
            text += f"  {self.current}: {self.stage_name}" if self.stage_name else f"  {self.current}"
            if self.stage_name and self.stage_done is not None:
                text += f" ({int(100 * self.stage_done)}% of the files)"
        return text

    def _redraw(self) -> None:
        if self.tty:
            self._write("\r\033[K" + self.bar())
            self._drawn = True

    def message(self, text: str) -> None:
        """Print a line above the status line."""
        self._clear()
        self._write(text.rstrip("\n") + "\n")
        self._redraw()

    # ------------------------------------------------------------ events
    def start_file(self, name: str) -> None:
        self.current = name
        self.stage_name = ""
        self.t_file = time.monotonic()
        self._redraw()

    def stage(self, name: str) -> None:
        """A new stage of the current file begins."""
        self.stage_name = name
        self.stage_done = None
        self.t_stage = time.monotonic()
        if self.tty:
            self._redraw()
        else:
            prefix = f"[{self.done + 1}/{self.total}] " if self.total > 1 else ""
            self._write(f"{prefix}{self.current}: {name} ...\n")

    def stage_progress(self, fraction: float) -> None:
        """How much of the current stage is done (0-1): shown on the status
        line of a terminal; nothing is printed otherwise (one line per stage)."""
        self.stage_done = fraction
        if self.tty:
            self._redraw()

    def end_file(self, ok: bool, note: str = "") -> None:
        """The current file is finished (successfully or not)."""
        self.done += 1
        took = time.monotonic() - self.t_file
        status = "done" if ok else "FAILED"
        line = f"{self.current}: {status} in {took:.1f} s" + (f" ({note})" if note else "")
        self.current, self.stage_name = "", ""
        self._clear()
        self._write(line + "\n")
        if self.tty:
            self._redraw()
        elif self.total > 1:
            self._write(self.bar() + "\n")

    def passthrough(self):
        """A stderr stand-in for code that prints its own progress lines (the
        pipeline's ``[sss] stage... 1.2 s``): the status line is cleared before
        such output and redrawn after each complete line."""
        return _Passthrough(self)

    def close(self) -> None:
        if self.tty and self._drawn:
            self._write("\n")
            self._drawn = False


class _Passthrough:
    def __init__(self, progress: BatchProgress):
        self.p = progress

    def write(self, text: str) -> int:
        if not self.p.enabled:
            return len(text)
        self.p._clear()
        self.p.stream.write(text)
        if text.endswith("\n"):
            self.p._redraw()
        self.p.stream.flush()
        return len(text)

    def flush(self) -> None:
        if self.p.enabled:
            self.p.stream.flush()

    def isatty(self) -> bool:
        return self.p.tty
