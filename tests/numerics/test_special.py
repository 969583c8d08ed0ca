"""Tests of numerics/special.py: numba-compilable special-function helpers.

Every helper is compared, through its ``jitted(name)`` version, with
``scipy.special`` at hypothesis-drawn points, with edge cases, and at a few
points with mpmath (40 digits) for the tighter accuracy the helpers reach.

Tolerances: the helpers are accurate to a few ulp (~5e-16 relative).  Where
the tolerance against scipy is looser, it is scipy's own error that is
accommodated; each case says why.
"""

from __future__ import annotations

import ast
import importlib.util
import math
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.special as sc
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from numerics import special

EPS = np.finfo(np.float64).eps  # 2.22e-16
TINY = 1e-320  # absolute slack for subnormal results (a few subnormal ulps)

erfcx = special.jitted("erfcx")
ndtr = special.jitted("ndtr")
log_ndtr = special.jitted("log_ndtr")
erfinv = special.jitted("erfinv")
logsumexp = special.jitted("logsumexp")

SETTINGS = settings(deadline=None, max_examples=300)


def assert_close(got, want, rtol, atol=0.0, what=""):
    """|got - want| <= rtol |want| + atol, with nan == nan and inf == inf."""
    got = float(got)
    want = float(want)
    if math.isnan(want):
        assert math.isnan(got), f"{what}: got {got!r}, want nan"
        return
    if math.isinf(want):
        assert got == want, f"{what}: got {got!r}, want {want!r}"
        return
    err = abs(got - want)
    assert err <= rtol * abs(want) + atol, (
        f"{what}: got {got!r}, want {want!r}, rel err {err / abs(want) if want else err:.3e}"
    )


def _mp():
    return pytest.importorskip("mpmath")


def _mp_rel(got, ref):
    mp = _mp()
    ref = mp.mpf(ref)
    return float(abs((mp.mpf(float(got)) - ref) / ref))


# ---------------------------------------------------------------------------
# erfcx
# ---------------------------------------------------------------------------


@SETTINGS
@given(st.floats(min_value=-26.6, max_value=1e6, allow_nan=False))
def test_erfcx_matches_scipy(x):
    # For x >= 0 scipy (Faddeeva package) is good to ~1e-15.  For x < 0 scipy
    # forms 2 exp(x^2) - erfcx(-x) with a naively rounded x^2, whose relative
    # error is ~x^2 eps (5.6e-14 measured near x = -24); ours splits x^2
    # exactly (3e-16), so the tolerance grows like x^2 there.
    rtol = 4e-15 if x >= 0 else 4e-15 + 2.0 * EPS * x * x
    assert_close(erfcx(x), sc.erfcx(x), rtol, what=f"erfcx({x!r})")


@SETTINGS
@given(st.floats(min_value=1e6, max_value=1e308, allow_nan=False))
def test_erfcx_large_matches_scipy(x):
    # Asymptotic series regime, ~1/(x sqrt(pi)); both are a few ulp here.
    assert_close(erfcx(x), sc.erfcx(x), 4e-15, atol=TINY, what=f"erfcx({x!r})")


@pytest.mark.parametrize(
    "x, want",
    [
        (0.0, 1.0),
        (-0.0, 1.0),
        (math.inf, 0.0),
        (-math.inf, math.inf),
        (-27.0, math.inf),  # exp(x^2) overflows
        (-1e200, math.inf),
        (1e300, float(sc.erfcx(1e300))),
    ],
)
def test_erfcx_edges(x, want):
    assert_close(erfcx(x), want, 1e-15, what=f"erfcx({x!r})")
    assert math.isnan(erfcx(math.nan))
    assert math.isfinite(erfcx(-26.6))


@pytest.mark.parametrize(
    "x",
    [-26.5, -20.3, -7.1, -2.5, -0.3, 1e-12, 0.37, 1.9, 4.4, 9.99, 10.01, 17.0, 26.4, 300.0, 1e7],
)
def test_erfcx_mpmath(x):
    mp = _mp()
    mp.mp.dps = 40
    X = mp.mpf(x)
    ref = mp.exp(X * X) * mp.erfc(X)
    # measured <= 3.7e-16 over [-26.6, 1e3]
    assert _mp_rel(erfcx(x), ref) < 1e-15


# ---------------------------------------------------------------------------
# ndtr, log_ndtr
# ---------------------------------------------------------------------------


