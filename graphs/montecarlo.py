"""Single-site Monte Carlo of any pairwise model on any graph, as a generated numba kernel.

The local energies of a site, :math:`E_i(a) = \\phi(a) - \\sum_l f_l(a) H_l` with
fields summed over the CSR neighbours, come from :func:`derive.local_energy`
and the Markov chain around them is generated into the same compiled module
(:mod:`numerics.codegen`, ``mc_sweeps``):
Metropolis (propose one of the other states uniformly, accept with
:math:`\\min(1, e^{-\\beta \\Delta E})`) or heat-bath (draw the new state from
:math:`\\propto e^{-\\beta E_i(a)}`), sweeping the sites in order.
"""

from dataclasses import dataclass

import numpy as np

import derive
import numerics

from ._common import (
    InputError,
    alphabet_values,
    as_float_array,
    check_beta,
    check_energy_scale,
    check_int,
    check_model,
    check_params,
    check_tol,
    graph_arrays,
    seeded_rng,
)
from .results import GraphResult
from .tables import energy_tables

__all__ = ["monte_carlo", "MonteCarloResult", "METHODS"]

METHODS = ("metropolis", "heat-bath")


@dataclass(kw_only=True, repr=False)
class MonteCarloResult(GraphResult, numerics.SimulationResult):
    """A Monte Carlo run (a :class:`numerics.SimulationResult`: it records its ``seed``).

    ``marginals`` are visit frequencies after ``burn_in``; their statistical
    error is estimated by batch means over ``n_blocks`` equal blocks of sweeps
    (valid when a block is longer than the autocorrelation time). ``converged``
    is True when the run completed and, if a ``tol`` was asked for, the largest
    standard error of a marginal (``residual``) is within it.

    Attributes
    ----------
    marginals_error : ndarray, shape (n_nodes, q)
        Standard error of ``marginals`` (batch means).
    energy, magnetization_series : ndarray, shape (sweeps,)
        Total energy and mean of ``s`` over nodes after each sweep.
    configuration : ndarray
        The final values of the spins, in node order.
    acceptance : float
        Fraction of accepted single-site moves.
    """

    marginals_error: np.ndarray = None
    energy: np.ndarray = None
    magnetization_series: np.ndarray = None
    configuration: np.ndarray = None
    acceptance: float = 0.0
    burn_in: int = 0
    beta: float = 0.0
    block_marginals: np.ndarray = None

    @property
    def magnetization_error(self):
        """Standard error of ``magnetization`` per node (batch means)."""
        per_block = self.block_marginals @ self.alphabet
        return per_block.std(axis=0, ddof=1) / np.sqrt(per_block.shape[0])

    def mean_energy(self):
        """Mean energy after burn-in and its batch-means standard error."""
        e = self.energy[self.burn_in :]
        blocks = np.array_split(e, self.block_marginals.shape[0])
        means = np.array([b.mean() for b in blocks])
        return float(e.mean()), float(means.std(ddof=1) / np.sqrt(means.size))

    def mean_abs_magnetization(self):
        r"""Mean of :math:`|M|/N` after burn-in and its batch-means standard error.

        .. math:: \langle |m| \rangle = \frac{1}{n} \sum_{t > t_0} \Big| \frac{1}{N}
            \sum_i s_i(t) \Big|

        over the ``n`` sweeps ``t`` after ``t_0 = burn_in`` (``magnetization_series``); the
        error is the standard deviation of the block means over ``sqrt(n_blocks)``. The order
        parameter of a finite system whose signed magnetisation averages to zero by symmetry
        (Binder & Heermann, *Monte Carlo Simulation in Statistical Physics*).
        """
        series = np.abs(self.magnetization_series[self.burn_in :])
        blocks = np.array_split(series, self.block_marginals.shape[0])
        means = np.array([b.mean() for b in blocks])
        return float(series.mean()), float(means.std(ddof=1) / np.sqrt(means.size))


@derive.memoized
def _sampler(model):
    """The local-energy equations of ``model`` and their compiled module, whose generated
    ``mc_chain`` (:mod:`numerics.codegen`) runs the chain."""
    eqs = derive.local_energy(model)
    return eqs, numerics.compile(eqs).module


