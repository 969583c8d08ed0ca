r"""Learning curves of full-batch ERM on random features: the replica saddle point.

The estimator (Gerace, Loureiro, Krzakala, Mézard & Zdeborová, ICML 2020,
arXiv:2002.09339, eq. (1.3))

.. math::
    \hat w = \arg\min_w \sum_{\mu=1}^{n} \ell\big(y_\mu, w \cdot x_\mu/\sqrt{p}\big)
             + \frac{\lambda}{2}\|w\|^2,\qquad x_\mu = f(F^T c_\mu/\sqrt{d}),

``alpha = n/p``, ``gamma = d/p``, teacher :math:`y \sim P_\mathrm{out}(\cdot\mid
\theta\cdot c/\sqrt{d})` with :math:`\theta \sim N(0, I_d)` (:math:`\rho = 1`). By the
Gaussian equivalence theorem the features act as
:math:`x = a\mathbf{1} + b\,F^Tc/\sqrt{d} + \kappa_\star z`, :math:`\kappa_\star^2 = c - a^2 - b^2`
(the constant ``a`` only shifts the predictions by an intercept that the symmetric
teachers here do not use, and is dropped, as in Gerace et al. 2020, sec. 2). With
:math:`s` distributed as the spectrum of :math:`F^TF/d` (Marchenko–Pastur of ratio
``1/gamma`` for Gaussian ``F``), :math:`\omega(s) = b^2 s + \kappa_\star^2` and
:math:`R(s) = 1/(\lambda + \hat V\omega(s))`, the prior-side equations are (Gerace et al.
2020, eq. (3.4); Loureiro et al. 2021, arXiv:2102.08127, eq. (30), in the normalisation
:math:`m = \mathbb{E}[\nu\lambda]`, :math:`q = \mathbb{E}\lambda^2` of the teacher's and the
student's fields)

.. math::
    V = \mathbb{E}_s[\omega R], \quad
    m = \hat m\,\frac{\rho b^2}{\gamma}\,\mathbb{E}_s[s R], \quad
    q = \hat q\,\mathbb{E}_s[\omega^2 R^2] + \hat m^2 \frac{\rho b^2}{\gamma}\,\mathbb{E}_s[s\,\omega R^2],

spectral averages computed by quadrature over the density (a Chebyshev substitution
that resolves the square-root edges) plus its atom at zero, or over given eigenvalues.
The channel side (:func:`derive.erm`: the teacher's :math:`Z_\mathrm{out}` and the loss's
proximal operator) is averaged over the Gaussian fields in a numba loop; a proximal
operator without a closed form (logistic) is found there by safeguarded Newton iterations.
"""

import functools
import math
import threading
from dataclasses import dataclass, field

import numpy as np
import sympy as sp

import derive
from derive.erm import Loss
from derive.erm import erm as derive_erm

from .checks import number
from .codegen import solver_source
from .compile import load_source
from .errors import InputError
from .gaussian_equivalence import get_moments
from .params import parameter_values
from .results import Result

__all__ = [
    "erm",
    "ERMResult",
    "erm_optimal_lam",
    "spectrum_nodes",
    "resolve_moments",
    "erm_module",
    "erm_source",
]

#: Nodes of the quadrature over the student's field (trapezoid on [-XI_MAX, XI_MAX]).
XI_NODES = 801
XI_MAX = 11.0
#: Nodes of the spectral quadrature (midpoint rule in the Chebyshev angle).
SPECTRAL_NODES = 400