@SETTINGS
@given(st.floats(min_value=-40.0, max_value=40.0, allow_nan=False))
def test_ndtr_matches_scipy(x):
    # scipy evaluates erfc at the rounded argument x/sqrt(2); in the lower
    # tail this rounding is amplified by ~x^2 (2.3e-13 measured at x = -36),
    # while ours goes through erfcx, which is insensitive to it.  Results
    # below ~2e-308 are subnormal: absolute slack TINY.  scipy flushes
    # Phi(x) to 0 once exp(-x^2/2) underflows (x < -37.7; the true value is
    # still ~4e-312 there): those points are checked against mpmath in
    # test_ndtr_mpmath instead.
    want = sc.ndtr(x)
    if want == 0.0:
        assert x < -37.5 and 0.0 <= ndtr(x) < 1e-310
        return
    rtol = 4e-16 + 2.0 * EPS * max(1.0, x * x)
    assert_close(ndtr(x), want, rtol, atol=TINY, what=f"ndtr({x!r})")


@pytest.mark.parametrize(
    "x, want",
    [(0.0, 0.5), (math.inf, 1.0), (-math.inf, 0.0), (-40.0, 0.0), (40.0, 1.0)],
)
def test_ndtr_edges(x, want):
    assert ndtr(x) == want
    assert math.isnan(ndtr(math.nan))


@pytest.mark.parametrize("x", [-38.2, -37.0, -30.5, -12.3, -5.5, -1.7, -1.0, -0.4, 0.8, 3.3, 7.5])
def test_ndtr_mpmath(x):
    mp = _mp()
    mp.mp.dps = 40
    ref = mp.ncdf(mp.mpf(x))
    # measured <= 6.2e-16 down to x = -37.5; below, the result is subnormal
    # (spacing 4.9e-324): allow two subnormal ulps there.
    if x > -37.5:
        assert _mp_rel(ndtr(x), ref) < 2e-15
    else:
        assert abs(ndtr(x) - float(ref)) <= 1e-323


@SETTINGS
@given(st.floats(min_value=-1e5, max_value=40.0, allow_nan=False))
def test_log_ndtr_matches_scipy(x):
    # x <= 0: both are a few ulp.  x > 0: the value is -Phi(-x) (1 + ...),
    # and scipy's Phi(-x) carries the ~x^2 eps argument-rounding error
    # described in test_ndtr_matches_scipy (1.8e-13 measured near x = 36).
    # For x > 37.5 the value is subnormal: absolute slack TINY.
    rtol = 4e-15 if x <= 0 else 4e-15 + 2.0 * EPS * x * x
    assert_close(log_ndtr(x), sc.log_ndtr(x), rtol, atol=TINY, what=f"log_ndtr({x!r})")


@SETTINGS
@given(st.floats(min_value=-1e300, max_value=-1e5, allow_nan=False))
def test_log_ndtr_far_tail_matches_scipy(x):
    # ~ -x^2/2, down to overflow of x^2 (-> -inf); a few ulp for both.
    assert_close(log_ndtr(x), sc.log_ndtr(x), 4e-15, what=f"log_ndtr({x!r})")


def test_log_ndtr_edges():
    assert log_ndtr(-math.inf) == -math.inf
    assert log_ndtr(math.inf) == 0.0
    assert log_ndtr(50.0) == 0.0
    assert math.isnan(log_ndtr(math.nan))
    assert log_ndtr(0.0) == pytest.approx(math.log(0.5), rel=1e-16)
    assert log_ndtr(-1e200) == -math.inf


@pytest.mark.parametrize(
    "x", [-9000.5, -50.0, -38.0, -20.1, -5.01, -4.99, -1.3, 0.0, 0.7, 2.2, 6.5, 15.0, 30.0]
)
def test_log_ndtr_mpmath(x):
    mp = _mp()
    mp.mp.dps = 40
    X = mp.mpf(x)
    ref = mp.log(mp.ncdf(X)) if x <= 0 else mp.log1p(-mp.ncdf(-X))
    # measured <= 5.4e-16 over [-1e5, 37]
    assert _mp_rel(log_ndtr(x), ref) < 2e-15


# ---------------------------------------------------------------------------
# erfinv
# ---------------------------------------------------------------------------


@SETTINGS
@given(st.floats(min_value=-1.0, max_value=1.0, allow_nan=False))
def test_erfinv_matches_scipy(y):
    # Both are a few ulp (scipy <= 3e-16, ours <= 1.6e-16 vs mpmath).
    # Subnormal y: erfinv(y) ~ 0.886 y is subnormal as well, absolute slack.
    assert_close(erfinv(y), sc.erfinv(y), 2e-15, atol=TINY, what=f"erfinv({y!r})")


@SETTINGS
@given(st.floats(min_value=1e-16, max_value=0.5, allow_nan=False), st.booleans())
def test_erfinv_near_one_matches_scipy(c, negative):
    # y = +-(1 - c): the far tail, where the Giles start is refined by Newton
    # on log(erfc(x)/c).
    y = 1.0 - c
    if negative:
        y = -y
    assert_close(erfinv(y), sc.erfinv(y), 2e-15, what=f"erfinv({y!r})")


