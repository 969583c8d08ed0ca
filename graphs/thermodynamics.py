r"""Free energy of a pairwise model on a graph by thermodynamic integration of Monte Carlo energies.

Monte Carlo gives the mean energy, not the free energy. Since
:math:`\partial(\beta F)/\partial\beta = \langle E\rangle_\beta` and at :math:`\beta = 0` every
configuration is equally likely, :math:`\beta F(0) = -N\ln q`,

.. math::
    \beta f(\beta) = -\ln q + \int_0^\beta u(\beta')\,d\beta',
    \qquad u = \langle E\rangle / N ,

integrated by the trapezoid rule over a grid of :math:`\beta` (Binder & Heermann, *Monte Carlo
Simulation in Statistical Physics*, §2.3.4; Frenkel & Smit, *Understanding Molecular
Simulation*, §7.1). :math:`u(0)`, the energy of the uniform measure, comes from the model's
energy tables, not from a simulation. The error of :math:`\beta f` has two parts: the Monte
Carlo standard errors of :math:`u` propagated through the trapezoid weights (the runs are
independent), and the discretisation error estimated by Richardson's rule,
:math:`|I_h - I_{2h}|/3`, from the trapezoid over every other grid point.
"""

import math
from dataclasses import dataclass, field

import numpy as np

from numerics import InputError, SimulationResult

from .montecarlo import monte_carlo
from .tables import energy_tables

__all__ = ["thermodynamic_integration", "ThermodynamicResult", "uniform_energy"]


@dataclass(kw_only=True, repr=False)
class ThermodynamicResult(SimulationResult):
    r"""Free energy per spin along a grid of inverse temperatures.

    Attributes
    ----------
    beta : ndarray
        The grid (increasing, > 0; the interval from 0 uses ``energy0``).
    energy, energy_error : ndarray
        Monte Carlo energy per spin and its batch-means standard error at each ``beta``.
    energy0 : float
        Energy per spin of the uniform measure (``beta = 0``).
    beta_f0 : float
        :math:`\beta f(0) = -\ln q`.
    beta_f : ndarray
        :math:`\beta f` per spin at each ``beta``.
    statistical, discretisation : ndarray
        The two parts of the error of ``beta_f`` (see the module docstring).
    n_nodes : int
    runs : list of MonteCarloResult
        The Monte Carlo runs, one per ``beta`` (each started from the previous configuration).
    """

    beta: np.ndarray = field(default_factory=lambda: np.zeros(0))
    energy: np.ndarray = field(default_factory=lambda: np.zeros(0))
    energy_error: np.ndarray = field(default_factory=lambda: np.zeros(0))
    energy0: float = 0.0
    beta_f0: float = 0.0
    beta_f: np.ndarray = field(default_factory=lambda: np.zeros(0))
    statistical: np.ndarray = field(default_factory=lambda: np.zeros(0))
    discretisation: np.ndarray = field(default_factory=lambda: np.zeros(0))
    n_nodes: int = 0
    runs: list = field(default_factory=list, repr=False)

    @property
    def error(self):
        """Error bar of ``beta_f``: statistical + discretisation."""
        return self.statistical + self.discretisation

    @property
    def free_energy(self):
        """Free energy per spin :math:`f = \\beta f / \\beta`."""
        return self.beta_f / self.beta

    @property
    def free_energy_error(self):
        """Error bar of ``free_energy``."""
        return self.error / self.beta

    def to_dict(self):
        out = super().to_dict()
        out["runs"] = len(self.runs)
        out["free_energy"] = self.free_energy.tolist()
        out["free_energy_error"] = self.free_energy_error.tolist()
        return out


def uniform_energy(model, G, params=None):
    """Energy per spin of the uniform measure (``beta = 0``): every edge contributes the mean of
    ``e(a, b)`` over the alphabet squared, every node the mean of ``phi(a)``.

    Parameters come from node/edge attributes, else ``params``.

    Examples
    --------
    >>> import networkx as nx, sympy as sp
    >>> from derive import PairwiseModel
    >>> si, sj, J, h = sp.symbols("s_i s_j J h", real=True)
    >>> ising = PairwiseModel((-1, 1), -J * si * sj, -h * si, variables=(si, sj))
    >>> uniform_energy(ising, nx.cycle_graph(4), {"J": 1.0, "h": 0.5})
    0.0
    """
    field_table, pair_table, csr = energy_tables(model, G, params)
    total = field_table.mean(axis=1).sum() + pair_table.mean(axis=(1, 2)).sum()
    return float(total / csr.n_nodes)


def _trapezoid(b, y):
    """Cumulative trapezoid integral of ``y(b)``, starting at 0 at ``b[0]``."""
    return np.concatenate([[0.0], np.cumsum(np.diff(b) * (y[1:] + y[:-1]) / 2)])


