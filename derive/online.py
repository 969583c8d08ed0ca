r"""Online learning of two-layer networks: the soft committee machine and the Saad--Solla ODEs.

A student :math:`\hat y = \sum_{k<K} v_k g(\lambda_k)` learns online from a teacher
:math:`y = \sum_{m<M} A_m \tilde g(\nu_m) + \sigma\zeta` on Gaussian inputs, one fresh sample
per step, with the loss :math:`(y - \hat y)^2/2`. In the limit of large input dimension the
order parameters :math:`Q_{ik} = w_i\cdot w_k/N`, :math:`R_{in} = w_i\cdot B_n/N`,
:math:`T_{nm} = B_n\cdot B_m/N` (and :math:`v_i`) follow ODEs in :math:`t = \text{steps}/N`
whose right-hand sides are Gaussian averages over the local fields, jointly Gaussian with
covariance :math:`C = [[Q, R], [R^T, T]]`:

.. math::
    I_2(a,b) = \mathbb E[g(a)g(b)],\quad I_3(a,b,c) = \mathbb E[g'(a)\, b\, g(c)],\quad
    I_4(a,b,c,d) = \mathbb E[g'(a)g'(b)g(c)g(d)],\quad J_2(a,b) = \mathbb E[g'(a)g'(b)]

(teacher fields carry :math:`\tilde g`). They are derived here with
:func:`derive.gaussian.multivariate_expectation`: for :math:`g = \mathrm{erf}(u/\sqrt2)`
the engine arrives at Saad & Solla's arcsin forms by itself (Gaussian factors absorbed,
Stein's lemma, orthant probabilities), linear and ReLU close too (ReLU's four-event orthant
in :math:`I_4` as a smooth one-dimensional integral), and other activations (``tanh``)
are left as Gaussian quadrature nodes of dimension 2 to 4.

References
----------
D. Saad and S. A. Solla, Phys. Rev. E 52, 4225 (1995); M. Biehl and H. Schwarze,
J. Phys. A 28, 643 (1995); S. Goldt, M. Advani, A. Saxe, F. Krzakala, L. Zdeborova,
NeurIPS 2019, arXiv:1906.08632 (the general-K, M equations with a trained second layer).
"""

import itertools

import sympy as sp

from .definitions import define
from .equations import Equations
from .errors import ModelError
from .functions import GaussianExpectation
from .gaussian import multivariate_expectation
from .model import Model, memoized

__all__ = ["CommitteeMachine", "committee_integrals", "committee_integral", "saad_solla"]

STUDENT, TEACHER = "student", "teacher"
#: the time symbol of the Saad--Solla equations
TIME = sp.Symbol("t", real=True)


def _activation(expr, variable, who):
    try:
        expr = sp.sympify(expr)
    except (sp.SympifyError, TypeError) as exc:
        raise ModelError(f"the {who} activation {expr!r} is not a sympy expression") from exc
    if not isinstance(expr, sp.Expr):
        raise ModelError(f"the {who} activation must be an expression in {variable}, got {expr}")
    other = sorted(expr.free_symbols - {variable}, key=str)
    if other:
        raise ModelError(
            f"the {who} activation {expr} uses {', '.join(map(str, other))}; "
            f"it must be a function of the variable {variable} alone"
        )
    if not expr.has(variable):
        raise ModelError(f"the {who} activation {expr} does not depend on {variable}")
    return expr


def _size(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, sp.Integer)):
        raise ModelError(f"{name} must be a positive integer, got {value!r}")
    if int(value) < 1:
        raise ModelError(f"{name} must be >= 1, got {value}")
    return int(value)