@dataclass(kw_only=True, repr=False)
class ERMResult(Result):
    """The ERM saddle point at one ``(alpha, gamma, lam)``.

    Attributes
    ----------
    test_error : float
        For a teacher with discrete labels (sign, probit, ...): the classification error
        :math:`P(y \\ne \\mathrm{sign}(\\hat y))` on a fresh sample. For a teacher with real
        labels: the mean squared error :math:`\\mathbb{E}(y - \\hat y)^2` on a fresh sample
        (noise included; see ``excess_risk``).
    excess_risk : float or None
        Real labels only: ``test_error`` minus the teacher's noise variance, i.e.
        :math:`\\mathbb{E}(f_0(\\nu) - \\hat y)^2` for ``y = f_0(nu) + noise``.
    train_loss : float
        The average training loss :math:`\\frac1n\\sum_\\mu \\ell(y_\\mu, \\hat y_\\mu)` (without
        the penalty).
    train_error : float
        Discrete labels: the training classification error; real labels: the training mean
        squared error.
    m, q, V, m_hat, q_hat, V_hat : float
        The order parameters: :math:`m = \\mathbb{E}[\\nu\\hat y]`,
        :math:`q = \\mathbb{E}\\hat y^2`, :math:`V` the susceptibility, and their conjugates.
    alpha, gamma, lam : float
    moments : tuple
        ``(a, b, c)`` of the nonlinearity.
    """

    test_error: float = float("nan")
    excess_risk: float = None
    train_loss: float = float("nan")
    train_error: float = float("nan")
    m: float = float("nan")
    q: float = float("nan")
    V: float = float("nan")
    m_hat: float = float("nan")
    q_hat: float = float("nan")
    V_hat: float = float("nan")
    alpha: float = float("nan")
    gamma: float = float("nan")
    lam: float = float("nan")
    moments: tuple = field(default_factory=tuple)


def _anderson(xs, fs, current, mapped, beta, depth):
    """One step of Anderson mixing (Walker & Ni, SIAM J. Numer. Anal. 49, 1715 (2011)) of
    the map ``current -> mapped``, in ``(m, log q, log V)``; a plain damped step while the
    history is short or when the mixed step is not sane (the history is then dropped)."""
    x = np.array([current[0], math.log(current[1]), math.log(current[2])])
    g = np.array([mapped[0], math.log(mapped[1]), math.log(mapped[2])])
    f = g - x
    xs.append(x)
    fs.append(f)
    del xs[: -depth - 1], fs[: -depth - 1]
    step = x + beta * f
    if depth and len(xs) > 1:
        dX = np.diff(np.array(xs), axis=0).T
        dF = np.diff(np.array(fs), axis=0).T
        coef = np.linalg.lstsq(dF, f, rcond=None)[0]
        mixed = x + beta * f - (dX + beta * dF) @ coef
        grew = np.max(np.abs(f)) > 2 * np.max(np.abs(fs[-2]))
        if np.all(np.isfinite(mixed)) and np.max(np.abs(mixed - x)) < 3.0 and not grew:
            step = mixed
        else:
            xs.clear()
            fs.clear()
    return step[0], math.exp(step[1]), math.exp(step[2])


def with_values(channel, values):
    """The channel with its parameters replaced by numbers (one kernel per value)."""
    if not values:
        return channel
    return derive.Channel(
        channel.likelihood.subs(values),
        channel.y,
        channel.z,
        channel.support,
        output=None if channel.output is None else tuple(e.subs(values) for e in channel.output),
    )


def resolve_moments(f, variable, moments=None):
    """``(a, b, c)`` floats: ``moments`` when given, else ``numerics.get_moments(f, variable)``.

    Raises
    ------
    InputError
        For moments that are not three finite numbers with ``c >= a^2 + b^2`` and ``b != 0``
        (or that ``numerics.get_moments`` could not resolve).
    """
    if moments is None:
        if not isinstance(variable, sp.Symbol):
            raise InputError(f"variable must be a sympy Symbol, got {variable!r}")
        got = get_moments(f, variable)
        if not got.converged:
            raise InputError(f"the moments of {f} are not resolved: {got.message}")
        moments = (got.a, got.b, got.c)
    try:
        a, b, c = (float(x) for x in moments)
    except (TypeError, ValueError):
        raise InputError(f"moments must be three numbers (a, b, c), got {moments!r}") from None
    if not all(math.isfinite(x) for x in (a, b, c)) or c < a * a + b * b - 1e-12 or b == 0:
        raise InputError(
            f"moments (a, b, c) = {(a, b, c)} are not those of a nonlinearity with b != 0 "
            "(need c >= a^2 + b^2)"
        )
    return a, b, c


