"""Tests of derive.online: the committee machine and the Saad--Solla equations.

Oracles: the arcsin forms of I2, I3, I4 and J2 for g = erf(u/sqrt 2) typed in from
Saad & Solla, Phys. Rev. E 52, 4225 (1995), eqs. (A1)-(A4) (Biehl & Schwarze, J. Phys. A
28, 643 (1995) for I2); Monte Carlo over the local fields with a stated number of draws
(tolerance 5 standard errors) for ReLU and tanh; the published generalisation error
eps_g = 2/3 of K = M = 2 erf committees at Q = T = I, R = 0 (Saad & Solla 1995, sec. III).
"""

import math

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import ndtr

import derive
from derive import CommitteeMachine, GaussianExpectation, ModelError
from derive.online import committee_integral, committee_integrals

U = sp.Symbol("u", real=True)
ERF = sp.erf(U / sp.sqrt(2))
S, T = "student", "teacher"


def generic(n):
    return sp.Matrix(
        n, n, lambda p, q: sp.Symbol(f"C_{min(p, q)}{max(p, q)}", positive=(p == q), real=True)
    )


def at(expr, cov):
    n = cov.shape[0]
    C = generic(n)
    return float(
        expr.xreplace({C[i, j]: sp.Float(cov[i, j], 30) for i in range(n) for j in range(n)}).evalf(
            15
        )
    )


def covariances(n):
    """Positive-definite n x n covariances (A A^T / (n + 2) + 0.1 I), drawn by seed."""

    def make(seed):
        a = np.random.default_rng(seed).normal(size=(n, n + 2))
        return a @ a.T / (n + 2) + 0.1 * np.eye(n)

    return st.integers(0, 2**31).map(make)


def saad_solla_forms(C):
    """Saad & Solla (1995), eqs. (A1)-(A4), indices a, b, c, d = 0, 1, 2, 3."""
    a, b, c, d = 0, 1, 2, 3
    I2 = 2 / math.pi * math.asin(C[a, b] / math.sqrt((1 + C[a, a]) * (1 + C[b, b])))
    L3 = (1 + C[a, a]) * (1 + C[c, c]) - C[a, c] ** 2
    I3 = (
        2
        / math.pi
        * (C[b, c] * (1 + C[a, a]) - C[a, b] * C[a, c])
        / ((1 + C[a, a]) * math.sqrt(L3))
    )
    L4 = (1 + C[a, a]) * (1 + C[b, b]) - C[a, b] ** 2
    L0 = (
        L4 * C[c, d]
        - C[b, c] * C[b, d] * (1 + C[a, a])
        - C[a, c] * C[a, d] * (1 + C[b, b])
        + C[a, b] * C[a, c] * C[b, d]
        + C[a, b] * C[a, d] * C[b, c]
    )

    def L(e):
        return (
            L4 * (1 + C[e, e])
            - C[b, e] ** 2 * (1 + C[a, a])
            - C[a, e] ** 2 * (1 + C[b, b])
            + 2 * C[a, b] * C[a, e] * C[b, e]
        )

    I4 = 4 / math.pi**2 / math.sqrt(L4) * math.asin(L0 / math.sqrt(L(c) * L(d)))
    J2 = 2 / math.pi / math.sqrt(1 + C[a, a] + C[b, b] + C[a, a] * C[b, b] - C[a, b] ** 2)
    return {"I2": I2, "I3": I3, "I4": I4, "J2": J2}


ERF_MODEL = CommitteeMachine(ERF, variable=U, K=1, M=1)


@settings(max_examples=8, deadline=None)
@given(cov=covariances(4))
def test_erf_averages_are_the_arcsin_forms(cov):
    """The engine arrives at Saad & Solla's closed forms (no quadrature node)."""
    integrals = committee_integrals(ERF_MODEL)
    want = saad_solla_forms(cov)
    for name, kinds in (("I2", (S, T)), ("I3", (S, S, T)), ("I4", (S, S, T, T)), ("J2", (S, S))):
        expr = integrals[name][kinds]
        assert not expr.has(GaussianExpectation)
        assert abs(at(expr, cov) - want[name]) < 1e-12


def monte_carlo(f, cov, n=400_000, seed=1):
    """Mean and standard error of f(z) over n draws of z ~ N(0, cov)."""
    z = np.random.default_rng(seed).multivariate_normal(np.zeros(len(cov)), cov, size=n)
    values = f(*z.T)
    return values.mean(), values.std() / math.sqrt(n)


def relu(x):
    return np.maximum(x, 0.0)


def step(x):
    return (x > 0).astype(float)


