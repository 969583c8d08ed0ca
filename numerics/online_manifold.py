r"""``saad_solla_manifold``: the online-SGD ODEs on hidden-manifold inputs, integrated.

The equations are those :func:`derive.saad_solla_manifold` derives (Goldt, Mézard, Krzakala &
Zdeborová, Phys. Rev. X 10, 041044 (2020), arXiv:1909.11500, Sec. V and its appendix): the
densities :math:`\sigma_{kl}(\rho)`, :math:`r_{km}(\rho)` at each eigenvalue :math:`\rho` of
:math:`\Omega = F^TF/N`, the teacher's :math:`t_{nm}(\rho)` (constant), the global
:math:`W_{kl} = w_k\cdot w_l/N` (and :math:`v`). Each right-hand side evaluation computes the
spectral averages :math:`\Sigma = \langle\sigma\rangle`, :math:`\bar r = \langle r\rangle`,
:math:`T = \langle t\rangle`, the coefficients (one compiled scalar kernel,
:func:`derive.manifold_coefficients`, the Gaussian averages on the GET covariance
:math:`Q = b^2\Sigma + (c_f - b^2)W`, :math:`R = b\bar r`), then the per-eigenvalue
equations over all eigenvalues at once (the compiled kernel's array form);
``scipy.integrate.solve_ivp`` steps.

The spectrum is the empirical one of a given ``F`` (the densities start from the weights'
projections on its eigenvectors, the finite-size theory of that very ``F``), or the
Marchenko--Pastur law of :math:`\Omega` for i.i.d. :math:`N(0,1)` features of shape
``(N, D)`` (densities that start isotropic: :math:`\sigma(\rho) = \rho W_0`,
:math:`r(\rho) = R_0/b`, :math:`t(\rho) = T_0`, the large-:math:`N` law of weights drawn
independently of :math:`F`).
"""

import math

import numpy as np
from scipy.integrate import solve_ivp

from derive.online_manifold import manifold_coefficients
from derive.online_manifold import saad_solla_manifold as _derive

from .checks import finite_array, number
from .compile import compile
from .errors import InputError
from .gaussian_equivalence import get_moments
from .ode import METHODS
from .online import OnlineResult

__all__ = ["saad_solla_manifold", "marchenko_pastur_nodes"]

#: the most arguments for which the generated array form of a kernel compiles in numba
_MAX_ARGS = 30


def marchenko_pastur_nodes(delta, n_rho=64):
    r"""Quadrature nodes and weights of the Marchenko--Pastur law of :math:`\Omega = F^TF/N`.

    For :math:`F` (:math:`N\times D`) with i.i.d. :math:`N(0,1)` entries and
    :math:`\delta = D/N`, the eigenvalues of :math:`\Omega` have the density
    :math:`p(\rho) = \sqrt{(\rho_+ - \rho)(\rho - \rho_-)}/(2\pi\delta\rho)` on
    :math:`[\rho_-, \rho_+] = [(1 - \sqrt\delta)^2, (1 + \sqrt\delta)^2]`, and an atom
    :math:`1 - 1/\delta` at 0 when :math:`\delta > 1` (Marchenko & Pastur, Math. USSR Sb. 1,
    457 (1967)). With :math:`\rho = m + h\cos\theta` the square root becomes
    :math:`h\sin\theta`: the midpoint rule in :math:`\theta` (exponentially accurate for
    this smooth periodic integrand), weights normalised to the continuous part's mass.

    Returns
    -------
    rho, weights : ndarray
    """
    delta = number("delta", delta)
    n_rho = number("n_rho", n_rho, integer=True)
    lo, hi = (1 - math.sqrt(delta)) ** 2, (1 + math.sqrt(delta)) ** 2
    m, h = (hi + lo) / 2, (hi - lo) / 2
    theta = (np.arange(n_rho) + 0.5) * np.pi / n_rho
    rho = m + h * np.cos(theta)
    w = np.sin(theta) ** 2 / rho
    w *= min(1.0, 1.0 / delta) / w.sum()
    if delta > 1:
        rho, w = np.append(rho, 0.0), np.append(w, 1 - 1 / delta)
    return rho, w


def _pairs(n):
    return [(i, k) for i in range(n) for k in range(i, n)]


