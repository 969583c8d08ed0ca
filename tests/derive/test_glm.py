"""Tests of derive.glm: denoisers, state evolution and bad input, against independent oracles.

Oracles, all written in the test and none taken from the derivation:

* discrete priors: the posterior mean and variance by brute-force summation over the atoms
  (mpmath, 30 digits);
* Gaussian prior: the conjugate posterior mean ``(B s2 + mu) / (1 + A s2)``, symbolically;
* Gauss--Bernoulli prior: ``mpmath.quad`` of ``w P0(w) exp(B w - A w^2/2)`` over ``w``;
* channels: the derivatives in ``omega`` of ``log Zout``, ``Zout = int P(y|z) N(z; omega, V)
  dz``, as moments of the posterior ``P(y|z) N(z; omega, V) / Zout`` by ``mpmath.quad`` over
  ``z`` (20 digits): ``d log Zout = (E z - omega) / V`` and ``d^2 log Zout = (Var z - V) /
  V^2`` (differentiating the Gaussian under the integral);
* state evolution: the closed forms derived by hand in the comments.

The compiled kernels are float64, so the comparisons with the compiled ones allow
float64 round-off, as argued at each tolerance.
"""

import functools

import mpmath
import numpy as np
import pytest
import sympy as sp
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import derive
import numerics
from derive import GLM, Channel, ModelError, Prior
from derive.glm import A, B

R = sp.Rational
MU = sp.Symbol("mu", real=True)
S2 = sp.Symbol("s2", positive=True)
RHO = sp.Symbol("rho", positive=True)
SIGMA = sp.Symbol("sigma", positive=True)
DELTA = sp.Symbol("Delta", positive=True)


def normal_pdf(t, mu, s):
    """N(t; mu, s^2) at the working precision: mpmath.npdf's formula, exp(-(t - mu)^2 /
    (2 s^2)) / (s sqrt(2 pi)), without its argument conversions (2.5x faster; the oracles
    evaluate it thousands of times a quadrature)."""
    return mpmath.exp(-(((t - mu) / s) ** 2) / 2) / (s * mpmath.sqrt(2 * mpmath.pi))


def call(kernel, **values):
    """A kernel at named arguments (``select`` drops the arguments an output does not use)."""
    return kernel(*[values[a] for a in kernel.arguments])


# --- discrete priors: brute force -----------------------------------------------------------

ATOM_VALUES = [R(k, 2) for k in range(-4, 5)]  # -2, -3/2, ..., 2


@st.composite
def discrete_priors(draw):
    """2-4 distinct atoms from {-2, -3/2, ..., 2} with masses n_k / sum(n), n_k in 1..9."""
    n = draw(st.integers(2, 4))
    values = draw(st.lists(st.sampled_from(ATOM_VALUES), min_size=n, max_size=n, unique=True))
    counts = draw(st.lists(st.integers(1, 9), min_size=n, max_size=n))
    return {v: R(c, sum(counts)) for v, c in zip(values, counts)}


def posterior_moments(masses, a, b):
    """Posterior mean and variance of w ~ sum_k p_k delta(w - v_k) times exp(b w - a w^2/2)."""
    with mpmath.workdps(30):
        logs = {
            v: mpmath.log(mpmath.mpf(p.p) / p.q)
            + b * mpmath.mpf(v.p) / v.q
            - a * (mpmath.mpf(v.p) / v.q) ** 2 / 2
            for v, p in masses.items()
        }
        top = max(logs.values())
        weights = {v: mpmath.exp(x - top) for v, x in logs.items()}
        z = mpmath.fsum(weights.values())
        mean = mpmath.fsum(w * v.p / v.q for v, w in weights.items()) / z
        second = mpmath.fsum(w * (mpmath.mpf(v.p) / v.q) ** 2 for v, w in weights.items()) / z
        return float(mean), float(second - mean**2)


@functools.cache
def discrete_denoisers(items):
    eqs = derive.denoisers(GLM(Prior.discrete(dict(items)), Channel.sign()))
    return eqs, numerics.compile(eqs.select("f_a", "f_v"))


