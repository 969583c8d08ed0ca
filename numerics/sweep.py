"""``sweep``: a task over a grid of parameters, on any executor, reproducible and resumable.

A *task* is any picklable function of the grid's keywords (and of ``seed`` if it takes
one) that returns a dict of results (or a :class:`~numerics.Result`, or a number). The
grid is a mapping ``name -> values``: every combination (``mode="product"``) or the
values side by side (``mode="zip"``).

* **Executors.** Serial by default; an integer runs that many local processes; any
  :class:`concurrent.futures.Executor` (a Dask ``distributed.Client(...).get_executor()``
  in particular), or a map-like callable ``executor(function, iterable)``. cavitylab
  imports neither Dask nor Ray.
* **Reproducible wherever a point runs.** Point ``k`` of the grid gets the child seed
  ``SeedSequence(seed, spawn_key=(k,))``: the results depend neither on the executor nor
  on the number of workers nor on the order of completion. Workers derive and compile
  nothing twice: equal models hash alike, so they find their kernels in the disk cache.
* **Checkpoints.** Each finished point is appended to a JSON-lines file at once; rerunning
  the same sweep with the same file computes only the points that are missing (or that
  raised); a file written for another task or grid is refused.
* **Failures.** A point that raises is recorded with the last line of its traceback; the
  others go on.
"""

import contextlib
import dataclasses
import functools
import hashlib
import inspect
import itertools
import json
import pickle
import time
import traceback
from concurrent.futures import Executor, ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import InputError
from .progress import Progress
from .results import Result, jsonable

__all__ = ["sweep", "SweepResult", "sweep_defaults"]

_FORMAT = "cavitylab-sweep-1"
_DEFAULTS = [{}]


@contextlib.contextmanager
def sweep_defaults(executor=None, checkpoint_dir=None, progress=None):
    """Defaults for every :func:`sweep` inside the block that does not set them itself.

    The command line uses it: ``cavitylab run NAME --workers 4 --checkpoint DIR`` runs a
    recipe inside ``sweep_defaults(executor=4, checkpoint_dir=DIR)``, and each of the
    recipe's sweeps, which names itself (``sweep(..., name="phase-diagram")``), streams to
    ``DIR/<name>.jsonl``.

    An integer ``executor`` starts one pool of that many processes for the whole block
    (started on the first sweep that needs it), so that the workers import numba and load
    their kernels once, not once per sweep.
    """
    pool = _SharedPool(executor) if isinstance(executor, int) and executor > 1 else None
    _DEFAULTS.append(
        {
            "executor": pool if pool is not None else executor,
            "checkpoint_dir": checkpoint_dir,
            "progress": progress,
        }
    )
    try:
        yield
    finally:
        _DEFAULTS.pop()
        if pool is not None:
            pool.shutdown()


class _SharedPool:
    """A process pool started on first use and kept for a :func:`sweep_defaults` block."""

    def __init__(self, workers):
        self.workers, self._pool = int(workers), None

    def get(self):
        if self._pool is None:
            from .threads import limit_blas_threads

            self._pool = ProcessPoolExecutor(self.workers, initializer=limit_blas_threads)
        return self._pool

    def shutdown(self):
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None


@dataclass(kw_only=True, repr=False)
class SweepResult(Result):
    """The results of a sweep.

    Attributes
    ----------
    table : list of dict
        One row per grid point, in grid order: ``index``, the point's keywords, its
        results, and ``error`` (None, or the last line of the traceback of a point that
        raised).
    failed : list of dict
        The rows whose point raised.
    seed : int
        The root seed (drawn and recorded when none was given).
    computed : int
        Points computed by this call; the others came from the checkpoint.
    checkpoint : str or None
    """

    table: list = field(default_factory=list)
    failed: list = field(default_factory=list)
    seed: int = None
    computed: int = 0
    checkpoint: str = None

    def column(self, key):
        """One column of the table as an array (None where a row lacks it)."""
        return np.array([row.get(key) for row in self.table])


