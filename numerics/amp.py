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

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import derive

from .codegen import gamp_source
from .compile import load_source
from .errors import InputError
from .results import Result
from .teacher_student import TeacherStudent, model_values, teacher_student

__all__ = ["amp", "vamp", "AMPResult", "teacher_student", "TeacherStudent", "export_amp"]


@dataclass(kw_only=True, repr=False)
class AMPResult(Result):
    """An AMP / VAMP run (the result protocol of :class:`numerics.Result`).

    Attributes
    ----------
    estimate, variance : ndarray
        Posterior means and variances of the weights.
    history : dict of lists
        Per iteration: ``mse`` and ``overlap`` against ``truth`` (when given)
        and the largest change of the estimate, ``change`` (also ``residuals``).
    """

    estimate: np.ndarray = None
    variance: np.ndarray = None
    history: dict = field(default_factory=dict, repr=False)


@derive.memoized
def _denoisers(glm, params):
    """One derivation and compilation per (GLM content, parameter values)."""
    return _Denoisers(glm, dict(params))


def _prepared(glm, params):
    values = model_values(glm, params)
    return _denoisers(glm, tuple(sorted((p.name, v) for p, v in values.items())))


class _Denoisers:
    """The generated GAMP module of a GLM (denoisers and driver), with parameter values bound."""

    def __init__(self, glm, params):
        eqs = derive.denoisers(glm)
        self.module = load_source(gamp_source(eqs), "cavitylab_gamp")
        self.values = dict(params)
        self.params = tuple(self.values[p.name] for p in eqs.params)
        by_name = {p.name: p for p in glm.params}
        rho = glm.prior.second_moment.subs({by_name[k]: v for k, v in self.values.items()})
        self.rho = float(rho)

    def _outputs(self, A, B, y, omega, V):
        arrays = np.broadcast_arrays(
            *[np.asarray(a, dtype=np.float64) for a in (A, B, y, omega, V)]
        )
        n = arrays[0].size
        cols = [np.array(a, dtype=np.float64).ravel() for a in arrays]
        cols += [np.full(n, p) for p in self.params]
        out = np.empty((len(self.module.OUTPUTS), n))
        self.module.outputs_array(*cols, out)
        return {name: out[k].reshape(arrays[0].shape) for k, name in enumerate(self.module.OUTPUTS)}

    def prior(self, A, B):
        r = self._outputs(A, B, 0.0, 0.0, 1.0)
        return r["f_a"], r["f_v"]

    def channel(self, y, omega, V):
        r = self._outputs(1.0, 0.0, y, omega, V)
        return r["g_out"], r["dg_out"]


def _checked(glm, X, y, truth=None):
    """The arguments every GLM solver takes, checked at its edge (InputError)."""
    if not isinstance(glm, derive.GLM):
        raise InputError(f"expected a derive.GLM as the model, got {type(glm).__name__}")
    try:
        X = np.asarray(X, dtype=float)
        y = np.asarray(y, dtype=float)
    except (TypeError, ValueError):
        raise InputError(
            f"X and y must be numeric arrays, got {type(X).__name__} and {type(y).__name__}"
        ) from None
    if X.ndim != 2:
        raise InputError(f"X must be a matrix, got shape {X.shape}")
    if X.shape[0] < 1 or X.shape[1] < 1:
        raise InputError(f"X must have at least one row and one column, got shape {X.shape}")
    if y.shape != (X.shape[0],):
        raise InputError(f"y must have one entry per row of X ({X.shape[0]}), got shape {y.shape}")
    if not (np.all(np.isfinite(X)) and np.all(np.isfinite(y))):
        raise InputError("X or y contains NaN or inf")
    glm.channel.check_labels(y)
    if truth is not None:
        truth = np.asarray(truth, dtype=float)
        if truth.shape != (X.shape[1],) or not np.all(np.isfinite(truth)):
            raise InputError(
                f"truth must be a finite vector of one entry per column of X ({X.shape[1]}), "
                f"got shape {truth.shape}"
            )
    return X, y, truth


def _checked_options(damping, max_iter, tol):
    if not 0.0 <= damping < 1.0:
        raise InputError(f"damping must be in [0, 1), got {damping}")
    if isinstance(max_iter, bool) or not isinstance(max_iter, (int, np.integer)) or max_iter < 1:
        raise InputError(f"max_iter must be a positive integer, got {max_iter!r}")
    if not tol > 0:
        raise InputError(f"tol must be positive, got {tol}")


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
    strict=False,
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
    X, y, truth = _checked(glm, X, y, truth)
    if variances not in ("scalar", "full"):
        raise InputError(f"variances must be 'scalar' or 'full', got {variances!r}")
    _checked_options(damping, max_iter, tol)
    den = _prepared(glm, params)
    run = den.module.gamp_run(
        X,
        y,
        den.params,
        den.rho,
        max_iter=max_iter,
        tol=tol,
        damping=damping,
        truth=truth,
        variances=variances,
    )
    history = {k: run[k] for k in ("change", "mse", "overlap")}
    return _result(
        run["estimate"],
        run["variance"],
        run["converged"],
        run["iterations"],
        history,
        run["message"],
        strict,
    )


def vamp(glm, X, y, params=None, truth=None, damping=0.0, max_iter=200, tol=1e-8, strict=False):
    r"""VAMP for a GLM whose channel is Gaussian, :math:`y = Xw + \sqrt{\Delta}\xi`.

    The noise variance is read from the channel (the variance of ``y`` given ``z``).

    Returns
    -------
    AMPResult
    """
    X, y, truth = _checked(glm, X, y, truth)
    _checked_options(damping, max_iter, tol)
    den = _prepared(glm, params)
    noise = _gaussian_noise(glm, params)
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
    return _result(x1, v1, converged, it, history, message, strict)


def _gaussian_noise(glm, params):
    """The noise variance of a Gaussian channel, at the given parameter values."""
    try:
        variance = glm.channel.noise_variance()
    except derive.ModelError as err:
        raise InputError(f"vamp needs a Gaussian channel: {err}") from None
    return float(variance.subs(model_values(glm, params)))


def _result(estimate, variance, converged, iterations, history, message, strict):
    changes = np.asarray(history["change"], dtype=float)
    return AMPResult(
        estimate=estimate,
        variance=variance,
        converged=bool(converged),
        iterations=int(iterations),
        residual=float(changes[-1]) if changes.size else None,
        residuals=changes,
        history=history,
        message=message,
    ).finish(strict)


def export_amp(glm, path):
    """Write the standalone GAMP solver of ``glm``: the module that :func:`amp` runs.

    Its ``gamp_run(X, y, params, rho, ...)`` (and ``gamp``) is the library's driver, with
    the same variance floor, point-mass stop and divergence checks, and it checks the
    number of parameters (``PARAMS``). The file needs numpy and numba only. Returns the path.
    """
    if not isinstance(glm, derive.GLM):
        raise InputError(f"export_amp needs a derive.GLM, got {type(glm).__name__}")
    path = Path(path)
    if path.suffix != ".py":
        raise InputError(f"export path must end in .py, got {str(path)!r}")
    source = gamp_source(derive.denoisers(glm))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(source)
    return path