class CommitteeMachine(Model):
    r"""A soft committee machine learning from a teacher of the same form.

    Parameters
    ----------
    student : sympy expression
        The student's activation :math:`g` in ``variable``.
    teacher : sympy expression, optional
        The teacher's activation :math:`\tilde g` (default: the student's).
    variable : Symbol
        The variable of both activations.
    K, M : int
        The numbers of student and teacher hidden units (``K > M``: over-parametrised).

    Notes
    -----
    The student's derivative :math:`g'` enters the SGD update. Where ``g`` has kinks its
    derivative is the subgradient sympy gives (``Max(0, u) -> Heaviside(u)``,
    ``Abs(u) -> sign(u)``, a ``Piecewise`` piece by piece), the one SGD uses almost surely;
    an activation whose derivative is a distribution (``sign``: ``2 DiracDelta``) or is
    not defined is refused.

    Raises
    ------
    ModelError
        For K or M < 1, an activation in a symbol other than ``variable``, or a student
        activation without a usable derivative.

    Examples
    --------
    >>> import sympy as sp
    >>> u = sp.Symbol("u", real=True)
    >>> m = CommitteeMachine(sp.erf(u / sp.sqrt(2)), variable=u, K=2, M=2)
    >>> m.teacher == m.student, m.derivative
    (True, sqrt(2)*exp(-u**2/2)/sqrt(pi))
    """

    def __init__(self, student, teacher=None, variable=None, K=2, M=2):
        if not isinstance(variable, sp.Symbol):
            raise ModelError(f"variable must be a sympy Symbol, got {variable!r}")
        self.variable = variable
        self.student = _activation(student, variable, STUDENT)
        self.teacher = self.student if teacher is None else _activation(teacher, variable, TEACHER)
        self.K = _size("K", K)
        self.M = _size("M", M)
        derivative = sp.diff(self.student, variable)
        if derivative.has(sp.Derivative, sp.Subs):
            raise ModelError(
                f"the derivative of the student activation {self.student} is not defined "
                f"({derivative}); SGD needs g'"
            )
        if derivative.has(sp.DiracDelta):
            raise ModelError(
                f"the derivative of the student activation {self.student} is a distribution "
                f"({derivative}): SGD needs g' as a function (use a smooth surrogate)"
            )
        self.derivative = derivative
        self._freeze()

    def _content(self):
        return (self.student, self.teacher, self.variable, self.K, self.M)

    def __repr__(self):
        return (
            f"CommitteeMachine(student={self.student}, teacher={self.teacher}, "
            f"variable={self.variable}, K={self.K}, M={self.M})"
        )


# --- the Gaussian averages --------------------------------------------------------------

#: the integrands, by argument: "g" is the activation of the field's kind, "dg" the
#: student's derivative, "x" the field itself
_SHAPES = {
    "I2": ("g", "g"),
    "I3": ("dg", "x", "g"),
    "I4": ("dg", "dg", "g", "g"),
    "J2": ("dg", "dg"),
}
#: which arguments are student fields by definition (g' is the student's)
_STUDENT_ONLY = {"I2": (), "I3": (0,), "I4": (0, 1), "J2": (0, 1)}


def _generic_symbols(n):
    """Covariance symbols ``C_pq`` of ``n`` distinct fields (diagonal positive)."""
    return sp.Matrix(
        n,
        n,
        lambda p, q: sp.Symbol(f"C_{min(p, q)}{max(p, q)}", positive=(p == q), real=True),
    )


@memoized
def committee_integral(name, student, teacher, derivative, variable, signature):
    r"""One Gaussian average of the committee machine, generic in the covariance.

    Parameters
    ----------
    name : {"I2", "I3", "I4", "J2"}
    student, teacher, derivative, variable : sympy
        :math:`g`, :math:`\tilde g`, :math:`g'` and their variable.
    signature : tuple
        For each argument ``(label, kind)``: arguments with the same label are the same
        field (``I3(i, k, i)``), ``kind`` is ``"student"`` or ``"teacher"``. Labels are
        ``0, 1, ...`` in order of first appearance.

    Returns
    -------
    (sympy expression, Matrix)
        The average in the symbols ``C_pq`` (the covariance of the distinct fields, in
        label order), and that matrix of symbols.
    """
    labels = sorted({label for label, _ in signature})
    zs = sp.symbols(f"z_0:{len(labels)}", real=True)
    factors = []
    for shape, (label, kind) in zip(_SHAPES[name], signature):
        z = zs[label]
        if shape == "x":
            factors.append(z)
        elif shape == "dg":
            factors.append(derivative.subs(variable, z))
        else:
            factors.append((student if kind == STUDENT else teacher).subs(variable, z))
    cov = _generic_symbols(len(labels))
    return multivariate_expectation(sp.Mul(*factors), zs, cov), cov