@pytest.mark.parametrize(
    "name, f",
    [
        ("I2", lambda a, b: relu(a) * relu(b)),
        ("I3", lambda a, b, c: step(a) * b * relu(c)),
        ("J2", lambda a, b: step(a) * step(b)),
    ],
)
def test_relu_averages_close_and_equal_monte_carlo(name, f):
    """ReLU closes by Stein's lemma, conditioning and Sheppard's formula (400k draws)."""
    model = CommitteeMachine(sp.Max(0, U), variable=U, K=1, M=1)
    n = {"I2": 2, "I3": 3, "J2": 2}[name]
    expr, _ = committee_integral(
        name, model.student, model.teacher, model.derivative, U, tuple((p, S) for p in range(n))
    )
    assert not expr.has(GaussianExpectation)
    cov = np.array([[1.0, 0.4, -0.3], [0.4, 0.9, 0.2], [-0.3, 0.2, 1.3]])[:n, :n]
    mean, se = monte_carlo(f, cov)
    assert abs(at(expr, cov) - mean) < 5 * se


def hermite_value(expr, cov, order=60):
    """``expr`` at ``cov`` with each quadrature node evaluated by numpy's probabilists'
    Gauss-Hermite rule (60 nodes per variable; tanh is smooth: error far below the
    Monte Carlo tolerance), independent of the compiled trapezoidal rule."""
    n = cov.shape[0]
    C = generic(n)
    expr = expr.xreplace({C[i, j]: sp.Float(cov[i, j]) for i in range(n) for j in range(n)})
    x, w = np.polynomial.hermite_e.hermegauss(order)
    w = w / w.sum()
    values = {}
    for node in expr.atoms(GaussianExpectation):
        f = sp.lambdify(node.variables, node.integrand, modules=[{"Phi": ndtr}, "numpy"])
        grids = np.meshgrid(*[x] * len(node.variables), indexing="ij")
        weights = np.prod(np.meshgrid(*[w] * len(node.variables), indexing="ij"), axis=0)
        values[node] = float(np.sum(weights * f(*grids)))
    return float(expr.xreplace(values))


def test_tanh_falls_back_to_quadrature():
    """tanh: I2 is a quadrature node; its value equals Monte Carlo (400k draws)."""
    model = CommitteeMachine(sp.tanh(U), variable=U, K=1, M=1)
    expr, _ = committee_integral(
        "I2", model.student, model.teacher, model.derivative, U, ((0, S), (1, T))
    )
    assert expr.has(GaussianExpectation)
    cov = np.array([[1.0, 0.5], [0.5, 0.8]])
    mean, se = monte_carlo(lambda a, b: np.tanh(a) * np.tanh(b), cov)
    assert abs(hermite_value(expr, cov) - mean) < 5 * se


def test_erf_generalisation_error_at_the_symmetric_start():
    """K = M = 2, Q = T = I, R = 0, v = A = 1: eps_g = 2/3 exactly (Saad & Solla 1995)."""
    eqs = derive.saad_solla(CommitteeMachine(ERF, variable=U, K=2, M=2))
    (eps,) = eqs.observables.values()
    point = {s: 0 for s in eps.free_symbols}
    for s in eps.free_symbols:
        if s.name in ("Q_0_0", "Q_1_1", "T_0_0", "T_1_1", "A_0", "A_1"):
            point[s] = 1
    assert sp.nsimplify(sp.simplify(eps.xreplace(point))) == sp.Rational(2, 3)


def names(symbols):
    return {s.name for s in symbols}


@pytest.mark.parametrize("train", [False, True])
def test_naming_contract(train):
    """State Q_i_k (i <= k), R_i_n, v_i (trained only); params eta, eta_v (trained only),
    sigma, kappa, T_n_m (n <= m), A_n; time t; observable eps_g."""
    eqs = derive.saad_solla(CommitteeMachine(U, variable=U, K=2, M=3), train_second_layer=train)
    state = {"Q_0_0", "Q_0_1", "Q_1_1"} | {f"R_{i}_{n}" for i in range(2) for n in range(3)}
    if train:
        state |= {"v_0", "v_1"}
    assert names(eqs.by_role("state")) == state
    params = {"eta", "sigma", "kappa", "A_0", "A_1", "A_2"}
    params |= {f"T_{n}_{m}" for n in range(3) for m in range(n, 3)}
    if train:
        params.add("eta_v")
    assert names(eqs.by_role("param")) == params
    assert eqs.kind == "ode" and eqs.time.name == "t"
    assert names(eqs.observables) == {"eps_g"}


def test_linear_student_gives_the_linear_odes():
    """g(u) = u: I3(i, n, m) = C_nm, so dR_in/dt = eta (sum_m T_nm - sum_j R_jn) - kappa R_in
    (the linear committee of Saad & Solla 1995 reduces to linear regression)."""
    eqs = derive.saad_solla(CommitteeMachine(U, variable=U, K=2, M=2))
    sym = {s.name: s for s in eqs.inputs + eqs.params}
    rhs = eqs.outputs[sym["R_0_1"]]
    want = (
        sym["eta"]
        * (sym["A_0"] * sym["T_0_1"] + sym["A_1"] * sym["T_1_1"] - sym["R_0_1"] - sym["R_1_1"])
        - sym["kappa"] * sym["R_0_1"]
    )
    assert sp.expand(rhs - want) == 0


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"student": ERF, "K": 0}, "K must be >= 1"),
        ({"student": ERF, "M": -1}, "M must be >= 1"),
        ({"student": ERF, "K": 1.5}, "K must be a positive integer"),
        ({"student": sp.erf(sp.Symbol("x") * U)}, "uses x"),
        ({"student": ERF, "teacher": sp.tanh(sp.Symbol("w"))}, "uses w"),
        ({"student": sp.sign(U)}, "distribution"),
        ({"student": sp.Function("h")(U)}, "not defined"),
    ],
)
def test_bad_models(kwargs, match):
    with pytest.raises(ModelError, match=match):
        CommitteeMachine(variable=U, **kwargs)