@SETTINGS
@given(st.floats(min_value=-6.0, max_value=6.0, allow_nan=False))
def test_erfinv_roundtrip(x):
    y = math.erf(x)
    assume(abs(y) < 1.0)
    assert math.erf(erfinv(y)) == pytest.approx(y, rel=4 * EPS, abs=1e-300)


@pytest.mark.parametrize(
    "y, want",
    [
        (1.0, math.inf),
        (-1.0, -math.inf),
        (1.5, math.nan),
        (-1.0000001, math.nan),
        (math.inf, math.nan),
        (math.nan, math.nan),
    ],
)
def test_erfinv_edges(y, want):
    assert_close(erfinv(y), want, 0.0, what=f"erfinv({y!r})")


def test_erfinv_signed_zero():
    assert erfinv(0.0) == 0.0 and math.copysign(1.0, erfinv(0.0)) == 1.0
    assert erfinv(-0.0) == 0.0 and math.copysign(1.0, erfinv(-0.0)) == -1.0


@pytest.mark.parametrize(
    "y",
    [
        1e-300,
        1e-8,
        0.1,
        0.5,
        0.5000001,
        0.9,
        0.999999,
        1 - 1e-7,
        1 - 1e-9,
        1 - 1e-12,
        1 - 2.0**-53,
        -0.75,
    ],
)
def test_erfinv_mpmath(y):
    mp = _mp()
    mp.mp.dps = 40
    ref = mp.erfinv(mp.mpf(y))
    # measured <= 1.6e-16 over (-1, 1)
    assert _mp_rel(erfinv(y), ref) < 1e-15


# ---------------------------------------------------------------------------
# logsumexp
# ---------------------------------------------------------------------------

_lse_values = st.floats(min_value=-1e4, max_value=1e4, allow_nan=False) | st.sampled_from(
    [-math.inf, 0.0, 1.0, -1e300]
)


@SETTINGS
@given(st.lists(_lse_values, min_size=1, max_size=40))
def test_logsumexp_array_matches_scipy(values):
    # The result lies in [max, max + log n]; both evaluate it to a few ulp of
    # max(|max|, 1), hence the tolerance relative to that scale.
    xs = np.array(values, dtype=np.float64)
    want = float(sc.logsumexp(xs))
    got = logsumexp(xs)
    if math.isinf(want):
        assert got == want
        return
    scale = max(
        abs(want), float(np.max(np.abs(xs[np.isfinite(xs)]))) if np.isfinite(xs).any() else 0.0, 1.0
    )
    assert abs(got - want) <= 8 * EPS * scale, f"logsumexp({values!r}): {got!r} vs {want!r}"


@SETTINGS
@given(st.lists(_lse_values, min_size=1, max_size=4))
def test_logsumexp_tuple_equals_array(values):
    # A homogeneous tuple (numba UniTuple) gives the same result as an array.
    xs = tuple(float(v) for v in values)
    got = logsumexp(xs)
    want = logsumexp(np.array(xs))
    assert got == want or (math.isnan(got) and math.isnan(want))


@pytest.mark.parametrize(
    "values, want",
    [
        ((-math.inf, -math.inf), -math.inf),
        ((math.inf, 1.0), math.inf),
        ((math.inf, -math.inf), math.inf),
        ((math.inf, math.nan), math.nan),
        ((1.0, math.nan), math.nan),
        ((-math.inf, 0.0), 0.0),
        ((1e308, 1e308), 1e308),
        ((2.0,), 2.0),
        ((0.0, 0.0), math.log(2.0)),
        ((0.0, -40.0), math.log1p(math.exp(-40.0))),  # log1p keeps the tiny term
    ],
)
def test_logsumexp_edges(values, want):
    assert_close(logsumexp(values), want, 1e-16, what=f"logsumexp{values!r}")
    assert_close(logsumexp(np.array(values)), want, 1e-16, what=f"logsumexp(array{values!r})")


def test_logsumexp_empty_array():
    assert logsumexp(np.zeros(0)) == -math.inf


# ---------------------------------------------------------------------------
# helper_source / HELPERS / jitted
# ---------------------------------------------------------------------------

_DECORATOR = "@numba.njit(cache=True, fastmath=False)"


def _defined_functions(src):
    return [line[4 : line.index("(")] for line in src.splitlines() if line.startswith("def ")]


def test_helpers_registry_matches_source():
    """HELPERS lists exactly the helpers each function calls."""
    names = set(special.HELPERS)
    for name, deps in special.HELPERS.items():
        func = getattr(special, name)
        called = set(func.__code__.co_names) & names
        assert called == set(deps), f"{name}: calls {sorted(called)}, HELPERS says {sorted(deps)}"


