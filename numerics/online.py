r"""Online learning of soft committee machines: the result type and the Saad--Solla ODEs.

A student :math:`\hat y = \sum_k v_k g(\lambda_k)`, :math:`\lambda_k = w_k\cdot x/\sqrt N`, learns
online from a teacher :math:`y = \sum_m A_m \tilde g(\nu_m) + \sigma\zeta`,
:math:`\nu_m = B_m\cdot x/\sqrt N`. In the limit :math:`N\to\infty` the order parameters

.. math::
    Q_{kl} = \frac{w_k\cdot w_l}{N},\quad R_{kn} = \frac{w_k\cdot B_n}{N},\quad
    T_{nm} = \frac{B_n\cdot B_m}{N}

follow the ordinary differential equations of Saad & Solla, Phys. Rev. E 52, 4225 (1995) and
Biehl & Schwarze, J. Phys. A 28, 643 (1995) (with a trained second layer, label noise and weight
decay as in Goldt, Advani, Saxe, Krzakala & Zdeborová, NeurIPS 2019, arXiv:1906.08632), in the
time :math:`t = \text{steps}/N`. :func:`derive.saad_solla` derives them from the model's
activations; :func:`saad_solla` integrates them, :func:`numerics.online_sgd` simulates the
learning itself, and both return an :class:`OnlineResult`.
"""

from dataclasses import dataclass, field

import numpy as np
import sympy as sp

import derive

from .checks import finite_array, number
from .compile import compile
from .errors import InputError
from .ode import METHODS, integrate
from .results import SimulationResult

__all__ = ["OnlineResult", "check_order_parameters", "saad_solla"]


@dataclass(kw_only=True, repr=False)
class OnlineResult(SimulationResult):
    r"""Order parameters and generalisation error along online learning (ODE or simulation).

    Attributes
    ----------
    t : ndarray, shape (n,)
        Times, in units of :math:`N` steps.
    Q : ndarray, shape (n, K, K)
    R : ndarray, shape (n, K, M)
    T : ndarray, shape (M, M)
        The teacher's overlaps (constant).
    v : ndarray, shape (n, K)
        The second-layer weights (constant unless the second layer is trained).
    eps_g : ndarray, shape (n,)
        The generalisation error
        :math:`\epsilon_g = \tfrac12 \mathbb E[(\hat y - \textstyle\sum_m A_m\tilde g(\nu_m))^2]`
        (noise-free labels). From the ODE: the derived observable at the order parameters;
        from a simulation: an independent estimate on a fixed test set.
    eps_g_error : ndarray, shape (n,), or None
        The standard error of a test-set estimate (None for the ODE).
    initial : dict
        The order parameters it started from: ``Q``, ``R``, ``T`` (and ``v`` when the second
        layer is trained); ``numerics.saad_solla(model, ..., init=result.initial)`` starts an
        ODE from the same point.
    settings : dict
        The run's parameters (``eta``, ``N``, ``method``, ...).
    seed : object
        The simulation's seed (None for the ODE).
    """

    t: np.ndarray = field(default_factory=lambda: np.zeros(0))
    Q: np.ndarray = field(default_factory=lambda: np.zeros((0, 0, 0)))
    R: np.ndarray = field(default_factory=lambda: np.zeros((0, 0, 0)))
    T: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    v: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    eps_g: np.ndarray = field(default_factory=lambda: np.zeros(0))
    eps_g_error: np.ndarray = None
    initial: dict = field(default_factory=dict)
    settings: dict = field(default_factory=dict)


