r"""Online SGD of two-layer networks on hidden-manifold inputs: the extended Saad--Solla ODEs.

Inputs live on a hidden manifold (Goldt, Mézard, Krzakala & Zdeborová, Phys. Rev. X 10,
041044 (2020), arXiv:1909.11500, Sec. V): a latent :math:`c \sim N(0, I_D)`, features
:math:`F` (:math:`N \times D`), inputs :math:`x = f(Fc/\sqrt D) - a` (centred), and a teacher
on the latent, :math:`\nu_m = \theta_m\cdot c/\sqrt D`. A student
:math:`\hat y = \sum_k v_k g(\lambda_k)`, :math:`\lambda_k = w_k\cdot x/\sqrt N`, learns online
with :math:`w_k \leftarrow w_k + (\eta/\sqrt N) v_k g'(\lambda_k)(y - \hat y) x`.

By the Gaussian equivalence property (ibid.) the fields
:math:`(\lambda, \nu)` are jointly Gaussian with

.. math::
    Q_{kl} = b^2 \Sigma_{kl} + (c_f - b^2) W_{kl},\qquad R_{km} = b\,\bar r_{km},\qquad
    T_{nm},

:math:`W_{kl} = w_k\cdot w_l/N`, :math:`S_k = F^T w_k/\sqrt N`, and :math:`b = \mathbb E\,u f(u)`,
:math:`c_f = \mathbb E (f(u) - a)^2 = c - a^2` the moments of the folding function. The
overlaps through the features close only in the eigenbasis of
:math:`\Omega = F^T F/N = \sum_\tau \rho_\tau \psi_\tau\psi_\tau^T` (ibid., Sec. V and
its appendix): with :math:`s_{k\tau} = \psi_\tau\cdot S_k` and :math:`e_{m\tau} = \psi_\tau\cdot
\theta_m`, the densities

.. math::
    \sigma_{kl}(\rho_\tau) = s_{k\tau}s_{l\tau},\qquad r_{km}(\rho_\tau) = s_{k\tau}e_{m\tau},
    \qquad t_{nm}(\rho_\tau) = e_{n\tau}e_{m\tau}

give :math:`\Sigma = \langle\sigma\rangle`, :math:`\bar r = \langle r\rangle`,
:math:`T = \langle t\rangle`, :math:`\langle\cdot\rangle = D^{-1}\sum_\tau` (an integral
over the spectral density of :math:`\Omega` as :math:`D\to\infty`). The teacher's density
:math:`t(\rho)` is kept resolved per eigenvalue (the authors' code replaces
:math:`\rho\, t(\rho)` by the global :math:`\tilde T = \langle\rho\, t\rangle`; the two agree
for a teacher isotropic in the eigenbasis).

Derivation (the appendix's route, written out). With the Gaussian equivalent inputs
:math:`x = b Fc/\sqrt D + \kappa_\star\xi`, :math:`\kappa_\star^2 = c_f - b^2`, one step moves
:math:`s_{k\tau}` by :math:`\Delta_k[b\rho_\tau \tilde c_\tau/\sqrt D + \kappa_\star
(F\psi_\tau)\cdot\xi/N]`, :math:`\Delta_k = \eta v_k g'(\lambda_k)(y - \hat y)`,
:math:`\tilde c_\tau = \psi_\tau\cdot c`. The mean of :math:`\Delta_k z` for a Gaussian
:math:`z` is written, term by term of :math:`\Delta_k` (each a function of two fields
:math:`\lambda_k, \phi`), through the regression of :math:`z` on those two fields: this
brings in the 2 x 2 inverses of :math:`[[Q_{kk}, Q_{kj}], [Q_{kj}, Q_{jj}]]` and
:math:`[[Q_{kk}, R_{kn}], [R_{kn}, T_{nn}]]` and only the averages :math:`I_3` of the iid
theory (:mod:`derive.online`), evaluated on the GET covariance. The covariances of the
step's direction with the fields are :math:`d(\rho)s_{j\tau}/D` with :math:`\lambda_j` and
:math:`b\rho\, e_{n\tau}/D` with :math:`\nu_n`, where
:math:`d(\rho) = b^2\rho + \kappa_\star^2\delta`, :math:`\delta = D/N`. In
:math:`t = \text{steps}/N` this gives

.. math::
    \frac{dr_{km}(\rho)}{dt} &= \frac{\eta}{\delta}\Big[d(\rho)\sum_j G_{kj} r_{jm}(\rho)
        + b\rho\sum_n H_{kn} t_{nm}(\rho)\Big] - \kappa r_{km}(\rho),
        &\text{(M1)}\\
    \frac{d\sigma_{kl}(\rho)}{dt} &= \frac{\eta}{\delta}\Big[d(\rho)\sum_j
        \big(G_{kj}\sigma_{jl}(\rho) + G_{lj}\sigma_{jk}(\rho)\big) + b\rho\sum_n
        \big(H_{kn} r_{ln}(\rho) + H_{ln} r_{kn}(\rho)\big)\Big]\\
        &\quad + \eta^2\rho\Big(\frac{b^2\rho}{\delta} + \kappa_\star^2\Big) E_{kl}
        - 2\kappa\sigma_{kl}(\rho), &\text{(M2)}\\
    \frac{dW_{kl}}{dt} &= \eta(P_{kl} + P_{lk}) + \eta^2 c_f E_{kl} - 2\kappa W_{kl},
        &\text{(M3)}

with the coefficients (functions of :math:`Q, R, T` only; (M4))

.. math::
    G_{kk} &= \sum_n v_k A_n\frac{T_{nn}I_3(k,k,n) - R_{kn}I_3(k,n,n)}{Q_{kk}T_{nn} - R_{kn}^2}
        - \sum_{j\ne k} v_k v_j\frac{Q_{jj}I_3(k,k,j) - Q_{kj}I_3(k,j,j)}{Q_{kk}Q_{jj}
        - Q_{kj}^2} - v_k^2\frac{I_3(k,k,k)}{Q_{kk}},\\
    G_{kj} &= -v_k v_j\frac{Q_{kk}I_3(k,j,j) - Q_{kj}I_3(k,k,j)}{Q_{kk}Q_{jj} - Q_{kj}^2}
        \quad (j\ne k),\qquad
    H_{kn} = v_k A_n\frac{Q_{kk}I_3(k,n,n) - R_{kn}I_3(k,k,n)}{Q_{kk}T_{nn} - R_{kn}^2},\\
    P_{kl} &= v_k\Big[\sum_n A_n I_3(k,l,n) - \sum_j v_j I_3(k,l,j)\Big],\\
    E_{kl} &= v_k v_l\Big[\sum_{nm}A_nA_m I_4(k,l,n,m) - 2\sum_{jm}v_jA_m I_4(k,l,j,m)
        + \sum_{ij}v_iv_j I_4(k,l,i,j) + \sigma^2 J_2(k,l)\Big]

(Goldt et al. 2020, Sec. V and its appendix, in the form of the authors' integrator
``hmm_ode.cpp``, github.com/sgoldt/hidden-manifold-model, lines "first" to "fifth line";
label noise :math:`\sigma` and weight decay :math:`\kappa` added as in Goldt et al.,
arXiv:1906.08632). With a trained second layer
:math:`dv_i/dt = \eta_v U_i`, :math:`U_i = \sum_n A_n I_2(i,n) - \sum_k v_k I_2(i,k)`, and
:math:`\epsilon_g` is the iid formula at :math:`(Q, R, T)`.

Check: for a linear :math:`f` (:math:`\kappa_\star = 0`, :math:`b = 1`) and
:math:`\Omega = I` (:math:`\rho = 1`, :math:`d = 1`) the equations for
:math:`\Sigma = Q`, :math:`\bar r = R` are the iid Saad--Solla equations in the time
:math:`t/\delta` (the student sees a :math:`D`-dimensional Gaussian input).
"""