def committee_integrals(model):
    r"""The averages :math:`I_2, I_3, I_4, J_2` of ``model`` for distinct fields.

    Returns
    -------
    dict
        ``{name: {kinds: expression}}``, ``kinds`` a tuple of ``"student"`` /
        ``"teacher"`` per argument, each expression in the covariance symbols ``C_pq``
        (``p <= q`` the argument positions). Coinciding arguments (``I3(i, k, i)``) are
        derived on their own by :func:`committee_integral` (a singular covariance would
        make the generic fallback divide by zero).

    Examples
    --------
    >>> import sympy as sp
    >>> u = sp.Symbol("u", real=True)
    >>> I = committee_integrals(CommitteeMachine(sp.erf(u / sp.sqrt(2)), variable=u, K=1, M=1))
    >>> I["I2"][("student", "teacher")]
    2*asin(C_01/(sqrt(C_00 + 1)*sqrt(C_11 + 1)))/pi
    """
    out = {}
    for name, shape in _SHAPES.items():
        out[name] = {}
        for kinds in itertools.product((STUDENT, TEACHER), repeat=len(shape)):
            if any(kinds[p] != STUDENT for p in _STUDENT_ONLY[name]):
                continue
            if name == "I3" and kinds[1] == TEACHER:
                continue  # the middle field enters linearly: its kind does not matter
            signature = tuple((p, k) for p, k in enumerate(kinds))
            out[name][kinds] = _integral(model, name, signature)[0]
    return out


def _normalised(name, signature):
    """I3's middle field enters linearly: its kind does not matter (one derivation for both)."""
    if name == "I3":
        return (signature[0], (signature[1][0], STUDENT), signature[2])
    return signature


def _integral(model, name, signature):
    signature = _normalised(name, signature)
    return committee_integral(
        name, model.student, model.teacher, model.derivative, model.variable, signature
    )


# --- the ODEs ---------------------------------------------------------------------------


class _Fields:
    """The order-parameter symbols and the instances of the averages over the fields."""

    def __init__(self, model):
        self.model = model
        K, M = model.K, model.M
        real = {"real": True}
        self.Q = {(i, k): sp.Symbol(f"Q_{i}_{k}", **real) for i in range(K) for k in range(i, K)}
        self.R = {(i, n): sp.Symbol(f"R_{i}_{n}", **real) for i in range(K) for n in range(M)}
        self.T = {(n, m): sp.Symbol(f"T_{n}_{m}", **real) for n in range(M) for m in range(n, M)}
        self.cache = {}

    def cov(self, f1, f2):
        (k1, i1), (k2, i2) = sorted([f1, f2])
        if k1 == STUDENT and k2 == STUDENT:
            return self.Q[(i1, i2)]
        if k1 == TEACHER and k2 == TEACHER:
            return self.T[(i1, i2)]
        return self.R[(i1, i2)]  # sorted: the student comes first

    def average(self, name, *fields):
        """``name`` at the fields (``("student", i)`` or ``("teacher", n)``), once per tuple."""
        key = (name, _canonical(name, fields))
        if key not in self.cache:
            fields = key[1]
            distinct = list(dict.fromkeys(fields))
            signature = tuple((distinct.index(f), f[0]) for f in fields)
            n = len(distinct)
            values = [self.cov(distinct[p], distinct[q]) for p in range(n) for q in range(p, n)]
            self.cache[key] = _average_function(self.model, name, signature)(*values)
        return self.cache[key]


