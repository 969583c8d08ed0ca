"""derive.erm: losses, their proximal operators, and the ERM channel equations.

The proximal operator prox_{V l(y, .)}(omega) = argmin_z [l(y, z) + (z - omega)^2 / (2 V)]
(Gerace, Loureiro, Krzakala, Mezard & Zdeborova, ICML 2020, arXiv:2002.09339, eq. (3.3))
is checked against numerical minimisation with scipy.optimize.minimize_scalar.
"""

import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize_scalar

import derive
from derive import ERM, Channel, Loss
from derive.erm import prox
from derive.glm import OMEGA, V, Y

y, z = sp.symbols("y z", real=True)

points = st.tuples(
    st.sampled_from([-1.0, 1.0]),
    st.floats(-4, 4, allow_nan=False),
    st.floats(0.05, 5, allow_nan=False),
)


def _argmin(loss, yv, omega, v):
    """The minimiser by bounded Brent search (xatol 1e-10) on a bracket holding it."""
    f = sp.lambdify(z, loss.expr.subs(loss.y, yv) + (z - omega) ** 2 / (2 * v), "mpmath")
    res = minimize_scalar(
        lambda t: float(f(t)),
        bounds=(omega - 20 * v - 20, omega + 20 * v + 20),
        method="bounded",
        options={"xatol": 1e-10},
    )
    return res.x


@pytest.mark.parametrize("loss", [Loss.square(), Loss.hinge()], ids=["square", "hinge"])
@settings(max_examples=15, deadline=None)
@given(point=points)
def test_closed_prox_is_the_minimiser(loss, point):
    # Gerace et al. 2020, eq. (3.3): closed for the square loss and, piece by piece, for the
    # hinge; Brent's bounded search locates the minimiser to ~1e-9 (xatol 1e-10 on a
    # strictly convex objective), so 1e-7 is well above its error
    yv, omega, v = point
    closed = prox(loss, (-1, 1))
    value = float(closed.subs({Y: yv, OMEGA: omega, V: v}))
    assert value == pytest.approx(_argmin(loss, yv, omega, v), abs=1e-7)


def test_logistic_prox_does_not_close():
    # no closed form: numerics solves the stationarity by Newton (tests/numerics/test_erm.py)
    assert prox(Loss.logistic(), (-1, 1)) is None


def test_square_prox_closes_for_real_labels():
    assert not prox(Loss.square()).has(sp.Piecewise)


def test_non_convex_loss_is_refused_naming_the_term():
    with pytest.raises(derive.ModelError, match=r"not convex.*-z\*\*4"):
        Loss(z**2 - z**4, y=y, z=z)


def test_loss_in_another_symbol_is_refused():
    w = sp.Symbol("w")
    with pytest.raises(derive.ModelError, match="w"):
        Loss((y - z) ** 2 + w, y=y, z=z)


def test_missing_second_derivative_is_refused():
    # |y - z| with real labels: the prox is not derived piece by piece (y is not discrete),
    # and Newton would need l'' = 2 DiracDelta(y - z)
    with pytest.raises(derive.ModelError, match="no derivative of order 2"):
        derive.erm(Loss(sp.Abs(y - z), y=y, z=z), Channel.gaussian(1))


def test_erm_equations_hold_the_channel_side():
    eqs = derive.erm(Loss.hinge(), Channel.sign())
    names = [s.name for s in eqs.outputs]
    assert names == ["ell", "ell_z", "ell_zz", "log_Z0", "g0", "prox", "dprox"]


def test_erm_models_are_values():
    u = sp.Symbol("u", real=True)
    a = ERM(Loss.logistic(), Channel.sign(), sp.erf(u), u)
    b = ERM(Loss.logistic(), Channel.sign(), sp.erf(u), u)
    assert a == b and hash(a) == hash(b)


def test_erm_nonlinearity_in_another_symbol_is_refused():
    u, t = sp.symbols("u t", real=True)
    with pytest.raises(derive.ModelError, match="t"):
        ERM(Loss.square(), Channel.sign(), sp.tanh(t), u)
