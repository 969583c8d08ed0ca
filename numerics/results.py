"""The result protocol every solver and simulation follows.

Every solver returns a :class:`Result` (a dataclass): ``converged``,
``iterations``, ``residual`` (the last one) with ``residuals`` (its history, where
the solver iterates), ``message`` (why it stopped), a readable ``repr`` and
:meth:`Result.to_dict`, which the recipes write as JSON. Every solver takes
``strict=`` and finishes with :meth:`Result.finish`, which raises
:class:`~numerics.ConvergenceError` instead of returning ``converged=False``.
Simulations return a :class:`SimulationResult`, which also records its ``seed``.
"""

import dataclasses
import math
from dataclasses import dataclass, field

import numpy as np

from .errors import ConvergenceError

__all__ = ["Result", "SimulationResult", "jsonable"]


def jsonable(value):
    """``value`` as plain JSON types: arrays to lists, numpy scalars to Python, results to dicts.

    Non-finite floats become ``None`` (JSON has no NaN); anything else unknown becomes its
    ``str``.
    """
    if isinstance(value, Result):
        return value.to_dict()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer, int)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        value = float(value)
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, str):
        return value
    return str(value)


def _short(value):
    if isinstance(value, np.ndarray):
        if value.size <= 4:
            return np.array2string(value, precision=6, separator=", ")
        return f"array(shape={value.shape})"
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.6g}"
    if isinstance(value, (list, tuple)) and len(value) > 4:
        return f"[{len(value)} items]"
    if isinstance(value, dict) and len(value) > 4:
        return f"{{{len(value)} keys}}"
    return repr(value)


@dataclass(kw_only=True, repr=False)
class Result:
    """Common fields of every result.

    Attributes
    ----------
    converged : bool
        Whether the solver reached its stopping criterion (a simulation: whether it ran
        to completion). A number the solver could not resolve is reported here as
        ``False``, never returned as if it were right.
    iterations : int
        Iterations (sweeps, steps) done.
    residual : float or None
        The last residual (the quantity the stopping rule looks at).
    residuals : ndarray
        Its history, one entry per iteration, where the solver iterates.
    message : str
        Why the solver stopped.
    """

    converged: bool = True
    iterations: int = 0
    residual: float = None
    residuals: np.ndarray = field(default_factory=lambda: np.zeros(0))
    message: str = ""

    def finish(self, strict=False):
        """``self``, or :class:`ConvergenceError` (holding ``self``) if ``strict`` and not converged."""
        if strict and not self.converged:
            raise ConvergenceError(
                f"{type(self).__name__}: {self.message or 'not converged'}", self
            )
        return self

    def to_dict(self):
        """Every field as plain JSON types (arrays as lists, NaN as ``None``)."""
        return {f.name: jsonable(getattr(self, f.name)) for f in dataclasses.fields(self)}

    def __repr__(self):
        shown = [f for f in dataclasses.fields(self) if f.repr and f.name != "residuals"]
        head = [f for f in shown if f.name in ("converged", "iterations", "residual")]
        rest = [f for f in shown if f not in head and f.name != "message"]
        parts = [f"{f.name}={_short(getattr(self, f.name))}" for f in head + rest]
        if self.message:
            parts.append(f"message={self.message!r}")
        return f"{type(self).__name__}({', '.join(parts)})"


@dataclass(kw_only=True, repr=False)
class SimulationResult(Result):
    """A simulation's result: the common fields and the ``seed`` it was run from."""

    seed: object = None