#: an average whose closed form is at most this many operations, free of functions, is
#: written out at each application (``g = u``: I3 = C_12); any other is a definition
_INLINE_OPS = 4


def _average_function(model, name, signature):
    r"""The average ``name`` over fields of ``signature`` as a function of the covariance
    entries ``C_pq`` (``p <= q``, row by row): a :func:`~derive.definitions.define`\ d
    function ``I3_s0s1t2`` (student fields ``s``, teacher fields ``t``, numbered by label),
    derived once and applied at every tuple of units; a trivial closed form is a plain
    substitution instead."""
    expr, cov = _integral(model, name, signature)
    signature = _normalised(name, signature)
    n = cov.shape[0]
    params = [cov[p, q] for p in range(n) for q in range(p, n)]
    if sp.count_ops(expr) <= _INLINE_OPS and not expr.has(sp.Function, GaussianExpectation):
        return lambda *values: expr.xreplace(dict(zip(params, values)))
    label = "".join(f"{kind[0]}{index}" for index, kind in signature)
    return define(f"{name}_{label}", params, expr)


def _canonical(name, fields):
    """Fields in a canonical order under the averages' symmetries (each instance once)."""
    fields = tuple(fields)
    if name in ("I2", "J2"):
        return tuple(sorted(fields))
    if name == "I4":
        return tuple(sorted(fields[:2])) + tuple(sorted(fields[2:]))
    return fields


