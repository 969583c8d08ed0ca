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

from dataclasses import dataclass, field

import numpy as np

import derive

from .compile import compile
from .errors import InputError
from .results import Result

__all__ = ["tap", "TAPResult"]


@dataclass(kw_only=True, repr=False)
class TAPResult(Result):
    """A TAP / AMP solution (and the common fields of :class:`numerics.Result`).

    Attributes
    ----------
    m, V : ndarray, shape (N,)
        Per-site mean and variance of :math:`\\sigma`.
    residuals : ndarray
        ``max_i |m_i^{t+1} - m_i^t|`` per iteration.
    seed : object
        The seed of the random start (``None`` for a given ``init``).
    """

    m: np.ndarray = field(default_factory=lambda: np.zeros(0))
    V: np.ndarray = field(default_factory=lambda: np.zeros(0))
    seed: object = None


def _node_columns(names, params, n):
    """One column of length ``n`` per node parameter, by name."""
    given = {str(k): v for k, v in dict(params or {}).items()}
    unknown = sorted(set(given) - set(names))
    if unknown:
        raise InputError(
            f"params: {unknown} are not node parameters of the model; they are {list(names)}"
        )
    columns = {}
    for name in names:
        if name not in given:
            raise InputError(f"params: no value for node parameter {name!r}")
        try:
            value = np.broadcast_to(np.asarray(given[name], dtype=float), (n,))
        except (TypeError, ValueError):
            raise InputError(
                f"params[{name!r}] must be a number or an array of length {n}"
            ) from None
        if not np.all(np.isfinite(value)):
            raise InputError(f"params[{name!r}] contains NaN or inf")
        columns[name] = value
    return columns


@derive.memoized
def _derived(model):
    """The TAP site law of ``model``, its kernel and its symbols by meaning, derived once
    per model (keyed by content)."""
    eqs = derive.tap(model)
    names = {k: s.name for k, s in derive.replica.tap_symbols(model).items()}
    return eqs, compile(eqs), names


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
    strict=False,
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
        Node parameters by name: a number or an array of length ``N`` each.
    method : {"amp", "tap"}
    damping : float in [0, 1)
    tol : float
        Converged when no ``m_i`` changes by more than ``tol``.
    max_iter : int
    init : array, optional
        Starting magnetisations; default small random values (``seed``).
    seed : int or numpy.random.Generator, optional
    strict : bool
        Raise :class:`numerics.ConvergenceError` instead of returning ``converged=False``.

    Returns
    -------
    TAPResult

    Raises
    ------
    numerics.InputError
        For a coupling matrix that is not square, symmetric with a zero diagonal and
        finite, a bad ``beta``, ``method``, ``damping`` or ``init``, or a missing or
        unknown node parameter.
    """
    K = np.asarray(couplings, dtype=float)
    if K.ndim != 2 or K.shape[0] != K.shape[1]:
        raise InputError(f"couplings must be a square matrix, got shape {K.shape}")
    if not np.all(np.isfinite(K)):
        raise InputError("couplings contain NaN or inf")
    if not np.allclose(K, K.T) or np.any(np.diag(K) != 0):
        raise InputError("couplings must be symmetric with a zero diagonal")
    beta = float(beta)
    if not np.isfinite(beta) or beta <= 0:
        raise InputError(f"beta must be a finite positive number, got {beta}")
    if method not in ("amp", "tap"):
        raise InputError(f"method must be 'amp' or 'tap', got {method!r}")
    if not 0.0 <= damping < 1.0:
        raise InputError(f"damping must be in [0, 1), got {damping}")
    eqs, kernel, names = _derived(model)
    n = K.shape[0]
    columns = _node_columns(kernel.names("node_param"), params, n)
    K2 = K * K
    rng = np.random.default_rng(seed)
    m = rng.uniform(-0.1, 0.1, n) if init is None else np.array(init, dtype=float)
    if m.shape != (n,):
        raise InputError(f"init must have shape ({n},), got {m.shape}")
    out = {s: k for k, s in enumerate(kernel.outputs)}
    i_m, i_V = out[names["m"]], out[names["V"]]
    fixed = {names["beta"]: np.full(n, beta), **columns}

    def site(H, L):
        r = kernel.array(**fixed, **{names["H"]: H, names["Lambda"]: L})
        return r[i_m], r[i_V]

    m_prev = np.zeros(n)
    m, V = site(K @ m, K2 @ np.ones(n))  # start from a consistent (m, V)
    residuals, converged = [], False
    message = f"no convergence to tol={tol} in {max_iter} iterations"
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
    result = TAPResult(
        m=m,
        V=V,
        seed=seed if init is None else None,
        converged=converged,
        iterations=it,
        residual=residuals[-1] if residuals else None,
        residuals=np.array(residuals),
        message=message,
    )
    return result.finish(strict)
