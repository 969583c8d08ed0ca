r"""``online_sgd``: online SGD of a soft committee machine, simulated in numba.

One fresh sample per step (Saad & Solla, Phys. Rev. E 52, 4225 (1995); Goldt et al.,
arXiv:1906.08632):

.. math::
    w_k \leftarrow \Big(1 - \frac{\kappa}{N}\Big) w_k
        + \frac{\eta}{\sqrt N}\, v_k\, g'(\lambda_k)\,(y - \hat y)\, x,\qquad
    v_k \leftarrow v_k + \frac{\eta_v}{N}\, g(\lambda_k)\,(y - \hat y),

with :math:`\hat y = \sum_k v_k g(\lambda_k)`, :math:`\lambda_k = w_k\cdot x/\sqrt N`, labels
:math:`y = \sum_m A_m \tilde g(\nu_m) + \sigma\zeta` and time :math:`t = \text{steps}/N`. The
decay :math:`\kappa/N` per step gives the :math:`-\kappa R` and :math:`-2\kappa Q` of the ODEs.

Inputs are i.i.d. :math:`x \sim N(0, I_N)` (``inputs="iid"``, teacher :math:`\nu = B x/\sqrt N`)
or drawn from a :class:`HiddenManifold` (Goldt, Mézard, Krzakala & Zdeborová, Phys. Rev. X 10,
041044 (2020), arXiv:1909.11500): latent :math:`c \sim N(0, I_D)`,
:math:`x = f(F c/\sqrt D) - a` (centred, :math:`a = \mathbb E f(u)`), teacher on the latent,
:math:`\nu = \theta c/\sqrt D`.

The samples of a block of steps are drawn together (numpy's generator; the teacher fields and
the hidden-manifold inputs by one matrix product), then the numba loop takes them one step
at a time: the same process as drawing each sample inside the loop, with the sampling out of
the sequential part. The activations are the model's sympy expressions compiled by
:func:`numerics.compile` (the student's :math:`g` and :math:`g'` as one inlined scalar kernel).
"""

import math
from dataclasses import dataclass

import numba
import numpy as np
import sympy as sp

import derive

from .checks import number
from .compile import compile
from .errors import InputError
from .gaussian_equivalence import get_moments
from .online import OnlineResult

__all__ = ["online_sgd", "HiddenManifold", "activation_kernel", "sgd_steps"]

#: Largest block of pre-drawn samples, in numbers (samples x N): 2**21 doubles = 16 MiB.
BLOCK = 2**21
#: Memory of the stored test set, in float32 numbers: 64 MiB.
TEST_BUDGET = 2**24


@dataclass(frozen=True, eq=False)
class HiddenManifold:
    r"""Hidden-manifold inputs :math:`x = f(F c / \sqrt D) - a`, :math:`c \sim N(0, I_D)`.

    Parameters
    ----------
    D : int
        The latent dimension.
    f : sympy expression
        The folding function, in ``variable``.
    variable : sympy Symbol, optional
        The variable of ``f`` (default: the model's).
    F : ndarray (N, D), optional
        The features; default i.i.d. :math:`N(0, 1)` entries drawn from the run's seed.
    """

    D: int
    f: object
    variable: object = None
    F: np.ndarray = None


@derive.memoized
def activation_kernel(expr, variable, derivative=True):
    """The compiled kernel of ``(g, g')`` (or ``g`` alone) for a sympy activation ``expr``.

    Raises
    ------
    InputError
        If ``expr`` has symbols other than ``variable``, or its derivative is needed and
        sympy cannot write it (``Heaviside`` is the documented subgradient of a kink, with
        sympy's ``Heaviside(0) = 1/2``).
    """
    expr = sp.sympify(expr)
    extra = sorted(map(str, expr.free_symbols - {variable}))
    if extra:
        raise InputError(f"activation {expr} has symbols {extra} besides {variable}")
    outputs = {sp.Symbol("g"): expr}
    if derivative:
        d = sp.diff(expr, variable)
        if d.has(sp.Derivative, sp.Subs, sp.DiracDelta):
            raise InputError(
                f"the derivative of the activation {expr} is needed and is not a function: {d}"
            )
        outputs[sp.Symbol("dg")] = d
    return compile(derive.Equations("activation", "map", [variable], [], outputs))