import sympy as sp

from .equations import Equations
from .errors import ModelError
from .model import memoized
from .online import STUDENT, TEACHER, TIME, CommitteeMachine, committee_integral

__all__ = ["manifold_coefficients", "saad_solla_manifold"]

_REAL = {"real": True}


def _pairs(n):
    return [(i, k) for i in range(n) for k in range(i, n)]


def _sym(name, *index):
    return sp.Symbol("_".join([name] + [str(i) for i in index]), **_REAL)


def _model(model):
    if not isinstance(model, CommitteeMachine):
        raise ModelError(
            f"the hidden-manifold ODEs need a derive.CommitteeMachine, got {type(model).__name__}"
        )
    return model


class _Averages:
    """The iid averages of :mod:`derive.online` at fields with the GET covariance."""

    def __init__(self, model, Q, R, T):
        self.model, self.Q, self.R, self.T = model, Q, R, T
        self.cache = {}

    def cov(self, f1, f2):
        (k1, i1), (k2, i2) = sorted([f1, f2])
        if k1 == k2 == STUDENT:
            return self.Q[min(i1, i2), max(i1, i2)]
        if k1 == k2 == TEACHER:
            return self.T[min(i1, i2), max(i1, i2)]
        return self.R[i1, i2]

    def __call__(self, name, *fields):
        key = (name, fields)
        if key not in self.cache:
            distinct = list(dict.fromkeys(fields))
            signature = tuple((distinct.index(f), f[0]) for f in fields)
            m = self.model
            expr, cov = committee_integral(
                name, m.student, m.teacher, m.derivative, m.variable, signature
            )
            n = len(distinct)
            values = {
                cov[p, q]: self.cov(distinct[p], distinct[q]) for p in range(n) for q in range(p, n)
            }
            self.cache[key] = expr.xreplace(values)
        return self.cache[key]


