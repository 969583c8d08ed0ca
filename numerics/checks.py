"""Checks of numerical arguments shared by the solvers: one message per problem, named."""

import numpy as np

from .errors import InputError

__all__ = ["finite_array"]


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