def _sgd_steps(act, W, v, X, y, eta_w, eta_v, shrink, train_v, lam, g, dg):
    """Online SGD over the rows of ``X`` (one sample per step), in place on ``W`` and ``v``.

    ``act(lam) -> (g, g')`` is the student's compiled activation; ``eta_w = eta / sqrt(N)``,
    ``eta_v`` the second layer's step (already divided by N), ``shrink = 1 - kappa / N``.
    """
    K, N = W.shape
    scale = 1.0 / math.sqrt(N)
    for s in range(X.shape[0]):
        x = X[s]
        for k in range(K):
            acc = 0.0
            for i in range(N):
                acc += W[k, i] * x[i]
            lam[k] = acc * scale
        yhat = 0.0
        for k in range(K):
            a, b = act(lam[k])
            g[k] = a
            dg[k] = b
            yhat += v[k] * a
        err = y[s] - yhat
        for k in range(K):
            c = eta_w * v[k] * dg[k] * err
            if shrink != 1.0:
                for i in range(N):
                    W[k, i] = shrink * W[k, i] + c * x[i]
            else:
                for i in range(N):
                    W[k, i] += c * x[i]
        if train_v:
            for k in range(K):
                v[k] += eta_v * g[k] * err


_COMPILED = []


def sgd_steps(act, W, v, X, y, eta_w, eta_v, shrink, train_v, lam, g, dg):
    """Online SGD over the rows of ``X``, in place on ``W`` and ``v`` (see ``_sgd_steps``).

    Compiled once, on first use, for any activation: ``act`` (a compiled kernel's
    ``outputs``) is passed as a first-class function ``float64 -> (float64, float64)``, so
    that one machine-code loop, cached on disk, serves every model.
    """
    if not _COMPILED:
        f64, vec, mat = numba.float64, numba.float64[::1], numba.float64[:, ::1]
        act_type = numba.types.FunctionType(numba.types.UniTuple(f64, 2)(f64))
        signature = numba.void(
            act_type, mat, vec, mat, vec, f64, f64, f64, numba.boolean, vec, vec, vec
        )
        _COMPILED.append(numba.njit(signature, cache=True, error_model="numpy")(_sgd_steps))
    _COMPILED[0](act, W, v, X, y, eta_w, eta_v, shrink, train_v, lam, g, dg)


def _parts(model):
    if not isinstance(model, derive.CommitteeMachine):
        raise InputError(f"expected a derive.CommitteeMachine, got {type(model).__name__}")
    return model.student, model.teacher, model.variable, model.K, model.M


def _apply(kernel, values):
    """The first output of an activation kernel, elementwise over an array."""
    flat = np.ascontiguousarray(values, dtype=np.float64).ravel()
    out = np.empty((len(kernel.outputs), flat.size))
    kernel.module.outputs_array(flat, out)
    return out[0].reshape(np.shape(values))


class _Inputs:
    """Draws blocks of samples ``(X, nu)`` and computes the order parameters from the weights."""

    def __init__(self, spec, N, M, variable, rng, teacher):
        self.N, self.M = N, M
        if spec is None or (isinstance(spec, str) and spec == "iid"):
            self.hmm = None
            self.dim = N
        elif isinstance(spec, HiddenManifold):
            self.hmm = spec
            D = number("HiddenManifold.D", spec.D, integer=True)
            self.dim = D
            var = spec.variable if spec.variable is not None else variable
            self.f = activation_kernel(sp.sympify(spec.f), var, derivative=False)
            if spec.F is None:
                self.F = rng.standard_normal((N, D))
            else:
                self.F = np.array(spec.F, dtype=float)
                if self.F.shape != (N, D) or not np.all(np.isfinite(self.F)):
                    raise InputError(f"HiddenManifold.F must be finite of shape {(N, D)}")
            # the GET moments of the folding function: a = E f, b = E u f, c = E f^2
            self.a, self.b, self.c = get_moments(sp.sympify(spec.f), var, strict=True)
        else:
            raise InputError(f"inputs must be 'iid' or a numerics.HiddenManifold, got {spec!r}")
        if teacher is None:
            self.B = rng.standard_normal((M, self.dim))
        else:
            self.B = np.array(teacher, dtype=float)
            if self.B.shape != (M, self.dim) or not np.all(np.isfinite(self.B)):
                raise InputError(
                    f"init['B'] (the teacher's weights) must be finite of shape {(M, self.dim)}"
                )

    def draw(self, rng, n):
        """``n`` samples: inputs ``(n, N)`` and teacher fields ``(n, M)``."""
        if self.hmm is None:
            X = rng.standard_normal((n, self.N))
            return X, X @ self.B.T / math.sqrt(self.N)
        C = rng.standard_normal((n, self.dim))
        X = _apply(self.f, C @ self.F.T / math.sqrt(self.dim)) - self.a
        return X, C @ self.B.T / math.sqrt(self.dim)

    def T(self):
        return self.B @ self.B.T / self.dim

    def overlaps(self, W):
        r"""``(Q, R)``: the covariances of :math:`\lambda` and with :math:`\nu`.

        i.i.d.: the weights' overlaps. Hidden manifold, by the Gaussian equivalence theorem
        (Goldt et al., PRX 2020): :math:`Q = b^2\Sigma + (c - a^2 - b^2) W W^T/N`,
        :math:`R = b\, S\theta^T/D`, :math:`S = W F/\sqrt N`, :math:`\Sigma = S S^T/D`.
        """
        N = self.N
        if self.hmm is None:
            return W @ W.T / N, W @ self.B.T / N
        S = W @ self.F / math.sqrt(N)
        D = self.dim
        Q = self.b**2 * (S @ S.T / D) + (self.c - self.a**2 - self.b**2) * (W @ W.T / N)
        return Q, self.b * (S @ self.B.T / D)


