r"""GAMP and VAMP for generalized linear models, with the derived denoisers; teacher-student data.

GAMP (Rangan, ISIT 2011; Krzakala et al., J. Stat. Mech. P08009 (2012)):

.. math::
    V = (X\circ X)\, v,\quad \omega = X\hat w - V\circ g,\quad
    g = g_\mathrm{out}(y, \omega, V),\quad A = -(X\circ X)^T \partial g_\mathrm{out},\quad
    B = X^T g + A\circ\hat w,\quad \hat w = f_a(A, B),\quad v = f_v(A, B),

with the Onsager term :math:`-V\circ g` from the previous iteration. With
``variances="scalar"`` the products with :math:`X\circ X` are replaced by their
averages (exact to leading order for i.i.d. matrices), which leaves two
matrix-vector products per iteration.

VAMP (Rangan, Schniter & Fletcher, IEEE Trans. Inf. Theory 65, 6664 (2019)) for
the Gaussian channel alternates the prior's denoiser :math:`f_a` with the LMMSE
estimator computed from the SVD of ``X``; it converges on ill-conditioned and
right-rotationally-invariant matrices where GAMP diverges.
"""

import functools
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import derive
from derive.glm import A as SYM_A
from derive.glm import B as SYM_B

from .compile import compile
from .params import parameter_values

__all__ = ["amp", "vamp", "AMPResult", "teacher_student", "TeacherStudent", "export_amp"]


@dataclass
class AMPResult:
    """An AMP / VAMP run.

    Attributes
    ----------
    estimate, variance : ndarray
        Posterior means and variances of the weights.
    history : dict of lists
        Per iteration: ``mse`` and ``overlap`` against ``truth`` (when given)
        and the largest change of the estimate, ``change``.
    converged : bool
    iterations : int
    message : str
    """

    estimate: np.ndarray
    variance: np.ndarray
    converged: bool
    iterations: int
    history: dict = field(default_factory=dict)
    message: str = ""


@functools.lru_cache(maxsize=32)
def _denoisers(glm, params):
    """One derivation and compilation per (GLM object, parameter values)."""
    return _Denoisers(glm, dict(params))


def _prepared(glm, params):
    return _denoisers(glm, tuple(sorted((str(k), float(v)) for k, v in dict(params or {}).items())))


class _Denoisers:
    """Compiled input and output denoisers of a GLM, with parameter values bound."""

    def __init__(self, glm, params):
        eqs = derive.denoisers(glm)
        self.input = compile(eqs.select("f_a", "f_v"))
        self.output = compile(eqs.select("g_out", "dg_out"))
        values = parameter_values(glm.params, params)
        self.values = {p.name: v for p, v in values.items()}
        rho = glm.prior.second_moment.subs(values)
        self.rho = float(rho)

    def _call(self, kernel, named):
        args = [named[a] if a in named else self.values[a] for a in kernel.arguments]
        return kernel.array(*args)

    def prior(self, A, B):
        return self._call(self.input, {SYM_A.name: A, SYM_B.name: B})

    def channel(self, y, omega, V):
        return self._call(self.output, {"y": y, "omega": omega, "V": V})


def _checked(X, y):
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    if X.ndim != 2:
        raise ValueError(f"X must be a matrix, got shape {X.shape}")
    if y.shape != (X.shape[0],):
        raise ValueError(f"y must have one entry per row of X ({X.shape[0]}), got shape {y.shape}")
    if not (np.all(np.isfinite(X)) and np.all(np.isfinite(y))):
        raise ValueError("X or y contains NaN or inf")
    return X, y


def _record(history, estimate, truth, change):
    history["change"].append(change)
    if truth is not None:
        n = truth.size
        history["mse"].append(float(np.sum((estimate - truth) ** 2) / n))
        history["overlap"].append(float(estimate @ truth / n))


