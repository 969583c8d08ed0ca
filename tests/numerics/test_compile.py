"""Tests of numerics.compile / numerics.export against independent oracles.

Oracles: sympy ``evalf`` of the very expressions that were compiled (30 digits),
``scipy.integrate.quad`` for Gaussian expectations, and fresh interpreters
(subprocesses) for the disk cache and the standalone exported solver.
"""

import json
import math
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import quad

import derive
import numerics
from derive import BETA, Equations, GaussianExpectation, PairwiseModel
from numerics import CompileError

ROOT = Path(__file__).resolve().parents[2]

si, sj = sp.symbols("s_i s_j", real=True)
J, K, L, h, D = sp.symbols("J K L h D", real=True)
R = sp.Rational

# A fixed menu of models, so that hypothesis draws reuse compiled kernels (compile is
# memoised by the equations' content): every alphabet kind (signed, with zero, halves,
# Potts labels), closed forms (tanh) and log-sum-exp forms, one and several fields.
MODELS = {
    "ising": lambda: PairwiseModel((-1, 1), -J * si * sj, -h * si, variables=(si, sj)),
    "spin-1": lambda: PairwiseModel(
        (-1, 0, 1), -J * si * sj, -h * si + D * si**2, variables=(si, sj)
    ),
    "potts": lambda: PairwiseModel(
        range(3), -J * sp.KroneckerDelta(si, sj), -h * sp.KroneckerDelta(si, 0), variables=(si, sj)
    ),
    "lattice gas": lambda: PairwiseModel((0, 1), -J * si * sj, -h * si, variables=(si, sj)),
    "halves": lambda: PairwiseModel(
        (R(-3, 2), R(-1, 2), R(1, 2), 2),
        J * si * sj - 2 * K * (si**2 * sj + si * sj**2) + L * si**2 * sj**2,
        -h * si + D * si**2,
        variables=(si, sj),
    ),
    "exponential": lambda: PairwiseModel(
        (-1, 0, 1), J * sp.exp(K * si * sj), -h * si, variables=(si, sj)
    ),
}
_EQS = {}


def meanfield_eqs(name, degree=None):
    if (name, degree) not in _EQS:
        _EQS[name, degree] = derive.meanfield(MODELS[name](), degree=degree)
    return _EQS[name, degree]


def evalf(expr, point):
    return float(expr.evalf(30, subs=point))


# --- compiled kernel == sympy evalf ---------------------------------------------------------


@settings(max_examples=40)
@given(name=st.sampled_from(sorted(MODELS)), degree=st.sampled_from([None, 3]), data=st.data())
def test_kernel_matches_evalf(name, degree, data):
    eqs = meanfield_eqs(name, degree)
    kernel = numerics.compile(eqs)
    assert kernel.arguments == tuple(numerics.printer.safe_names(eqs.arguments).values())
    values = []
    for s in eqs.arguments:
        if s == BETA:
            values.append(data.draw(st.floats(0.05, 3.0), label="beta"))
        else:
            values.append(data.draw(st.floats(-3.0, 3.0), label=s.name))
    point = dict(zip(eqs.arguments, values))
    got = kernel.module.outputs(*values)
    got_obs = kernel.evaluate_observables(*values)
    # Exponents reach |beta E| ~ 1e2, whose float64 rounding (~1e-14 absolute) exp turns
    # into a relative error ~1e-14; outputs are O(1)-O(10) sums of such terms, some with
    # opposite signs, hence an absolute 1e-11 (and 1e-12 on probabilities in [0, 1]).
    expected = [evalf(e, point) for e in eqs.outputs.values()]
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-11)
    expected_obs = [evalf(e, point) for e in eqs.observables.values()]
    np.testing.assert_allclose(got_obs, expected_obs, rtol=1e-12, atol=1e-12)
    assert math.fsum(got_obs) == pytest.approx(1.0, abs=1e-13)  # q <= 4 terms of size <= 1