@settings(max_examples=8)  # each example derives and compiles a new prior (~1.5 s)
@given(masses=discrete_priors(), data=st.data())
def test_discrete_prior_denoisers_are_posterior_moments(masses, data):
    eqs, kernel = discrete_denoisers(tuple(sorted(masses.items())))
    for _ in range(8):  # several (A, B) per compiled prior
        a = data.draw(st.floats(0.0, 10.0), label="A")
        b = data.draw(st.floats(-15.0, 15.0), label="B")
        mean, var = posterior_moments(masses, a, b)
        f_a, f_v = call(kernel, A=a, B=b)
        # Exponents reach |B w| + A w^2/2 <= 50, whose float64 rounding (~1e-14 absolute)
        # exp turns into ~1e-14 relative; f_a sums <= 4 such terms times |w| <= 2, f_v
        # products of two: 1e-12 absolute is a margin of ~10 over the worst case.
        assert f_a == pytest.approx(mean, rel=0, abs=1e-12)
        assert f_v == pytest.approx(var, rel=0, abs=1e-12)
        # The identities f_a = d_B log Z0, f_v = d_B f_a of the derived expressions, at 30
        # digits: only the closed-form shortcut (boltzmann_average) can break them.
        point = {A: sp.Rational(a), B: sp.Rational(b)}
        for lhs, rhs in (
            (eqs["f_a"], sp.diff(eqs["log_Z0"], B)),
            (eqs["f_v"], sp.diff(eqs["f_a"], B)),
        ):
            assert abs(float((lhs - rhs).evalf(30, subs=point))) < 1e-20


def test_rademacher_denoiser_is_tanh():
    eqs = derive.denoisers(GLM(Prior.discrete({-1: R(1, 2), 1: R(1, 2)}), Channel.sign()))
    assert sp.simplify(eqs["f_a"] - sp.tanh(B)) == 0
    assert sp.simplify(eqs["f_v"] - (1 - sp.tanh(B) ** 2)) == 0


# --- continuous priors ----------------------------------------------------------------------


def test_gaussian_prior_denoiser_is_conjugate_posterior():
    """N(mu, s2) prior times exp(B w - A w^2/2) is N((B s2 + mu)/(1 + A s2), s2/(1 + A s2))."""
    eqs = derive.denoisers(GLM(Prior.gaussian(MU, S2), Channel.gaussian(DELTA)))
    assert sp.simplify(eqs["f_a"] - (B * S2 + MU) / (1 + A * S2)) == 0
    assert sp.simplify(eqs["f_v"] - S2 / (1 + A * S2)) == 0


@functools.cache
def gauss_bernoulli_kernel():
    prior = Prior.gauss_bernoulli(RHO, MU, S2)
    glm = GLM(prior, Channel.gaussian(DELTA))
    return numerics.compile(derive.denoisers(glm).select("f_a", "f_v"))


def gauss_bernoulli_moments(a, b, rho, mu, s2):
    r"""Posterior mean and variance under (1 - rho) delta(w) + rho N(mu, s2), by quadrature.

    The atom at 0 adds (1 - rho) to Z and nothing to the moments; the Gaussian part is
    integrated by mpmath.quad, split around the peak of its posterior."""
    # 20 digits: the comparison is at 1e-11, and 30 digits (1.6x the cost) gave the same
    # float64 values on every point tried
    with mpmath.workdps(20):
        prec = a + 1 / mpmath.mpf(s2)
        peak = (b + mu / mpmath.mpf(s2)) / prec
        width = 1 / mpmath.sqrt(prec)
        shift = b * peak - a * peak**2 / 2  # log of the tilt at the peak, against overflow
        tilted = lambda w, k: (
            w**k * normal_pdf(w, mu, mpmath.sqrt(s2)) * mpmath.exp(b * w - a * w**2 / 2 - shift)
        )  # noqa: E731
        points = (
            [-mpmath.inf] + [peak + j * width for j in (-12, -6, -2, 0, 2, 6, 12)] + [mpmath.inf]
        )
        moments = [rho * mpmath.quad(lambda w, k=k: tilted(w, k), points) for k in range(3)]
        z = (1 - rho) * mpmath.exp(-shift) + moments[0]
        mean = moments[1] / z
        return float(mean), float(moments[2] / z - mean**2)