def check_order_parameters(init, K, M, second_layer=False, tol=1e-9):
    r"""Validated copies ``{"Q", "R", "T"[, "v"]}`` of initial order parameters.

    The local fields :math:`(\lambda, \nu)` are jointly Gaussian with covariance
    :math:`C = \begin{pmatrix} Q & R\\ R^T & T\end{pmatrix}`, so ``Q`` and ``T`` must be
    symmetric and ``C`` positive semi-definite.

    Parameters
    ----------
    init : mapping
        ``Q`` (K x K), ``R`` (K x M), ``T`` (M x M); ``v`` (K) when ``second_layer``.
    K, M : int
    second_layer : bool
        Whether ``v`` is part of the state (else a ``v`` given here is refused).
    tol : float
        Relative tolerance of the symmetry and eigenvalue checks.

    Raises
    ------
    InputError
        Naming the key that is missing, unknown, of the wrong shape, not finite, not
        symmetric, or the smallest eigenvalue when ``C`` is not positive semi-definite.
    """
    if not hasattr(init, "items"):
        raise InputError(f"init must be a mapping with keys Q, R, T, got {type(init).__name__}")
    known = ("Q", "R", "T") + (("v",) if second_layer else ())
    given = {str(k): v for k, v in init.items()}
    unknown = sorted(set(given) - set(known))
    if unknown:
        extra = "" if second_layer else " ('v' only with train_second_layer=True)"
        raise InputError(f"init: unknown key(s) {unknown}; the keys are {list(known)}{extra}")
    missing = [k for k in known if k not in given]
    if missing:
        raise InputError(f"init: missing {missing}; the keys are {list(known)}")
    Q = finite_array("init['Q']", given["Q"], (K, K))
    R = finite_array("init['R']", given["R"], (K, M))
    T = finite_array("init['T']", given["T"], (M, M))
    C = np.block([[Q, R], [R.T, T]])
    scale = max(1.0, float(np.abs(C).max()))
    for name, X in (("Q", Q), ("T", T)):
        if np.abs(X - X.T).max() > tol * scale:
            raise InputError(f"init[{name!r}] is not symmetric: {X.tolist()}")
    smallest = float(np.linalg.eigvalsh((C + C.T) / 2).min())
    if smallest < -tol * scale * C.shape[0]:
        raise InputError(
            "init: the covariance [[Q, R], [R^T, T]] of the local fields is not positive "
            f"semi-definite (smallest eigenvalue {smallest:.3g})"
        )
    out = {"Q": (Q + Q.T) / 2, "R": R, "T": (T + T.T) / 2}
    if second_layer:
        out["v"] = finite_array("init['v']", given["v"], (K,))
    return out


