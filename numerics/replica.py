"""Solve the replica-symmetric saddle point of :func:`derive.replica_symmetric`."""

import functools
from dataclasses import dataclass

import numpy as np

import derive

from .compile import compile
from .fixed_point import fixed_point
from .params import parameter_values

__all__ = ["replica_symmetric", "RSResult", "quadrature_order"]


@dataclass
class RSResult:
    """A replica-symmetric solution.

    Attributes
    ----------
    m, q, Q : float
        Magnetisation, Edwards--Anderson overlap and self-overlap (``Q`` is the
        constant ``sigma^2`` for Ising spins).
    free_energy, energy, entropy : float
        Per spin.
    at : float
        :math:`\\beta^2 J^2 \\mathbb{E}_z(\\langle\\sigma^2\\rangle - \\langle\\sigma\\rangle^2)^2`;
        the RS solution is stable (``at_stable``) while it is below 1.
    converged : bool
    iterations : int
    """

    m: float
    q: float
    Q: float
    free_energy: float
    energy: float
    entropy: float
    at: float
    converged: bool
    iterations: int
    message: str = ""

    @property
    def at_stable(self):
        """Replica symmetry is locally stable (de Almeida--Thouless)."""
        return self.at < 1.0

    @property
    def phase(self):
        """``"paramagnetic"``, ``"ferromagnetic"``, ``"spin glass"`` or ``"mixed"``
        (ferromagnetic with broken replica symmetry); thresholds 1e-6 on m and q."""
        if abs(self.m) > 1e-6:
            return "ferromagnetic" if self.at_stable else "mixed"
        return "spin glass" if self.q > 1e-6 else "paramagnetic"


def quadrature_order(beta, J, spread=2.0):
    """Trapezoid nodes on [-12, 12] with spacing <= 1 / (beta J spread).

    ``spread`` is :func:`derive.replica.coupling_spread` (2 for Ising spins):
    the weights of the site law change on that scale in the Gaussian variable.
    """
    return int(max(241, 2 * int(12 * beta * J * spread) + 1))


@functools.lru_cache(maxsize=64)
def _derived(model):
    """``derive.replica_symmetric(model)``, derived once per model object."""
    return derive.replica_symmetric(model)


def replica_symmetric(
    model,
    beta,
    J0=0.0,
    J=1.0,
    params=None,
    init="ordered",
    damping=0.0,
    tol=1e-12,
    max_iter=100_000,
    order=None,
):
    r"""Solve the RS equations of ``model`` with couplings :math:`N(J_0/N, J^2/N)`.

    Parameters
    ----------
    model : derive.PairwiseModel
        With a bilinear pair energy (else :class:`derive.ModelError`).
    beta : float
    J0, J : float
        Mean and standard deviation (times ``sqrt(N)``) of the couplings.
    params : dict, optional
        Node parameters (e.g. ``{"h": 0.0, "D": 0.5}``).
    init : {"ordered", "paramagnetic", "glassy"} or sequence
        Starting point: ``m = q = Q = 1`` (ordered), ``m = q = 0`` (paramagnetic),
        ``m = 0, q = 1`` (glassy), or explicit values in the state order.
    damping, tol, max_iter :
        Passed to :func:`numerics.fixed_point`: 300 plain (damped) iterations, then
        Anderson acceleration from there.
    order : int, optional
        Trapezoid nodes for the Gaussian expectations; default from
        :func:`quadrature_order`, fine enough for ``tanh(beta J z)``.

    Returns
    -------
    RSResult

    Examples
    --------
    >>> import sympy as sp
    >>> from derive import PairwiseModel
    >>> si, sj, K = sp.symbols("s_i s_j K", real=True)
    >>> sk = PairwiseModel((-1, 1), -K * si * sj, variables=(si, sj))
    >>> r = replica_symmetric(sk, beta=0.5)          # T = 2 J: paramagnet
    >>> r.phase, round(r.energy, 12)                 # u = -beta J^2 / 2
    ('paramagnetic', -0.25)
    """
    eqs = _derived(model)
    beta = float(beta)
    if not np.isfinite(beta) or beta <= 0:
        raise ValueError(f"beta must be a finite positive number, got {beta}")
    if not J > 0:
        raise ValueError(f"J (the coupling spread) must be positive, got {J}")
    spread = float(derive.replica.coupling_spread(model))
    kernel = compile(eqs, order=order or quadrature_order(beta, J, spread))
    node = parameter_values(eqs.params[3:], params)
    values = [beta, float(J0), float(J)] + list(node.values())
    n = len(eqs.inputs)
    starts = {
        "ordered": [1.0] * n,
        "paramagnetic": [0.0, 0.0] + [1.0] * (n - 2),
        "glassy": [0.0] + [1.0] * (n - 1),
    }
    x0 = starts[init] if isinstance(init, str) and init in starts else init
    if isinstance(x0, str):
        raise ValueError(f"init must be one of {sorted(starts)} or a sequence, got {init!r}")
    x0 = np.array(x0, dtype=float)
    if x0.shape != (n,):
        raise ValueError(f"init must have {n} values {[s.name for s in eqs.inputs]}")

    def step(x):
        x = x.copy()
        x[1] = max(x[1], 0.0)  # q is a variance: keep sqrt(q) real while iterating
        return np.array(kernel.module.outputs(*x, *values))

    # Plain iterations first, Anderson acceleration after: started from afar, Anderson steps
    # were seen to jump onto the m = 0 fixed point, unstable towards m, in the mixed phase
    # (J0 = 1.2, T = 0.4); near a fixed point it only speeds up the critical slowing down.
    warm = fixed_point(step, x0, damping=damping, tol=tol, max_iter=min(300, max_iter))
    fp = (
        warm
        if warm.converged
        else fixed_point(step, warm.x, damping=damping, tol=tol, max_iter=max_iter, anderson=5)
    )
    fp.iterations += 0 if fp is warm else warm.iterations
    state = fp.x
    obs = dict(zip(kernel.observables, kernel.module.observables(*state, *values)))
    Q = state[2] if n == 3 else obs["Q"]
    return RSResult(
        m=float(state[0]),
        q=float(state[1]),
        Q=float(Q),
        free_energy=obs["f"],
        energy=obs["u"],
        entropy=obs["s"],
        at=obs["AT"],
        converged=fp.converged,
        iterations=fp.iterations,
        message=fp.message,
    )