def online_sgd(
    model,
    N,
    eta,
    t_max,
    seed=0,
    init=None,
    inputs="iid",
    record_every=None,
    sigma=0.0,
    weight_decay=0.0,
    train_second_layer=False,
    eta_v=None,
    A=None,
    v=None,
    test_size=None,
    strict=False,
):
    r"""Simulate online SGD of a committee machine and record its order parameters.

    Parameters
    ----------
    model : derive.CommitteeMachine
        Student activation ``g`` (``K`` units), teacher activation (``M`` units).
    N : int
        Input dimension.
    eta : float
        First-layer learning rate (step :math:`\eta/\sqrt N`).
    t_max : float
        Training time, in units of N steps.
    seed : int or numpy.random.SeedSequence
        Everything random (weights, features, samples, test set) is drawn from it.
    init : mapping, optional
        Weights to start from: ``W`` (K x N student), ``B`` (the teacher: M x N, or M x D for
        hidden-manifold inputs). Those not given are drawn with i.i.d. :math:`N(0, 1)` entries.
    inputs : "iid" or HiddenManifold
    record_every : float, optional
        Time between records (default ``t_max / 200``, at least one step).
    sigma : float
        Label-noise standard deviation.
    weight_decay : float
        :math:`\kappa` (decay :math:`\kappa/N` of the first layer per step).
    train_second_layer : bool
        Train ``v`` with step :math:`\eta_v/N` (``eta_v`` defaults to ``eta``).
    A, v : array (M,), (K,), optional
        Teacher and initial student second layers (default ones).
    test_size : int, optional
        Size of the fixed test set on which :math:`\epsilon_g` is measured (default as many
        as fit in 64 MiB of float32, between 1000 and 10000).
    strict : bool
        Raise :class:`~numerics.ConvergenceError` if the weights become non-finite.

    Returns
    -------
    OnlineResult
        ``t`` (steps / N), ``Q``, ``R``, ``T``, ``v``, and ``eps_g`` with ``eps_g_error``:
        :math:`\tfrac12\langle(\hat y - y_0)^2\rangle` over a fixed test set of noise-free
        labels :math:`y_0`, an estimate independent of the order parameters, with its standard
        error; ``initial`` holds ``Q``, ``R``, ``T`` (and ``v``) of the drawn start.
    """
    student, teacher, variable, K, M = _parts(model)
    N = number("N", N, integer=True)
    eta = number("eta", eta)
    t_max = number("t_max", t_max)
    sigma = number("sigma", sigma, allow_zero=True)
    kappa = number("weight_decay", weight_decay, allow_zero=True)
    eta_v = eta if eta_v is None else number("eta_v", eta_v)
    steps_per = max(1, round((t_max / 200 if record_every is None else record_every) * N))
    if record_every is not None:
        number("record_every", record_every)
    n_records = int(round(t_max * N)) // steps_per + 1
    if test_size is None:
        test_size = int(min(10000, max(1000, TEST_BUDGET // N)))
    test_size = number("test_size", test_size, integer=True)
    A = _vector("A", A, M)
    v = _vector("v", v, K)
    init = dict(init or {})
    unknown = sorted(set(map(str, init)) - {"W", "B"})
    if unknown:
        raise InputError(f"init: unknown key(s) {unknown}; the keys are ['W', 'B']")

    act = activation_kernel(student, variable, derivative=True)
    label = activation_kernel(teacher, variable, derivative=False)
    seq = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    r_init, r_test, r_train = (np.random.default_rng(s) for s in seq.spawn(3))
    src = _Inputs(inputs, N, M, variable, r_init, init.get("B"))
    if "W" in init:
        W = np.array(init["W"], dtype=float, order="C")
        if W.shape != (K, N) or not np.all(np.isfinite(W)):
            raise InputError(f"init['W'] must be finite of shape {(K, N)}, got {W.shape}")
    else:
        W = r_init.standard_normal((K, N))
    X_test, nu_test = src.draw(r_test, test_size)
    X_test = X_test.astype(np.float32)
    y_test = _apply(label, nu_test) @ A

    def error():
        with np.errstate(all="ignore"):  # a diverged run is reported below, not warned about
            lam = (X_test @ W.T.astype(np.float32)).astype(float) / math.sqrt(N)
            sq = 0.5 * (_apply(act, lam) @ v - y_test) ** 2
            return sq.mean(), sq.std() / math.sqrt(test_size)

    t = np.arange(n_records) * steps_per / N
    Q = np.empty((n_records, K, K))
    R = np.empty((n_records, K, M))
    V = np.empty((n_records, K))
    eps = np.empty(n_records)
    eps_err = np.empty(n_records)
    lam, g, dg = np.empty(K), np.empty(K), np.empty(K)
    block = max(1, BLOCK // N)
    message = "finished"
    done = n_records
    for j in range(n_records):
        if j > 0:
            left = steps_per
            while left:
                n = min(block, left)
                X, nu = src.draw(r_train, n)
                X = np.ascontiguousarray(X, dtype=np.float64)
                y = _apply(label, nu) @ A
                if sigma:
                    y = y + sigma * r_train.standard_normal(n)
                sgd_steps(
                    act.module.outputs, W, v, X, y, eta / math.sqrt(N), eta_v / N,
                    1.0 - kappa / N, bool(train_second_layer), lam, g, dg,
                )  # fmt: skip
                left -= n
        Q[j], R[j] = src.overlaps(W)
        V[j] = v
        eps[j], eps_err[j] = error()
        if not (np.all(np.isfinite(W)) and np.isfinite(eps[j])):
            message = f"the weights became non-finite at t = {t[j]:.6g} (learning rate too large?)"
            done = j + 1
            break
    T = src.T()
    initial = {"Q": Q[0].copy(), "R": R[0].copy(), "T": T.copy()}
    if train_second_layer:
        initial["v"] = V[0].copy()
    settings = dict(
        N=N,
        eta=eta,
        t_max=t_max,
        record_every=steps_per / N,
        sigma=sigma,
        weight_decay=kappa,
        train_second_layer=bool(train_second_layer),
        eta_v=eta_v if train_second_layer else None,
        A=A.tolist(),
        test_size=test_size,
        inputs="iid" if src.hmm is None else "hidden manifold",
    )
    if src.hmm is not None:
        settings.update(D=src.dim, get_moments=dict(a=src.a, b=src.b, c=src.c))
    return OnlineResult(
        t=t[:done],
        Q=Q[:done],
        R=R[:done],
        T=T,
        v=V[:done],
        eps_g=eps[:done],
        eps_g_error=eps_err[:done],
        initial=initial,
        settings=settings,
        seed=seed
        if not isinstance(seed, np.random.SeedSequence)
        else f"SeedSequence(entropy={seed.entropy}, spawn_key={seed.spawn_key})",
        converged=done == n_records,
        iterations=int((done - 1) * steps_per),
        residual=float(eps[done - 1]),
        residuals=eps[:done].copy(),
        message=message,
    ).finish(strict)


def _vector(name, value, n):
    if value is None:
        return np.ones(n)
    try:
        arr = np.array(value, dtype=float).reshape(-1)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be an array of {n} numbers, got {value!r}") from None
    if arr.shape != (n,) or not np.all(np.isfinite(arr)):
        raise InputError(f"{name} must be {n} finite numbers, got {value!r}")
    return arr