def saad_solla(
    model,
    eta,
    t_max,
    init,
    sigma=0.0,
    weight_decay=0.0,
    train_second_layer=False,
    eta_v=None,
    A=None,
    method="RK45",
    n_points=201,
    t_eval=None,
    rtol=1e-8,
    atol=1e-10,
    order=None,
    strict=False,
    inputs="iid",
    N=None,
):
    r"""Integrate the Saad--Solla ODEs of ``model`` from ``init`` to ``t_max``.

    The right-hand sides are those :func:`derive.saad_solla` derives (Saad & Solla, Phys.
    Rev. E 52, 4225 (1995); Goldt et al., arXiv:1906.08632):

    .. math::
        \frac{dR_{in}}{dt} = \eta v_i\Big[\sum_m A_m I_3(i,n,m) - \sum_j v_j I_3(i,n,j)\Big]
            - \kappa R_{in},

    and the like for :math:`Q_{ik}` (with the :math:`\eta^2` terms :math:`I_4` and
    :math:`\sigma^2 J_2`) and, with a trained second layer, :math:`v_i`. They are compiled once
    (:func:`numerics.compile`; Gaussian averages that do not close are quadratures in the
    kernel) and integrated by :func:`numerics.integrate` (``scipy.integrate.solve_ivp``).

    Parameters
    ----------
    model : derive.CommitteeMachine
    eta : float
        Learning rate of the first layer (> 0).
    t_max : float
        Final time (> 0), in units of N steps.
    init : mapping
        ``Q`` (K x K), ``R`` (K x M), ``T`` (M x M) and, with ``train_second_layer``, ``v``
        (K): e.g. ``numerics.online_sgd(...).initial``. ``[[Q, R], [R^T, T]]`` must be a
        covariance (symmetric, positive semi-definite).
    sigma : float
        Label-noise standard deviation.
    weight_decay : float
        :math:`\kappa`.
    train_second_layer : bool
        Integrate ``v`` too, with learning rate ``eta_v`` (default ``eta``); otherwise
        :math:`v = 1` (the soft committee machine).
    A : array (M,), optional
        The teacher's second layer (default ones).
    method : {"RK45", "LSODA", ...}
        A :func:`scipy.integrate.solve_ivp` method.
    n_points : int
        Number of equally spaced output times (ignored when ``t_eval`` is given).
    t_eval : array, optional
    rtol, atol : float
        Tolerances of the integrator.
    order : int or mapping, optional
        Quadrature nodes per Gaussian variable, for activations whose averages do not close
        (``tanh``): one number, or by dimension (``{4: 25}``); see :func:`numerics.compile`.
        The integration recomputes the right-hand side on 1.5 times the nodes at the first,
        middle and last states and reports ``converged=False`` when it changes by more than
        :data:`numerics.ode.QUADRATURE_RESOLUTION` (``settings["quadrature_resolution"]``).
    strict : bool
        Raise :class:`~numerics.ConvergenceError` if the integration fails.
    inputs : "iid" or numerics.HiddenManifold
        As in :func:`numerics.online_sgd`. For a ``HiddenManifold(D, f, variable, F)`` the
        hidden-manifold ODEs are integrated by :func:`numerics.saad_solla_manifold` (folding
        function ``f``; ``eta``, ``t_max``, ``sigma``, ``weight_decay``,
        ``train_second_layer``, ``eta_v``, ``A``, ``method``, ``n_points``, ``t_eval``,
        ``rtol``, ``atol`` and ``strict`` passed on), from one of two kinds of ``init``:

        - the order parameters ``Q``, ``R``, ``T`` (and ``v``), e.g. ``online_sgd(...,
          inputs=spec).initial``: the same start in ``Q``, ``R``, ``T``, spread isotropically
          over the Marchenko--Pastur spectrum of i.i.d. :math:`N(0, 1)` features of size
          ``N x D`` (what ``HiddenManifold`` draws when ``F`` is not given; with ``F`` given
          only its shape is used). By the Gaussian equivalence :math:`Q(0) = c_f W(0)`,
          :math:`c_f = \mathrm{Var} f(u)`, so the ODE starts from :math:`W = Q/c_f`.
        - the weights ``W`` (K x N) and ``B`` (M x D), the ``init`` of
          :func:`numerics.online_sgd`, with the features ``spec.F``: the exact start,
          resolved over the empirical spectrum of :math:`F^TF/N`.
    N : int, optional
        The input dimension, needed for hidden-manifold inputs with order parameters in
        ``init`` and no ``spec.F`` (:math:`\delta = D/N`); otherwise ``spec.F``'s rows.

    Returns
    -------
    OnlineResult
        ``t``, ``Q``, ``R``, ``T``, ``v``, and ``eps_g`` from the derived observable (for
        hidden-manifold inputs, the ``settings`` of :func:`numerics.saad_solla_manifold`).

    Raises
    ------
    InputError
        For ``eta <= 0``, ``t_max <= 0``, or ``init`` of the wrong shape, not symmetric, or
        not positive semi-definite; ``inputs`` neither ``"iid"`` nor a ``HiddenManifold``;
        for hidden-manifold inputs, weights in ``init`` without ``spec.F``, or neither
        ``spec.F`` nor ``N``.

    Examples
    --------
    >>> spec = numerics.HiddenManifold(D=100, f=sp.sign(u))            # doctest: +SKIP
    >>> sim = numerics.online_sgd(model, N=10000, eta=0.2, t_max=60, inputs=spec)  # doctest: +SKIP
    >>> ode = numerics.saad_solla(model, 0.2, 60, init=sim.initial, inputs=spec,
    ...                           N=10000)                              # doctest: +SKIP
    """
    if not isinstance(model, derive.CommitteeMachine):
        raise InputError(f"expected a derive.CommitteeMachine, got {type(model).__name__}")
    if not (inputs is None or (isinstance(inputs, str) and inputs == "iid")):
        return _saad_solla_manifold(
            model, inputs, N, init, order,
            dict(
                eta=eta, t_max=t_max, sigma=sigma, weight_decay=weight_decay,
                train_second_layer=train_second_layer, eta_v=eta_v, A=A, method=method,
                n_points=n_points, t_eval=t_eval, rtol=rtol, atol=atol, strict=strict,
            ),
        )  # fmt: skip
    K, M = model.K, model.M
    eta = number("eta", eta)
    t_max = number("t_max", t_max)
    sigma = number("sigma", sigma, allow_zero=True)
    kappa = number("weight_decay", weight_decay, allow_zero=True)
    if method not in METHODS:
        raise InputError(f"unknown method {method!r}; use one of {METHODS}")
    start = check_order_parameters(init, K, M, second_layer=train_second_layer)
    if A is None:
        A = np.ones(M)
    A = np.array(A, dtype=float).reshape(-1)
    if A.shape != (M,) or not np.all(np.isfinite(A)):
        raise InputError(f"A must be {M} finite numbers, got {A.tolist()}")
    if t_eval is None:
        n_points = number("n_points", n_points, integer=True)
        t_eval = np.linspace(0.0, t_max, max(n_points, 2))
    t_eval = np.asarray(t_eval, dtype=float)
    if t_eval.ndim != 1 or t_eval.size == 0 or t_eval.min() < 0 or t_eval.max() > t_max:
        raise InputError(f"t_eval must be a 1-d array of times in [0, {t_max}]")

    eqs = derive.saad_solla(model, train_second_layer=bool(train_second_layer))
    kernel = compile(eqs, order=order)
    y0 = {f"Q_{i}_{k}": start["Q"][i, k] for i in range(K) for k in range(i, K)}
    y0.update({f"R_{i}_{n}": start["R"][i, n] for i in range(K) for n in range(M)})
    params = {"eta": eta, "sigma": sigma, "kappa": kappa}
    params.update({f"T_{n}_{m}": start["T"][n, m] for n in range(M) for m in range(n, M)})
    params.update({f"A_{n}": A[n] for n in range(M)})
    if train_second_layer:
        y0.update({f"v_{i}": start["v"][i] for i in range(K)})
        params["eta_v"] = eta if eta_v is None else number("eta_v", eta_v)
    sol = integrate(
        kernel, y0, (0.0, t_max), params, method=method, t_eval=t_eval, rtol=rtol, atol=atol
    )
    n = sol.t.size
    Q = np.empty((n, K, K))
    for i in range(K):
        for k in range(i, K):
            Q[:, i, k] = Q[:, k, i] = sol[f"Q_{i}_{k}"]
    R = np.stack([np.stack([sol[f"R_{i}_{m}"] for m in range(M)], -1) for i in range(K)], 1)
    v = np.stack([sol[f"v_{i}"] for i in range(K)], -1) if train_second_layer else np.ones((n, K))
    eps = np.full(n, np.nan)
    finite = np.all(np.isfinite(sol.y), axis=1)
    if finite.any():
        values = {**params, **{name: sol.y[finite, j] for j, name in enumerate(sol.state)}}
        values[eqs.time.name] = sol.t[finite]
        obs = kernel.array(*[values[a] for a in kernel.arguments], observables=True)
        eps[finite] = obs[kernel.observables.index("eps_g")]
    converged = sol.converged and bool(np.all(np.isfinite(eps)))
    message = sol.message if converged or not sol.converged else "eps_g is not finite"
    return OnlineResult(
        t=sol.t,
        Q=Q,
        R=R,
        T=start["T"],
        v=v,
        eps_g=eps,
        initial=start,
        settings=dict(
            eta=eta,
            t_max=t_max,
            sigma=sigma,
            weight_decay=kappa,
            train_second_layer=bool(train_second_layer),
            eta_v=params.get("eta_v"),
            A=A.tolist(),
            method=method,
            nfev=sol.nfev,
            quadrature_resolution=sol.quadrature_resolution,
        ),
        converged=converged,
        iterations=sol.nfev,
        residual=float(eps[-1]) if n else None,
        residuals=eps.copy(),
        message=message,
    ).finish(strict)