def test_helper_source_log_ndtr_dependencies():
    src = special.helper_source(["log_ndtr"])
    defined = _defined_functions(src)
    assert set(defined) == {"_expx2", "erfcx", "ndtr", "log_ndtr"}
    # dependency-first
    for name in defined:
        for dep in special.HELPERS[name]:
            assert defined.index(dep) < defined.index(name), (dep, name)
    # each function is preceded by the decorator line, and only once
    lines = src.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("def "):
            assert lines[i - 1] == _DECORATOR
    assert src.count(_DECORATOR) == len(defined)
    # standalone: no imports, and only math / np / numba / the emitted
    # helpers / builtins are referenced as globals
    tree = ast.parse(src)
    assert not any(isinstance(node, (ast.Import, ast.ImportFrom)) for node in ast.walk(tree))
    used = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    assert not used & {"scipy", "sc", "sympy", "cavitylab", "special", "numerics"}


def test_helper_source_accepts_str_and_dedups():
    a = special.helper_source("log_ndtr")
    b = special.helper_source(["log_ndtr", "ndtr", "log_ndtr"])
    assert a == b
    with pytest.raises(KeyError):
        special.helper_source(["no_such_helper"])


def test_helper_source_as_module_file(tmp_path):
    """The text works as (part of) a standalone generated module file."""
    src = "import math\n\nimport numba\nimport numpy as np\n\n\n" + special.helper_source(
        sorted(special.HELPERS)
    )
    path = tmp_path / "gen_module_special.py"
    path.write_text(src)
    spec = importlib.util.spec_from_file_location("gen_module_special", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert_close(module.log_ndtr(-10.0), sc.log_ndtr(-10.0), 4e-15)
    assert_close(module.erfinv(0.3), sc.erfinv(0.3), 2e-15)
    assert_close(module.logsumexp((1.0, 2.0, 3.0)), sc.logsumexp([1.0, 2.0, 3.0]), 2e-15)


def test_jitted_is_cached_and_compiled():
    import numba

    assert special.jitted("erfcx") is erfcx
    for name in special.HELPERS:
        assert isinstance(special.jitted(name), numba.core.registry.CPUDispatcher)
    with pytest.raises(KeyError):
        special.jitted("no_such_helper")


def test_jitted_helpers_come_from_generated_module_files():
    # one mechanism for generated code: a file in the kernel cache, imported
    path = Path(sys.modules[special.jitted("ndtr").__module__].__file__)
    assert path.name.startswith("cavitylab_special_") and path.suffix == ".py"


def test_plain_python_helpers_agree_with_jitted():
    # The undecorated source is also valid Python (useful for debugging).
    # (math.exp raises OverflowError in plain Python where numba gives inf,
    # so only non-overflowing arguments here.)
    for x in [-20.0, -3.0, 0.5, 12.0]:
        assert special.erfcx(x) == erfcx(x)
        assert special.log_ndtr(x) == log_ndtr(x)
    assert special.erfinv(0.999) == erfinv(0.999)


# ---------------------------------------------------------------------------
# gauss_hermite
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 2, 3, 10, 50, 100, 150, 200])
def test_gauss_hermite_moments(n):
    z, w = special.gauss_hermite(n)
    assert z.shape == (n,) and w.shape == (n,)
    assert z.dtype == np.float64 and w.dtype == np.float64
    assert abs(math.fsum(w) - 1.0) < 1e-14
    assert np.all(w > 0)
    assert np.all(np.diff(z) > 0)
    # E z^{2k} = (2k-1)!! exactly for 2k <= 2n - 1
    for k, moment in [(1, 1.0), (2, 3.0), (5, 945.0)]:
        if 2 * k <= 2 * n - 1:
            assert math.fsum(w * z ** (2 * k)) == pytest.approx(moment, rel=1e-12)
    # odd moments vanish
    assert abs(math.fsum(w * z)) < 1e-13
    assert abs(math.fsum(w * z**3)) < 1e-12


def test_gauss_hermite_expectation_smooth():
    z, w = special.gauss_hermite(200)
    # E cos(z) = exp(-1/2), E exp(z) = exp(1/2)
    assert math.fsum(w * np.cos(z)) == pytest.approx(math.exp(-0.5), rel=1e-14)
    assert math.fsum(w * np.exp(z)) == pytest.approx(math.exp(0.5), rel=1e-14)


def test_gauss_hermite_cached_readonly():
    z1, w1 = special.gauss_hermite(20)
    z2, w2 = special.gauss_hermite(20)
    assert z1 is z2 and w1 is w2
    with pytest.raises(ValueError):
        z1[0] = 0.0
    with pytest.raises(ValueError):
        special.gauss_hermite(0)