@memoized
def manifold_coefficients(model, train_second_layer=False):
    r"""The coefficients of the hidden-manifold ODEs, from the spectral averages.

    The map :math:`(\Sigma, W, \bar r, T[, v]) \mapsto (G, H, E, dW/dt[, dv/dt])` of the module's
    equations (Goldt, Mézard, Krzakala & Zdeborová, PRX 10, 041044 (2020), Sec. V and
    its appendix; Eq. (M4) of this module), through the GET covariance

    .. math::
        Q_{kl} = b^2\Sigma_{kl} + (c_f - b^2)W_{kl},\qquad R_{kn} = b\,\bar r_{kn}

    (the Gaussian equivalence property, ibid.), on which the averages :math:`I_2, I_3, I_4, J_2` of
    :func:`derive.online.committee_integral` are evaluated.

    Parameters
    ----------
    model : CommitteeMachine
    train_second_layer : bool
        Whether ``v_i`` are inputs (and ``U_i`` outputs); otherwise ``v = 1``.

    Returns
    -------
    Equations
        ``kind="map"``. Inputs (role ``"data"``): ``Sigma_k_l``, ``W_k_l`` (``k <= l``),
        ``rbar_k_n``, ``T_n_m`` (``n <= m``) and ``v_k`` when trained. Parameters ``eta``,
        ``eta_v`` (trained second layer), ``kappa`` (weight decay), ``b_f``, ``c_f``
        (:math:`b = \mathbb E\,uf(u)`, :math:`c_f = \mathbb E f(u)^2 - a^2`), ``sigma``
        (label noise) and ``A_n``. Outputs: the coefficients ``G_k_j``, ``H_k_n``, ``E_k_l``
        (``k <= l``) of :func:`saad_solla_manifold`, and the derivatives of the global state
        ``dW_k_l`` (:math:`dW_{kl}/dt`, ``k <= l``) and ``dv_k`` (:math:`dv_k/dt`, trained
        second layer). Observables ``Q_k_l``, ``R_k_n`` and ``eps_g``.

    Raises
    ------
    ModelError
        If ``model`` is not a :class:`CommitteeMachine`.
    """
    model = _model(model)
    K, M = model.K, model.M
    b, c = sp.Symbol("b_f", **_REAL), sp.Symbol("c_f", **_REAL)
    sigma = sp.Symbol("sigma", **_REAL)
    eta, kappa, eta_v = (sp.Symbol(n, **_REAL) for n in ("eta", "kappa", "eta_v"))
    A = [_sym("A", n) for n in range(M)]
    Sig = {p: _sym("Sigma", *p) for p in _pairs(K)}
    Wm = {p: _sym("W", *p) for p in _pairs(K)}
    rbar = {(k, n): _sym("rbar", k, n) for k in range(K) for n in range(M)}
    T = {p: _sym("T", *p) for p in _pairs(M)}
    vs = [_sym("v", k) for k in range(K)]
    v = vs if train_second_layer else [sp.S.One] * K
    Q = {p: b**2 * Sig[p] + (c - b**2) * Wm[p] for p in _pairs(K)}
    R = {p: b * rbar[p] for p in rbar}
    I = _Averages(model, Q, R, T)  # noqa: E741
    S = lambda i: (STUDENT, i)  # noqa: E731
    Tf = lambda n: (TEACHER, n)  # noqa: E731
    q = lambda i, j: Q[min(i, j), max(i, j)]  # noqa: E731

    outputs = {}
    for k in range(K):
        for j in range(K):
            if j == k:
                g = -(v[k] ** 2) * I("I3", S(k), S(k), S(k)) / q(k, k)
                for l in range(K):  # noqa: E741
                    if l != k:
                        det = q(k, k) * q(l, l) - q(k, l) ** 2
                        g -= (
                            v[k]
                            * v[l]
                            * (
                                q(l, l) * I("I3", S(k), S(k), S(l))
                                - q(k, l) * I("I3", S(k), S(l), S(l))
                            )
                            / det
                        )
                for n in range(M):
                    det = q(k, k) * T[n, n] - R[k, n] ** 2
                    g += (
                        v[k]
                        * A[n]
                        * (
                            T[n, n] * I("I3", S(k), S(k), Tf(n))
                            - R[k, n] * I("I3", S(k), Tf(n), Tf(n))
                        )
                        / det
                    )
            else:
                det = q(k, k) * q(j, j) - q(k, j) ** 2
                g = (
                    -v[k]
                    * v[j]
                    * (q(k, k) * I("I3", S(k), S(j), S(j)) - q(k, j) * I("I3", S(k), S(k), S(j)))
                    / det
                )
            outputs[_sym("G", k, j)] = g
    for k in range(K):
        for n in range(M):
            det = q(k, k) * T[n, n] - R[k, n] ** 2
            outputs[_sym("H", k, n)] = (
                v[k]
                * A[n]
                * (q(k, k) * I("I3", S(k), Tf(n), Tf(n)) - R[k, n] * I("I3", S(k), S(k), Tf(n)))
                / det
            )
    P = {
        (k, l): v[k]
        * (
            sp.Add(*[A[n] * I("I3", S(k), S(l), Tf(n)) for n in range(M)])
            - sp.Add(*[v[j] * I("I3", S(k), S(l), S(j)) for j in range(K)])
        )
        for k in range(K)
        for l in range(K)  # noqa: E741
    }
    for k, l in _pairs(K):  # noqa: E741
        noise = (
            sp.Add(
                *[
                    A[n] * A[m] * I("I4", S(k), S(l), Tf(n), Tf(m))
                    for n in range(M)
                    for m in range(M)
                ]
            )
            - 2
            * sp.Add(
                *[
                    v[j] * A[m] * I("I4", S(k), S(l), S(j), Tf(m))
                    for j in range(K)
                    for m in range(M)
                ]
            )
            + sp.Add(
                *[v[i] * v[j] * I("I4", S(k), S(l), S(i), S(j)) for i in range(K) for j in range(K)]
            )
            + sigma**2 * I("J2", S(k), S(l))
        )
        outputs[_sym("E", k, l)] = v[k] * v[l] * noise
    for k, l in _pairs(K):  # noqa: E741
        outputs[_sym("dW", k, l)] = (
            eta * (P[k, l] + P[l, k]) + eta**2 * c * outputs[_sym("E", k, l)] - 2 * kappa * Wm[k, l]
        )
    if train_second_layer:
        for i in range(K):
            outputs[_sym("dv", i)] = eta_v * (
                sp.Add(*[A[n] * I("I2", S(i), Tf(n)) for n in range(M)])
                - sp.Add(*[v[k] * I("I2", S(i), S(k)) for k in range(K)])
            )
    eps_g = sp.Rational(1, 2) * (
        sp.Add(*[v[i] * v[k] * I("I2", S(i), S(k)) for i in range(K) for k in range(K)])
        + sp.Add(*[A[n] * A[m] * I("I2", Tf(n), Tf(m)) for n in range(M) for m in range(M)])
        - 2 * sp.Add(*[v[i] * A[n] * I("I2", S(i), Tf(n)) for i in range(K) for n in range(M)])
    )
    observables = {_sym("Q", *p): e for p, e in Q.items()}
    observables.update({_sym("R", *p): e for p, e in R.items()})
    observables[sp.Symbol("eps_g", **_REAL)] = eps_g
    inputs = list(Sig.values()) + list(Wm.values()) + list(rbar.values()) + list(T.values())
    inputs += vs if train_second_layer else []
    params = [eta] + ([eta_v] if train_second_layer else []) + [kappa, b, c, sigma] + A
    return Equations(
        "saad_solla_manifold_coefficients",
        "map",
        inputs,
        params,
        outputs,
        observables=observables,
        model=model,
        description=(
            f"Coefficients of the hidden-manifold Saad-Solla ODEs, K={K}, M={M}, "
            f"g = {model.student}, teacher g~ = {model.teacher}, from the GET covariance "
            "Q = b^2 Sigma + (c_f - b^2) W, R = b rbar (Goldt, Mezard, Krzakala, Zdeborova, "
            "PRX 10, 041044 (2020), Sec. V and appendix)"
        ),
        roles={s: "data" for s in inputs},
    )