def _saad_solla_manifold(model, spec, N, init, order, options):
    """:func:`saad_solla` for hidden-manifold inputs: :func:`numerics.saad_solla_manifold`
    with ``spec``'s folding function and features, from ``init`` as documented there."""
    from .gaussian_equivalence import get_moments
    from .online_manifold import saad_solla_manifold
    from .online_sgd import HiddenManifold

    if not isinstance(spec, HiddenManifold):
        raise InputError(f"inputs must be 'iid' or a numerics.HiddenManifold, got {spec!r}")
    if order is not None:
        raise InputError("order (quadrature nodes) applies to i.i.d. inputs only")
    K, M = model.K, model.M
    D = number("HiddenManifold.D", spec.D, integer=True)
    variable = spec.variable if spec.variable is not None else model.variable
    f = spec.f
    F = None
    if spec.F is not None:
        F = finite_array("HiddenManifold.F", spec.F, np.shape(spec.F))
        if F.ndim != 2 or F.shape[1] != D:
            raise InputError(f"HiddenManifold.F must be N x {D} (D = {D}), got shape {F.shape}")
    if N is not None:
        N = number("N", N, integer=True)
        if F is not None and F.shape[0] != N:
            raise InputError(f"N = {N} but HiddenManifold.F has {F.shape[0]} rows")
    if not hasattr(init, "items"):
        raise InputError(f"init must be a mapping, got {type(init).__name__}")
    keys = {str(k) for k in init}
    if keys and keys <= {"W", "B"}:  # the weights: the exact start over F's spectrum
        if F is None:
            raise InputError(
                "init holds weights (W, B): they need the features, HiddenManifold(F=...); "
                "or pass the order parameters Q, R, T (e.g. online_sgd(...).initial)"
            )
        return saad_solla_manifold(model, f, variable, F, init=dict(init), **options)
    start = check_order_parameters(init, K, M, second_layer=bool(options["train_second_layer"]))
    if N is None:
        if F is None:
            raise InputError(
                "N (the input dimension) is needed for hidden-manifold inputs with order "
                "parameters in init and no HiddenManifold.F"
            )
        N = F.shape[0]
    a_f, _, c_raw = get_moments(sp.sympify(f), variable, strict=True).astuple()
    c_f = c_raw - a_f**2
    if not c_f > 0:
        raise InputError(f"the folding function {f} has no variance (c - a^2 = {c_f})")
    overlaps = {"W": start["Q"] / c_f, "R": start["R"], "T": start["T"]}
    return saad_solla_manifold(
        model, f, variable, (N, D), init=overlaps, v=start.get("v"), **options
    )
