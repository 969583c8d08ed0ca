r"""Gaussian-equivalence moments as numbers, and the covariance the GET predicts.

:func:`get_moments` evaluates the moments :math:`(a, b, c)` that :func:`derive.get_moments`
derives: closed forms at 30 digits, the expectations the Gaussian rules leave by quadrature
to ``tol`` (1e-12 by default): the integrand is compiled once (numba, through
:func:`numerics.compile`), integrated by the truncated trapezoidal rule on ``[-12, 12]`` at
two step sizes (exponentially convergent for analytic integrands; the difference is the
error estimate), and, where the two disagree (a kink) or the integrand is not negligible at
the ends (fast growth), by adaptive quadrature (``scipy.integrate.quad``) on the real line.

:func:`get_covariance` is the Gaussian equivalence theorem's prediction for the
pre-activations :math:`\lambda_k = w_k \cdot (x - a) / \sqrt{N}` of a student on random
features :math:`x = f(C F / \sqrt{D})` (Goldt, Mézard, Krzakala, Zdeborová, PRX 10,
041044 (2020), arXiv:1909.11500); :func:`measured_covariance` is the same covariance
measured on data, with its sampling error.
"""

import warnings
from dataclasses import dataclass

import numpy as np
import sympy as sp
from scipy import integrate

import derive
from derive import Equations, GaussianExpectation

from .compile import compile
from .errors import InputError
from .printer import quadrature_rule
from .results import Result

__all__ = [
    "GETMomentsResult",
    "get_moments",
    "get_covariance",
    "measured_covariance",
    "evaluate_nonlinearity",
]

#: Trapezoidal orders (nested grids on [-12, 12]: the fine one contains the coarse one).
_ORDERS = (401, 801)
_EDGE = 12.0


@dataclass(kw_only=True, repr=False)
class GETMomentsResult(Result):
    r"""The moments ``(a, b, c)`` as floats; unpacks like a tuple: ``a, b, c = result``.

    Attributes
    ----------
    a, b, c : float
        :math:`\mathbb{E} f(u)`, :math:`\mathbb{E}\, u f(u)`, :math:`\mathbb{E} f(u)^2`.
    errors : tuple of float
        Estimated absolute error of each (0 for closed forms).
    exact : tuple of bool
        Which moments are closed forms.
    symbolic : tuple of str
        The moments as derived (closed forms, or expectations left for quadrature).
    """

    a: float
    b: float
    c: float
    errors: tuple = (0.0, 0.0, 0.0)
    exact: tuple = (True, True, True)
    symbolic: tuple = ()

    @property
    def kappa_star_squared(self):
        r""":math:`\kappa_\star^2 = c - a^2 - b^2`."""
        return self.c - self.a**2 - self.b**2

    @property
    def kappa_star(self):
        r""":math:`\kappa_\star = \sqrt{c - a^2 - b^2}` (0 for a linear ``f``, up to rounding)."""
        return float(np.sqrt(max(self.kappa_star_squared, 0.0)))

    def astuple(self):
        return (self.a, self.b, self.c)

    def __iter__(self):
        return iter(self.astuple())

    def __len__(self):
        return 3

    def __getitem__(self, k):
        return self.astuple()[k]


def _simple(node):
    """A one-variable expectation with nothing else free and nothing nested."""
    return (
        len(node.variables) == 1
        and not node.free_symbols
        and not node.integrand.has(GaussianExpectation)
    )


def _integrate_nodes(nodes, tol):
    """``{node: (value, error, how)}`` for one-variable expectations without free symbols."""
    t = sp.Symbol("t", real=True)
    outputs = {
        sp.Symbol(f"g_{k}", real=True): node.integrand.xreplace({node.variables[0]: t})
        for k, node in enumerate(nodes)
    }
    kernel = compile(Equations("GET integrands", "map", (t,), (), outputs))
    with np.errstate(all="ignore"):
        estimates = []
        for order in _ORDERS:
            z, w = quadrature_rule("trapezoid", order)
            estimates.append(kernel.array(z) @ w)
        ends = np.abs(kernel.array(np.array([-_EDGE, _EDGE]))).max(axis=1)
    tail = ends * np.exp(-(_EDGE**2) / 2) / np.sqrt(2 * np.pi)
    out = {}
    for k, node in enumerate(nodes):
        coarse, fine = estimates[0][k], estimates[1][k]
        error = abs(fine - coarse) if np.isfinite(fine) and np.isfinite(coarse) else np.inf
        if np.isfinite(fine) and error <= tol / 10 and tail[k] < tol / 100:
            out[node] = (float(fine), float(error), f"trapezoid ({_ORDERS[1]} nodes)")
            continue
        out[node] = _adaptive(kernel, k, tol)
    return out


