"""Priors as values, any density on an interval, and their denoisers against quadrature.

Oracles, written here and independent of the derivation:

* normalisation and moments: ``mpmath.quad`` of the density written as a Python function,
  split at its kinks;
* denoisers: the posterior mean and variance of ``P0(w) exp(B w - A w^2/2)`` by
  ``mpmath.quad`` at 20 digits (Krzakala et al., J. Stat. Mech. P08009 (2012), eq. (29):
  ``f_a`` and ``f_v`` are the mean and variance of this tilted prior);
* sampling: a Kolmogorov--Smirnov test of the samples against the CDF by quadrature.
"""

import functools

import mpmath
import numpy as np
import pytest
import sympy as sp
from hypothesis import Phase, given, settings
from hypothesis import strategies as st
from scipy import integrate, stats

import derive
import numerics
from derive import GLM, Channel, ModelError, Prior
from derive.priors import Atom, Density
from numerics.teacher_student import sample_prior

W = sp.Symbol("w", real=True)
R = sp.Rational
DELTA = sp.Symbol("Delta", positive=True)


# --- models are values -------------------------------------------------------------------


def test_equal_models_built_separately_are_one_value():
    rho = sp.Symbol("rho", positive=True)
    one = GLM(Prior.gauss_bernoulli(rho), Channel.gaussian(DELTA))
    two = GLM(Prior.gauss_bernoulli(rho), Channel.gaussian(DELTA))
    assert one == two
    assert hash(one) == hash(two)
    assert len({one, two, GLM(Prior.laplace(1), Channel.gaussian(DELTA))}) == 2
    assert derive.denoisers(one) is derive.denoisers(two)  # one derivation, by content


def test_a_density_in_another_variable_is_the_same_prior():
    v = sp.Symbol("v", real=True)
    assert Prior(sp.exp(-sp.Abs(v)) / 2, v) == Prior(sp.exp(-sp.Abs(W)) / 2, W)


def test_models_are_immutable():
    prior = Prior.laplace(1)
    with pytest.raises(AttributeError, match="immutable"):
        prior.components = ()
    with pytest.raises(AttributeError, match="immutable"):
        Channel.sign().support = (0, 1)


def test_components_are_typed():
    prior = Prior.gauss_bernoulli(R(1, 5))
    atom, density = prior.components
    assert atom == Atom(0, R(4, 5))
    assert isinstance(density, Density)
    assert density.mass == R(1, 5)
    assert density.gaussian_parameters() == (0, 1)
    with pytest.raises(ModelError, match="atoms and Gaussian components"):
        Prior.laplace(1).components[0].gaussian_parameters()


# --- densities on the line, a half-line, an interval -----------------------------------------

B_SCALE = sp.Symbol("b", positive=True)

#: name: (prior, density as a Python function of w, its kinks, (lo, hi))
DENSITIES = {
    "laplace": (
        Prior.laplace(R(1, 2)),
        lambda w: mpmath.exp(-2 * abs(w)),
        [0],
        (-mpmath.inf, mpmath.inf),
    ),
    # rate 3, the density the "heaviside" case writes with a Heaviside: the two derive the
    # same f_a, f_v (one key), so the second case's kernel comes from the compiled-kernel
    # cache; each case still checks it against its own quadrature oracle
    "exponential": (Prior.exponential(3), lambda w: 3 * mpmath.exp(-3 * w), [], (0, mpmath.inf)),
    "uniform": (Prior.uniform(-1, 2), lambda w: mpmath.mpf(1) / 3, [], (-1, 2)),
    "piecewise": (
        Prior(sp.Piecewise((R(1, 2), W < 0), (sp.exp(-W) / 2, True)), W, support=(-1, sp.oo)),
        lambda w: mpmath.mpf(1) / 2 if w < 0 else mpmath.exp(-w) / 2,
        [0],
        (-1, mpmath.inf),
    ),
    "heaviside": (
        Prior(sp.Heaviside(W) * 3 * sp.exp(-3 * W + 0 * W**2), W),
        lambda w: 3 * mpmath.exp(-3 * w) if w > 0 else 0,
        [0],
        (0, mpmath.inf),
    ),
    "shifted laplace": (
        Prior.laplace(1, mean=R(1, 2)),
        lambda w: mpmath.exp(-abs(w - mpmath.mpf(1) / 2)) / 2,
        [mpmath.mpf(1) / 2],
        (-mpmath.inf, mpmath.inf),
    ),
}