@settings(max_examples=20)
@given(
    a=st.floats(0.1, 20.0),
    b=st.floats(-10.0, 10.0),
    rho=st.floats(0.05, 0.95),
    mu=st.floats(-1.0, 1.0),
    s2=st.floats(0.2, 3.0),
)
def test_gauss_bernoulli_denoisers_by_quadrature(a, b, rho, mu, s2):
    f_a, f_v = call(gauss_bernoulli_kernel(), A=a, B=b, rho=rho, mu=mu, s2=s2)
    mean, var = gauss_bernoulli_moments(a, b, rho, mu, s2)
    # Exponents up to B^2/(2A) + ... ~ 500 enter a log-sum-exp: their float64 rounding,
    # ~1e-13 absolute, is the relative error of the weights; 1e-11 on values of order 1-10
    # (|f_a| <= |peak| <= 100) leaves a margin of ~10.
    assert f_a == pytest.approx(mean, rel=1e-11, abs=1e-11)
    assert f_v == pytest.approx(var, rel=1e-11, abs=1e-11)


# --- channels -------------------------------------------------------------------------------

SIGMAS = (-12, -8, -5, -3, -1.5, 0, 1.5, 3, 5, 8, 12)

CHANNELS = {
    # name: (Channel, likelihood P(y | z) in mpmath given the parameter, y strategy, parameter)
    "sign": (
        Channel.sign(),
        lambda y, p: lambda z: 1 if y * z > 0 else 0,
        st.sampled_from([-1.0, 1.0]),
        None,
    ),
    "probit": (
        Channel.probit(SIGMA),
        lambda y, p: lambda z: mpmath.ncdf(y * z / p),
        st.sampled_from([-1.0, 1.0]),
        "sigma",
    ),
    "gaussian": (
        Channel.gaussian(DELTA),
        lambda y, p: lambda z: normal_pdf(y, z, mpmath.sqrt(p)),
        st.floats(-3.0, 3.0),
        "Delta",
    ),
}


@functools.cache
def channel_kernel(name):
    glm = GLM(Prior.gaussian(), CHANNELS[name][0])
    return numerics.compile(derive.denoisers(glm).select("g_out", "dg_out"))


def breakpoints(likelihood, omega, var, width):
    """Where the oracle's quadrature is split: the kink z = 0 (sign channel), every few
    standard deviations of N(omega, V), and around the peak of P(y|z) N(z; omega, V) on the
    scale ``width`` of the likelihood. Without the last, a peak far out in the tail of the
    Gaussian (probit at y omega / sqrt(sigma^2 + V) = -7) was missed by 3e-13 in log Zout,
    which the second difference turned into a 1e-5 error of dg_out."""
    s = mpmath.sqrt(var)
    grid = np.linspace(float(omega - 12 * s), float(omega + 12 * s), 401)

    def log_post(k):
        z = grid[k]
        if likelihood(z) > 0:
            return mpmath.log(likelihood(z)) + mpmath.log(mpmath.npdf(z, omega, s))
        return -mpmath.inf

    # The likelihoods here (a step, Phi, a Gaussian) and the Gaussian are log-concave, so
    # the product is unimodal on the grid: the best of every tenth point, refined on the
    # ten points either side, is the grid's argmax (62 evaluations instead of 401)
    with mpmath.workdps(15):
        coarse = max(range(0, 401, 10), key=log_post)
        best = max(range(max(coarse - 10, 0), min(coarse + 11, 401)), key=log_post)
    peak = mpmath.mpf(grid[best])
    scale = min(s, mpmath.mpf(width))
    return sorted(
        {mpmath.mpf(0)} | {omega + j * s for j in SIGMAS} | {peak + j * scale for j in SIGMAS}
    )


