"""Naive mean-field on a networkx graph: the derived equations, solved over CSR arrays."""

from dataclasses import dataclass

import numpy as np

import derive
import numerics

from ._common import (
    InputError,
    alphabet_values,
    as_float_array,
    check_beta,
    check_damping,
    check_energy_scale,
    check_int,
    check_model,
    check_params,
    check_tol,
    graph_arrays,
    seeded_rng,
)
from .csr import to_csr
from .results import GraphResult
from .tables import energy_tables

__all__ = ["meanfield", "MeanFieldResult"]


@dataclass(kw_only=True, repr=False)
class MeanFieldResult(GraphResult):
    """Naive mean-field fixed point on a graph.

    Attributes
    ----------
    state : ndarray, shape (n_nodes, n_moments)
        The moments the equations iterate (for Ising, ``m_i``), named by ``moments``.
    moments : tuple of str
    residuals : ndarray
        Max change of the state at each iteration (``residual``: the last one).
    """

    state: np.ndarray = None
    moments: tuple = ()
    log_z = None  # the naive mean-field free energy is not derived here


def meanfield(
    model,
    G,
    beta,
    params=None,
    init="random",
    schedule="parallel",
    damping=0.5,
    tol=1e-10,
    max_iter=10_000,
    seed=None,
    strict=False,
):
    r"""Solve the naive mean-field equations of ``model`` on the graph ``G``.

    .. math::
        q_i(s) \propto \exp\Big(-\beta\big[\phi(s; \eta_i) + \sum_{j \in \partial i}
        \sum_{s'} q_j(s')\, e(s, s'; \theta_{ij})\big]\Big)

    The equations are those of :func:`derive.meanfield`, compiled once; the
    neighbour sums run over the CSR arrays of ``G``.

    Parameters
    ----------
    model : derive.PairwiseModel
    G : networkx.Graph
        A symbol of the pair energy is read from the edge attribute of the same
        name, a symbol of the field energy from the node attribute; both fall
        back to ``params``.
    beta : float
        Inverse temperature, > 0.
    params : dict, optional
        Default parameter values by name, e.g. ``{"J": 1.0, "h": 0.0}``.
    init : {"random", "zero-field"} or array of shape (n_nodes, n_moments)
        ``"random"``: the equations evaluated at random Gaussian fields (seeded
        by ``seed``); ``"zero-field"``: at zero fields; or a given state.
    schedule : {"parallel", "sequential"}
        Jacobi update of all nodes (damped, through :func:`numerics.fixed_point`)
        or in-place Gauss--Seidel sweeps in a random order.
    damping : float in [0, 1)
    tol, max_iter : stopping rule on the max change of the state.
    seed : int, optional
    strict : bool
        Raise :class:`numerics.ConvergenceError` instead of returning
        ``converged=False``.

    Returns
    -------
    MeanFieldResult

    Examples
    --------
    >>> import networkx as nx, sympy as sp
    >>> from derive import PairwiseModel
    >>> si, sj, J, h = sp.symbols("s_i s_j J h", real=True)
    >>> ising = PairwiseModel((-1, 1), -J * si * sj, -h * si, variables=(si, sj))
    >>> r = meanfield(ising, nx.cycle_graph(10), beta=1.0, params={"J": 1.0, "h": 0.0}, seed=1)
    >>> r.converged, round(abs(float(r.magnetization.mean())), 6)  # m = tanh(2 m)
    (True, 0.957504)
    """
    check_model(model)
    eqs, kernel = _derived(model)  # a model that cannot be derived from: ModelError first
    beta = check_beta(beta)
    params = check_params(model, params)
    if schedule not in ("parallel", "sequential"):
        raise InputError(f"schedule must be 'parallel' or 'sequential', got {schedule!r}")
    damping = check_damping(damping)
    tol = check_tol(tol)
    max_iter = check_int("max_iter", max_iter, 1)
    rng, _ = seeded_rng(seed)
    csr = to_csr(G)
    arrays = graph_arrays(G, eqs, params, beta, csr=csr)
    check_energy_scale(*energy_tables(model, G, params, csr=csr)[:2], beta)
    mod = kernel.module
    n = arrays.csr.n_nodes
    n_state = len(eqs.outputs)
    state = _initial_state(init, kernel, arrays, n, n_state, rng)
    args = arrays.graph_args

    if schedule == "parallel":  # the generated driver, the one numerics.export writes
        fp = mod.iterate(
            *args, arrays.node_values, arrays.edge_values, tol, max_iter, damping=damping,
            init=state,
        )  # fmt: skip
        state, converged, iterations, residuals, message = (
            fp["state"],
            fp["converged"],
            fp["iterations"],
            fp["residuals"],
            fp["message"],
        )
    else:
        residuals, converged = [], False
        message = f"no convergence to tol={tol} in {max_iter} sweeps"
        for iterations in range(1, max_iter + 1):
            order = rng.permutation(n)
            change = mod.sweep_sequential(
                *args, state, arrays.node_values, arrays.edge_values, order, damping
            )
            residuals.append(change)
            if not np.isfinite(change):
                message = f"non-finite state at sweep {iterations}"
                break
            if change < tol:
                converged, message = True, f"converged in {iterations} sweeps"
                break
        residuals = np.array(residuals, dtype=float)
    marginals = np.empty((n, len(model.alphabet)))
    mod.graph_observables(*args, state, arrays.node_values, arrays.edge_values, marginals)
    result = MeanFieldResult(
        nodes=arrays.csr.nodes,
        alphabet=alphabet_values(model),
        marginals=marginals,
        state=state,
        moments=tuple(kernel.outputs),
        converged=bool(converged),
        iterations=int(iterations),
        residual=float(residuals[-1]) if len(residuals) else None,
        residuals=residuals,
        message=message,
    )
    return result.finish(strict)


@derive.memoized
def _derived(model):
    """The mean-field equations of ``model`` and their kernel, derived once per model content."""
    eqs = derive.meanfield(model)
    return eqs, numerics.compile(eqs)


def _initial_state(init, kernel, arrays, n, n_state, rng):
    if isinstance(init, str):
        if init not in ("random", "zero-field"):
            raise InputError(f"init must be 'random', 'zero-field' or an array, got {init!r}")
        n_fields = len(kernel.equations.aggregates)
        if init == "random":
            fields = rng.normal(size=(n_fields, n))
        else:
            fields = np.zeros((n_fields, n))
        out = kernel.array(*fields, *arrays.node_values.T)
        return np.ascontiguousarray(out.T)
    state = as_float_array(init, "init")
    if state.ndim == 1 and n_state == 1:
        state = state[:, None]
    if state.shape != (n, n_state):
        raise InputError(
            f"init must have shape ({n}, {n_state}) (nodes x moments "
            f"{kernel.outputs}), got {state.shape}"
        )
    if not np.all(np.isfinite(state)):
        raise InputError("init contains NaN or inf")
    return np.ascontiguousarray(state)
