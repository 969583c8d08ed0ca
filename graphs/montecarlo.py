"""Single-site Monte Carlo of any pairwise model on any graph, as a generated numba kernel.

The local energies of a site, :math:`E_i(a) = \\phi(a) - \\sum_l f_l(a) H_l` with
fields summed over the CSR neighbours, come from :func:`derive.local_energy`
and the Markov chain around them is generated into the same compiled module
(:mod:`numerics.codegen`, ``mc_sweeps``):
Metropolis (propose one of the other states uniformly, accept with
:math:`\\min(1, e^{-\\beta \\Delta E})`) or heat-bath (draw the new state from
:math:`\\propto e^{-\\beta E_i(a)}`), sweeping the sites in order.
"""

import functools
from dataclasses import dataclass

import numpy as np

import derive
import numerics

from ._common import alphabet_values, check_beta, check_model, graph_arrays
from .results import GraphResult
from .tables import energy_tables

__all__ = ["monte_carlo", "MonteCarloResult", "METHODS"]

METHODS = ("metropolis", "heat-bath")


@dataclass
class MonteCarloResult(GraphResult):
    """A Monte Carlo run.

    ``marginals`` are visit frequencies after ``burn_in``; their statistical
    error is estimated by batch means over ``n_blocks`` equal blocks of sweeps
    (valid when a block is longer than the autocorrelation time).

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


@functools.lru_cache(maxsize=64)
def _sampler(model):
    """The local-energy equations of ``model`` and their compiled module, whose generated
    ``mc_seed`` and ``mc_sweeps`` (:mod:`numerics.codegen`) run the chain."""
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
        Number of sweeps; one sweep visits every node once, in node order.
    burn_in : int, optional
        Sweeps discarded from the averages; default ``sweeps // 5``.
    method : {"metropolis", "heat-bath"}
    init : "random" or array of alphabet values, one per node
    seed : int, optional
        Seeds numba's generator: equal seeds give equal runs.
    n_blocks : int
        Blocks for the batch-means error bars.

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
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    sweeps = int(sweeps)
    burn_in = sweeps // 5 if burn_in is None else int(burn_in)
    if not 0 <= burn_in < sweeps or sweeps - burn_in < n_blocks or n_blocks < 2:
        raise ValueError(
            f"need 0 <= burn_in < sweeps and at least n_blocks >= 2 sweeps after "
            f"burn-in; got sweeps={sweeps}, burn_in={burn_in}, n_blocks={n_blocks}"
        )
    eqs, sampler = _sampler(model)
    arrays = graph_arrays(G, eqs, params)
    values = alphabet_values(model)
    q, n = values.size, arrays.csr.n_nodes
    rng = np.random.default_rng(seed)
    if isinstance(init, str):
        if init != "random":
            raise ValueError(f"init must be 'random' or an array of alphabet values, got {init!r}")
        spins = rng.integers(q, size=n)
    else:
        init = np.asarray(init, dtype=float)
        if init.shape != (n,):
            raise ValueError(f"init must have one value per node ({n}), got shape {init.shape}")
        match = init[:, None] == values[None, :]
        if not match.any(axis=1).all():
            bad = init[~match.any(axis=1)][0]
            raise ValueError(f"init value {bad} is not in the alphabet {tuple(values)}")
        spins = match.argmax(axis=1)
    spins = spins.astype(np.int64)
    state = values[spins][:, None].copy()
    field, pair, csr = energy_tables(model, G, params, csr=arrays.csr)
    energy0 = float(
        field[np.arange(n), spins].sum()
        + pair[np.arange(csr.n_edges), spins[csr.edges[:, 0]], spins[csr.edges[:, 1]]].sum()
    )
    counts = np.zeros((n_blocks, n, q))
    energies, mags = np.empty(sweeps), np.empty(sweeps)
    sampler.mc_seed(int(rng.integers(2**31 - 1)))
    accepted = sampler.mc_sweeps(
        *arrays.graph_args,
        state,
        arrays.node_values,
        arrays.edge_values,
        values,
        spins,
        beta,
        sweeps,
        method == "heat-bath",
        burn_in,
        counts,
        energy0,
        energies,
        mags,
    )
    block = counts / counts.sum(axis=2, keepdims=True)
    marginals = counts.sum(axis=0) / counts.sum(axis=(0, 2))[:, None]
    error = block.std(axis=0, ddof=1) / np.sqrt(n_blocks)
    return MonteCarloResult(
        csr.nodes,
        values,
        marginals,
        marginals_error=error,
        energy=energies,
        magnetization_series=mags,
        configuration=values[spins],
        acceptance=accepted / (sweeps * n),
        burn_in=burn_in,
        beta=beta,
        block_marginals=block,
    )