def posterior_derivatives(likelihood, omega, var, width):
    """First and second derivatives in omega of log Zout, as posterior moments of z.

    d/domega N(z; omega, V) = (z - omega)/V N(z; omega, V), so d log Zout = (E z - omega)/V
    and d^2 log Zout = E (z - omega)^2 / V^2 - 1/V - (d log Zout)^2 = (Var z - V) / V^2,
    with E over P(y|z) N(z; omega, V) / Zout: three 20-digit quadratures (Zout, E z and
    E (z - E z)^2), split at ``breakpoints``; the difference Var z - V loses at most
    log10(V / (Var z - V)) ~ 3 of the 20 digits here. (A five-point difference of log Zout,
    which this replaced, took five quadratures and was the weaker side for dg_out, ~1e-13;
    the two agreed to ~1e-14 on the strategies' range.)"""
    with mpmath.workdps(20):
        omega, var = mpmath.mpf(omega), mpmath.mpf(var)
        nodes = [-mpmath.inf] + breakpoints(likelihood, omega, var, width) + [mpmath.inf]
        s = mpmath.sqrt(var)
        post = lambda z: likelihood(z) * normal_pdf(z, omega, s)  # noqa: E731
        zout = mpmath.quad(post, nodes)
        mean = mpmath.quad(lambda z: z * post(z), nodes) / zout
        central = mpmath.quad(lambda z: (z - mean) ** 2 * post(z), nodes) / zout
        return float((mean - omega) / var), float((central - var) / var**2)


@pytest.mark.parametrize("name", sorted(CHANNELS))
@settings(max_examples=10)  # each example: three 20-digit quadratures (~0.1-0.3 s)
@given(
    data=st.data(), omega=st.floats(-3.0, 3.0), var=st.floats(0.05, 3.0), param=st.floats(0.2, 2.0)
)
def test_channel_denoisers_are_derivatives_of_log_zout(name, data, omega, var, param):
    # The 20-digit quadrature oracle loses digits in far tails (at omega / sqrt(V) = 12 its
    # g was off by 1e-7 relative, where the kernel matched mpmath's exact log-Phi derivative
    # to 1e-15); the far tail has its own test (finite at |omega / sqrt(V)| ~ 40).
    assume(abs(omega) / np.sqrt(var) < 8)
    channel, likelihood, ys, param_name = CHANNELS[name]
    y = data.draw(ys, label="y")
    values = {"y": y, "omega": omega, "V": var}
    if param_name:
        values[param_name] = param
    g, dg = call(channel_kernel(name), **values)
    # the likelihood varies on the scale sigma (probit), sqrt(Delta) (Gaussian); sign: a step
    width = {"sigma": param, "Delta": np.sqrt(param), None: np.sqrt(var)}[param_name]
    g_num, dg_num = posterior_derivatives(likelihood(y, param), omega, var, width)
    # The oracle is good to ~1e-15 (see posterior_derivatives); the kernel to ~1e-13
    # relative, worse where dg_out is a difference of two terms of size omega/V
    # (|omega / sqrt(V)| <= 14 here: a loss of at most ~2 digits). 1e-9 of the natural
    # scales V^(-1/2), V^(-1) covers both with a margin of 100.
    assert g == pytest.approx(g_num, rel=1e-9, abs=1e-9 / np.sqrt(var))
    # dg: at |omega y| / sqrt(V + sigma^2) = 8.5 the former five-point oracle (a second
    # difference of a tail quadrature) was off by 5e-9 relative, where the kernel agreed with
    # the exact -(x r + r^2)/s^2, r = phi/Phi, evaluated in mpmath, to 7e-13; the tolerance
    # is kept
    assert dg == pytest.approx(dg_num, rel=2e-8, abs=1e-9 / var)