def spectrum_nodes(gamma, spectrum="marchenko-pastur", eigenvalues=None, nodes=SPECTRAL_NODES):
    r"""Nodes ``s`` and weights of the spectral measure of :math:`F^TF/d` (``F`` is ``d x p``).

    ``"marchenko-pastur"``: Gaussian ``F``, ratio :math:`c = p/d = 1/\gamma`, density
    :math:`\sqrt{(s_+ - s)(s - s_-)}/(2\pi c s)` on :math:`[(1-\sqrt c)^2, (1+\sqrt c)^2]`
    plus an atom of mass :math:`1 - \gamma` at 0 when :math:`\gamma < 1`; with
    :math:`s = \bar s + h\cos t` the density times ``ds`` is smooth in ``t`` and the
    midpoint rule converges geometrically. ``"orthogonal"``: ``F`` with orthogonal rows
    (``gamma < 1``) or columns, of squared norms ``p`` or ``d``: ``s = max(1, 1/gamma)`` with
    mass ``min(1, gamma)``. ``eigenvalues``: the empirical spectrum of a given ``F``.
    """
    if eigenvalues is not None:
        s = np.asarray(eigenvalues, dtype=float).ravel()
        if s.size == 0 or not np.all(np.isfinite(s)) or np.any(s < -1e-10):
            raise InputError("eigenvalues must be a non-empty array of non-negative numbers")
        return np.maximum(s, 0.0), np.full(s.size, 1.0 / s.size)
    zero = max(0.0, 1.0 - gamma)
    if spectrum == "orthogonal":
        return np.array([0.0, max(1.0, 1.0 / gamma)]), np.array([zero, min(1.0, gamma)])
    if spectrum != "marchenko-pastur":
        raise InputError(
            f"unknown spectrum {spectrum!r}; known: 'marchenko-pastur', 'orthogonal' "
            "(or pass eigenvalues=)"
        )
    c = 1.0 / gamma
    lo, hi = (1 - math.sqrt(c)) ** 2, (1 + math.sqrt(c)) ** 2
    t = (np.arange(nodes) + 0.5) * np.pi / nodes
    half = (hi - lo) / 2
    s = (hi + lo) / 2 + half * np.cos(t)
    w = (np.pi / nodes) * half**2 * np.sin(t) ** 2 / (2 * np.pi * c * s)
    w *= min(1.0, gamma) / w.sum()  # the midpoint rule's error on the mass, ~1e-15
    return np.concatenate([[0.0], s]), np.concatenate([[zero], w])