#: the mixture of an atom at 0 (mass 0.3) and a Laplace density (mass 0.7)
MIXTURE = Prior.mixture([(R(3, 10), Prior.discrete({0: 1})), (R(7, 10), Prior.laplace(1))])


def quad_moment(f, kinks, support, k, tilt=lambda w: 1):
    lo, hi = support
    points = [lo] + [p for p in kinks if lo < p < hi] + [hi]
    with mpmath.workdps(30):
        return mpmath.quad(lambda w: f(w) * w**k * tilt(w), points)


@pytest.mark.parametrize("name", sorted(DENSITIES))
def test_normalisation_and_second_moment_by_quadrature(name):
    prior, f, kinks, support = DENSITIES[name]
    assert prior.mass == 1  # the constructor checks it; exact here
    # rho = E w^2 in closed form against 30-digit quadrature
    assert float(prior.second_moment) == pytest.approx(
        float(quad_moment(f, kinks, support, 2)), rel=1e-14
    )


def test_laplace_given_as_a_density_is_accepted():
    """Issue 9 section 7: Prior(exp(-|w|)/2, w) was rejected with 'mass nan'."""
    prior = Prior(sp.exp(-sp.Abs(W)) / 2, W)
    assert prior.mass == 1
    assert prior.second_moment == 2  # E w^2 of the unit Laplace law


def test_symbolic_laplace_scale():
    assert sp.simplify(Prior.laplace(B_SCALE).second_moment - 2 * B_SCALE**2) == 0


def test_mixture_with_an_atom_normalises_and_has_the_weighted_moment():
    assert MIXTURE.mass == 1
    assert MIXTURE.second_moment == R(7, 10) * 2


def test_quartic_density_normalises():
    """exp(-w^4) / (2 Gamma(5/4)): the Gaussian rules do not close it (sympy's integrate
    gives its moments with Gamma functions); E w^2 = Gamma(3/4)/Gamma(1/4)."""
    prior = Prior(sp.exp(-(W**4)) / (2 * sp.gamma(R(5, 4))), W)
    expected = float(sp.gamma(R(3, 4)) / sp.gamma(R(1, 4)))
    assert float(prior.second_moment) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(
    "build, match",
    [
        (lambda: Prior(sp.exp(-sp.Abs(W)), W), "does not normalise"),
        (lambda: Prior.uniform(2, 1), "empty support"),
        (lambda: Prior(sp.exp(-(W**4)), W), "does not normalise"),
        (lambda: Prior(sp.exp(-sp.Abs(W**2 - 1)), W), "not linear"),
    ],
    ids=["laplace without 1/2", "uniform (2, 1)", "quartic unnormalised", "kink not linear"],
)
def test_bad_densities_are_model_errors(build, match):
    with pytest.raises(ModelError, match=match):
        build()


# --- denoisers against the tilted posterior by quadrature ---------------------------------


def posterior_oracle(f, kinks, support, atoms, a, b):
    """Mean and variance of (atoms + density) exp(b w - a w^2 / 2), 20 digits.

    (At 30 digits, 1.6x the cost, the float64 values were the same on 49 points, the far
    tails A = 0.05, B = +-10 among them; the comparisons are at 1e-10.)"""
    with mpmath.workdps(20):
        a, b = mpmath.mpf(a), mpmath.mpf(b)
        lo, hi = support
        width = 1 / mpmath.sqrt(a)  # at most the posterior's width (log-concave pieces)
        log_post = lambda w: (  # noqa: E731
            mpmath.log(f(w)) + b * w - a * w**2 / 2 if f(w) > 0 else -mpmath.inf
        )

        def grid_peak(centre, step, count):
            grid = [centre + step * (k - count) for k in range(2 * count + 1)]
            grid = [w for w in grid if lo < w < hi] + [w for w in (lo, hi) if mpmath.isfinite(w)]
            return max(grid, key=log_post)

        # the mode of density x tilt, searched over +-60 widths around the tilt's peak b/a:
        # the quadrature is split around it, and the exponent shifted by its log there.
        # Every density here is log-concave on its support (so is its product with the
        # Gaussian tilt): the posterior is unimodal, and a search on a grid of one width
        # refined on +-1 width at width/25 finds the same point as the full width/25 grid
        # over +-60 widths (3001 points, 40% of this oracle's time), in 172 evaluations.
        coarse = grid_peak(b / a, width, 60)
        peak = grid_peak(coarse, width / 25, 25)
        shift = log_post(peak)  # values of order 1: mpmath.quad's tolerance is absolute
        extra = [peak + j * width for j in (-20, -5, -1, 0, 1, 5, 20) if lo < peak + j * width < hi]
        tilt = lambda w: mpmath.exp(b * w - a * w**2 / 2 - shift)  # noqa: E731
        points = sorted(set([p for p in kinks if lo < p < hi] + extra))
        # Z and E w (the second moment is not needed: the variance is computed below as
        # E (w - mean)^2, without the cancellation of E w^2 - mean^2)
        m = [
            mpmath.quad(lambda w, k=k: f(w) * w**k * tilt(w), [lo] + points + [hi])
            for k in range(2)
        ]
        for value, mass in atoms:
            for k in range(2):
                m[k] += mass * value**k * tilt(value)
        mean = m[1] / m[0]
        central = mpmath.quad(lambda w: f(w) * (w - mean) ** 2 * tilt(w), [lo] + points + [hi])
        central += sum(mass * (value - mean) ** 2 * tilt(value) for value, mass in atoms)
        return float(mean), float(central / m[0])


