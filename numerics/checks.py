"""Checks of numerical arguments shared by the solvers: one message per problem, named."""

import math

import numpy as np

from .errors import InputError

__all__ = ["finite_array", "number"]


def finite_array(name, value, shape):
    """``value`` as a float array of ``shape`` with finite entries, or an :class:`InputError`
    naming ``name`` and what is wrong (not numbers, the shape, NaN or inf)."""
    try:
        arr = np.array(value, dtype=float)
    except (TypeError, ValueError):
        raise InputError(f"{name} is not an array of numbers: {value!r}") from None
    if arr.shape != tuple(shape):
        raise InputError(f"{name} must have shape {tuple(shape)}, got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise InputError(f"{name} contains NaN or inf")
    return arr


def number(name, value, *, positive=True, allow_zero=False, integer=False):
    """``value`` as a finite float (an int with ``integer=True``), or an :class:`InputError`
    naming ``name`` and what is wrong.

    ``positive=True`` asks for ``value > 0``, or ``value >= 0`` with ``allow_zero=True``;
    ``positive=False`` takes any finite number. ``integer=True`` also asks for a whole number
    (``10.0`` is accepted as ``10``, ``10.5`` is not).
    """
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a number, got {value!r}") from None
    if positive:
        need = " >= 0" if allow_zero else " > 0"
        ok = x >= 0 if allow_zero else x > 0
    else:
        need, ok = "", True
    if not (math.isfinite(x) and ok):
        raise InputError(f"{name} must be a finite number{need}, got {value!r}")
    if integer:
        if x != int(x):
            raise InputError(f"{name} must be an integer, got {value!r}")
        return int(x)
    return x