@memoized
def saad_solla_manifold(model):
    r"""The hidden-manifold Saad--Solla ODEs at one eigenvalue :math:`\rho` of :math:`\Omega`.

    The right-hand sides of the module's equations (Goldt, Mézard, Krzakala & Zdeborová,
    PRX 10, 041044 (2020), Sec. V and its appendix) for the densities
    :math:`\sigma_{kl}(\rho)`, :math:`r_{km}(\rho)` at the eigenvalue ``rho``, with the
    teacher's density :math:`t_{nm}(\rho)` as data:

    .. math::
        \frac{dr_{km}}{dt} = \frac{\eta}{\delta}\Big[d(\rho)\sum_j G_{kj} r_{jm}
            + b\rho\sum_n H_{kn} t_{nm}\Big] - \kappa r_{km},\qquad
        d(\rho) = b^2\rho + (c_f - b^2)\delta,

    and the like for :math:`\sigma_{kl}` (with the second-order term
    :math:`\eta^2\rho(b^2\rho/\delta + c_f - b^2)E_{kl}`). They are linear in the densities;
    their coefficients ``G``, ``H``, ``E`` depend on the spectral averages only and are the
    outputs of :func:`manifold_coefficients`, which also gives the global derivatives
    :math:`dW/dt` (and :math:`dv/dt`): a solver evaluates that map once per right-hand side,
    then these equations at every eigenvalue.

    Parameters
    ----------
    model : CommitteeMachine

    Returns
    -------
    Equations
        ``kind="ode"``, time ``t``. State ``sigma_k_l`` (``k <= l``) and ``r_k_n`` (the
        densities at ``rho``). Data: ``rho``, ``tt_n_m`` (``n <= m``, the teacher's density
        at ``rho``), and the coefficients ``G_k_j``, ``H_k_n``, ``E_k_l`` (``k <= l``).
        Parameters ``eta``, ``delta`` (:math:`D/N`), ``b_f``, ``c_f`` and ``kappa`` (weight
        decay).

    Raises
    ------
    ModelError
        If ``model`` is not a :class:`CommitteeMachine`.

    Examples
    --------
    >>> import sympy as sp
    >>> from derive.online import CommitteeMachine
    >>> u = sp.Symbol("u", real=True)
    >>> eqs = saad_solla_manifold(CommitteeMachine(u, variable=u, K=1, M=1))
    >>> eqs["r_0_0"]
    -kappa*r_0_0 + eta*(G_0_0*r_0_0*(b_f**2*rho + delta*(-b_f**2 + c_f)) + H_0_0*b_f*rho*tt_0_0)/delta
    """
    model = _model(model)
    K, M = model.K, model.M
    eta, delta, kappa = (sp.Symbol(n, **_REAL) for n in ("eta", "delta", "kappa"))
    b, c = sp.Symbol("b_f", **_REAL), sp.Symbol("c_f", **_REAL)
    rho = sp.Symbol("rho", **_REAL)
    sig = {p: _sym("sigma", *p) for p in _pairs(K)}
    r = {(k, n): _sym("r", k, n) for k in range(K) for n in range(M)}
    tt = {p: _sym("tt", *p) for p in _pairs(M)}
    G = {(k, j): _sym("G", k, j) for k in range(K) for j in range(K)}
    H = {(k, n): _sym("H", k, n) for k in range(K) for n in range(M)}
    E = {p: _sym("E", *p) for p in _pairs(K)}
    s = lambda i, j: sig[min(i, j), max(i, j)]  # noqa: E731
    t = lambda n, m: tt[min(n, m), max(n, m)]  # noqa: E731
    d = b**2 * rho + (c - b**2) * delta

    outputs = {}
    for (k, l), x in sig.items():  # noqa: E741
        linear = d * sp.Add(*[G[k, j] * s(j, l) + G[l, j] * s(j, k) for j in range(K)])
        linear += b * rho * sp.Add(*[H[k, n] * r[l, n] + H[l, n] * r[k, n] for n in range(M)])
        second = eta**2 * rho * (b**2 * rho / delta + c - b**2) * E[k, l]
        outputs[x] = eta / delta * linear + second - 2 * kappa * x
    for (k, m), x in r.items():
        linear = d * sp.Add(*[G[k, j] * r[j, m] for j in range(K)])
        linear += b * rho * sp.Add(*[H[k, n] * t(n, m) for n in range(M)])
        outputs[x] = eta / delta * linear - kappa * x
    state = list(sig.values()) + list(r.values())
    data = [rho] + list(tt.values()) + list(G.values()) + list(H.values()) + list(E.values())
    roles = {x: "state" for x in state}
    roles.update({x: "data" for x in data})
    return Equations(
        "saad_solla_manifold",
        "ode",
        [TIME] + state + data,
        [eta, delta, b, c, kappa],
        outputs,
        model=model,
        description=(
            f"Saad-Solla ODEs on hidden-manifold inputs at one eigenvalue rho of "
            f"Omega = F^T F / N, K={K}, M={M}, g = {model.student}, teacher g~ = "
            f"{model.teacher} (Goldt, Mezard, Krzakala, Zdeborova, PRX 10, 041044 (2020), "
            "Sec. V and appendix); the coefficients G, H, E and the global dW/dt (dv/dt) from "
            "saad_solla_manifold_coefficients"
        ),
        roles=roles,
        time=TIME,
    )
