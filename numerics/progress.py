"""A progress bar on stderr for sweeps and long simulations, with no dependency.

Shown only when stderr is a terminal and progress is not switched off (the command
line's ``--quiet``, or :func:`quiet`); otherwise silent, so that logs and CI output
stay clean.
"""

import contextlib
import os
import sys
import time

__all__ = ["Progress", "quiet", "progress_enabled"]

_QUIET = [bool(os.environ.get("CAVITYLAB_QUIET"))]


def progress_enabled():
    """Whether progress bars are drawn: stderr is a terminal and nobody asked for quiet."""
    return not _QUIET[-1] and sys.stderr.isatty()


@contextlib.contextmanager
def quiet(on=True):
    """Within the block, no progress bars (``on=False`` forces them back on a terminal)."""
    _QUIET.append(bool(on))
    try:
        yield
    finally:
        _QUIET.pop()


class Progress:
    """``Progress(total, label)``: call :meth:`update` as work finishes, :meth:`close` at the end.

    Draws ``label [#####.....] 12/40  3.1 s, ~7 s left`` on one stderr line, at most ten
    times a second. A no-op when :func:`progress_enabled` is false.
    """

    def __init__(self, total, label="", enabled=None):
        self.total, self.label, self.done = int(total), label, 0
        self.enabled = progress_enabled() if enabled is None else enabled
        self.start = self._last = time.perf_counter()

    def update(self, n=1):
        self.done += n
        now = time.perf_counter()
        if self.enabled and (now - self._last > 0.1 or self.done >= self.total):
            self._last = now
            self._draw(now)

    def _draw(self, now):
        width = 30
        frac = self.done / self.total if self.total else 1.0
        bar = "#" * int(width * frac) + "." * (width - int(width * frac))
        elapsed = now - self.start
        left = elapsed / frac - elapsed if frac > 0 else float("nan")
        sys.stderr.write(
            f"\r{self.label} [{bar}] {self.done}/{self.total}  {elapsed:.1f} s, ~{left:.0f} s left"
        )
        sys.stderr.flush()

    def close(self):
        if self.enabled:
            sys.stderr.write("\n")
            sys.stderr.flush()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
