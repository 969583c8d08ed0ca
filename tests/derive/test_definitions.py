"""Functions defined once and applied many times (derive.define): an application is its body.

The Saad--Solla ODEs (Saad & Solla, Phys. Rev. E 52, 4225 (1995), eqs. 8-10) are sums of the
averages I2, I3, I4, J2 at every tuple of units; derive.saad_solla writes each average as one
definition applied per tuple. These tests check that an application is, wherever sympy
evaluates it, exactly the body at its arguments (the independent value: the body substituted
by hand).
"""

import pickle

import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import derive
from derive import Equations, GaussianExpectation, ModelError, define, inline_definitions

a, b, x, y, z = sp.symbols("a b x y z", real=True)
BODY = sp.asin(a / sp.sqrt((1 + a**2) * (1 + b**2))) + b**3
F = define("arcsine_form", (a, b), BODY)
numbers = st.floats(-3, 3, allow_nan=False)


@settings(max_examples=25, deadline=None)
@given(numbers, numbers)
def test_application_at_numbers_is_the_body(p, q):
    got = F(sp.Float(p, 30), sp.Float(q, 30))
    want = BODY.xreplace({a: sp.Float(p, 30), b: sp.Float(q, 30)})
    assert got == want


@settings(max_examples=25, deadline=None)
@given(numbers, numbers)
def test_evalf_lambdify_and_diff_follow_the_body(p, q):
    expr = F(x * y, x + 1) * y
    inlined = BODY.xreplace({a: x * y, b: x + 1}) * y
    point = {x: p, y: q}
    assert float(expr.evalf(30, subs=point)) == pytest.approx(
        float(inlined.evalf(30, subs=point)), rel=1e-12, abs=1e-12
    )
    assert sp.lambdify((x, y), expr)(p, q) == pytest.approx(
        float(inlined.evalf(30, subs=point)), rel=1e-12, abs=1e-12
    )
    d_got = sp.diff(expr, x).evalf(30, subs=point)
    d_want = sp.diff(inlined, x).evalf(30, subs=point)
    assert float(d_got) == pytest.approx(float(d_want), rel=1e-10, abs=1e-10)


def test_inline_and_pickle():
    G = define("outer", (a,), F(a, 2 * a) + 1)  # a definition applying another
    expr = G(x) + F(y, x)
    assert inline_definitions(expr) == BODY.xreplace({a: x, b: 2 * x}) + 1 + BODY.xreplace(
        {a: y, b: x}
    )
    assert pickle.loads(pickle.dumps(expr)) == expr
    eqs = Equations("nested", "map", [x, y], [], {sp.Symbol("o"): expr})
    assert [d.__name__ for d in eqs.definitions] == ["arcsine_form", "outer"]  # callee first


def test_the_body_is_part_of_the_key():
    first = Equations("e", "map", [x], [], {sp.Symbol("o"): define("h", (a,), a**2)(x)})
    second = Equations("e", "map", [x], [], {sp.Symbol("o"): define("h", (a,), a**3)(x)})
    assert first.key != second.key
    plain = Equations("e", "map", [x], [], {sp.Symbol("o"): x**2})
    assert "where" in str(first) and "where" not in str(plain)


def test_quadrature_inside_a_body_is_reported():
    E = define("smooth", (a,), GaussianExpectation(sp.tanh(a + z), z))
    eqs = Equations("e", "map", [x], [], {sp.Symbol("o"): E(x), sp.Symbol("p"): x})
    assert eqs.methods[sp.Symbol("o")] == "gaussian quadrature"
    assert eqs.methods[sp.Symbol("p")] == "closed form"


@pytest.mark.parametrize(
    "name, params, body, words",
    [
        ("not a name", (a,), a, "identifier"),
        ("lambda", (a,), a, "identifier"),
        ("h", (a, a), a, "distinct symbols"),
        ("h", (a,), a + b, "not parameters"),
    ],
)
def test_bad_definitions(name, params, body, words):
    with pytest.raises(ModelError, match=words):
        define(name, params, body)


def test_two_definitions_of_one_name_are_refused():
    first, second = define("h", (a,), a**2), define("h", (a,), a**4)
    with pytest.raises(ModelError, match="two different definitions are named h"):
        Equations("e", "map", [x], [], {sp.Symbol("o"): first(x) + second(x)})


def test_saad_solla_is_written_with_definitions():
    # erf, K = M = 2: dR/dt and dQ/dt apply I3, I4, J2 at each tuple of units, each derived once
    u = sp.Symbol("u", real=True)
    eqs = derive.saad_solla(derive.CommitteeMachine(sp.erf(u / sp.sqrt(2)), variable=u, K=2, M=2))
    names = {d.__name__ for d in eqs.definitions}
    assert {"I2_s0t1", "I3_s0s1t2", "I4_s0s1t2t3", "J2_s0s1"} <= names
    assert not any(e.has(sp.asin) for e in eqs.outputs.values())  # the arcsins live in bodies
