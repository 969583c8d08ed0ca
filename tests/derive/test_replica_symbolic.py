"""Tests of derive.replica_symmetric and derive.tap against the equations of Sherrington &
Kirkpatrick (PRL 35, 1792 (1975)), de Almeida & Thouless (J. Phys. A 11, 983 (1978)) and
Thouless, Anderson & Palmer (Phil. Mag. 35, 593 (1977)).

Symbolic comparisons use ``sympy.simplify(a - b) == 0`` on the integrands of the
GaussianExpectation nodes; where the integrand is a log-sum-exp form that simplify cannot
be trusted to close (spin-1), the comparison is numerical: sympy ``evalf`` at 30 digits of
the derived integrand against a closed form typed here, at hypothesis-drawn points.
"""

import math

import mpmath
import numpy as np
import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st
from scipy.integrate import quad

import derive
import numerics
from derive import BETA, Equations, GaussianExpectation, ModelError, PairwiseModel

si, sj = sp.symbols("s_i s_j", real=True)
K, L, h, D = sp.symbols("K L h D", real=True)

SK = PairwiseModel((-1, 1), -K * si * sj, -h * si, variables=(si, sj))
GS = PairwiseModel((-1, 0, 1), -K * si * sj, D * si**2, variables=(si, sj))
_EQS = {}


def rs(name):
    """Derivations are memoised: each takes ~1 s of sympy."""
    if name not in _EQS:
        _EQS[name] = derive.replica_symmetric({"sk": SK, "gs": GS}[name])
    return _EQS[name]


def by_name(eqs):
    return {s.name: s for s in tuple(eqs.inputs) + tuple(eqs.params)}


# --- SK ------------------------------------------------------------------------------------


def test_sk_state_and_parameters():
    eqs = rs("sk")
    assert eqs.kind == "fixed_point"
    assert [s.name for s in eqs.inputs] == ["m", "q"]
    assert [s.name for s in eqs.params] == ["beta", "J_0", "J", "h"]
    assert {s.name for s in eqs.observables} == {"f", "u", "s", "AT", "Q"}
    assert eqs.observables[sp.Symbol("Q", real=True)] == 1  # sigma^2 = 1 for Ising spins


def test_sk_saddle_point_equations():
    """m = E_z tanh(beta (J_0 m + J sqrt(q) z + h)), q = E_z tanh(...)^2."""
    eqs = rs("sk")
    s = by_name(eqs)
    m, q = eqs.inputs
    for node in eqs.outputs.values():
        assert isinstance(node, GaussianExpectation) and len(node.variables) == 1
    (z,) = eqs.outputs[m].variables
    xi = s["beta"] * (s["J_0"] * s["m"] + s["J"] * sp.sqrt(s["q"]) * z + s["h"])
    assert sp.simplify(eqs.outputs[m].integrand - sp.tanh(xi)) == 0
    assert sp.simplify(eqs.outputs[q].integrand - sp.tanh(xi) ** 2) == 0
    # z is bound: the expectations depend on the parameters and the state only
    assert eqs.outputs[m].free_symbols == {s["beta"], s["J_0"], s["J"], s["m"], s["q"], s["h"]}


def test_sk_at_condition():
    """AT = beta^2 J^2 E_z sech(Xi)^4."""
    eqs = rs("sk")
    s = by_name(eqs)
    AT = eqs.observables[sp.Symbol("AT", real=True)]
    nodes = list(AT.atoms(GaussianExpectation))
    assert len(nodes) == 1
    (z,) = nodes[0].variables
    xi = s["beta"] * (s["J_0"] * s["m"] + s["J"] * sp.sqrt(s["q"]) * z + s["h"])
    # one node times a prefactor: compare the two pieces
    assert sp.simplify(AT / nodes[0] - s["beta"] ** 2 * s["J"] ** 2) == 0
    assert sp.simplify((nodes[0].integrand - sp.sech(xi) ** 4).rewrite(sp.exp)) == 0


def test_sk_free_energy_in_paramagnet():
    """At m = q = 0 the expectation is trivial: beta f = -ln 2 - beta^2 J^2 / 4 (J_0, h = 0)."""
    eqs = rs("sk")
    s = by_name(eqs)
    f = eqs.observables[sp.Symbol("f", real=True)]
    point = {
        s["m"]: 0,
        s["q"]: 0,
        s["h"]: 0,
        s["J_0"]: sp.Rational(7, 10),
        s["beta"]: sp.Rational(3, 5),
        s["J"]: sp.Rational(13, 10),
    }
    beta_, J_ = point[s["beta"]], point[s["J"]]
    expected = (-sp.log(2) - beta_**2 * J_**2 / 4) / beta_
    assert float(f.subs(point).evalf(30)) == pytest.approx(float(expected), abs=1e-14)