@functools.cache
def input_kernel(name):
    prior = MIXTURE if name == "mixture" else DENSITIES[name][0]
    glm = GLM(prior, Channel.gaussian(DELTA))
    return numerics.compile(derive.denoisers(glm).select("f_a", "f_v"))


def oracle_of(name):
    if name == "mixture":
        return (
            lambda w: mpmath.mpf(7) / 20 * mpmath.exp(-abs(w)),
            [0],
            (-mpmath.inf, mpmath.inf),
            [(0, mpmath.mpf(3) / 10)],
        )
    _, f, kinks, support = DENSITIES[name]
    return f, kinks, support, []


@pytest.mark.parametrize("name", sorted(DENSITIES) + ["mixture"])
@settings(max_examples=15, deadline=None, phases=[Phase.explicit, Phase.generate])
@given(a=st.floats(0.05, 50.0), b=st.floats(-10.0, 10.0))
def test_input_denoisers_are_posterior_moments(name, a, b):
    f_a, f_v = input_kernel(name)(a, b)
    f, kinks, support, atoms = oracle_of(name)
    mean, var = posterior_oracle(f, kinks, support, atoms, a, b)
    # The closed forms go through LogPhi (log_ndtr, ~1e-15 relative); a half-line piece's
    # moments use the continued fraction beyond x = -5 and the direct 1 - R (x + R) before,
    # which loses at most log10(25) ~ 1.4 digits; intervals and mixtures add a few float64
    # operations: 1e-10 (mean) and 1e-9 (variance) relative leave a margin of ~1e4.
    assert f_a == pytest.approx(mean, rel=1e-10, abs=1e-10 * np.sqrt(var))
    assert f_v == pytest.approx(var, rel=1e-9)


def test_gauss_bernoulli_variance_keeps_its_digits_at_large_precision():
    """Issue 9 section 4: at A ~ 1e8 the posterior variance ~ 1e-8 was computed as
    E w^2 - (E w)^2 of numbers ~ 1 and lost half its digits; the law of total variance
    keeps them. Oracle: for (1 - rho) delta_0 + rho N(0, 1) the Gaussian part's posterior is
    N(B/(A+1), 1/(A+1)); with pi the posterior weight of the Gaussian part,
    f_v = pi/(A+1) + pi (1 - pi) (B/(A+1))^2, evaluated in mpmath at 40 digits."""
    rho = sp.Symbol("rho", positive=True)
    kernel = numerics.compile(
        derive.denoisers(GLM(Prior.gauss_bernoulli(rho), Channel.gaussian(DELTA))).select(
            "f_a", "f_v"
        )
    )
    for a, b in ((1e8, 1e8 * 0.7), (1e8, 1e8 * 1e-3), (1e10, 1e10 * 0.3), (1e6, 5e3)):
        f_a, f_v = kernel(a, b, 0.2)
        with mpmath.workdps(40):
            A_, B_ = mpmath.mpf(a), mpmath.mpf(b)
            log_g = mpmath.log(0.2) - mpmath.log(A_ + 1) / 2 + B_**2 / (2 * (A_ + 1))
            log_0 = mpmath.log(mpmath.mpf(0.8))
            pi = 1 / (1 + mpmath.exp(log_0 - log_g))
            m = B_ / (A_ + 1)
            want = pi / (A_ + 1) + pi * (1 - pi) * m**2
        # float64 round-off of a handful of operations: 1e-12 relative
        assert f_a == pytest.approx(float(pi * m), rel=1e-12)
        assert f_v == pytest.approx(float(want), rel=1e-10)


# --- sampling ---------------------------------------------------------------------------


