r"""TAP / AMP for dense pairwise models (SK instances), from :func:`derive.tap`.

Iterates the site law of :func:`derive.tap` with the fields formed by matrix
products:

.. math::
    H^t = K m^t - \beta\, m^{t-1} \circ (K\circ K) V^t,\qquad
    \Lambda^t = (K\circ K) V^t,\qquad (m^{t+1}, V^{t+1}) = \mathrm{site}(H^t, \Lambda^t)

(``method="amp"``: the Onsager reaction term with the previous time index,
Bolthausen, Commun. Math. Phys. 325, 333 (2014)), or with :math:`m^t` in the
reaction term and damping (``method="tap"``, the plain TAP fixed point).
"""

import functools
from dataclasses import dataclass

import numpy as np

import derive

from .compile import compile

__all__ = ["tap", "TAPResult"]


@dataclass
class TAPResult:
    """A TAP / AMP solution: per-site ``m`` and variance ``V``; convergence record."""

    m: np.ndarray
    V: np.ndarray
    converged: bool
    iterations: int
    residuals: np.ndarray
    message: str = ""


def _node_columns(eqs, params, n):
    params = {str(k): v for k, v in dict(params or {}).items()}
    columns = []
    for p in eqs.params[1:]:
        if p.name not in params:
            raise ValueError(f"params: no value for node parameter {p.name!r}")
        value = np.broadcast_to(np.asarray(params[p.name], dtype=float), (n,))
        if not np.all(np.isfinite(value)):
            raise ValueError(f"params[{p.name!r}] contains NaN or inf")
        columns.append(value)
    return columns


@functools.lru_cache(maxsize=64)
def _derived(model):
    """The TAP site law of ``model`` and its kernel, derived once per model object."""
    eqs = derive.tap(model)
    return eqs, compile(eqs)


def tap(
    model,
    couplings,
    beta,
    params=None,
    method="amp",
    damping=0.0,
    tol=1e-10,
    max_iter=1000,
    init=None,
    seed=None,
):
    r"""Solve the TAP equations of ``model`` on a dense coupling matrix.

    Parameters
    ----------
    model : derive.PairwiseModel
        With a bilinear pair energy ``-K sigma(s_i) sigma(s_j)``.
    couplings : ndarray, shape (N, N)
        Symmetric, zero diagonal: ``K_ij``.
    beta : float
    params : dict, optional
        Node parameters: a number or an array of length ``N`` each.
    method : {"amp", "tap"}
    damping : float in [0, 1)
    tol : float
        Converged when no ``m_i`` changes by more than ``tol``.
    max_iter : int
    init : array, optional
        Starting magnetisations; default small random values (``seed``).

    Returns
    -------
    TAPResult
    """
    K = np.asarray(couplings, dtype=float)
    if K.ndim != 2 or K.shape[0] != K.shape[1]:
        raise ValueError(f"couplings must be a square matrix, got shape {K.shape}")
    if not np.all(np.isfinite(K)):
        raise ValueError("couplings contain NaN or inf")
    if not np.allclose(K, K.T) or np.any(np.diag(K) != 0):
        raise ValueError("couplings must be symmetric with a zero diagonal")
    beta = float(beta)
    if not np.isfinite(beta) or beta <= 0:
        raise ValueError(f"beta must be a finite positive number, got {beta}")
    if method not in ("amp", "tap"):
        raise ValueError(f"method must be 'amp' or 'tap', got {method!r}")
    if not 0.0 <= damping < 1.0:
        raise ValueError(f"damping must be in [0, 1), got {damping}")
    eqs, kernel = _derived(model)
    n = K.shape[0]
    nodes = _node_columns(eqs, params, n)
    K2 = K * K
    rng = np.random.default_rng(seed)
    m = rng.uniform(-0.1, 0.1, n) if init is None else np.array(init, dtype=float)
    if m.shape != (n,):
        raise ValueError(f"init must have shape ({n},), got {m.shape}")
    beta_col = np.full(n, beta)
    site = lambda H, L: kernel.array(H, L, beta_col, *nodes)  # noqa: E731
    m_prev = np.zeros(n)
    m, V = site(K @ m, K2 @ np.ones(n))  # start from a consistent (m, V)
    residuals, converged, message = (
        [],
        False,
        f"no convergence to tol={tol} in {max_iter} iterations",
    )
    it = 0
    for it in range(1, int(max_iter) + 1):
        Lam = K2 @ V
        reaction = m_prev if method == "amp" else m
        new_m, new_V = site(K @ m - beta * reaction * Lam, Lam)
        new_m = (1 - damping) * new_m + damping * m
        new_V = (1 - damping) * new_V + damping * V
        change = float(np.max(np.abs(new_m - m))) if n else 0.0
        residuals.append(change)
        if not np.all(np.isfinite(new_m)):
            message = f"non-finite magnetisations at iteration {it}; kept the last finite ones"
            break
        m_prev, m, V = m, new_m, new_V
        if change < tol:
            converged, message = True, f"converged in {it} iterations"
            break
    return TAPResult(m, V, converged, it, np.array(residuals), message)