def sign_channel_exact(y, omega, var):
    """g_out, dg_out of Zout = Phi(y omega / sqrt(V)) at 50 digits: with x = y omega / sqrt(V)
    and M = phi(x)/Phi(x), g = y M / sqrt(V) and dg = -M (x + M) / V."""
    with mpmath.workdps(50):
        x = y * mpmath.mpf(omega) / mpmath.sqrt(var)
        m = mpmath.npdf(x) / mpmath.ncdf(x)
        return float(y * m / mpmath.sqrt(var)), float(-m * (x + m) / var)


@pytest.mark.parametrize("var", [1e-10, 1e-6, 1.0])
@pytest.mark.parametrize("ratio", [-41.0, -40.0, -38.5, 38.5, 40.0, 41.0])
@pytest.mark.parametrize("y", [-1.0, 1.0])
def test_sign_channel_is_finite_in_the_tails(y, ratio, var):
    """|omega / sqrt(V)| ~ 40 with V down to 1e-10: Phi(-40) ~ 1e-350 underflows, and the
    naive phi / Phi would be 0 / 0; the log_ndtr form stays finite and accurate."""
    omega = ratio * np.sqrt(var)
    g, dg = call(channel_kernel("sign"), y=y, omega=omega, V=var)
    assert np.isfinite(g) and np.isfinite(dg)
    g_exact, dg_exact = sign_channel_exact(y, omega, var)
    # g: exp of a difference of two terms ~ 800 (rounding ~1e-13 absolute) -> 1e-12 relative.
    assert g == pytest.approx(g_exact, rel=1e-11, abs=1e-300)
    # dg = -M (x + M)/V with x + M ~ 1/40 while x, M ~ 40: the cancellation multiplies
    # the 1e-13 error of M by 40 / (1/40) = 1600; 1e-8 keeps a margin of ~50.
    assert dg == pytest.approx(dg_exact, rel=1e-8, abs=1e-300 / var)


# --- state evolution ------------------------------------------------------------------------


def test_state_evolution_gaussian_prior_gaussian_channel():
    r"""Oracle, by hand. Channel y = z + sqrt(Delta) xi: Zout = N(y; omega, Delta + V), so
    g_out = (y - omega)/(Delta + V); under the average, y - omega ~ N(0, Delta + V) and
    E g_out^2 = 1/(Delta + V). With V = rho - q:  q_hat = alpha / (Delta + rho - q).

    Prior N(mu, s2), rho = E w^2 = mu^2 + s2: f_a = (B s2 + mu)/(1 + A s2). With
    B = q_hat w0 + sqrt(q_hat) xi: E B = q_hat mu, E B^2 = q_hat^2 (mu^2 + s2) + q_hat, so
    E f_a^2 = [s2^2 (q_hat^2 (mu^2 + s2) + q_hat) + 2 s2 mu^2 q_hat + mu^2] / (1 + q_hat s2)^2
            = mu^2 + q_hat s2^2 / (1 + q_hat s2)
    (for mu = 0: q = q_hat rho^2 / (1 + q_hat rho))."""
    glm = GLM(Prior.gaussian(MU, S2), Channel.gaussian(DELTA))
    eqs = derive.state_evolution(glm)
    q, q_hat = eqs.inputs
    alpha = eqs.params[0]
    rho = MU**2 + S2
    assert sp.simplify(glm.prior.second_moment - rho) == 0
    assert sp.simplify(eqs["q_hat"] - alpha / (DELTA + rho - q)) == 0
    assert sp.simplify(eqs["q"] - (MU**2 + q_hat * S2**2 / (1 + q_hat * S2))) == 0
    assert not eqs["q"].has(derive.GaussianExpectation)


def test_state_evolution_key_is_deterministic():
    glm = GLM(Prior.discrete({-1: R(1, 2), 1: R(1, 2)}), Channel.sign())
    assert derive.state_evolution(glm).key == derive.state_evolution(glm).key


# --- bad input ------------------------------------------------------------------------------

W = sp.Symbol("w", real=True)
YS, ZS = sp.symbols("y z", real=True)


