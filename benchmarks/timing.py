"""The one timer of the benchmarks: best of ``repeat`` runs (import as ``from timing import``;
the benchmarks run as scripts from this folder)."""

import time

__all__ = ["best_of"]


def best_of(fn, repeat, clock=time.perf_counter):
    """The shortest of ``repeat`` timings of ``fn()`` by ``clock`` (wall by default; pass
    ``time.process_time`` for CPU time on a loaded machine)."""
    times = []
    for _ in range(repeat):
        t0 = clock()
        fn()
        times.append(clock() - t0)
    return min(times)