def cdf_by_quadrature(f, kinks, lo, hi):
    """The CDF of the density f on (lo, hi), by scipy.quad split at the kinks.

    Evaluated at an array of points, it integrates between consecutive sorted points and
    sums: the same quadrature as one integral from lo to each point (scipy's ~1e-10
    per piece, 4000 pieces: ~1e-6 at worst, far below the KS statistic's resolution
    1/sqrt(4000) ~ 0.016), in short pieces instead of 4000 integrals over a half-line."""
    g = lambda w: float(f(w))  # noqa: E731

    def mass(a, b):
        cuts = [a] + [k for k in kinks if a < k < b] + [b]
        return sum(integrate.quad(g, u, v, limit=200)[0] for u, v in zip(cuts[:-1], cuts[1:]))

    total = mass(lo, hi)

    def cdf(x):
        x = np.asarray(x, dtype=float)
        order = np.argsort(x, axis=None)
        inside = np.clip(x.ravel()[order], lo, hi)
        pieces = [mass(u, v) if v > u else 0.0 for u, v in zip([lo, *inside[:-1]], inside)]
        values = np.empty(x.size)
        values[order] = np.minimum(np.cumsum(pieces) / total, 1.0)
        return values.reshape(x.shape)

    return cdf


@pytest.mark.parametrize("name", ["laplace", "exponential", "uniform", "piecewise"])
def test_samples_pass_a_kolmogorov_smirnov_test(name):
    prior, f, kinks, support = DENSITIES[name]
    samples = sample_prior(prior, {}, 4000, np.random.default_rng(1))
    lo, hi = (float(x) for x in support)
    cdf = cdf_by_quadrature(f, [float(k) for k in kinks], lo, hi)
    # 4000 samples: the KS statistic of a correct sampler exceeds its 1% quantile in 1% of
    # seeds; the seed is fixed, so the test is deterministic
    assert stats.kstest(samples, cdf).pvalue > 0.01


def test_samples_of_a_mixture_have_the_atom_mass():
    samples = sample_prior(MIXTURE, {}, 20000, np.random.default_rng(2))
    # 20000 draws of a Bernoulli(0.3): standard deviation 0.0032; 5 sigma
    assert np.mean(samples == 0) == pytest.approx(0.3, abs=0.016)
    continuous = samples[samples != 0]
    assert stats.kstest(continuous, stats.laplace().cdf).pvalue > 0.01


QUARTIC = Prior(sp.exp(-(W**4)) / (2 * sp.gamma(R(5, 4))), W)


@settings(max_examples=10, deadline=None, phases=[Phase.explicit, Phase.generate])
@given(a=st.floats(0.5, 20.0), b=st.floats(-5.0, 5.0))
def test_quartic_denoisers_by_quadrature_are_posterior_moments(a, b):
    """exp(-w^4): the tilted partition function does not close, the denoisers are the
    compiled Gaussian quadrature in t, w = B/A + t/sqrt(A). Measured against the oracle:
    ~1e-15 for A >= 0.5 (at A = 0.1 the fixed rule is 1e-5 off: the Gaussian is then
    wider than the density, a known limit of the fallback, outside this range)."""
    kernel = numerics.compile(
        derive.denoisers(GLM(QUARTIC, Channel.gaussian(DELTA))).select("f_a", "f_v")
    )
    f_a, f_v = kernel(a, b)
    mean, var = posterior_oracle(
        lambda w: mpmath.exp(-(w**4)), [], (-mpmath.inf, mpmath.inf), [], a, b
    )
    assert f_a == pytest.approx(mean, rel=1e-10, abs=1e-10)
    assert f_v == pytest.approx(var, rel=1e-9)


def test_interval_piece_far_in_the_tail_is_finite():
    """Found by hypothesis: at A = 0.05, B = -9.9 the piecewise prior's interval piece
    [-1, 0) sits ~40 standard deviations into the tail of the tilted Gaussian; its log-mass
    log(Phi(x_hi) - Phi(x_lo)) was printed as log1p(-exp(a) * exp(-b)) = log1p(-0 * inf),
    NaN. The printer now keeps exp(a - b) whole. Oracle: the posterior by quadrature."""
    f_a, f_v = input_kernel("piecewise")(0.05, -9.895651348345464)
    f, kinks, support, atoms = oracle_of("piecewise")
    mean, var = posterior_oracle(f, kinks, support, atoms, 0.05, -9.895651348345464)
    # as in test_input_denoisers_are_posterior_moments: a few float64 operations
    assert f_a == pytest.approx(mean, rel=1e-10)
    assert f_v == pytest.approx(var, rel=1e-9)