@memoized
def saad_solla(model, train_second_layer=False):
    r"""The Saad--Solla ODEs of online SGD for a :class:`CommitteeMachine`.

    .. math::
        \frac{dR_{in}}{dt} &= \eta v_i\Big[\sum_m A_m I_3(i,n,m) - \sum_j v_j I_3(i,n,j)\Big]
            - \kappa R_{in},\\
        \frac{dQ_{ik}}{dt} &= \eta v_i\Big[\sum_m A_m I_3(i,k,m) - \sum_j v_j I_3(i,k,j)\Big]
            + (i \leftrightarrow k) - 2\kappa Q_{ik}\\
            &\quad + \eta^2 v_i v_k\Big[\sum_{nm} A_n A_m I_4(i,k,n,m)
            - 2\sum_{jm} v_j A_m I_4(i,k,j,m) + \sum_{jl} v_j v_l I_4(i,k,j,l)
            + \sigma^2 J_2(i,k)\Big],\\
        \frac{dv_i}{dt} &= \eta_v\Big[\sum_n A_n I_2(i,n) - \sum_k v_k I_2(i,k)\Big],\\
        \epsilon_g &= \tfrac12\Big[\sum_{ik} v_i v_k I_2(i,k) + \sum_{nm} A_n A_m I_2(n,m)
            - 2\sum_{in} v_i A_n I_2(i,n)\Big]

    (Saad & Solla, PRE 52, 4225 (1995), eqs. 8-10; Biehl & Schwarze, J. Phys. A 28, 643
    (1995); Goldt et al., arXiv:1906.08632, eqs. 11-13 for the trained second layer).

    Parameters
    ----------
    model : CommitteeMachine
    train_second_layer : bool
        Whether ``v`` is learned (state ``v_i``, rate ``eta_v``); otherwise ``v_i = 1``.

    Returns
    -------
    Equations
        ``kind="ode"``, time ``t``. State ``Q_i_k`` (``0 <= i <= k < K``), ``R_i_n``
        (``i < K``, ``n < M``) and, with a trained second layer, ``v_i``. Parameters
        ``eta``, ``eta_v`` (trained second layer only), ``sigma`` (label-noise standard
        deviation), ``kappa`` (weight decay), ``T_n_m`` (``0 <= n <= m < M``, the teacher's
        fixed overlaps) and ``A_n`` (the teacher's second layer). Observable ``eps_g``.

    Raises
    ------
    ModelError
        If ``model`` is not a :class:`CommitteeMachine`.
    """
    if not isinstance(model, CommitteeMachine):
        raise ModelError(f"saad_solla needs a CommitteeMachine, got {type(model).__name__}")
    K, M = model.K, model.M
    F = _Fields(model)
    real = {"real": True}
    eta, sigma, kappa = sp.symbols("eta sigma kappa", **real)
    eta_v = sp.Symbol("eta_v", **real)
    A = [sp.Symbol(f"A_{n}", **real) for n in range(M)]
    vs = [sp.Symbol(f"v_{i}", **real) for i in range(K)]
    v = vs if train_second_layer else [sp.S.One] * K
    S = lambda i: (STUDENT, i)  # noqa: E731
    Tf = lambda n: (TEACHER, n)  # noqa: E731

    def drift(i, b):
        """eta v_i [sum_m A_m I3(i, b, m) - sum_j v_j I3(i, b, j)]."""
        teach = sp.Add(*[A[m] * F.average("I3", S(i), b, Tf(m)) for m in range(M)])
        stud = sp.Add(*[v[j] * F.average("I3", S(i), b, S(j)) for j in range(K)])
        return eta * v[i] * (teach - stud)

    outputs = {}
    for (i, k), q in F.Q.items():
        noise = (
            sp.Add(
                *[
                    A[n] * A[m] * F.average("I4", S(i), S(k), Tf(n), Tf(m))
                    for n in range(M)
                    for m in range(M)
                ]
            )
            - 2
            * sp.Add(
                *[
                    v[j] * A[m] * F.average("I4", S(i), S(k), S(j), Tf(m))
                    for j in range(K)
                    for m in range(M)
                ]
            )
            + sp.Add(
                *[
                    v[j] * v[l] * F.average("I4", S(i), S(k), S(j), S(l))
                    for j in range(K)
                    for l in range(K)  # noqa: E741
                ]
            )
            + sigma**2 * F.average("J2", S(i), S(k))
        )
        outputs[q] = drift(i, S(k)) + drift(k, S(i)) + eta**2 * v[i] * v[k] * noise - 2 * kappa * q
    for (i, n), r in F.R.items():
        outputs[r] = drift(i, Tf(n)) - kappa * r
    if train_second_layer:
        for i in range(K):
            outputs[vs[i]] = eta_v * (
                sp.Add(*[A[n] * F.average("I2", S(i), Tf(n)) for n in range(M)])
                - sp.Add(*[v[k] * F.average("I2", S(i), S(k)) for k in range(K)])
            )
    eps_g = sp.Rational(1, 2) * (
        sp.Add(*[v[i] * v[k] * F.average("I2", S(i), S(k)) for i in range(K) for k in range(K)])
        + sp.Add(*[A[n] * A[m] * F.average("I2", Tf(n), Tf(m)) for n in range(M) for m in range(M)])
        - 2
        * sp.Add(*[v[i] * A[n] * F.average("I2", S(i), Tf(n)) for i in range(K) for n in range(M)])
    )
    state = list(F.Q.values()) + list(F.R.values()) + (vs if train_second_layer else [])
    params = [eta] + ([eta_v] if train_second_layer else []) + [sigma, kappa]
    params += list(F.T.values()) + A
    roles = {s: "state" for s in state}
    roles.update({p: "param" for p in params})
    description = (
        f"Saad-Solla ODEs of online SGD, soft committee machine K={K}, M={M}, "
        f"g = {model.student}, teacher g~ = {model.teacher}"
        + (", trained second layer" if train_second_layer else ", v = 1")
        + " (Saad & Solla, PRE 52, 4225 (1995); Goldt et al., arXiv:1906.08632)"
    )
    return Equations(
        "saad_solla",
        "ode",
        [TIME] + state,
        params,
        outputs,
        observables={sp.Symbol("eps_g", **real): eps_g},
        model=model,
        description=description,
        roles=roles,
        time=TIME,
    )