def test_call_forms_and_argument_errors():
    kernel = numerics.compile(meanfield_eqs("ising"))
    assert kernel.arguments == ("H", "beta", "h")
    assert kernel(0.2, 1.5, -0.1) == kernel(H=0.2, beta=1.5, h=-0.1) == kernel(0.2, 1.5, h=-0.1)
    assert kernel(0.2, 1.5, -0.1) == pytest.approx(math.tanh(1.5 * 0.1), rel=1e-15)
    with pytest.raises(TypeError, match="unknown argument 'J'"):
        kernel(0.2, 1.5, J=1.0)
    with pytest.raises(TypeError, match="takes 3 arguments"):
        kernel(0.2, 1.5)


def test_nan_arguments_are_rejected():
    kernel = numerics.compile(meanfield_eqs("ising"))
    with pytest.raises(ValueError, match="argument 'beta' of 'naive mean-field' is NaN"):
        kernel(0.2, float("nan"), 0.0)
    with pytest.raises(ValueError, match="argument 'H' of 'naive mean-field' is NaN"):
        kernel.array(np.array([0.0, np.nan]), 1.0, 0.0)


def test_array_equals_scalar_and_broadcasts():
    eqs = meanfield_eqs("spin-1")
    kernel = numerics.compile(eqs)
    assert kernel.arguments == ("H", "beta", "D", "h")
    H = np.linspace(-2, 2, 4)[:, None]  # (4, 1)
    beta = 0.7  # scalar
    Dv = np.array([-1.0, 0.0, 0.5])  # (3,)
    hv = np.array([[0.1], [0.2], [-0.3], [0.0]])  # (4, 1)
    out = kernel.array(H, beta, Dv, hv)
    obs = kernel.array(H, beta, Dv, hv, observables=True)
    assert out.shape == (1, 4, 3) and obs.shape == (3, 4, 3)
    for i in range(4):
        for k in range(3):
            args = (H[i, 0], beta, Dv[k], hv[i, 0])
            # the array loop calls the very same compiled scalar function
            assert out[0, i, k] == kernel(*args)
            np.testing.assert_array_equal(obs[:, i, k], kernel.evaluate_observables(*args))
    scalar = kernel.array(0.1, 1.0, 0.2, 0.3)
    assert scalar.shape == (1,) and scalar[0] == kernel(0.1, 1.0, 0.2, 0.3)
    with pytest.raises(ValueError):
        kernel.array(np.zeros(3), 1.0, np.zeros(4), 0.0)  # shapes do not broadcast


# --- Gaussian expectations against scipy.integrate.quad -------------------------------------

a, b, c, d = sp.symbols("a b c d", real=True)
z, z1, z2 = sp.symbols("z z1 z2", real=True)
y = sp.Symbol("y")


def gauss_quad(f):
    """E f(z), z ~ N(0, 1), by adaptive quadrature on the real line (QUADPACK qagi)."""
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


E_TANH = Equations("E tanh", "map", [a, b], [], {y: GaussianExpectation(sp.tanh(a + b * z), z)})
E_TANH2 = Equations(
    "E tanh tanh",
    "map",
    [a, b, c, d],
    [],
    {y: GaussianExpectation(sp.tanh(a + b * z) * sp.tanh(c + d * z), z)},
)
coef = st.floats(-2.0, 2.0)

# Default rule: trapezoid on [-12, 12] with 241 nodes (h = 0.1). tanh(a + b z) has poles at
# imaginary distance pi / (2 |b|) >= pi / 4 from the real axis, so the error is
# ~exp(-2 pi (pi/4) / 0.1) ~ 1e-21, and the tails beyond 12 weigh ~1e-32: 1e-10 is safe.


@given(a_=coef, b_=coef)
def test_expectation_of_tanh_trapezoid(a_, b_):
    kernel = numerics.compile(E_TANH)
    assert kernel(a_, b_) == pytest.approx(gauss_quad(lambda t: math.tanh(a_ + b_ * t)), abs=1e-10)