def test_saad_solla_needs_a_committee_machine():
    with pytest.raises(ModelError, match="CommitteeMachine"):
        derive.saad_solla(derive.GLM(derive.Prior.gaussian(0, 1), derive.Channel.sign()))


def test_models_are_values():
    assert CommitteeMachine(ERF, variable=U) == CommitteeMachine(ERF, ERF, variable=U)
    assert hash(CommitteeMachine(U, variable=U, K=3)) == hash(CommitteeMachine(U, variable=U, K=3))


def test_relu_four_field_average_with_a_repeated_field():
    """ReLU I4(i, k, i, m) = E[H(a) H(b) relu(a) relu(d)]: the repeated field once made two
    orthant events perfectly correlated (a NaN in the quadrature node); finite and equal to
    Monte Carlo (400k draws, 5 standard errors)."""
    model = CommitteeMachine(sp.Max(0, U), variable=U, K=1, M=1)
    signature = ((0, S), (1, S), (0, S), (2, T))
    expr, _ = committee_integral("I4", model.student, model.teacher, model.derivative, U, signature)
    cov = np.array([[1.1, 0.3, -0.4], [0.3, 0.7, 0.2], [-0.4, 0.2, 1.0]])
    mean, se = monte_carlo(lambda a, b, d: step(a) * step(b) * relu(a) * relu(d), cov)
    got = hermite_value(expr, cov)
    assert math.isfinite(got)
    assert abs(got - mean) < 5 * se


def test_tanh_three_field_average_is_a_two_dimensional_node():
    """tanh, I3 = E[g'(a) b g(c)]: b enters linearly and is integrated out by conditioning on
    (a, c) (E[b | a, c] is linear in a, c), so the fallback is one dimension lower; its value
    equals a direct three-dimensional Gauss-Hermite average of the integrand (60 nodes per
    variable; Gauss-Hermite converges slowly for tanh, whose poles at +-i pi/2 limit it: at
    these variances 40 and 60 nodes differ by ~1e-6 relative, hence 1e-5) and Monte Carlo
    (400k draws, 5 SE)."""
    model = CommitteeMachine(sp.tanh(U), variable=U, K=1, M=1)
    expr, _ = committee_integral(
        "I3", model.student, model.teacher, model.derivative, U, ((0, S), (1, S), (2, T))
    )
    assert {len(n.variables) for n in expr.atoms(GaussianExpectation)} == {2}
    cov = np.array([[1.0, 0.4, -0.3], [0.4, 0.9, 0.2], [-0.3, 0.2, 1.3]])

    def integrand(a, b, c):
        return (1 - np.tanh(a) ** 2) * b * np.tanh(c)

    x, w = np.polynomial.hermite_e.hermegauss(60)
    grid = np.linalg.cholesky(cov) @ np.stack(
        [g.ravel() for g in np.meshgrid(x, x, x, indexing="ij")]
    )
    weights = np.prod(np.meshgrid(w, w, w, indexing="ij"), axis=0).ravel() / w.sum() ** 3
    direct = float(np.sum(weights * integrand(*grid)))
    assert hermite_value(expr, cov) == pytest.approx(direct, rel=1e-5)
    mean, se = monte_carlo(integrand, cov)
    assert abs(direct - mean) < 5 * se


@pytest.mark.parametrize("name, n", [("I3", 3), ("I4", 4)])
def test_tanh_averages_at_a_learned_teacher_unit(name, n):
    """When a student field equals a teacher field (R_in = T_nn = Q_ii: the unit has learned,
    the covariance is singular) the quadrature forms stay finite and continuous: the
    Cholesky factor is the positive-semidefinite one. Oracle: the same average 1e-8 away
    from the singular point (its change there is O(1e-8))."""
    model = CommitteeMachine(sp.tanh(U), variable=U, K=1, M=1)
    kinds = (S, S, T, T)[:n]
    expr, _ = committee_integral(
        name, model.student, model.teacher, model.derivative, U, tuple(enumerate(kinds))
    )
    cov = np.eye(n) + 0.3 * (np.ones((n, n)) - np.eye(n))
    cov[0, 2] = cov[2, 0] = 1.0  # field 2 (teacher) equals field 0 (student)
    near = cov.copy()
    near[0, 2] = near[2, 0] = 1.0 - 1e-8
    singular = hermite_value(expr, cov, order=24)  # the same rule at both points
    assert math.isfinite(singular)
    assert singular == pytest.approx(hermite_value(expr, near, order=24), abs=1e-6)
