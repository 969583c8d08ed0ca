"""What every recipe shares: progress on stderr, JSON, tables and figures (matplotlib, lazily)."""

import json
import math
import sys
import time
from pathlib import Path

import numpy as np

__all__ = [
    "progress",
    "to_json",
    "write_json",
    "figure",
    "save_figure",
    "format_table",
    "pm",
    "finish",
    "run_sweep",
]


def progress(message):
    """One line of progress on stderr (stdout is kept for the results)."""
    print(message, file=sys.stderr, flush=True)


def to_json(value):
    """``value`` with numpy scalars and arrays as Python numbers and lists, NaN/inf as None.

    >>> to_json({"a": np.float64(0.5), "b": np.array([1.0, np.nan]), "c": (np.int64(2),)})
    {'a': 0.5, 'b': [1.0, None], 'c': [2]}
    """
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    if isinstance(value, np.ndarray):
        return to_json(value.tolist())
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else None
    if isinstance(value, Path):
        return str(value)
    return value


def write_json(path, data):
    """Write ``to_json(data)`` to ``path`` (strict JSON: no NaN); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(to_json(data), indent=1, allow_nan=False) + "\n")
    return path


def figure(ncols=1, nrows=1, width=5.0, height=4.2):
    """A matplotlib figure on the Agg canvas and its axes (a flat list).

    matplotlib is imported here, not at module import; the figure is not registered with
    pyplot, so no backend is switched and no global state is touched.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width * ncols, height * nrows), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(nrows, ncols, squeeze=False)
    return fig, [ax for row in axes for ax in row]


def save_figure(fig, path, dpi=120):
    """Write ``fig`` as a PNG; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    return path


def pm(value, error, digits=4):
    """``value ± error`` as text; ``-`` when missing.

    >>> pm(0.51234, 0.0012)
    '0.5123 ± 0.0012'
    """
    if value is None or not math.isfinite(value):
        return "-"
    if error is None or not math.isfinite(error):
        return f"{value:.{digits}f}"
    return f"{value:.{digits}f} ± {error:.{digits}f}"


def format_table(headers, rows, title=None):
    """A plain-text table, columns right-aligned.

    >>> print(format_table(["T", "m"], [["1.0", "0.5"], ["2.0", "0.25"]]))
      T     m
    ---  ----
    1.0   0.5
    2.0  0.25
    """
    cells = [list(map(str, headers))] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[k]) for row in cells) for k in range(len(headers))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(row, widths)) for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    if title:
        lines.insert(0, title)
    return "\n".join(lines)


def finish(name, results, out, plot, start):
    """The end of every recipe: ``out/NAME.png`` from ``plot(results)``, the elapsed time,
    ``out/NAME.json``; returns ``results`` (with ``files`` and ``seconds`` added)."""
    out = Path(out)
    json_path, png_path = out / f"{name}.json", out / f"{name}.png"
    results["files"] = dict(json=str(json_path), png=str(png_path))
    save_figure(plot(results), png_path)
    results["seconds"] = round(time.perf_counter() - start, 2)
    write_json(json_path, results)
    progress(f"[{name}] done in {results['seconds']:.1f} s")
    return results


def run_sweep(task, grid, name, counts=None, recipe=None, **options):
    """The rows of ``numerics.sweep(task, grid, name=..., **options)``, in grid order.

    Every recipe's sweeps go through here: each row holds the point's keywords and the
    task's results (a result named like a grid keyword wins), and ``counts[name]`` records
    ``{points, computed}`` (computed: not read back from a ``--checkpoint``). The sweep is
    named ``<recipe>-<name>`` when ``recipe`` is given (its checkpoint file under
    ``--checkpoint DIR``), else ``name``.

    Raises
    ------
    CookbookError
        When a point raised: a recipe cannot draw a figure with a hole in it.
    """
    import numerics

    from .errors import CookbookError

    full = f"{recipe}-{name}" if recipe else name
    res = numerics.sweep(task, grid, name=full, **options)
    if counts is not None:
        counts[name] = dict(points=len(res.table), computed=res.computed)
    if res.failed:
        raise CookbookError(
            f"sweep {full}: {len(res.failed)} point(s) raised, the first: {res.failed[0]['error']}"
        )
    rows = []
    for row in res.table:
        row = {k: v for k, v in row.items() if k not in ("index", "error")}
        for key in grid:
            if f"result_{key}" in row:
                row[key] = row.pop(f"result_{key}")
        rows.append(row)
    return rows