def amp(
    glm,
    X,
    y,
    params=None,
    truth=None,
    damping=0.0,
    max_iter=200,
    tol=1e-8,
    variances="scalar",
    seed=None,
):
    r"""GAMP with the derived denoisers of ``glm``.

    Parameters
    ----------
    glm : derive.GLM
    X : ndarray, shape (M, N)
        Entries of variance ``1/N`` (the scaling of state evolution).
    y : ndarray, shape (M,)
    params : dict, optional
        Values of the prior's and channel's parameters.
    truth : ndarray, optional
        The teacher, for the per-iteration ``mse`` and ``overlap`` in ``history``.
    damping : float in [0, 1)
        On the estimate and its variance.
    max_iter, tol : stopping rule on the largest change of the estimate.
    variances : {"scalar", "full"}
        ``"full"`` uses :math:`X\circ X` entry-wise.

    Returns
    -------
    AMPResult
        Divergence (non-finite or exploding estimates) gives
        ``converged=False``, a message, and the last finite iterate.
    """
    X, y = _checked(X, y)
    if variances not in ("scalar", "full"):
        raise ValueError(f"variances must be 'scalar' or 'full', got {variances!r}")
    if not 0.0 <= damping < 1.0:
        raise ValueError(f"damping must be in [0, 1), got {damping}")
    den = _prepared(glm, params)
    M, N = X.shape
    X2 = X * X if variances == "full" else None
    scale = float(np.sum(X * X)) / (M * N) if variances == "scalar" else None
    what = np.zeros(N)
    v = np.full(N, den.rho)
    g = np.zeros(M)
    history = {"change": [], "mse": [], "overlap": []}
    converged, message, it = False, f"no convergence to tol={tol} in {max_iter} iterations", 0
    floor = 1e-13 * den.rho  # a posterior variance that rounds to 0 would make V = 0
    for it in range(1, int(max_iter) + 1):
        V = X2 @ v if X2 is not None else np.full(M, scale * v.sum())
        V = np.maximum(V, floor)
        omega = X @ what - V * g
        g, dg = den.channel(y, omega, V)
        A = -(X2.T @ dg) if X2 is not None else np.full(N, -scale * dg.sum())
        B = X.T @ g + A * what
        new_w, new_v = den.prior(A, B)
        if not (np.all(np.isfinite(new_w)) and np.all(np.isfinite(new_v))):
            message = f"GAMP diverged at iteration {it}: non-finite estimates"
            break
        new_w = (1 - damping) * new_w + damping * what
        new_v = (1 - damping) * new_v + damping * v
        change = float(np.max(np.abs(new_w - what)))
        what, v = new_w, new_v
        _record(history, what, truth, change)
        if np.all(v <= floor):
            # the posterior is a point mass: the next step would be 0/0 (V = 0, g = 0, A = 0)
            converged, message = True, f"posterior variances vanished at iteration {it}"
            break
        if change > 1e6 * max(1.0, np.sqrt(den.rho)):
            message = f"GAMP diverged at iteration {it}: the estimate exploded"
            break
        if change < tol:
            converged, message = True, f"converged in {it} iterations"
            break
    return AMPResult(what, v, converged, it, history, message)


def vamp(glm, X, y, params=None, truth=None, damping=0.0, max_iter=200, tol=1e-8):
    r"""VAMP for a GLM whose channel is Gaussian, :math:`y = Xw + \sqrt{\Delta}\xi`.

    The noise variance is read from the channel (the variance of ``y`` given ``z``).

    Returns
    -------
    AMPResult
    """
    X, y = _checked(X, y)
    noise = _gaussian_noise(glm, params)
    den = _prepared(glm, params)
    M, N = X.shape
    U, s, Vt = np.linalg.svd(X, full_matrices=True)
    s2 = np.zeros(N)
    s2[: s.size] = s**2
    Xty = Vt @ (X.T @ y)  # in the right singular basis
    gamma_w = 1.0 / noise
    r1, gamma1 = np.zeros(N), 1.0 / den.rho
    x2 = np.zeros(N)
    history = {"change": [], "mse": [], "overlap": []}
    converged, message, it = False, f"no convergence to tol={tol} in {max_iter} iterations", 0
    x_old = np.zeros(N)
    for it in range(1, int(max_iter) + 1):
        x1, v1 = den.prior(np.full(N, gamma1), gamma1 * r1)
        alpha1 = float(np.mean(v1)) * gamma1
        if not (np.isfinite(alpha1) and 0 < alpha1 < 1):
            message = f"VAMP stopped at iteration {it}: denoiser divergence {alpha1} not in (0, 1)"
            break
        eta1 = gamma1 / alpha1
        gamma2 = eta1 - gamma1
        r2 = (eta1 * x1 - gamma1 * r1) / gamma2
        d = 1.0 / (gamma_w * s2 + gamma2)
        x2 = Vt.T @ (d * (gamma_w * Xty + gamma2 * (Vt @ r2)))
        alpha2 = gamma2 * float(np.mean(d))
        eta2 = gamma2 / alpha2
        new_gamma1 = eta2 - gamma2
        new_r1 = (eta2 * x2 - gamma2 * r2) / new_gamma1
        if not (np.isfinite(new_gamma1) and new_gamma1 > 0 and np.all(np.isfinite(new_r1))):
            message = f"VAMP stopped at iteration {it}: non-positive or non-finite precision"
            break
        r1 = (1 - damping) * new_r1 + damping * r1
        gamma1 = (1 - damping) * new_gamma1 + damping * gamma1
        change = float(np.max(np.abs(x1 - x_old)))
        x_old = x1
        _record(history, x1, truth, change)
        if change < tol and it > 1:  # the first denoising starts from r1 = 0
            converged, message = True, f"converged in {it} iterations"
            break
    x1, v1 = den.prior(np.full(N, gamma1), gamma1 * r1)
    return AMPResult(x1, v1, converged, it, history, message)


def _gaussian_noise(glm, params):
    """The noise variance of a Gaussian channel, at the given parameter values."""
    try:
        variance = glm.channel.noise_variance()
    except derive.ModelError as err:
        raise ValueError(f"vamp needs a Gaussian channel: {err}") from None
    return float(variance.subs(_values(glm, params)))


def _values(glm, params):
    return parameter_values(glm.params, params)


@dataclass
class TeacherStudent:
    """A teacher-student data set: ``X`` (M x N), labels ``y``, teacher ``w_star``."""

    X: np.ndarray
    y: np.ndarray
    w_star: np.ndarray


