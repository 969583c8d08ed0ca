"""Tasks for the sweep tests: module-level (picklable), importable by worker processes."""

import numpy as np


def noisy_square(x, scale, seed):
    """A result that depends on the point and on its seed."""
    rng = np.random.default_rng(seed)
    return {"y": x * x * scale, "noise": float(rng.normal())}


def fails_at_two(x, seed):
    if x == 2:
        raise ValueError("x = 2 is not allowed")
    return {"y": x}