@given(a_=coef, b_=coef, c_=coef, d_=coef)
def test_expectation_of_tanh_product_trapezoid(a_, b_, c_, d_):
    kernel = numerics.compile(E_TANH2)
    expected = gauss_quad(lambda t: math.tanh(a_ + b_ * t) * math.tanh(c_ + d_ * t))
    assert kernel(a_, b_, c_, d_) == pytest.approx(expected, abs=1e-10)


# Gauss-Hermite (160 nodes) converges only like exp(-2 d' sqrt(2 n)), with d' = pi/(2|b|)/sqrt 2
# the pole distance in the physicists' variable: ~1e-17 at |b| = 1 but ~1e-9 at |b| = 2
# (measured 4e-9), so the 1e-10 check is restricted to |b|, |d| <= 1.
small = st.floats(-1.0, 1.0)


@given(a_=coef, b_=small)
def test_expectation_of_tanh_hermite(a_, b_):
    kernel = numerics.compile(E_TANH, quadrature="hermite")
    assert kernel(a_, b_) == pytest.approx(gauss_quad(lambda t: math.tanh(a_ + b_ * t)), abs=1e-10)


@given(a_=coef, b_=small, c_=coef, d_=small)
def test_expectation_of_tanh_product_hermite(a_, b_, c_, d_):
    kernel = numerics.compile(E_TANH2, quadrature="hermite")
    expected = gauss_quad(lambda t: math.tanh(a_ + b_ * t) * math.tanh(c_ + d_ * t))
    assert kernel(a_, b_, c_, d_) == pytest.approx(expected, abs=1e-10)


def test_hermite_is_worse_at_large_slope():
    """The reason for the restriction above: at b = 5 Gauss-Hermite is visibly off."""
    expected = gauss_quad(lambda t: math.tanh(0.3 + 5 * t))
    trapezoid = numerics.compile(E_TANH)(0.3, 5.0)
    hermite = numerics.compile(E_TANH, quadrature="hermite")(0.3, 5.0)
    assert abs(trapezoid - expected) < 1e-8 < abs(hermite - expected)


E_2D = Equations(
    "E tanh 2d",
    "map",
    [a, b, c],
    [],
    {y: GaussianExpectation(sp.tanh(a + b * z1 + c * z2), (z1, z2))},
)
E_SEP = Equations(
    "E tanh cos", "map", [a], [], {y: GaussianExpectation(sp.tanh(a + z1) * sp.cos(z2), (z1, z2))}
)
mid = st.floats(-1.5, 1.5)


# Two variables: trapezoid with 121 nodes per variable (h = 0.2); with |b|, |c| <= 1.5 the
# poles in each variable are >= pi/3 away, error ~exp(-2 pi (pi/3) / 0.2) ~ 1e-14.
@given(a_=coef, b_=mid, c_=mid)
def test_two_variable_expectation_rotational(a_, b_, c_):
    """b z1 + c z2 ~ N(0, b^2 + c^2): a one-dimensional integral is the oracle."""
    s = math.hypot(b_, c_)
    expected = gauss_quad(lambda t: math.tanh(a_ + s * t))
    assert numerics.compile(E_2D)(a_, b_, c_) == pytest.approx(expected, abs=1e-8)


@given(a_=coef)
def test_two_variable_expectation_separable(a_):
    """E[tanh(a + z1) cos(z2)] = E[tanh(a + z1)] * exp(-1/2)."""
    expected = gauss_quad(lambda t: math.tanh(a_ + t)) * math.exp(-0.5)
    assert numerics.compile(E_SEP)(a_) == pytest.approx(expected, abs=1e-8)