@pytest.mark.parametrize(
    "build, match",
    [
        (lambda: Prior.discrete({-1: R(1, 2), 1: R(1, 3)}), "does not normalise.*5/6"),
        (lambda: Prior(sp.exp(-(W**2) / 2), W), "does not normalise"),
        (lambda: Prior.mixture([(R(1, 2), Prior.gaussian())]), "does not normalise.*1/2"),
        (lambda: Prior.discrete({-1: -R(1, 2), 1: R(3, 2)}), "negative mass -1/2"),
        (lambda: Prior.discrete({}), "at least one atom"),
        (
            lambda: Channel(sp.Heaviside(YS * ZS), YS, ZS, support=(-1, 0, 1)),
            r"not a distribution in y.*\(-1, 0, 1\).* is 3/2",
        ),
        (
            lambda: Channel(R(1, 2) * sp.Heaviside(YS * ZS), YS, ZS, support=(-1, 1)),
            "not a distribution in y.* is 1/2",
        ),
        (
            lambda: Channel(0.5 * sp.Heaviside(YS * ZS), YS, ZS, support=(-1, 1)),
            "not a distribution in y.* is 0.5",
        ),
        (lambda: GLM("rademacher", Channel.sign()), "GLM needs a Prior, got str"),
        (lambda: GLM(Prior.gaussian(), {"sign": 1}), "GLM needs a Channel, got dict"),
    ],
    ids=[
        "masses 5/6",
        "unnormalised density",
        "mixture weights 1/2",
        "negative mass",
        "empty alphabet",
        "channel sums to 3/2",
        "channel sums to 1/2 (rational)",
        "channel sums to 0.5 (float)",
        "not a Prior",
        "not a Channel",
    ],
)
def test_bad_input_is_a_model_error(build, match):
    with pytest.raises(ModelError, match=match):
        build()


@pytest.mark.parametrize(
    "likelihood",
    [sp.exp(-((YS - ZS) ** 2) / 2), 2 * sp.exp(-((YS - ZS) ** 2) / 2) / sp.sqrt(2 * sp.pi)],
    ids=["no 1/sqrt(2 pi)", "twice a density"],
)
def test_unnormalised_continuous_channel_is_a_model_error(likelihood):
    with pytest.raises(ModelError, match="not a distribution in y"):
        Channel(likelihood, YS, ZS)


def test_mismatched_state_evolution_of_ridge_regression_is_the_textbook_one():
    """Gaussian teacher N(0, 1) with noise Delta; student: Gaussian prior of variance lambda
    and Gaussian channel of variance Delta_s (ridge regression). Oracle, written by hand:
    m_hat = chi_hat = alpha / (Delta_s + chi), q_hat = alpha (rho + Delta - 2 m + q) /
    (Delta_s + chi)^2, m = lambda m_hat / (1 + lambda chi_hat),
    q = lambda^2 (m_hat^2 rho + q_hat) / (1 + lambda chi_hat)^2, chi = lambda / (1 + lambda chi_hat)."""
    D, Ds, lam = sp.symbols("Delta Delta_s lambda", positive=True)
    eqs = derive.mismatched_state_evolution(
        GLM(Prior.gaussian(), Channel.gaussian(D)),
        GLM(Prior.gaussian(0, lam), Channel.gaussian(Ds)),
    )
    s = {sym.name: sym for sym in eqs.inputs + eqs.params}
    m, q, chi = s["m"], s["q"], s["chi"]
    mh, qh, ch, alpha = s["m_hat"], s["q_hat"], s["chi_hat"], s["alpha"]
    oracle = {
        "m_hat": alpha / (Ds + chi),
        "chi_hat": alpha / (Ds + chi),
        "q_hat": alpha * (1 + D - 2 * m + q) / (Ds + chi) ** 2,
        "m": lam * mh / (1 + lam * ch),
        "q": lam**2 * (mh**2 + qh) / (1 + lam * ch) ** 2,
        "chi": lam / (1 + lam * ch),
    }
    for name, want in oracle.items():
        assert sp.simplify(eqs[name] - want) == 0, name