#: The channel-side driver appended to the kernel module of ``derive.erm`` (one generated
#: module, cached on disk by numba like every kernel; ``outputs`` is the kernel's point
#: function: ``ell, ell_z, ell_zz, log_Z0, g0[, prox, dprox]`` at ``y, z, omega, V, omega_0,
#: V_0``).
ERM_DRIVER = """@numba.njit(cache=True, error_model="numpy")
def erm_point(y, z, omega, V, om0, V0):
    \"\"\"The kernel's outputs, compiled once (not inlined at every call site).\"\"\"
    return outputs(y, z, omega, V, om0, V0)


@numba.njit(cache=True, error_model="numpy")
def erm_loss_array(y, z, out):
    \"\"\"The loss and its first two z-derivatives at arrays y, z, into out[0], out[1], out[2]
    (for fitting).\"\"\"
    for k in range(y.size):
        r = erm_point(y[k], z[k], 0.0, 1.0, 0.0, 1.0)
        out[0, k] = r[0]
        out[1, k] = r[1]
        out[2, k] = r[2]


@numba.njit(cache=True, error_model="numpy")
def erm_prox_newton(y, omega, V, om0, V0, guess):
    \"\"\"prox_{V l(y,.)}(omega) and its omega-derivative: Newton on G(z) = z - omega + V l'(y, z),
    increasing for a convex loss, safeguarded by bisection in the bracket [omega - V l'(omega),
    omega] whenever a step leaves the bracket or does not halve the step before it
    (rtsafe, Press et al., Numerical Recipes, sec. 9.4); started from guess where it
    lies in the bracket.\"\"\"
    r = erm_point(y, omega, omega, V, om0, V0)
    g = V * r[1]
    if g == 0.0 or not math.isfinite(g):
        return omega, 1.0 / (1.0 + V * r[2])
    lo = min(omega, omega - g)
    hi = max(omega, omega - g)
    z = guess if lo < guess < hi else 0.5 * (lo + hi)
    step_old = hi - lo
    step = step_old
    curvature = r[2]
    for _ in range(300):
        r = erm_point(y, z, omega, V, om0, V0)
        g = z - omega + V * r[1]
        curvature = r[2]
        if g > 0:
            hi = z
        else:
            lo = z
        if abs(g) <= 1e-13 * (1.0 + abs(z)) or hi - lo <= 1e-15 * (1.0 + abs(z)):
            break
        dg = 1.0 + V * curvature
        if not (math.isfinite(dg) and dg > 0) or abs(2.0 * g) > abs(step_old * dg):
            step_old = step
            step = 0.5 * (hi - lo)
            z = lo + step
            continue
        zn = z - g / dg
        if not (zn > lo and zn < hi):
            step_old = step
            step = 0.5 * (hi - lo)
            z = lo + step
            continue
        step_old = step
        step = z - zn
        z = zn
    return z, 1.0 / (1.0 + V * curvature)


@numba.njit(cache=True, error_model="numpy")
def erm_prox_array(y, omega, V, out):
    \"\"\"prox_{V l(y_k,.)}(omega_k) for arrays y, omega, into out (for fitting by ADMM).\"\"\"
    for k in range(y.size):
        if ERM_CLOSED:
            out[k] = erm_point(y[k], omega[k], omega[k], V, 0.0, 1.0)[5]
        else:
            out[k] = erm_prox_newton(y[k], omega[k], V, 0.0, 1.0, math.nan)[0]


@numba.njit(cache=True, error_model="numpy")
def erm_average(m, q, V, rho, ys, xi, wxi, eta, weta, noise):
    \"\"\"Sums over the student's field xi (omega = sqrt(q) xi) and the label y (the support,
    or y = omega_0 + sqrt(V_0 + noise) eta) of Z0(y | omega_0, V_0) times: g0 g, g^2,
    -d_omega g (by Stein's lemma), l(y, prox), the training error, y^2 and y omega.\"\"\"
    sq = math.sqrt(q)
    V0 = max(rho - m * m / q, 1e-300)
    mh = 0.0
    qh = 0.0
    xg = 0.0
    tl = 0.0
    te = 0.0
    ey2 = 0.0
    eyl = 0.0
    scale = math.sqrt(V0 + noise)
    n_y = ys.size if ERM_DISCRETE else eta.size
    last_z = np.zeros(n_y)
    last_dz = np.zeros(n_y)
    last_omega = np.full(n_y, np.nan)
    for i in range(xi.size):
        omega = sq * xi[i]
        om0 = m / sq * xi[i]
        for j in range(n_y):
            if ERM_DISCRETE:
                y = ys[j]
                shift = 0.0
                wy = 1.0
            else:
                y = om0 + scale * eta[j]
                shift = 0.5 * eta[j] * eta[j]
                wy = weta[j] * scale * math.sqrt(2.0 * math.pi)
            if ERM_CLOSED:
                r0 = erm_point(y, omega, omega, V, om0, V0)
                z = r0[5]
                dz = r0[6]
            else:
                # start from the previous node's prox, extrapolated linearly in omega
                guess = last_z[j] + (omega - last_omega[j]) * last_dz[j]
                z, dz = erm_prox_newton(y, omega, V, om0, V0, guess)
                last_z[j] = z
                last_dz[j] = dz
                last_omega[j] = omega
            r = erm_point(y, z, omega, V, om0, V0)
            weight = wxi[i] * wy * math.exp(r[3] + shift)
            if weight == 0.0:
                continue
            g = (z - omega) / V
            mh += weight * r[4] * g
            qh += weight * g * g
            xg += weight * xi[i] * g
            tl += weight * r[0]
            if ERM_DISCRETE:
                te += weight * (1.0 if y * z < 0 else (0.5 if z == 0 else 0.0))
            else:
                te += weight * (y - z) * (y - z)
            ey2 += weight * y * y
            eyl += weight * y * omega
    # Stein's lemma in xi: E[Z0 d_omega g] = (E[xi Z0 g] - (m / sqrt q) E[Z0 g0 g]) / sqrt q,
    # whose integrands stay continuous where d_omega prox jumps (hinge)
    vh = -(xg - m / sq * mh) / sq
    return mh, qh, vh, tl, te, ey2, eyl
"""


