"""What every solver on a graph shares: checked inputs and the model's arrays.

Every public graph solver validates at its edge with the checks of this module
and raises :class:`derive.InputError` (a bad argument) or :class:`derive.ModelError`
(not a model), naming what is wrong.
"""

import math
import numbers
from dataclasses import dataclass

import numpy as np

from derive import InputError, ModelError
from derive.spins import BETA, PairwiseModel

from .csr import _edge_columns, _node_columns, directed_edge_values, to_csr

__all__ = [
    "check_beta",
    "check_model",
    "check_params",
    "check_int",
    "GraphArrays",
    "graph_arrays",
    "alphabet_values",
]


def _real(value):
    """``float(value)`` for a real number (not a bool, string or None), else None."""
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, np.generic)):
        return None
    try:
        return float(value)
    except (TypeError, ValueError, OverflowError):
        return None


def check_beta(beta):
    """``beta`` as a float, or an InputError saying what is wrong with it."""
    b = _real(beta)
    if b is None:
        raise InputError(f"beta must be a positive number, got {beta!r}")
    if not math.isfinite(b) or b <= 0:
        raise InputError(f"beta must be a finite positive number (beta = 1/T), got {beta!r}")
    return b


def check_int(name, value, minimum):
    """``value`` as an int >= ``minimum``, or an InputError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, (numbers.Integral, np.integer)):
        raise InputError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if value < minimum:
        raise InputError(f"{name} must be at least {minimum}, got {value}")
    return int(value)


def check_model(model):
    if not isinstance(model, PairwiseModel):
        raise ModelError(f"expected a derive.PairwiseModel, got {type(model).__name__}")
    return model


def check_params(model, params):
    """``params`` as a dict ``{name: float}``, keys checked against the model's parameters.

    Raises
    ------
    derive.InputError
        ``params`` is not a mapping, has a key the model does not have (the message
        lists the known ones), or a value that is not a finite real number.
    """
    if params is None:
        return {}
    if not hasattr(params, "items"):
        raise InputError(f"params must be a dict of parameter values, got {type(params).__name__}")
    known = [p.name for p in model.params]
    out = {}
    for key, value in params.items():
        name = str(key)
        if name not in known:
            listed = ", ".join(repr(k) for k in known) or "none"
            hint = " (beta is an argument of its own)" if name == BETA.name else ""
            raise InputError(
                f"unknown parameter {name!r}{hint}; the model's parameters are: {listed}"
            )
        v = _real(value)
        if v is None or not math.isfinite(v):
            raise InputError(f"parameter {name!r} = {value!r} is not a finite real number")
        out[name] = v
    return out


def alphabet_values(model):
    """The alphabet as a float64 array, in the model's order."""
    return np.array([float(a) for a in model.alphabet])


@dataclass
class GraphArrays:
    """CSR structure plus per-node and per-edge parameter columns for some Equations."""

    csr: object
    node_values: np.ndarray
    edge_values: np.ndarray  # per directed edge, in CSR order

    @property
    def graph_args(self):
        """``(indptr, indices, edge_id)``: the first arguments of generated graph functions."""
        c = self.csr
        return c.indptr, c.indices, c.edge_id


def graph_arrays(G, equations, params=None, beta=None, csr=None):
    """Arrays of ``equations.node_params`` (nodes) and ``equations.edge_params`` (directed edges).

    A parameter is read from the node or edge attribute of the same name,
    falling back to ``params[name]``; ``beta``, if the equations use it, comes
    from the argument of that name. ``csr`` is ``to_csr(G)`` if the caller has
    just built it (it is not checked against ``G``); None builds it.
    """
    params = {str(k): v for k, v in dict(params or {}).items()}
    if csr is None:
        csr = to_csr(G)
    node_names = [p.name for p in equations.node_params]
    defaults = dict(params)
    if BETA in equations.node_params:
        defaults[BETA.name] = check_beta(beta)
    nodes = _node_columns(G, csr, [n for n in node_names if n != BETA.name], defaults)
    if BETA in equations.node_params:  # beta is global: never read from node attributes
        col = node_names.index(BETA.name)
        nodes = np.insert(nodes, col, defaults[BETA.name], axis=1)
    edges = _edge_columns(G, csr, [p.name for p in equations.edge_params], defaults)
    edges = directed_edge_values(csr, edges)
    return GraphArrays(csr, np.ascontiguousarray(nodes), np.ascontiguousarray(edges))


def seeded_rng(seed):
    """``(generator, recorded_seed)`` for a ``seed`` that is None, an int or a Generator.

    Everything random in a graph solver draws from the returned
    :class:`numpy.random.Generator` (never from numpy's global state). The recorded
    seed reproduces the run: the int given; for None a fresh int drawn from the
    operating system's entropy; for a Generator its ``bit_generator.state`` before use.
    """
    if seed is None:
        seed = int(np.random.SeedSequence().entropy)
        return np.random.default_rng(seed), seed
    if isinstance(seed, np.random.Generator):
        return seed, dict(seed.bit_generator.state)
    if isinstance(seed, bool) or not isinstance(seed, (numbers.Integral, np.integer)) or seed < 0:
        raise InputError(
            f"seed must be None, a non-negative int or a numpy.random.Generator, got {seed!r}"
        )
    return np.random.default_rng(int(seed)), int(seed)


def check_tol(tol, name="tol"):
    """``tol`` as a finite positive float, or an InputError."""
    t = _real(tol)
    if t is None or not math.isfinite(t) or t <= 0:
        raise InputError(f"{name} must be a finite positive number, got {tol!r}")
    return t


def as_float_array(value, name):
    """``value`` as a float64 array, or an InputError naming ``name`` (not a raw TypeError)."""
    try:
        return np.array(value, dtype=float)
    except (TypeError, ValueError, OverflowError):
        raise InputError(f"{name} must be an array of real numbers, got {value!r}") from None


#: Largest ``beta * sum |energy|`` accepted: sums and differences of energies stay in float64.
MAX_SCALE = 1e300


def check_energy_scale(field, pair, beta):
    r"""Raise InputError unless :math:`\beta \sum_i \max_a |\phi_i(a)| + \beta \sum_k \max_{ab}
    |e_k(a, b)|` (a bound on :math:`\beta |E(s)|` for every configuration) is at most
    :data:`MAX_SCALE`, so that energies, their sums and differences, and the exponents of the
    Boltzmann weights are representable in float64 (``J = 1e308`` gave NaN before)."""
    with np.errstate(over="ignore", invalid="ignore"):
        bound = float(
            np.abs(field).max(axis=1, initial=0.0).sum()
            + np.abs(pair)
            .reshape(pair.shape[0], pair[0].size if len(pair) else 0)
            .max(axis=1, initial=0.0)
            .sum()
        )
        scaled = beta * bound
    if not (math.isfinite(scaled) and scaled <= MAX_SCALE):
        raise InputError(
            f"beta times the energy reaches {scaled:.3g} (beta = {beta:.3g}, sum of the largest "
            f"|energy| per node and edge = {bound:.3g}): beyond float64, the Boltzmann weights "
            f"are not representable; the limit is {MAX_SCALE:.0e}"
        )


def check_damping(damping):
    """``damping`` as a float in [0, 1), or an InputError."""
    d = _real(damping)
    if d is None or not 0.0 <= d < 1.0:
        raise InputError(f"damping must be in [0, 1), got {damping!r}")
    return d