def test_expectation_evalf_agrees_with_quad():
    """The symbolic node's own evalf (mpmath) is a second oracle."""
    node = GaussianExpectation(sp.tanh(a + b * z), z).subs({a: R(3, 10), b: R(7, 5)})
    expected = gauss_quad(lambda t: math.tanh(0.3 + 1.4 * t))
    assert float(node.evalf(20)) == pytest.approx(expected, abs=1e-12)


# --- stability ------------------------------------------------------------------------------


@pytest.mark.parametrize("sign", [1, -1])
def test_logsumexp_keeps_spin1_finite(sign):
    """beta * H = +-800: every Boltzmann weight exp(800) overflows float64 (max ~ exp(709))."""
    kernel = numerics.compile(meanfield_eqs("spin-1"))
    m = kernel(sign * 800.0, 1.0, 0.3, 0.0)
    probs = kernel.evaluate_observables(sign * 800.0, 1.0, 0.3, 0.0)
    assert np.isfinite(m) and np.all(np.isfinite(probs))
    # the state s = sign has weight exp(800 - 0.3) against at most exp(0): m = sign to 1 ulp
    assert m == pytest.approx(sign, abs=1e-15)
    assert sum(probs) == pytest.approx(1.0, abs=1e-15)


def test_naive_sum_of_exponentials_would_overflow():
    """The same equations with LogSumExp expanded to log(sum exp) are not finite at 800:
    the check above can fail."""
    eqs = meanfield_eqs("spin-1")
    naive = Equations(
        "naive spin-1",
        "fixed_point",
        eqs.inputs,
        eqs.node_params,
        {
            s: e.replace(derive.LogSumExp, lambda *xs: sp.log(sp.Add(*map(sp.exp, xs))))
            for s, e in eqs.outputs.items()
        },
    )
    with np.errstate(all="ignore"):
        m = numerics.compile(naive)(800.0, 1.0, 0.3, 0.0)
    assert not np.isfinite(m)


# --- errors ---------------------------------------------------------------------------------


def test_compile_error_unknown_function():
    x = sp.Symbol("x")
    eqs = Equations("unknown f", "map", [x], [], {y: 1 + sp.Function("f")(x)})
    with pytest.raises(CompileError, match=r"cannot compile f in 'unknown f'"):
        numerics.compile(eqs)


def test_compile_error_bessel():
    x = sp.Symbol("x")
    eqs = Equations("bessel", "map", [x], [], {y: sp.besselj(0, x)})
    with pytest.raises(CompileError, match=r"cannot compile besselj in 'bessel'"):
        numerics.compile(eqs)


def test_array_with_an_argument_named_r():
    x, r = sp.symbols("x r")
    kernel = numerics.compile(Equations("rate", "map", [x], [r], {y: r * x}))
    assert kernel(2.0, 3.0) == 6.0
    np.testing.assert_array_equal(kernel.array([1.0, 2.0], 3.0), [[3.0, 6.0]])


def test_unknown_quadrature_rule():
    with pytest.raises(CompileError, match="unknown quadrature rule 'simpson'"):
        numerics.compile(E_TANH, quadrature="simpson")


# --- disk cache and export: fresh interpreters ----------------------------------------------


def run_python(code, env_extra=None, args=()):
    env = dict(os.environ, **(env_extra or {}))
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


CACHE_PROBE = """
    import json, os
    import sympy as sp
    import numerics
    from derive import Equations
    x, b = sp.symbols("x b")
    k = numerics.compile(Equations("cache probe", "map", [x], [b],
                                   {sp.Symbol("y"): sp.tanh(b * x) + x**3}))
    value = k(0.5, 1.5)
    stats = k.module.outputs.stats
    print(json.dumps({"path": str(k.path), "mtime": os.stat(k.path).st_mtime_ns,
                      "hits": sum(stats.cache_hits.values()),
                      "misses": sum(stats.cache_misses.values()), "value": value}))
"""