def saad_solla_manifold(
    model,
    f,
    variable,
    F,
    eta,
    t_max,
    init=None,
    seed=0,
    sigma=0.0,
    weight_decay=0.0,
    train_second_layer=False,
    eta_v=None,
    A=None,
    v=None,
    n_rho=64,
    method="RK45",
    n_points=201,
    t_eval=None,
    rtol=1e-7,
    atol=1e-9,
    strict=False,
):
    r"""Integrate the hidden-manifold Saad--Solla ODEs of ``model``.

    The equations of :func:`derive.saad_solla_manifold` (Goldt, Mézard, Krzakala &
    Zdeborová, PRX 10, 041044 (2020), Sec. V and its appendix; see :mod:`derive.online_manifold`),
    e.g.

    .. math::
        \frac{dr_{km}(\rho)}{dt} = \frac{\eta}{\delta}\Big[d(\rho)\sum_j G_{kj}r_{jm}(\rho)
        + b\rho\sum_n H_{kn}t_{nm}(\rho)\Big] - \kappa r_{km}(\rho),\quad
        d(\rho) = b^2\rho + (c_f - b^2)\delta,

    with the observables :math:`Q = b^2\langle\sigma\rangle + (c_f - b^2)W`,
    :math:`R = b\langle r\rangle`, :math:`T = \langle t\rangle` and :math:`\epsilon_g`.

    Parameters
    ----------
    model : derive.CommitteeMachine
    f : sympy expression
        The folding function (inputs :math:`x = f(Fc/\sqrt D) - a`, centred), in ``variable``.
    variable : sympy Symbol
    F : ndarray (N, D), or (N, D) as two integers
        The features, the same matrix as ``numerics.HiddenManifold(D, f, F=F)`` of the
        simulation (empirical spectrum of :math:`F^TF/N`); or the sizes, for the
        Marchenko--Pastur law of i.i.d. :math:`N(0,1)` features (:func:`marchenko_pastur_nodes`).
    eta : float
        First-layer learning rate (> 0).
    t_max : float
        Final time, in units of N steps (> 0).
    init : mapping, optional
        With an ``F`` array: the weights ``W`` (K x N, student) and ``B`` (M x D, teacher),
        the keys of :func:`numerics.online_sgd`; missing ones are drawn i.i.d. N(0, 1) from
        ``seed``. With sizes: the overlaps ``W`` (K x K, :math:`w\cdot w/N`), ``R`` (K x M,
        default 0) and ``T`` (M x M, default identity), spread isotropically over the
        spectrum.
    seed : int
        For weights not given in ``init``.
    sigma, weight_decay : float
        Label-noise standard deviation, weight decay :math:`\kappa`.
    train_second_layer : bool
        Integrate ``v`` too (rate ``eta_v``, default ``eta``).
    A, v : array (M,), (K,), optional
        Teacher and initial student second layers (default ones).
    n_rho : int
        Nodes of the Marchenko--Pastur quadrature.
    method, n_points, t_eval, rtol, atol :
        As in :func:`numerics.saad_solla`.
    strict : bool
        Raise :class:`~numerics.ConvergenceError` if the integration fails.

    Returns
    -------
    OnlineResult
        ``t``, ``Q``, ``R``, ``T``, ``v``, ``eps_g``; ``initial`` holds ``Q``, ``R``, ``T``
        (and ``v``); ``settings`` the run's parameters with the GET moments, ``delta``, the
        eigenvalues ``rho`` and ``W`` (the trajectory of :math:`w\cdot w/N`, shape (n, K, K)),
        ``Sigma`` likewise.

    Notes
    -----
    The state has :math:`K(K+1)/2 + n_\rho (K(K+1)/2 + KM)` components. The per-eigenvalue
    equations are stiff where :math:`\eta\, d(\rho)/\delta` is large (small ``D/N``), which
    bounds RK45's step: in the seed's setting (``N = 10000``, ``D = 100``, K = M = 2, erf,
    f = sign, :math:`\eta = 0.2`) integrating to ``t = 150`` took 5984 right-hand sides,
    1.5 s on a loaded 2-core machine (``benchmarks/online_manifold.py``). The per-eigenvalue
    kernel runs in its compiled array form while it has at most 30 arguments (K = M = 2 has
    28) and is called once per eigenvalue beyond that.

    Raises
    ------
    InputError
        For ``eta <= 0``, ``t_max <= 0``, features or weights of the wrong shape or not
        finite, unknown ``init`` keys.
    ModelError
        For a folding function that is not a function of ``variable`` with finite moments.
    """
    try:
        K, M = int(model.K), int(model.M)
    except AttributeError:
        raise InputError(
            f"expected a derive.CommitteeMachine, got {type(model).__name__}"
        ) from None
    eta = number("eta", eta)
    t_max = number("t_max", t_max)
    sigma = number("sigma", sigma, allow_zero=True)
    kappa = number("weight_decay", weight_decay, allow_zero=True)
    eta_v = eta if eta_v is None else number("eta_v", eta_v)
    if method not in METHODS:
        raise InputError(f"unknown method {method!r}; use one of {METHODS}")
    A = finite_array("A", np.ones(M) if A is None else np.ravel(A), (M,))
    v0 = finite_array("v", np.ones(K) if v is None else np.ravel(v), (K,))
    if t_eval is None:
        n_points = number("n_points", n_points, integer=True)
        t_eval = np.linspace(0.0, t_max, max(n_points, 2))
    t_eval = np.asarray(t_eval, dtype=float)
    if t_eval.ndim != 1 or t_eval.size == 0 or t_eval.min() < 0 or t_eval.max() > t_max:
        raise InputError(f"t_eval must be a 1-d array of times in [0, {t_max}]")
    moments = get_moments(f, variable, strict=True)
    a_f, b_f, c_raw = moments.astuple()
    c_f = c_raw - a_f**2
    init = dict(init or {})
    rng = np.random.default_rng(seed)

    sizes = isinstance(F, (tuple, list)) and len(F) == 2 and all(np.ndim(x) == 0 for x in F)
    if sizes:  # (N, D): Marchenko-Pastur
        N = number("N", F[0], integer=True)
        D = number("D", F[1], integer=True)
        delta = D / N
        rho, weights = marchenko_pastur_nodes(delta, n_rho)
        unknown = sorted(set(map(str, init)) - {"W", "R", "T"})
        if unknown:
            raise InputError(
                f"init: unknown key(s) {unknown}; with sizes (N, D) the keys are ['W', 'R', 'T']"
            )
        if "W" not in init:
            raise InputError("init['W'] (K x K overlaps w.w/N) is needed with sizes (N, D)")
        W0 = finite_array("init['W']", init["W"], (K, K))
        R0 = finite_array("init['R']", init.get("R", np.zeros((K, M))), (K, M))
        T0 = finite_array("init['T']", init.get("T", np.eye(M)), (M, M))
        for name, X in (("W", W0), ("T", T0)):
            if np.abs(X - X.T).max() > 1e-9 * max(1.0, np.abs(X).max()) or (
                np.linalg.eigvalsh((X + X.T) / 2).min() < -1e-9 * max(1.0, np.abs(X).max())
            ):
                raise InputError(f"init[{name!r}] is not a covariance (symmetric, PSD)")
        if b_f == 0 and np.any(R0 != 0):
            raise InputError("init['R'] must be 0 for a folding function with b = E u f(u) = 0")
        n = rho.size
        sig0 = rho[:, None, None] * W0[None]
        r0 = np.broadcast_to(R0 / (b_f if b_f else 1.0), (n, K, M)).copy()
        tt = np.broadcast_to(T0, (n, M, M)).copy()
    else:
        try:
            F = np.array(F, dtype=float)
        except (TypeError, ValueError):
            raise InputError("F must be an array of numbers (N x D) or the sizes (N, D)") from None
        if F.ndim != 2 or min(F.shape) < 1 or not np.all(np.isfinite(F)):
            raise InputError(f"F must be a finite N x D array, got shape {F.shape}")
        N, D = F.shape
        delta = D / N
        unknown = sorted(set(map(str, init)) - {"W", "B"})
        if unknown:
            raise InputError(
                f"init: unknown key(s) {unknown}; with a feature matrix the keys are ['W', 'B']"
            )
        B = (
            finite_array("init['B']", init["B"], (M, D))
            if "B" in init
            else rng.standard_normal((M, D))
        )
        Wts = (
            finite_array("init['W']", init["W"], (K, N))
            if "W" in init
            else rng.standard_normal((K, N))
        )
        rho, psi = np.linalg.eigh(F.T @ F / N)
        rho = np.clip(rho, 0.0, None)
        weights = np.full(D, 1.0 / D)
        s = (Wts @ F / math.sqrt(N)) @ psi  # s_k,tau = psi_tau . S_k
        e = B @ psi  # e_m,tau = psi_tau . theta_m
        sig0 = np.einsum("kt,lt->tkl", s, s)
        r0 = np.einsum("kt,mt->tkm", s, e)
        tt = np.einsum("nt,mt->tnm", e, e)
        W0 = Wts @ Wts.T / N

    coef = compile(manifold_coefficients(model, train_second_layer=bool(train_second_layer)))
    ode = compile(_derive(model))
    n = rho.size
    pK, pM = _pairs(K), _pairs(M)
    # the state vector: W (pairs), v (trained), then sigma (n x pairs), r (n x K x M)
    nW, nv = len(pK), (K if train_second_layer else 0)
    iu = np.array([i for i, _ in pK]), np.array([k for _, k in pK])
    y0 = np.concatenate(
        [W0[iu], v0[:nv], sig0[:, iu[0], iu[1]].ravel(), r0.reshape(n, K * M).ravel()]
    )
    T_avg = weights @ tt.reshape(n, M * M)
    T_avg = T_avg.reshape(M, M)
    tt_rows = np.array([tt[:, p, q] for p, q in pM])

    # coefficient kernel arguments, by name
    cnames = coef.arguments
    cfixed = {"eta": eta, "kappa": kappa, "b_f": b_f, "c_f": c_f, "sigma": sigma}
    if train_second_layer:
        cfixed["eta_v"] = eta_v
    cfixed.update({f"A_{m}": A[m] for m in range(M)})
    cfixed.update({f"T_{p}_{q}": T_avg[p, q] for p, q in pM})
    cargs = np.zeros(len(cnames))
    cidx = {name: j for j, name in enumerate(cnames)}
    for name, value in cfixed.items():
        cargs[cidx[name]] = value
    c_sigma = [cidx[f"Sigma_{i}_{k}"] for i, k in pK]
    c_W = [cidx[f"W_{i}_{k}"] for i, k in pK]
    c_r = [cidx[f"rbar_{k}_{m}"] for k in range(K) for m in range(M)]
    c_v = [cidx[f"v_{k}"] for k in range(nv)]
    # the coefficient map's outputs: the per-eigenvalue kernel's data, and dW/dt (dv/dt)
    coef_rows = {name: j for j, name in enumerate(coef.outputs)}
    g_W = [coef_rows[f"dW_{i}_{k}"] for i, k in pK]
    g_v = [coef_rows[f"dv_{k}"] for k in range(nv)]

    # per-eigenvalue kernel arguments: one row per argument, one column per eigenvalue
    onames = ode.arguments
    oidx = {name: j for j, name in enumerate(onames)}
    args = np.zeros((len(onames), n))
    fixed = {"eta": eta, "delta": delta, "b_f": b_f, "c_f": c_f, "kappa": kappa}
    for name, value in fixed.items():
        args[oidx[name]] = value
    args[oidx["rho"]] = rho
    for j, (p, q) in enumerate(pM):
        args[oidx[f"tt_{p}_{q}"]] = tt_rows[j]
    o_sigma = [oidx[f"sigma_{i}_{k}"] for i, k in pK]
    o_r = [oidx[f"r_{k}_{m}"] for k in range(K) for m in range(M)]
    o_coef = [oidx[name] for name in coef.outputs if name in oidx]
    c_coef = [coef_rows[name] for name in coef.outputs if name in oidx]
    out = np.empty((len(ode.outputs), n))
    rows = {name: j for j, name in enumerate(ode.outputs)}
    d_sigma = [rows[f"sigma_{i}_{k}"] for i, k in pK]
    d_r = [rows[f"r_{k}_{m}"] for k in range(K) for m in range(M)]
    start = nW + nv
    n_sig = n * nW

    def unpack(y):
        sig = y[start : start + n_sig].reshape(n, nW)
        r = y[start + n_sig :].reshape(n, K * M)
        return sig, r

    def coefficient_args(y):
        sig, r = unpack(y)
        cargs[c_sigma] = weights @ sig
        cargs[c_r] = weights @ r
        cargs[c_W] = y[:nW]
        if nv:
            cargs[c_v] = y[nW:start]
        return cargs

    call_coef = coef.module.outputs
    outputs, outputs_array = ode.module.outputs, ode.module.outputs_array
    # the generated array form passes every argument in one call, which numba refuses above
    # 30 arguments (Python >= 3.11 compiles such calls to CALL_FUNCTION_EX): then the scalar
    # kernel is called once per eigenvalue
    vectorised = len(onames) <= _MAX_ARGS
    dy = np.empty_like(y0)

    def fun(t, y):
        values = np.asarray(call_coef(*coefficient_args(y)))
        sig, r = unpack(y)
        args[o_coef] = values[c_coef, None]
        args[o_sigma] = sig.T
        args[o_r] = r.T
        if vectorised:
            outputs_array(*args, out)
        else:
            for j, column in enumerate(args.T.tolist()):
                out[:, j] = outputs(*column)
        dy[:nW] = values[g_W]
        if nv:
            dy[nW:start] = values[g_v]
        dy[start : start + n_sig] = out[d_sigma].T.ravel()
        dy[start + n_sig :] = out[d_r].T.ravel()
        return dy.copy()

    sol = solve_ivp(fun, (0.0, t_max), y0, method=method, t_eval=t_eval, rtol=rtol, atol=atol)
    y = sol.y.T
    steps = sol.t.size
    names = coef.observables
    Q = np.full((steps, K, K), np.nan)
    R = np.full((steps, K, M), np.nan)
    Wt = np.full((steps, K, K), np.nan)
    Sig = np.full((steps, K, K), np.nan)
    V = np.tile(v0, (steps, 1))
    eps = np.full(steps, np.nan)
    for j in range(steps):
        if not np.all(np.isfinite(y[j])):
            continue
        obs = dict(zip(names, coef.module.observables(*coefficient_args(y[j]))))
        sig, _ = unpack(y[j])
        mean_sig = weights @ sig
        for (i, k), x, w in zip(pK, mean_sig, y[j, :nW]):
            Q[j, i, k] = Q[j, k, i] = obs[f"Q_{i}_{k}"]
            Sig[j, i, k] = Sig[j, k, i] = x
            Wt[j, i, k] = Wt[j, k, i] = w
        for k in range(K):
            for m in range(M):
                R[j, k, m] = obs[f"R_{k}_{m}"]
        if nv:
            V[j] = y[j, nW:start]
        eps[j] = obs["eps_g"]
    finite = bool(np.all(np.isfinite(eps)))
    converged = bool(sol.success) and finite
    message = sol.message if sol.success else f"solve_ivp failed: {sol.message}"
    if sol.success and not finite:
        message = "eps_g is not finite (the order parameters left the covariances)"
    initial = {"Q": Q[0].copy(), "R": R[0].copy(), "T": T_avg.copy()}
    if train_second_layer:
        initial["v"] = v0.copy()
    return OnlineResult(
        t=sol.t,
        Q=Q,
        R=R,
        T=T_avg,
        v=V,
        eps_g=eps,
        initial=initial,
        settings=dict(
            eta=eta,
            t_max=t_max,
            N=N,
            D=D,
            delta=delta,
            sigma=sigma,
            weight_decay=kappa,
            train_second_layer=bool(train_second_layer),
            eta_v=eta_v if train_second_layer else None,
            A=A.tolist(),
            get_moments=dict(a=a_f, b=b_f, c=c_raw),
            spectrum="marchenko-pastur" if sizes else "empirical",
            rho=rho,
            W=Wt,
            Sigma=Sig,
            method=method,
            nfev=int(sol.nfev),
        ),
        converged=converged,
        iterations=int(sol.nfev),
        residual=float(eps[-1]) if steps else None,
        residuals=eps.copy(),
        message=message,
    ).finish(strict)
