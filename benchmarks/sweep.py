"""Overhead of ``numerics.sweep`` against a bare loop, and throughput on a Dask LocalCluster.

    python benchmarks/sweep.py [--points 200] [--task-ms 1.0] [--workers 2] [--repeat 3]

A 1 ms task (a busy loop, not a sleep: it occupies its core) over ``--points`` grid points:

* bare loop: ``for x in xs: task(x)`` in this process;
* sweep serial: the same points through ``numerics.sweep`` (seeds, rows, normalisation);
* sweep on N local processes: ideal time is bare / N; the overhead is (measured - ideal)
  / ideal, per point;
* sweep on a Dask LocalCluster of N single-threaded worker processes (if ``distributed``
  is installed): points per second.

The headline is the serial overhead per point and the N-process efficiency.
"""

import argparse
import time

from timing import best_of

import numerics


def busy(x, seed, ms=1.0):
    """Spin for ``ms`` milliseconds of wall time: a stand-in for a 1 ms computation."""
    end = time.perf_counter() + ms / 1e3
    while time.perf_counter() < end:
        pass
    return {"y": x}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=200)
    parser.add_argument("--task-ms", type=float, default=1.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    xs = list(range(args.points))
    grid = {"x": xs, "ms": [args.task_ms]}

    bare = best_of(lambda: [busy(x, 0, args.task_ms) for x in xs], args.repeat)
    serial = best_of(lambda: numerics.sweep(busy, grid, seed=0), args.repeat)
    per_point = (serial - bare) / args.points
    print(f"{args.points} points of a {args.task_ms} ms task")
    print(f"  bare loop               {bare * 1e3:8.1f} ms")
    print(
        f"  sweep, serial           {serial * 1e3:8.1f} ms   overhead "
        f"{per_point * 1e6:6.1f} us/point = {100 * (serial / bare - 1):5.1f} %"
    )

    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(args.workers) as pool:
        numerics.sweep(busy, {"x": xs[: 2 * args.workers], "ms": [0.0]}, executor=pool)  # warm
        procs = best_of(lambda: numerics.sweep(busy, grid, executor=pool, seed=0), args.repeat)
    ideal = bare / args.workers
    print(
        f"  sweep, {args.workers} processes      {procs * 1e3:8.1f} ms   ideal "
        f"{ideal * 1e3:.1f} ms: overhead {100 * (procs / ideal - 1):5.1f} %"
    )

    try:
        import distributed
    except ImportError:
        print("  Dask: distributed is not installed (pip install 'cavitylab[dask]')")
        return
    with (
        distributed.LocalCluster(
            n_workers=args.workers, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        executor = client.get_executor()
        numerics.sweep(busy, {"x": xs[: 2 * args.workers], "ms": [0.0]}, executor=executor)
        dask = best_of(lambda: numerics.sweep(busy, grid, executor=executor, seed=0), args.repeat)
    print(
        f"  sweep, Dask {args.workers} workers   {dask * 1e3:8.1f} ms   "
        f"{args.points / dask:7.0f} points/s (ideal {args.points / ideal:.0f})"
    )


if __name__ == "__main__":
    main()