def test_disk_cache_is_reused_by_a_fresh_process(tmp_path):
    env = {"CAVITYLAB_CACHE": str(tmp_path)}
    first = run_python(CACHE_PROBE, env)
    path = Path(first["path"])
    assert path.parent == tmp_path and path.name.startswith("cavitylab_k")
    assert first["hits"] == 0 and first["misses"] >= 1
    index = list((tmp_path / "__pycache__").glob(path.stem + ".outputs-*.nbi"))
    assert index, sorted(p.name for p in (tmp_path / "__pycache__").iterdir())
    second = run_python(CACHE_PROBE, env)
    assert second["path"] == first["path"]
    assert second["mtime"] == first["mtime"]  # identical source: the file is not rewritten
    assert second["hits"] >= 1 and second["misses"] == 0  # machine code loaded from disk
    assert second["value"] == first["value"] == pytest.approx(math.tanh(0.75) + 0.125, rel=1e-15)


EXPORT_RUNNER = """
    import sys
    sys.modules["sympy"] = None  # the exported solver must not need sympy ...
    sys.modules["derive"] = None  # ... nor cavitylab itself
    sys.modules["numerics"] = None
    import importlib.util, json
    jobs = json.loads(sys.argv[1])
    results = {}
    for name, (path, points) in jobs.items():
        spec = importlib.util.spec_from_file_location("exported_" + name.replace("-", "_"), path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        results[name] = [list(module.outputs(*p)) + list(module.observables(*p))
                         for p in points]
    assert "sympy" not in sys.modules or sys.modules["sympy"] is None
    print(json.dumps(results))
"""


def test_export_is_standalone(tmp_path):
    cases = {
        "ising": (meanfield_eqs("ising"), [(0.3, 1.2, -0.4), (-2.0, 0.5, 0.1)]),
        "spin-1": (meanfield_eqs("spin-1"), [(0.3, 1.2, 0.5, -0.4), (800.0, 1.0, 0.0, 0.0)]),
        "expectation": (E_TANH2, [(0.3, 1.2, -0.5, 2.0), (-1.0, -2.0, 1.5, 0.2)]),
    }
    jobs = {}
    for name, (eqs, points) in cases.items():
        path = numerics.export(eqs, tmp_path / f"{name}_solver.py")
        text = path.read_text()
        assert "import sympy" not in text and "from derive" not in text
        assert eqs.key in text  # the docstring names the equations it was generated from
        jobs[name] = (str(path), points)
    results = run_python(EXPORT_RUNNER, args=[json.dumps(jobs)])
    for name, (eqs, points) in cases.items():
        kernel = numerics.compile(eqs)
        for p, got in zip(points, results[name]):
            expected = list(kernel.module.outputs(*p)) + list(kernel.evaluate_observables(*p))
            # same source, same compiler: agreement to rounding (1e-12 is generous)
            np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


def test_export_rejects_other_suffix(tmp_path):
    with pytest.raises(ValueError, match=r"must end in \.py"):
        numerics.export(meanfield_eqs("ising"), tmp_path / "solver.txt")


@settings(max_examples=30)
@given(x=st.floats(0.3, 3.0), a=st.integers(-4, 4), b=st.integers(-4, 4))
def test_powers_in_denominators_print_with_parentheses(x, a, b):
    """Regression: small integer powers printed as products (x*x) must stay parenthesised
    after a division, or a / x**2 is computed as a / x * x. Exact rationals, so the only
    tolerance is rounding (1e-13 relative on a handful of operations)."""
    X, Y, Z = sp.symbols("X Y Z")
    expr = X**a / (X + 1) ** b + 3 / X**2 - X * (X + 2) ** -3 / (X - 5) ** 2
    kernel = numerics.compile(Equations("powers", "map", [X], [], {Z: expr}))
    want = float(expr.subs(X, sp.Rational(x)).evalf(30))
    assert kernel(x) == pytest.approx(want, rel=1e-13, abs=1e-13)
