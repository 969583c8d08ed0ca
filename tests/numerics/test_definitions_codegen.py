"""Definitions (derive.define) compiled as numba functions of their own, called per application.

The compiled kernel must equal sympy's evaluation of the same equations (the body at each
application, by mpmath), for closed-form bodies and for bodies holding a Gaussian average
lowered to quadrature; the exported module must give the compiled numbers.
"""

import importlib.util

import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import numerics
from derive import Equations, GaussianExpectation, define

a, b, x, y, k, z = sp.symbols("a b x y k z", real=True)
SMOOTH = define("smooth", (a, b), GaussianExpectation(sp.tanh(a + b * z), z))
ARC = define("arc", (a, b), sp.asin(a / sp.sqrt((1 + a**2) * (1 + b**2))))
EQS = Equations(
    "definitions",
    "map",
    [x, y],
    [k],
    {
        sp.Symbol("o1"): SMOOTH(x, y) + k * SMOOTH(y, x),
        sp.Symbol("o2"): ARC(x, 2 * y) * ARC(y, x) + SMOOTH(x, ARC(x, y)),
    },
)
numbers = st.floats(-2, 2, allow_nan=False)


@settings(max_examples=10, deadline=None)
@given(numbers, numbers, numbers)
def test_kernel_equals_sympy(p, q, r):
    # the trapezoid rule with 241 nodes integrates tanh(a + b z) to ~1e-9 (printer.quadrature_rule)
    got = numerics.compile(EQS)(p, q, r)
    point = {x: p, y: q, k: r}
    for value, expr in zip(got, EQS.outputs.values()):
        assert value == pytest.approx(float(expr.evalf(20, subs=point)), rel=1e-7, abs=1e-8)


def test_each_definition_is_compiled_once(tmp_path):
    path = numerics.export(EQS, tmp_path / "solver.py")
    source = path.read_text()
    assert source.count("def smooth(") == 1 and source.count("def arc(") == 1
    assert source.count("smooth(") >= 4  # the definition and its three applications
    spec = importlib.util.spec_from_file_location("definitions_solver", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.outputs(0.3, -0.4, 1.5) == numerics.compile(EQS)(0.3, -0.4, 1.5)