def _adaptive(kernel, k, tol):
    """``E g_k`` by ``scipy.integrate.quad`` on both half-lines (a kink at 0 is a breakpoint)."""
    phi = 1 / np.sqrt(2 * np.pi)

    def weighted(t):
        value = kernel(t)
        value = value[k] if isinstance(value, tuple) else value
        return value * phi * np.exp(-t * t / 2) if np.isfinite(value) else value

    total, error = 0.0, 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", integrate.IntegrationWarning)
        for lo, hi in ((-np.inf, 0.0), (0.0, np.inf)):
            value, err = integrate.quad(weighted, lo, hi, epsabs=tol / 20, epsrel=0, limit=2000)
            total += value
            error += err
    if not np.isfinite(total):
        error = np.inf
    return float(total), float(error), "adaptive quadrature (scipy.integrate.quad)"


def get_moments(f, variable, tol=1e-12, strict=False):
    r"""The Gaussian-equivalence moments of ``f(variable)`` as floats.

    .. math::
        a = \mathbb{E}\, f(u), \quad b = \mathbb{E}\, u f(u), \quad c = \mathbb{E}\, f(u)^2,
        \qquad u \sim N(0, 1)

    Parameters
    ----------
    f : sympy expression
    variable : Symbol
    tol : float
        Absolute accuracy asked of the moments that need quadrature.
    strict : bool
        Raise :class:`~numerics.ConvergenceError` if a moment misses ``tol``.

    Returns
    -------
    GETMomentsResult
        ``a, b, c`` (also by unpacking), their error estimates, which were exact, and
        ``kappa_star_squared``; ``converged`` is False (with the reason in ``message``)
        when a quadrature missed ``tol``.

    Examples
    --------
    >>> import sympy as sp
    >>> u = sp.Symbol("u", real=True)
    >>> a, b, c = get_moments(sp.tanh(u), u)
    >>> a, round(b, 12), round(c, 12)
    (0.0, 0.605705509602, 0.394294490398)
    """
    if not tol > 0:
        raise InputError(f"tol must be positive, got {tol!r}")
    moments = derive.get_moments(f, variable)
    nodes = sorted(
        set().union(*(sp.sympify(m).atoms(GaussianExpectation) for m in moments)), key=str
    )
    values, errors, how = {}, {}, set()
    simple = [n for n in nodes if _simple(n)]
    if simple:
        for node, (value, error, method) in _integrate_nodes(simple, tol).items():
            values[node], errors[node] = value, error
            how.add(method)
    for node in nodes:
        if node not in values:  # several variables or nested: the compiled default rule
            kernel = compile(Equations("GET moment", "map", (), (), {sp.Symbol("m"): node}))
            values[node], errors[node] = float(kernel()), np.inf
            how.add("compiled quadrature (no error estimate)")
    holders = {node: sp.Symbol(f"_node{k}") for k, node in enumerate(nodes)}
    numbers, moment_errors = [], []
    for m in moments:
        m = sp.sympify(m)
        held = m.xreplace(holders)
        point = {holders[n]: values[n] for n in nodes}
        numbers.append(
            float(sp.N(held.subs(point), 30)) if held.free_symbols else float(sp.N(m, 30))
        )
        moment_errors.append(
            float(
                sum(
                    abs(float(sp.diff(held, holders[n]).subs(point))) * errors[n]
                    for n in nodes
                    if held.has(holders[n])
                )
            )
        )
    bad = [
        name
        for name, v, e in zip("abc", numbers, moment_errors)
        if not np.isfinite(v) or not e <= tol
    ]
    exact = tuple(not sp.sympify(m).has(GaussianExpectation) for m in moments)
    if bad:
        message = (
            f"quadrature missed tol = {tol:g} for {', '.join(bad)} "
            f"(error estimates {dict(zip('abc', moment_errors))}); "
            "the integrand may be singular or grow too fast"
        )
    else:
        message = "exact" if all(exact) else "quadrature: " + ", ".join(sorted(how))
    result = GETMomentsResult(
        a=numbers[0],
        b=numbers[1],
        c=numbers[2],
        errors=tuple(moment_errors),
        exact=exact,
        symbolic=tuple(str(m) for m in moments),
        converged=not bad,
        iterations=1,
        residual=max(moment_errors),
        message=message,
    )
    return result.finish(strict)