def monte_carlo(
    model,
    G,
    beta,
    params=None,
    sweeps=1000,
    burn_in=None,
    method="metropolis",
    init="random",
    seed=None,
    n_blocks=20,
    tol=None,
    strict=False,
):
    r"""Single-site Monte Carlo of :math:`P(s) \propto e^{-\beta E(s)}` on ``G``.

    Parameters
    ----------
    model : derive.PairwiseModel
    G : networkx.Graph
        Parameters are read from node/edge attributes, falling back to ``params``.
    beta : float
        Inverse temperature, > 0.
    params : dict, optional
    sweeps : int
        Number of sweeps; a heat-bath sweep visits every node once, in node order, a
        Metropolis sweep visits ``n`` nodes drawn at random (random scan).
    burn_in : int, optional
        Sweeps discarded from the averages; default ``sweeps // 5``.
    method : {"metropolis", "heat-bath"}
    init : "random" or array of alphabet values, one per node
    seed : int or numpy.random.Generator, optional
        Every random number comes from ``numpy.random.default_rng(seed)`` (the
        initial state, and the integer that seeds the compiled chain): equal
        seeds give equal runs. The result records it (None: a fresh seed, recorded).
    n_blocks : int
        Blocks for the batch-means error bars.
    tol : float, optional
        Largest acceptable standard error of a marginal; a run whose error bars
        are wider reports ``converged=False``. Default: no requirement.
    strict : bool
        Raise :class:`numerics.ConvergenceError` instead of returning
        ``converged=False``.

    Returns
    -------
    MonteCarloResult

    Examples
    --------
    >>> import networkx as nx, sympy as sp
    >>> from derive import PairwiseModel
    >>> si, sj, J = sp.symbols("s_i s_j J", real=True)
    >>> ising = PairwiseModel((-1, 1), -J * si * sj, variables=(si, sj))
    >>> r = monte_carlo(ising, nx.cycle_graph(8), beta=0.5, params={"J": 1.0}, sweeps=200, seed=0)
    >>> r.marginals.shape, r.energy.shape
    ((8, 2), (200,))
    """
    check_model(model)
    beta = check_beta(beta)
    params = check_params(model, params)
    if method not in METHODS:
        raise InputError(f"method must be one of {METHODS}, got {method!r}")
    sweeps, n_blocks = check_int("sweeps", sweeps, 1), check_int("n_blocks", n_blocks, 2)
    burn_in = sweeps // 5 if burn_in is None else check_int("burn_in", burn_in, 0)
    tol = None if tol is None else check_tol(tol)
    if not 0 <= burn_in < sweeps or sweeps - burn_in < n_blocks or n_blocks < 2:
        raise InputError(
            f"need 0 <= burn_in < sweeps and at least n_blocks >= 2 sweeps after "
            f"burn-in; got sweeps={sweeps}, burn_in={burn_in}, n_blocks={n_blocks}"
        )
    eqs, sampler = _sampler(model)
    arrays = graph_arrays(G, eqs, params)
    values = alphabet_values(model)
    q, n = values.size, arrays.csr.n_nodes
    rng, recorded_seed = seeded_rng(seed)
    if isinstance(init, str):
        if init != "random":
            raise InputError(f"init must be 'random' or an array of alphabet values, got {init!r}")
        spins = rng.integers(q, size=n)
    else:
        init = as_float_array(init, "init")
        if init.shape != (n,):
            raise InputError(f"init must have one value per node ({n}), got shape {init.shape}")
        match = init[:, None] == values[None, :]
        if not match.any(axis=1).all():
            bad = init[~match.any(axis=1)][0]
            raise InputError(f"init value {bad} is not in the alphabet {tuple(values)}")
        spins = match.argmax(axis=1)
    spins = spins.astype(np.int64)
    field, pair, csr = energy_tables(model, G, params, csr=arrays.csr)
    check_energy_scale(field, pair, beta)
    energy0 = float(
        field[np.arange(n), spins].sum()
        + pair[np.arange(csr.n_edges), spins[csr.edges[:, 0]], spins[csr.edges[:, 1]]].sum()
    )
    # the generated driver (numerics.codegen): the one that numerics.export writes
    chain = sampler.mc_chain(
        *arrays.graph_args,
        arrays.node_values,
        arrays.edge_values,
        values,
        beta,
        sweeps,
        seed=rng,
        heat_bath=method == "heat-bath",
        burn_in=burn_in,
        n_blocks=n_blocks,
        init=spins,
        energy0=energy0,
    )
    counts, energies, mags = chain["counts"], chain["energy"], chain["magnetization"]
    block = counts / counts.sum(axis=2, keepdims=True)
    marginals = chain["marginals"]
    error = block.std(axis=0, ddof=1) / np.sqrt(n_blocks)
    largest = float(error.max(initial=0.0))
    converged = bool(np.all(np.isfinite(energies)) and (tol is None or largest <= tol))
    if not np.all(np.isfinite(energies)):
        message = "the energy became non-finite during the run"
    elif tol is not None and not converged:
        message = (
            f"largest standard error of a marginal {largest:.3g} exceeds tol={tol} after "
            f"{sweeps} sweeps: run longer"
        )
    else:
        message = f"{sweeps} sweeps ({burn_in} burn-in), largest standard error {largest:.3g}"
    result = MonteCarloResult(
        converged=converged,
        iterations=sweeps,
        residual=largest,
        message=message,
        seed=recorded_seed,
        nodes=csr.nodes,
        alphabet=values,
        marginals=marginals,
        marginals_error=error,
        energy=energies,
        magnetization_series=mags,
        configuration=chain["configuration"],
        acceptance=chain["acceptance"],
        burn_in=burn_in,
        beta=beta,
        block_marginals=block,
    )
    return result.finish(strict)