def erm_source(eqs, discrete):
    """The kernel module of ``derive.erm`` equations with :data:`ERM_DRIVER`: what
    ``numerics.erm`` runs and ``cavitylab export`` writes."""
    names = tuple(s.name for s in eqs.inputs)
    if names != ("y", "z", "omega", "V", "omega_0", "V_0") or eqs.params:
        raise InputError(
            f"'{eqs.name}' is not the ERM channel of derive.erm with numerical parameters "
            f"(inputs {names}, parameters {[p.name for p in eqs.params]})"
        )
    header = (
        f"{eqs.name}: a solver generated by cavitylab.\n\n{eqs}\n\n{eqs.description}\n\n"
        "outputs(y, z, omega, V, omega_0, V_0) -> the point functions; erm_average(...) -> the "
        "channel-side sums of the ERM saddle point (see numerics.erm)."
    )
    closed = "prox" in {s.name for s in eqs.outputs}
    flags = f"ERM_CLOSED = {closed}\nERM_DISCRETE = {discrete}\n"  # constants: numba prunes
    return solver_source([("", eqs)], header, preamble=[flags, ERM_DRIVER])


_MODULES = {}
_LOCK = threading.Lock()


def erm_module(loss, teacher):
    """The loaded ERM module of ``(loss, teacher)`` (see :func:`erm_source`); a teacher with
    parameters must have numbers in their place (:func:`with_values`)."""
    eqs = derive_erm(loss, teacher)
    key = (eqs.key, teacher.support is not None)
    with _LOCK:
        if key not in _MODULES:  # keyed by the equations' content hash, like compile's memo
            _MODULES[key] = load_source(erm_source(eqs, key[1]), "cavitylab_erm")
        return _MODULES[key]


@functools.cache
def _half_line_rule(nodes):
    """Gauss-Legendre nodes on [0, XI_MAX] with the standard normal density in the weights."""
    x, w = np.polynomial.legendre.leggauss(nodes)
    xi = (x + 1) * (XI_MAX / 2)
    return xi, w * (XI_MAX / 2) * np.exp(-(xi**2) / 2) / np.sqrt(2 * np.pi)


def _classification_error(module, m, q, rho, ys, nodes=400):
    r""":math:`\sum_y \int d\xi\, \phi(\xi)\, Z^t_\mathrm{out}(y, (m/\sqrt q)\xi, \rho - m^2/q)\,
    \mathbb{1}[y\xi < 0]`: the probability that the student's sign is wrong, by Gauss–Legendre
    on the half-line where it is (the indicator splits the integral at 0)."""
    xi, w = _half_line_rule(nodes)
    V0 = max(rho - m * m / q, 1e-300)
    total = 0.0
    for y in ys:
        if y == 0:
            continue
        for xk, wk in zip(-np.sign(y) * xi, w):  # the student's field with the wrong sign
            total += wk * math.exp(module.erm_point(y, 0.0, 0.0, 1.0, m / math.sqrt(q) * xk, V0)[3])
    return total