def _moments_abc(moments):
    try:
        a, b, c = (float(m) for m in moments)
    except (TypeError, ValueError):
        raise InputError(
            f"moments must be (a, b, c) numbers or a GETMomentsResult, got {moments!r}"
        ) from None
    if not all(np.isfinite((a, b, c))):
        raise InputError(f"moments must be finite, got {(a, b, c)}")
    return a, b, c


def _matrix(name, value, ndim=2):
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a numeric array, got {type(value).__name__}") from None
    if array.ndim == 1 and ndim == 2:
        array = array[None, :]
    if array.ndim != ndim:
        raise InputError(f"{name} must be a {ndim}-d array, got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise InputError(f"{name} has NaN or infinite entries")
    return array


def get_covariance(W, F, moments):
    r"""The covariance of the student pre-activations that the Gaussian equivalence theorem
    predicts.

    For features :math:`x_i = f(u_i)`, :math:`u_i = \sum_r C_r F_{ri} / \sqrt{D}` with
    :math:`C \sim N(0, I_D)` and students :math:`\lambda_k = w_k \cdot (x - a) / \sqrt{N}`:

    .. math::
        \mathbb{E}[\lambda_k \lambda_l] = (c - a^2 - b^2)\, W_{kl} + b^2\, \Sigma_{kl},
        \qquad W_{kl} = \frac{w_k \cdot w_l}{N}, \quad
        \Sigma_{kl} = \frac{1}{D} \sum_r S_{kr} S_{lr}, \quad
        S_{kr} = \frac{w_k \cdot F_r}{\sqrt{N}}

    (Goldt, Mézard, Krzakala, Zdeborová, arXiv:1909.11500, for centred features).

    Parameters
    ----------
    W : array (K, N)
        Student weights (one row per student or hidden unit; a vector is one student).
    F : array (D, N)
        The feature matrix.
    moments : GETMomentsResult or (a, b, c)

    Returns
    -------
    ndarray (K, K)
    """
    W, F = _matrix("W", W), _matrix("F", F)
    if W.shape[1] != F.shape[1]:
        raise InputError(
            f"W has {W.shape[1]} columns and F {F.shape[1]}: both must have one per feature"
        )
    a, b, c = _moments_abc(moments)
    n_features, latent = W.shape[1], F.shape[0]
    overlap = W @ W.T / n_features
    S = W @ F.T / np.sqrt(n_features)
    sigma = S @ S.T / latent
    return (c - a**2 - b**2) * overlap + b**2 * sigma


def measured_covariance(W, X, a=0.0):
    r"""The covariance :math:`\langle \lambda_k \lambda_l \rangle` of
    :math:`\lambda_k = w_k \cdot (x - a) / \sqrt{N}` over the rows ``x`` of ``X``, and its
    standard error :math:`\mathrm{std}(\lambda_k \lambda_l) / \sqrt{n}`.

    Returns
    -------
    (ndarray (K, K), ndarray (K, K))
    """
    W, X = _matrix("W", W), _matrix("X", X)
    if W.shape[1] != X.shape[1]:
        raise InputError(
            f"W has {W.shape[1]} columns and X {X.shape[1]}: both must have one per feature"
        )
    if X.shape[0] < 2:
        raise InputError("X needs at least two samples")
    lam = (X - float(a)) @ W.T / np.sqrt(W.shape[1])
    products = lam[:, :, None] * lam[:, None, :]
    return products.mean(axis=0), products.std(axis=0, ddof=1) / np.sqrt(X.shape[0])


def evaluate_nonlinearity(f, variable, values):
    """``f`` at every entry of the array ``values``, through a compiled (numba) kernel."""
    f, u = derive.get.check_nonlinearity(f, variable)
    kernel = compile(Equations("nonlinearity", "map", (u,), (), {sp.Symbol("f_out"): f}))
    values = np.asarray(values, dtype=float)
    out = kernel.array(values)[0]
    return out
