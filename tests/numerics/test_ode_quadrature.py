"""ODEs whose right-hand side holds Gaussian averages left to quadrature (numerics.integrate).

Oracle: E_z[cos(k z)] = exp(-k^2/2) for z ~ N(0, 1), so dx/dt = -x E_z[cos(k z)] has the
solution x(t) = x0 exp(-exp(-k^2/2) t). The integrator recomputes the right-hand side on 1.5
times the nodes and must report an average its nodes cannot resolve.
"""

import math

import pytest
import sympy as sp

import numerics
from derive import Equations, GaussianExpectation

t, x, k, z = sp.symbols("t x k z", real=True)
DECAY = Equations(
    "averaged decay", "ode", [t, x], [k], {x: -x * GaussianExpectation(sp.cos(k * z), z)}, time=t
)


def test_resolved_average_follows_the_closed_form():
    # 241 trapezoid nodes on [-12, 12] integrate cos(2 z) exp(-z^2/2) to rounding
    r = numerics.integrate(DECAY, {"x": 1.0}, (0.0, 3.0), {"k": 2.0}, t_eval=[3.0])
    assert r.converged
    assert r["x"][-1] == pytest.approx(math.exp(-math.exp(-2.0) * 3.0), rel=1e-7)  # rtol 1e-8
    assert r.quadrature_resolution < 1e-10


def test_unresolved_average_is_reported():
    # 9 nodes (spacing 1.6) alias cos(4 z): the average is wrong, and 13 nodes disagree
    r = numerics.integrate(
        numerics.compile(DECAY, order=9), {"x": 1.0}, (0.0, 1.0), {"k": 4.0}, t_eval=[1.0]
    )
    assert not r.converged
    assert "quadrature" in r.message and r.quadrature_resolution > 1e-4


def test_order_by_dimension():
    # {2: 31}: a two-dimensional average on 31 nodes per variable, the one-dimensional one
    # by default (241); both averages are exp(-k^2/2) here (z1 + z2 has variance 2: k/sqrt 2)
    z1, z2 = sp.symbols("z1 z2", real=True)
    both = Equations(
        "two averages",
        "ode",
        [t, x],
        [k],
        {
            x: -x * GaussianExpectation(sp.cos(k * z), z)
            - x * GaussianExpectation(sp.cos(k * (z1 + z2) / sp.sqrt(2)), (z1, z2))
        },
        time=t,
    )
    kernel = numerics.compile(both, order={2: 31})
    r = numerics.integrate(kernel, {"x": 1.0}, (0.0, 1.0), {"k": 1.0}, t_eval=[1.0])
    assert r.converged
    assert r["x"][-1] == pytest.approx(
        math.exp(-2 * math.exp(-0.5)), rel=1e-7
    )  # the integrator's rtol is 1e-8
    assert kernel.order == {2: 31}


@pytest.mark.parametrize(
    "order, words",
    [(1, "order must be a whole number >= 2"), (2.5, "order"), ({0: 31}, "a dimension")],
)
def test_bad_orders(order, words):
    with pytest.raises(numerics.InputError, match=words):
        numerics.compile(DECAY, order=order)