def _sample_prior(glm, values, n, rng):
    parts = glm.prior.parts()
    weights = np.array([float(part[0].subs(values)) for part in parts])
    which = rng.choice(len(parts), size=n, p=weights / weights.sum())
    w = np.empty(n)
    for k, part in enumerate(parts):
        mask = which == k
        if part[1] == "atom":
            w[mask] = float(part[2].subs(values))
        else:
            mean, var = float(part[2].subs(values)), float(part[3].subs(values))
            w[mask] = rng.normal(mean, np.sqrt(var), size=int(mask.sum()))
    return w


def _sample_channel(glm, params, z, rng):
    ch = glm.channel
    if ch.support is None:
        return z + rng.normal(0.0, np.sqrt(_gaussian_noise(glm, params)), size=z.size)
    kernel = compile(ch.likelihoods())
    probs = kernel.array(z, *[float(params[p.name]) for p in ch.params])
    cum = np.cumsum(probs, axis=0)
    u = rng.random(z.size) * cum[-1]
    index = (u[None, :] > cum).sum(axis=0)
    return np.array([float(v) for v in ch.support])[np.minimum(index, len(ch.support) - 1)]


def teacher_student(glm, n, alpha, seed=None, params=None, condition_number=None):
    r"""Sample ``(X, y, w_star)``: ``w_star ~ P0``, ``X_{mu i} ~ N(0, 1/n)``, ``y ~ Pout(. | X w_star)``.

    With ``condition_number`` the matrix is instead :math:`U\,\mathrm{diag}(s)\,V^T` with
    Haar-distributed orthogonal ``U``, ``V`` and singular values geometrically
    spaced between 1 and ``1/condition_number``, rescaled so that
    :math:`\|X\|_F^2 = M` (the same average row norm as the i.i.d. case).
    """
    if not alpha > 0:
        raise ValueError(f"alpha must be positive, got {alpha}")
    n = int(n)
    m = int(round(alpha * n))
    rng = np.random.default_rng(seed)
    values = _values(glm, params)
    w = _sample_prior(glm, values, n, rng)
    if condition_number is None:
        X = rng.normal(0.0, 1.0 / np.sqrt(n), size=(m, n))
    else:
        k = min(m, n)
        U, _ = np.linalg.qr(rng.normal(size=(m, m)))
        Vt, _ = np.linalg.qr(rng.normal(size=(n, n)))
        s = np.geomspace(1.0, 1.0 / float(condition_number), k)
        s *= np.sqrt(m / np.sum(s**2))
        X = (U[:, :k] * s) @ Vt[:k, :]
    y = _sample_channel(glm, {p.name: v for p, v in values.items()}, X @ w, rng)
    return TeacherStudent(X, y, w)


_AMP_TEMPLATE = '''

# --- GAMP with these denoisers (scalar variances), added by cavitylab.export_amp -------------

def gamp(X, y, params=(), rho=1.0, max_iter=200, tol=1e-8, damping=0.0):
    """GAMP for y ~ Pout(. | X w), w ~ P0, with the denoisers above.

    X has entries of variance 1/N; params are the model parameters in the order
    PARAMS = {params!r}; rho = E w^2 starts the variances. Returns
    (estimate, variance, iterations, converged).
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    M, N = X.shape
    scale = float(np.sum(X * X)) / (M * N)

    def denoise(A, B, yy, omega, V):
        n = max(np.size(A), np.size(yy))
        cols = [np.ascontiguousarray(np.broadcast_to(np.asarray(c, dtype=np.float64), (n,)))
                for c in (A, B, yy, omega, V)]
        cols += [np.full(n, float(p)) for p in params]
        out = np.empty((4, n))
        outputs_array(*cols, out)
        return out

    what, v, g = np.zeros(N), np.full(N, float(rho)), np.zeros(M)
    for it in range(1, max_iter + 1):
        V = np.full(M, scale * v.sum())
        omega = X @ what - V * g
        out = denoise(0.0, 0.0, y, omega, V)
        g, dg = out[2], out[3]
        A = np.full(N, -scale * dg.sum())
        B = X.T @ g + A * what
        out = denoise(A, B, 0.0, 0.0, 1.0)
        new_w = (1 - damping) * out[0] + damping * what
        new_v = (1 - damping) * out[1] + damping * v
        change = float(np.max(np.abs(new_w - what)))
        what, v = new_w, new_v
        if not np.all(np.isfinite(what)):
            return what, v, it, False
        if change < tol:
            return what, v, it, True
    return what, v, max_iter, False
'''


def export_amp(glm, path):
    """Write a standalone GAMP solver for ``glm``: its denoisers module plus a ``gamp`` function.

    The file needs numpy and numba only. Returns the path.
    """
    kernel = compile(derive.denoisers(glm))
    path = Path(path)
    if path.suffix != ".py":
        raise ValueError(f"export path must end in .py, got {str(path)!r}")
    params = tuple(a for a in kernel.arguments[5:])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(kernel.source + _AMP_TEMPLATE.format(params=params))
    return path