def _integrate(betas, u, u_err, u0, beta_f0):
    """``beta f`` on the grid, its statistical and discretisation errors."""
    b = np.concatenate([[0.0], betas])
    y = np.concatenate([[u0], u])
    fine = _trapezoid(b, y)
    # the integral up to grid point K weights u_k by half of each interval it bounds
    err = np.concatenate([[0.0], u_err])
    half = np.diff(b) / 2
    var = np.zeros(b.size)
    for K in range(1, b.size):
        w = np.zeros(K + 1)
        w[:-1] += half[:K]
        w[1:] += half[:K]
        var[K] = np.sum((w * err[: K + 1]) ** 2)
    coarse_idx = np.arange(0, b.size, 2)
    coarse = _trapezoid(b[coarse_idx], y[coarse_idx])
    richardson = np.abs(fine[coarse_idx] - coarse) / 3.0
    disc = np.interp(b, b[coarse_idx], richardson)
    return beta_f0 + fine[1:], np.sqrt(var[1:]), disc[1:]


def thermodynamic_integration(
    model,
    G,
    betas,
    params=None,
    *,
    sweeps=2000,
    burn_in=None,
    method="metropolis",
    n_blocks=20,
    seed=0,
    strict=False,
):
    r"""Free energy per spin by Monte Carlo and thermodynamic integration from ``beta = 0``.

    .. math:: \beta f(\beta) = -\ln q + \int_0^\beta u(\beta')\,d\beta'

    Monte Carlo (:func:`graphs.monte_carlo`) runs at each ``beta`` in increasing order, each
    started from the previous configuration (cooling); the integral is the trapezoid rule over
    ``[0] + betas`` with :math:`u(0)` from :func:`uniform_energy`.

    Parameters
    ----------
    model : derive.PairwiseModel
    G : networkx.Graph
        Parameters from node/edge attributes, else ``params``.
    betas : array
        Increasing grid of inverse temperatures, > 0. Finer where ``u`` bends: the
        discretisation error is reported.
    params : dict, optional
    sweeps, burn_in, method, n_blocks
        Passed to :func:`graphs.monte_carlo` at every ``beta``.
    seed : int
        The run at ``betas[k]`` is seeded by the ``k``-th integer drawn from
        ``numpy.random.SeedSequence(seed)``.
    strict : bool
        Raise :class:`~numerics.ConvergenceError` if a Monte Carlo run fails.

    Returns
    -------
    ThermodynamicResult

    Examples
    --------
    >>> import networkx as nx, sympy as sp
    >>> from derive import PairwiseModel
    >>> si, sj, J = sp.symbols("s_i s_j J", real=True)
    >>> ising = PairwiseModel((-1, 1), -J * si * sj, variables=(si, sj))
    >>> r = thermodynamic_integration(ising, nx.path_graph(6), np.linspace(0.05, 0.5, 10),
    ...                               {"J": 1.0}, sweeps=2000, seed=1)
    >>> exact = -math.log(2) - 5 / 6 * math.log(math.cosh(0.5))  # an open chain: 2 cosh^(N-1)
    >>> bool(abs(r.beta_f[-1] - exact) < 5 * r.error[-1])
    True
    """
    betas = np.asarray(betas, dtype=float)
    if (
        betas.ndim != 1
        or betas.size < 2
        or not np.all(np.isfinite(betas))
        or betas[0] <= 0
        or np.any(np.diff(betas) <= 0)
    ):
        raise InputError(
            "betas must be an increasing 1-d grid of at least 2 finite values > 0, "
            f"got {np.array2string(betas, threshold=6)}"
        )
    if not isinstance(seed, (int, np.integer)):
        raise InputError(f"seed must be an integer, got {seed!r}")
    n = G.number_of_nodes()
    if n == 0:
        raise InputError("the graph has no nodes")
    u0 = uniform_energy(model, G, params)
    seeds = np.random.SeedSequence(int(seed)).generate_state(betas.size) % (2**31 - 1)
    runs, u, u_err, failed = [], [], [], []
    config = "random"
    for k, beta in enumerate(betas):
        r = monte_carlo(
            model,
            G,
            float(beta),
            params=params,
            sweeps=sweeps,
            burn_in=burn_in,
            method=method,
            init=config,
            seed=int(seeds[k]),
            n_blocks=n_blocks,
        )
        config = r.configuration
        e, e_err = r.mean_energy()
        if not getattr(r, "converged", True) or not (math.isfinite(e) and math.isfinite(e_err)):
            failed.append(float(beta))
        runs.append(r)
        u.append(e / n)
        u_err.append(e_err / n)
    u, u_err = np.array(u), np.array(u_err)
    beta_f0 = -math.log(len(model.alphabet))
    beta_f, stat, disc = _integrate(betas, u, u_err, u0, beta_f0)
    ok = not failed
    result = ThermodynamicResult(
        converged=ok,
        iterations=int(betas.size),
        residual=float(stat[-1] + disc[-1]),
        message=(
            f"{betas.size} temperatures, {sweeps} sweeps each; error of beta f at the last: "
            f"statistical {stat[-1]:.2g}, discretisation {disc[-1]:.2g}"
            if ok
            else f"Monte Carlo failed (non-finite energy) at beta = {failed[:5]}"
        ),
        seed=int(seed),
        beta=betas,
        energy=u,
        energy_error=u_err,
        energy0=u0,
        beta_f0=beta_f0,
        beta_f=beta_f,
        statistical=stat,
        discretisation=disc,
        n_nodes=n,
        runs=runs,
    )
    return result.finish(strict)