def _points(grid, mode):
    if not hasattr(grid, "items"):
        raise InputError(f"grid must be a mapping name -> values, got {type(grid).__name__}")
    if not grid:
        raise InputError("grid is empty: give at least one parameter and its values")
    names, columns = [], []
    for name, values in grid.items():
        if not isinstance(name, str) or not name.isidentifier():
            raise InputError(f"grid key {name!r} is not a valid keyword argument name")
        if isinstance(values, str | bytes) or not hasattr(values, "__iter__"):
            values = [values]
        values = [v.item() if isinstance(v, np.generic) else v for v in values]
        if not values:
            raise InputError(f"grid[{name!r}] has no values")
        names.append(name)
        columns.append(values)
    if mode == "product":
        combos = itertools.product(*columns)
    elif mode == "zip":
        lengths = {n: len(c) for n, c in zip(names, columns)}
        if len(set(lengths.values())) > 1:
            raise InputError(f"mode='zip' needs values of equal lengths, got {lengths}")
        combos = zip(*columns)
    else:
        raise InputError(f"mode must be 'product' or 'zip', got {mode!r}")
    return [dict(zip(names, combo)) for combo in combos]


def _takes_seed(task):
    if isinstance(task, functools.partial) and "seed" in task.keywords:
        return False
    try:
        params = inspect.signature(task).parameters.values()
    except (TypeError, ValueError):  # a builtin or an odd callable: do not guess
        return False
    return any(p.name == "seed" or p.kind is p.VAR_KEYWORD for p in params)


def _child_seed(root, index):
    """The seed of grid point ``index``: a function of the root seed and the position only."""
    state = np.random.SeedSequence(root, spawn_key=(index,)).generate_state(2, np.uint32)
    return int(state[0]) << 32 | int(state[1])