# --- Ghatak-Sherrington (spin-1, D s^2) -------------------------------------------------------


def test_ghatak_sherrington_has_three_state_variables():
    eqs = rs("gs")
    assert [s.name for s in eqs.inputs] == ["m", "q", "Q"]
    assert [s.name for s in eqs.params] == ["beta", "J_0", "J", "D"]
    assert "Q" not in {s.name for s in eqs.observables}  # a variable here, not a constant


point_value = st.floats(-2.0, 2.0)
_LAMBDAS = {}


def integrand(eqs, name):
    """The integrand of output ``name`` as an mpmath function (30 digits, no overflow) of
    (beta, J_0, J, D, m, q, Q, z): evalf per point is ~100x slower."""
    if (eqs.key, name) not in _LAMBDAS:
        s = by_name(eqs)
        node = eqs.outputs[s[name]]
        expr = node.integrand.replace(
            derive.LogSumExp, lambda *xs: sp.log(sp.Add(*[sp.exp(x) for x in xs]))
        )
        args = [s[n] for n in ("beta", "J_0", "J", "D", "m", "q", "Q")] + list(node.variables)
        f = sp.lambdify(args, expr, modules="mpmath")

        def call(*values):
            with mpmath.workdps(30):
                return f(*[mpmath.mpf(v) for v in values])

        _LAMBDAS[eqs.key, name] = call
    return _LAMBDAS[eqs.key, name]


@given(
    beta=st.floats(0.1, 3.0),
    J0=point_value,
    J_=st.floats(0.1, 2.0),
    Dv=point_value,
    m=st.floats(-1.0, 1.0),
    q=st.floats(0.0, 1.0),
    Qx=st.floats(0.0, 1.0),
    zv=point_value,
)
def test_ghatak_sherrington_integrands(beta, J0, J_, Dv, m, q, Qx, zv):
    """Weights e^{x_a}, x_{+-1} = +-Xi + A, x_0 = 0, with Xi = beta (J_0 m + J sqrt(q) z) and
    A = beta^2 J^2 (Q - q)/2 - beta D:
    <s> = 2 sinh Xi / (2 cosh Xi + e^{-A}), <s^2> = 2 cosh Xi / (2 cosh Xi + e^{-A}).
    The derived side is evaluated with mpmath at 30 digits, the oracle in float64 in a
    max-shifted form; |<s>| <= 1, so 1e-13 absolute is float64 rounding only."""
    eqs = rs("gs")
    s = by_name(eqs)
    Q = max(Qx, q)  # Q >= q on the physical domain
    point = {s["beta"]: beta, s["J_0"]: J0, s["J"]: J_, s["D"]: Dv, s["m"]: m, s["q"]: q, s["Q"]: Q}
    (z,) = eqs.outputs[s["m"]].variables
    point[z] = zv
    xi = beta * (J0 * m + J_ * math.sqrt(q) * zv)
    A = beta**2 * J_**2 * (Q - q) / 2 - beta * Dv
    # stable forms of the oracle (divide by the largest weight)
    top = max(xi + A, -xi + A, 0.0)
    wp, wm, w0 = math.exp(xi + A - top), math.exp(-xi + A - top), math.exp(-top)
    mean, square = (wp - wm) / (wp + wm + w0), (wp + wm) / (wp + wm + w0)
    got = {n: float(integrand(eqs, n)(*point.values())) for n in ("m", "q", "Q")}
    assert got["m"] == pytest.approx(mean, abs=1e-13)
    assert got["q"] == pytest.approx(mean**2, abs=1e-13)
    assert got["Q"] == pytest.approx(square, abs=1e-13)


# --- which pair energies are accepted -------------------------------------------------------


def test_square_coupling_is_bilinear_in_s_squared():
    """-K (s_i s_j)^2 = -K s_i^2 s_j^2 is bilinear in sigma = s^2 in {1, 0, 1}: accepted, and
    the site law is that of sigma: <sigma> = 2 e^x / (2 e^x + 1), x = Xi + beta^2 J^2 (Q-q)/2
    (sigma^2 = sigma, so Q and the field term act on the same two states)."""
    model = PairwiseModel((-1, 0, 1), -K * (si * sj) ** 2, variables=(si, sj))
    eqs = derive.replica_symmetric(model)
    s = by_name(eqs)
    assert [v.name for v in eqs.inputs] == ["m", "q", "Q"]
    (z,) = eqs.outputs[s["m"]].variables
    for values in [(0.7, 0.3, 1.1, 0.2, 0.5, 0.8, -0.4), (2.0, -1.0, 0.5, 0.9, 0.1, 0.95, 1.3)]:
        beta, J0, J_, m, q, Q, zv = values
        point = dict(zip([s["beta"], s["J_0"], s["J"], s["m"], s["q"], s["Q"], z], values))
        x = beta * (J0 * m + J_ * math.sqrt(q) * zv) + beta**2 * J_**2 * (Q - q) / 2
        expected = 2 * math.exp(x) / (2 * math.exp(x) + 1)
        got = float(eqs.outputs[s["m"]].integrand.evalf(30, subs=point))
        assert got == pytest.approx(expected, abs=1e-13)