def erm(
    loss,
    teacher,
    f=None,
    variable=None,
    *,
    alpha,
    gamma,
    lam,
    moments=None,
    spectrum="marchenko-pastur",
    eigenvalues=None,
    params=None,
    damping=0.3,
    tol=1e-10,
    max_iter=5000,
    init=None,
    anderson=4,
    strict=False,
):
    r"""Solve the replica saddle point of ERM on random features at one point.

    Parameters
    ----------
    loss : derive.Loss
    teacher : derive.Channel
        The teacher's channel on the latent field :math:`\nu = \theta\cdot c/\sqrt d`.
    f, variable : sympy expression and Symbol
        The nonlinearity of the features; only its moments ``(a, b, c)`` enter
        (``numerics.get_moments``), or give them as ``moments=``.
    alpha, gamma : float > 0
        ``n/p`` (samples per feature) and ``d/p`` (latent dimension per feature).
    lam : float >= 0
        The ridge penalty :math:`\frac{\lambda}{2}\|w\|^2` (the loss is summed over samples).
    spectrum : {"marchenko-pastur", "orthogonal"}
        The spectrum of :math:`F^TF/d`: Gaussian ``F`` or ``F`` with orthogonal rows; or
        ``eigenvalues=`` of a given ``F`` (an array of ``p`` numbers).
    params : dict, optional
        Values of the teacher's parameters by name.
    damping, tol, max_iter : iteration controls (relative change of ``(m, q, V)`` below
        ``tol``).
    init : tuple, optional
        ``(m, q, V)`` to start from (a neighbouring point of a sweep).
    anderson : int
        Depth of the Anderson mixing of the iteration (0: plain damped iteration).
    strict : bool
        Raise ``ConvergenceError`` instead of returning ``converged=False``.

    Returns
    -------
    ERMResult
        ``test_error`` (classification error for discrete labels, mean squared error for
        real ones), ``train_loss``, ``train_error``, the order parameters, ``converged``
        and ``message`` (non-convergence is reported, and near the interpolation peak with
        a vanishing ``lam`` the message says so).

    Raises
    ------
    InputError
        For ``alpha``, ``gamma`` not positive, ``lam`` negative, unknown or missing
        teacher parameters, or bad moments.

    References
    ----------
    Gerace, Loureiro, Krzakala, Mézard & Zdeborová, ICML 2020, arXiv:2002.09339, eqs.
    (3.3)-(3.6); Loureiro et al., NeurIPS 2021, arXiv:2102.08127.
    """
    if not isinstance(loss, Loss):
        raise InputError(f"loss must be a derive.Loss, got {type(loss).__name__}")
    if not isinstance(teacher, derive.Channel):
        raise InputError(f"teacher must be a derive.Channel, got {type(teacher).__name__}")
    alpha = number("alpha", alpha)
    gamma = number("gamma", gamma)
    lam = number("lam", lam, allow_zero=True)
    a, b, c = resolve_moments(f, variable, moments)
    kappa2 = max(c - a * a - b * b, 0.0)
    values = parameter_values(teacher.params, params or {})
    teacher.check_values(values)
    teacher = with_values(teacher, values)
    s, ws = spectrum_nodes(gamma, spectrum, eigenvalues)
    rho = 1.0

    discrete = teacher.support is not None
    module = erm_module(loss, teacher)
    xi = np.linspace(-XI_MAX, XI_MAX, XI_NODES)
    wxi = (xi[1] - xi[0]) * np.exp(-(xi**2) / 2) / np.sqrt(2 * np.pi)
    eta, weta = (np.zeros(1), np.ones(1)) if discrete else _y_nodes()
    ys = np.array([float(v) for v in teacher.support]) if discrete else np.zeros(1)
    noise = 0.0
    if not discrete:
        noise = float(teacher.output[1].subs(values)) if teacher.output is not None else 1.0

    omega = b * b * s + kappa2
    t_mass = rho * b * b / gamma

    def prior_side(m_hat, q_hat, v_hat):
        denom = lam + v_hat * omega
        with np.errstate(divide="ignore", invalid="ignore"):
            R = np.where(omega > 0, 1.0 / denom, 0.0)
        V = float(np.sum(ws * omega * R))
        m = m_hat * t_mass * float(np.sum(ws * s * R))
        q = q_hat * float(np.sum(ws * (omega * R) ** 2)) + m_hat**2 * t_mass * float(
            np.sum(ws * s * omega * R * R)
        )
        return m, q, V

    def channel_side(m, q, V):
        return module.erm_average(m, q, V, rho, ys, xi, wxi, eta, weta, noise)

    m, q, V = init if init is not None else (0.1, 0.5, 1.0)
    history, converged, message = [], False, ""
    hats = (0.0, 0.0, 0.0)
    it = 0
    xs, fs = [], []  # Anderson mixing in (m, log q, log V)
    fallback = None
    best = (math.inf, 0)
    for it in range(1, max_iter + 1):
        q = max(q, 1e-12)
        m = min(max(m, -0.999999 * math.sqrt(rho * q)), 0.999999 * math.sqrt(rho * q))
        out = channel_side(m, q, V)
        hats = (alpha * out[0], alpha * out[1], alpha * out[2])
        new = prior_side(*hats) if all(math.isfinite(h) for h in hats) else (math.nan,) * 3
        if not all(math.isfinite(x) for x in new) or new[1] <= 0 or new[2] <= 0:
            if fallback is not None:  # a mixed step went too far: a damped step instead
                m, q, V = fallback
                fallback = None
                xs.clear()
                fs.clear()
                continue
            message = f"saddle point not finite at m = {m:.4g}, q = {q:.4g}, V = {V:.4g}"
            break
        change = max(abs(x - y) / (abs(x) + 1e-12) for x, y in zip(new, (m, q, V)))
        history.append(change)
        if change < tol:
            m, q, V = new
            converged = True
            message = f"converged in {it} iterations"
            break
        fallback = tuple(damping * a + (1 - damping) * b for a, b in zip((m, q, V), new))
        if change < best[0]:
            best = (change, it)
        elif anderson and it - best[1] > 15:  # mixing cycles: plain damped steps from here
            anderson = 0
            xs.clear()
            fs.clear()
        m, q, V = _anderson(xs, fs, (m, q, V), new, 1 - damping, anderson)
    else:
        message = f"not converged after {max_iter} iterations (relative change {history[-1]:.2g})"
    if not converged and lam < 1e-3 and abs(alpha - 1) < 0.25:
        message += (
            f"; lam = {lam:g} is small and alpha = n/p = {alpha:g} is near the interpolation "
            "threshold n = p, where the saddle point is ill-conditioned (the peak is not "
            "resolved: raise lam or max_iter)"
        )
    q = max(q, 1e-12)
    out = channel_side(m, q, V)
    if discrete:
        test = _classification_error(module, m, q, rho, ys)
        excess = None
    else:  # E (y - yhat)^2 with the student's test field yhat = omega = sqrt(q) xi
        test = out[5] - 2 * out[6] + q
        excess = test - noise if teacher.output is not None else None
    result = ERMResult(
        converged=converged,
        iterations=it,
        residual=history[-1] if history else None,
        residuals=np.array(history),
        message=message,
        test_error=float(test),
        excess_risk=None if excess is None else float(excess),
        train_loss=float(out[3]),
        train_error=float(out[4]),
        m=float(m),
        q=float(q),
        V=float(V),
        m_hat=float(hats[0]),
        q_hat=float(hats[1]),
        V_hat=float(hats[2]),
        alpha=alpha,
        gamma=gamma,
        lam=lam,
        moments=(a, b, c),
    )
    if not all(math.isfinite(x) for x in (result.test_error, result.m, result.q, result.V)):
        result.converged = False
        result.message += "; a non-finite order parameter"
    return result.finish(strict)