def _normalise(value):
    if isinstance(value, Result):
        return value.to_dict()
    if isinstance(value, dict):
        return jsonable(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return jsonable(value)
    return {"value": jsonable(value)}


def _run_point(task, index, kwargs, seed):
    """Run one point; never raises: an exception becomes the row's ``error``."""
    start = time.perf_counter()
    try:
        value = task(**kwargs, seed=seed) if seed is not None else task(**kwargs)
        result, error = _normalise(value), None
    except Exception as err:  # noqa: BLE001 - a failing point is recorded, the others go on
        result = None
        error = traceback.format_exception_only(type(err), err)[-1].strip()
    return {
        "index": index,
        "result": result,
        "error": error,
        "seconds": time.perf_counter() - start,
    }


def _run_chunk(jobs):
    """Several points in one submission: one round trip to a worker for many short tasks."""
    return [_run_point(*job) for job in jobs]


def _task_name(task):
    """A name that is the same in every process: module and qualified name; for a
    ``functools.partial``, the function and the repr of its bound arguments (models and
    numbers print by content, never by address)."""
    if isinstance(task, functools.partial):
        bound = [repr(a) for a in task.args] + [f"{k}={v!r}" for k, v in task.keywords.items()]
        return f"{_task_name(task.func)}({', '.join(bound)})"
    return f"{getattr(task, '__module__', '?')}.{getattr(task, '__qualname__', repr(task))}"


def _fingerprint(task, grid, mode):
    content = json.dumps(
        {
            "task": _task_name(task),
            "grid": jsonable(
                {
                    k: list(v) if hasattr(v, "__iter__") and not isinstance(v, str) else [v]
                    for k, v in grid.items()
                }
            ),
            "mode": mode,
        },
        sort_keys=True,
    )
    return hashlib.sha256(content.encode()).hexdigest()


def _read_checkpoint(path, fingerprint, seed, n_points):
    """``(seed, {index: record})`` from an existing checkpoint, after checking it is ours."""
    done = {}
    with open(path) as fh:
        lines = fh.read().splitlines()
    if not lines:
        return seed, done
    try:
        header = json.loads(lines[0])
    except json.JSONDecodeError:
        header = {}
    if header.get("format") != _FORMAT:
        raise InputError(f"checkpoint {str(path)!r} is not a cavitylab sweep checkpoint")
    if header.get("fingerprint") != fingerprint:
        raise InputError(
            f"checkpoint {str(path)!r} was written by another sweep (task "
            f"{header.get('task')!r}, another grid or mode): refusing to mix results; "
            "use another file or delete it"
        )
    if seed is not None and header.get("seed") != seed:
        raise InputError(
            f"checkpoint {str(path)!r} was written with seed {header.get('seed')}, not {seed}"
        )
    for line in lines[1:]:
        try:
            record = json.loads(line)
        except json.JSONDecodeError:  # the last line of a killed run may be cut short
            continue
        index = record.get("index")
        if isinstance(index, int) and 0 <= index < n_points and record.get("error") is None:
            done[index] = record
    return header["seed"], done


def _check_picklable(task, executor):
    if isinstance(executor, int | ProcessPoolExecutor | _SharedPool):
        dumps = pickle.dumps
    elif type(executor).__module__.split(".")[0] == "distributed":
        try:
            import cloudpickle
        except ImportError:  # pragma: no cover - distributed depends on cloudpickle
            return
        dumps = cloudpickle.dumps
    else:
        return
    try:
        dumps(task)
    except Exception as err:  # noqa: BLE001 - any pickling failure means the same thing
        raise InputError(
            f"the task {_task_name(task)} cannot be sent to worker processes: it is not "
            f"picklable ({type(err).__name__}: {err}); define it at module level, not as a "
            "lambda or a local function"
        ) from None


def _row(index, kwargs, record):
    row = {"index": index, **kwargs}
    for key, value in (record.get("result") or {}).items():
        row[key if key not in kwargs and key not in ("index", "error") else f"result_{key}"] = value
    row["error"] = record.get("error")
    return row


def sweep(
    task,
    grid,
    *,
    executor=None,
    seed=None,
    checkpoint=None,
    mode="product",
    name=None,
    progress=None,
    chunksize=None,
):
    r"""Run ``task(**point, seed=child_seed)`` at every point of ``grid``.

    Parameters
    ----------
    task : callable
        A function of the grid's keywords (and of ``seed``, if it takes it) returning a
        dict of results, a :class:`~numerics.Result` or a number. With processes or a
        cluster it must be picklable (a module-level function).
    grid : mapping name -> sequence
    executor : None, int, concurrent.futures.Executor or callable
        None: serial. An int: that many local processes. An ``Executor`` (a Dask
        ``Client.get_executor()``), or a map-like ``executor(function, iterable)``.
    seed : int, optional
        Root of the points' seeds; drawn (and recorded in the result) when None.
    checkpoint : path, optional
        A JSON-lines file the finished points stream to; an existing one resumes.
    mode : {"product", "zip"}
    name : str, optional
        The sweep's name: the checkpoint file ``<checkpoint_dir>/<name>.jsonl`` when a
        :func:`sweep_defaults` block sets a checkpoint directory, and the progress label.
    progress : bool, optional
        Draw a progress bar on stderr (default: when stderr is a terminal).
    chunksize : int, optional
        Points sent to a worker at once (default: about four chunks per process, or 64
        chunks on another executor): short tasks then cost one round trip per chunk.
        Results reach the checkpoint chunk by chunk.

    Returns
    -------
    SweepResult
        ``converged`` is False when a point raised (see ``failed``).

    Raises
    ------
    InputError
        An empty grid, unequal lengths with ``mode="zip"``, a task that is not picklable
        for a process executor, a checkpoint in a missing directory or from another sweep
        -- all before anything runs.

    Examples
    --------
    >>> def square(x, seed):
    ...     return {"y": x * x}
    >>> res = sweep(square, {"x": [1, 2, 3]}, seed=0)
    >>> [row["y"] for row in res.table]
    [1, 4, 9]
    """
    defaults = _DEFAULTS[-1]
    executor = executor if executor is not None else defaults.get("executor")
    progress = progress if progress is not None else defaults.get("progress")
    if checkpoint is None and name and defaults.get("checkpoint_dir"):
        checkpoint = Path(defaults["checkpoint_dir"]) / f"{name}.jsonl"
    if not callable(task):
        raise InputError(f"task must be callable, got {type(task).__name__}")
    if isinstance(executor, bool) or (isinstance(executor, int) and executor < 1):
        raise InputError(f"executor: a number of processes must be >= 1, got {executor!r}")
    if not (
        executor is None or isinstance(executor, int | Executor | _SharedPool) or callable(executor)
    ):
        raise InputError(
            f"executor must be None, an int, an Executor or a map-like callable, "
            f"got {type(executor).__name__}"
        )
    if seed is not None and (
        isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0
    ):
        raise InputError(f"seed must be a non-negative integer, got {seed!r}")
    points = _points(grid, mode)
    _check_picklable(task, executor)
    fingerprint = _fingerprint(task, grid, mode)
    done = {}
    if checkpoint is not None:
        checkpoint = Path(checkpoint)
        if not checkpoint.parent.is_dir():
            raise InputError(
                f"checkpoint {str(checkpoint)!r}: no such directory {str(checkpoint.parent)!r}"
            )
        if checkpoint.exists() and checkpoint.stat().st_size:
            seed, done = _read_checkpoint(checkpoint, fingerprint, seed, len(points))
    if seed is None:
        seed = int(np.random.SeedSequence().entropy % (1 << 63))
    seed = int(seed)
    pass_seed = _takes_seed(task)
    todo = [k for k in range(len(points)) if k not in done]
    jobs = [(task, k, points[k], _child_seed(seed, k) if pass_seed else None) for k in todo]

    sink = None
    if checkpoint is not None:
        fresh = not checkpoint.exists() or not checkpoint.stat().st_size
        sink = open(checkpoint, "a")  # noqa: SIM115 - closed in the finally below
        if fresh:
            sink.write(
                json.dumps(
                    {
                        "format": _FORMAT,
                        "fingerprint": fingerprint,
                        "task": _task_name(task),
                        "seed": seed,
                        "points": len(points),
                    }
                )
                + "\n"
            )
            sink.flush()
    records = dict(done)
    bar = Progress(len(jobs), name or _task_name(task).rsplit(".", 1)[-1], enabled=progress)
    start = time.perf_counter()
    try:
        for record in _execute(executor, jobs, chunksize):
            records[record["index"]] = record
            if sink is not None:
                sink.write(json.dumps(record) + "\n")
                sink.flush()  # in the kernel's hands: survives a killed process
            bar.update()
    finally:
        bar.close()
        if sink is not None:
            sink.close()
    table = [_row(k, points[k], records[k]) for k in range(len(points))]
    failed = [row for row in table if row["error"] is not None]
    elapsed = time.perf_counter() - start
    message = (
        f"{len(points)} points, {len(jobs)} computed in {elapsed:.2f} s"
        + (f", {len(done)} from the checkpoint" if done else "")
        + (f"; {len(failed)} raised" if failed else "")
    )
    return SweepResult(
        table=table,
        failed=failed,
        seed=seed,
        computed=len(jobs),
        checkpoint=str(checkpoint) if checkpoint else None,
        converged=not failed,
        iterations=len(jobs),
        message=message,
    )


def _chunks(jobs, size):
    return [jobs[k : k + size] for k in range(0, len(jobs), size)]


def _execute(executor, jobs, chunksize=None):
    """Yield each job's record as it finishes (chunk by chunk on an executor)."""
    if not jobs:
        return
    if executor is None:
        for job in jobs:
            yield _run_point(*job)
        return
    if chunksize is not None and (not isinstance(chunksize, int) or chunksize < 1):
        raise InputError(f"chunksize must be a positive integer, got {chunksize!r}")
    if isinstance(executor, _SharedPool):
        size = chunksize or max(1, -(-len(jobs) // (4 * executor.workers)))
        yield from _execute(executor.get(), jobs, size)
        return
    if isinstance(executor, int):
        from .threads import limit_blas_threads

        size = chunksize or max(1, -(-len(jobs) // (4 * executor)))
        with ProcessPoolExecutor(max_workers=executor, initializer=limit_blas_threads) as pool:
            yield from _execute(pool, jobs, size)
        return
    size = chunksize or max(1, -(-len(jobs) // 64))
    chunks = _chunks(jobs, size)
    if isinstance(executor, Executor):
        futures = {executor.submit(_run_chunk, chunk): chunk for chunk in chunks}
        try:
            for future in as_completed(futures):
                try:
                    yield from future.result()
                except Exception as err:  # noqa: BLE001 - a killed worker, a lost connection
                    for _, index, _, _ in futures[future]:
                        yield {
                            "index": index,
                            "result": None,
                            "seconds": None,
                            "error": f"{type(err).__name__}: {err} (the worker failed)",
                        }
        except BaseException:
            for future in futures:
                future.cancel()
            raise
        return
    for records in executor(_run_chunk, chunks):  # a map-like callable, in order
        yield from records