@pytest.mark.parametrize(
    "alphabet, energy, reason",
    [
        (range(3), -K * sp.KroneckerDelta(si, sj), "not a single product sigma"),
        ((-1, 0, 1), -K * si * sj - L * si**2 * sj**2, "not a single product sigma"),
        ((-1, 1), -K * (si + sj), "not a single product sigma"),
    ],
)
def test_non_bilinear_pair_energy_is_refused(alphabet, energy, reason):
    model = PairwiseModel(alphabet, energy, variables=(si, sj))
    with pytest.raises(ModelError, match="replica_symmetric needs a bilinear pair energy") as err:
        derive.replica_symmetric(model)
    assert str(energy) in str(err.value)  # the message names the offending energy ...
    assert err.match(reason)  # ... and says why
    with pytest.raises(ModelError, match="bilinear"):
        derive.tap(model)


def test_not_a_model_is_refused():
    with pytest.raises(ModelError, match="needs a PairwiseModel, got int"):
        derive.replica_symmetric(3)
    with pytest.raises(ModelError, match="needs a PairwiseModel, got str"):
        derive.tap("SK")


# --- TAP ------------------------------------------------------------------------------------


def test_tap_site_law_of_ising():
    """m = tanh(beta (H + h)), V = 1 - m^2; the Lambda term is constant for Ising spins."""
    eqs = derive.tap(SK)
    s = by_name(eqs)
    assert eqs.kind == "map"
    assert [v.name for v in eqs.inputs] == ["H", "Lambda"]
    assert [v.name for v in eqs.params] == ["beta", "h"]
    m_expr, V_expr = eqs["m"], eqs["V"]
    assert sp.simplify(m_expr - sp.tanh(s["beta"] * (s["H"] + s["h"]))) == 0
    assert sp.simplify(V_expr - (1 - m_expr**2)) == 0
    assert s["Lambda"] not in m_expr.free_symbols


# --- GaussianExpectation: differentiation under the expectation ------------------------------

a, b = sp.symbols("a b", real=True)
zz = sp.Symbol("z", real=True)
E_TANH = GaussianExpectation(sp.tanh(a + b * zz), zz)
DERIV = Equations("d/da E tanh", "map", [a, b], [], {sp.Symbol("y"): sp.diff(E_TANH, a)})


def gauss_quad(f):
    """E f(z), z ~ N(0, 1), by adaptive quadrature on the real line."""
    value, err = quad(
        lambda t: f(t) * math.exp(-t * t / 2) / math.sqrt(2 * math.pi),
        -np.inf,
        np.inf,
        epsabs=1e-14,
        epsrel=1e-13,
        limit=200,
    )
    assert err < 1e-12
    return value


def test_derivative_is_an_expectation_of_the_derivative():
    d = sp.diff(E_TANH, a)
    assert isinstance(d, GaussianExpectation) and d.variables == (zz,)
    assert sp.simplify(d.integrand - (1 - sp.tanh(a + b * zz) ** 2)) == 0
    assert sp.diff(E_TANH, zz) == 0  # z is bound


@given(a_=st.floats(-2.0, 2.0), b_=st.floats(-2.0, 2.0))
def test_derivative_compiled_matches_quad(a_, b_):
    """Compiled d/da E tanh(a + b z) against quad of E[1 - tanh^2(a + b z)].
    Trapezoid rule (241 nodes, h = 0.1): the integrand's poles are >= pi/4 from the real
    axis for |b| <= 2, error ~exp(-2 pi (pi/4)/0.1) ~ 1e-21; 1e-10 is the quad side's budget."""
    got = numerics.compile(DERIV)(a_, b_)
    assert got == pytest.approx(gauss_quad(lambda t: 1 - math.tanh(a_ + b_ * t) ** 2), abs=1e-10)
    # and it is the derivative of the compiled expectation itself (central difference,
    # step 1e-4: truncation ~1e-9 * |f'''| <= 1e-8, rounding ~1e-16 / 1e-4 = 1e-12)
    E = numerics.compile(Equations("E tanh", "map", [a, b], [], {sp.Symbol("y"): E_TANH}))
    fd = (E(a_ + 1e-4, b_) - E(a_ - 1e-4, b_)) / 2e-4
    assert got == pytest.approx(fd, abs=1e-8)


def test_beta_is_the_shared_symbol():
    """Every RS derivation uses derive.BETA, so numerics can bind beta by identity."""
    assert BETA in rs("sk").params and BETA in derive.tap(SK).params