def _y_nodes(order=121):
    eta = np.linspace(-12.0, 12.0, order)
    return eta, (eta[1] - eta[0]) * np.exp(-(eta**2) / 2) / np.sqrt(2 * np.pi)


def erm_optimal_lam(
    loss, teacher, f=None, variable=None, *, alpha, gamma, bounds=(1e-5, 10.0), xtol=0.01, **options
):
    r"""The ridge penalty that minimises the saddle point's test error at one ``alpha``.

    Brent's bounded search on :math:`\log_{10}\lambda` in ``bounds`` (to ``xtol`` decades);
    every evaluation is :func:`erm` with ``options``. The test error is unimodal in
    :math:`\lambda` in the settings of Gerace et al. 2020 (fig. 4); a minimum on a bound is
    reported in the message.

    Returns
    -------
    ERMResult
        At the optimal ``lam`` (its field ``lam``); ``converged`` is False when the search
        or the saddle point at the optimum did not converge.
    """
    from scipy.optimize import minimize_scalar

    lo, hi = (math.log10(number("bounds", b)) for b in bounds)
    if not lo < hi:
        raise InputError(f"bounds must be increasing, got {bounds!r}")
    seen = {}

    def error(log_lam):
        res = erm(loss, teacher, f, variable, alpha=alpha, gamma=gamma, lam=10**log_lam, **options)
        seen[log_lam] = res
        return res.test_error if res.converged else math.inf

    search = minimize_scalar(error, bounds=(lo, hi), method="bounded", options={"xatol": xtol})
    best = seen[search.x] if search.x in seen else None
    if best is None:
        best = erm(
            loss, teacher, f, variable, alpha=alpha, gamma=gamma, lam=10**search.x, **options
        )
    best.message += f"; lam = {best.lam:.4g} optimal among {search.nfev} evaluations"
    if not search.success:
        best.converged = False
        best.message += f"; the search over lam did not converge: {search.message}"
    if min(search.x - lo, hi - search.x) < 2 * xtol:
        best.message += f"; the optimum lam = {10**search.x:.3g} is on a bound of {bounds}"
    return best
