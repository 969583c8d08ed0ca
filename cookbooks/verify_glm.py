r"""``cavitylab verify`` for generalized linear models: denoisers, state evolution, free entropy.

Every oracle here integrates the model's own definition -- the prior's density and the
channel's likelihood, lambdified with numpy -- by quadrature (``scipy.integrate.quad``, and
vectorised Gauss--Legendre on the smooth pieces of the likelihood); none goes through a
derived expression.

* the input denoisers ``f_a``, ``f_v`` equal the posterior mean and variance of
  ``w ~ P0(w) exp(B w - A w^2 / 2)`` (sums over atoms, quadrature over densities);
* the output denoisers ``g_out``, ``dg_out`` equal :math:`\partial_\omega Z / Z` and
  :math:`\partial^2_\omega Z / Z - g^2`, with
  :math:`\partial^k_\omega Z = \int dz\, P(y \mid z)\, \partial^k_\omega N(z; \omega, V)`
  by Gauss--Legendre quadrature over ``z``, cut at the likelihood's kinks;
* the state-evolution map (Barbier, Krzakala, Macris, Miolane & Zdeborová, PNAS 116, 5451
  (2019), eqs. (10)-(11)) equals two levels of quadrature,

  .. math::
      \hat q = \alpha\, \mathbb{E}_\xi \sum_y \frac{(\partial_\omega Z)^2}{Z}
      \Big|_{\omega = \sqrt q \xi,\, V = \rho - q}, \qquad
      q = \int dB\, p(B)\, f_a(\hat q, B)^2,

  with :math:`p(B) = \int dP_0(w_0)\, N(B; \hat q w_0, \hat q)` the law of
  :math:`B = \hat q w_0 + \sqrt{\hat q}\xi` (``int dy`` for a continuous ``y``);
* the RS free entropy :math:`\phi(q, \hat q)` is stationary at the fixed point that
  ``numerics.state_evolution`` returns: :math:`\partial_q \phi = \partial_{\hat q}\phi = 0`
  by central differences of the compiled free entropy;
* Nishimori at that fixed point: :math:`\mathbb{E} f_a^2 = \mathbb{E}\, w_0 f_a = q`, with the
  compiled ``f_a`` averaged over :math:`w_0 \sim P_0` and the field.

The arithmetic is overflow-free: Boltzmann weights are shifted by their maximum before
``exp``, likelihoods are numpy expressions (``exp`` overflows to ``inf``, and
``1 / (1 + inf) = 0``), and a probability that underflows contributes its limit 0.

Model parameters are drawn in ``[0.05, 0.45]``: inside the domain of every parameter the
named constructors take (probabilities, flip rates, variances, inverse temperatures).
"""

import contextlib
import math
import warnings

import numpy as np
import sympy as sp
from scipy.integrate import IntegrationWarning, quad
from scipy.optimize import minimize_scalar
from scipy.special import log_ndtr, ndtr

import derive
import numerics
from numerics.state_evolution import order_for

from .verify import _hypothesis, _run, _settings

__all__ = ["verify_glm"]

#: Tolerances: the denoisers are ratios of quadratures at relative 1e-12 (so ~1e-10).
INPUT_TOL, OUTPUT_TOL = 1e-7, 1e-7
#: The state-evolution map: two levels of quadrature at relative 1e-12 / 1e-10 against the
#: compiled trapezoid rule, which resolves the integrands to ~1e-12 (see order_for).
SE_TOL = 1e-7
#: Stationarity: central differences of step H_FD of a free entropy computed to ~1e-12:
#: truncation H_FD^2 phi''' ~ 1e-10, round-off 1e-12 / H_FD ~ 1e-7, and the fixed point is
#: solved to relative 1e-10 (times phi'' ~ 1).
H_FD, STATIONARY_TOL = 1e-5, 1e-6
#: Nishimori: an outer quadrature at relative 1e-10 of the compiled f_a.
NISHIMORI_TOL = 1e-7
#: The state-evolution checks cost two levels of quadrature per example: this many fewer.
SE_EXAMPLES_DIVISOR = 4

_NUMPY = [{"Phi": ndtr, "LogPhi": log_ndtr}, "numpy"]


@contextlib.contextmanager
def _quiet():
    """numpy's overflow to inf (a likelihood ``1 / (1 + inf) = 0``) and underflow to 0 are
    the intended arithmetic here, and QUADPACK's round-off notes concern integrals that are
    ~0 in absolute terms; the checks compare the values, so none of this is printed."""
    with np.errstate(over="ignore", under="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", IntegrationWarning)
        yield


def _number(expr, values):
    return float(sp.N(sp.sympify(expr).subs(values)))


class _NumericPrior:
    """The prior at drawn parameter values: atoms ``(mass, w)`` and densities
    ``(mass, f, lo, hi)`` with ``f`` a numpy function."""

    def __init__(self, glm, values):
        self.atoms, self.densities = [], []
        for comp in glm.prior.components:
            p = _number(comp.mass, values)
            if isinstance(comp, derive.priors.Atom):
                self.atoms.append((p, _number(comp.value, values)))
            else:
                log_f = sp.expand_log(sp.log(comp.expr.subs(values)), force=True)
                f = sp.lambdify(comp.variable, log_f, _NUMPY)
                lo, hi = (_number(s, values) for s in comp.support)
                self.densities.append((p, f, lo, hi))
        self.rho = _number(glm.prior.second_moment, values)

    def moments(self, A, B):
        r""":math:`e^{-s}\int dP_0(w)\, w^k e^{Bw - Aw^2/2}` for ``k = 0, 1, 2``, and ``s``.

        Each density enters through its logarithm, and ``s`` is the largest exponent (over
        the atoms, and at the numerical peak of each tilted density), so that nothing
        overflows and a density far in its tail (``exp(-w^2/2)`` at ``w = 1000``) keeps its
        digits.
        """
        exponents = [B * w - A * w * w / 2 for _, w in self.atoms]
        peaks = []
        with _quiet():
            for _, log_f, lo, hi in self.densities:
                peak = self._peak(log_f, lo, hi, A, B)
                peaks.append(peak)
                exponents.append(float(log_f(peak)) + B * peak - A * peak * peak / 2)
        s = max(exponents)
        moments = np.zeros(3)
        for p, w in self.atoms:
            moments += p * math.exp(B * w - A * w * w / 2 - s) * np.array([1.0, w, w * w])
        with _quiet():
            for (p, log_f, lo, hi), peak in zip(self.densities, peaks):
                cuts = sorted({lo, hi} | {c for c in (0.0, peak) if lo < c < hi})
                for k in range(3):

                    def tilted(w, log_f=log_f, k=k):
                        return w**k * math.exp(float(log_f(w)) + B * w - A * w * w / 2 - s)

                    for a, b in zip(cuts[:-1], cuts[1:]):
                        moments[k] += p * quad(tilted, a, b, epsabs=0, epsrel=1e-12, limit=200)[0]
        return moments, s

    @staticmethod
    def _peak(log_f, lo, hi, A, B):
        """Where ``log f(w) + B w - A w^2 / 2`` is largest on the support (bounded search
        around ``B / A``, wide enough for the densities' own centres)."""
        reach = abs(B) / A + 40.0 / math.sqrt(A) + 40.0
        a, b = max(lo, -reach), min(hi, reach)

        def minus(w):
            value = float(log_f(w)) + B * w - A * w * w / 2
            return -value if math.isfinite(value) else math.inf

        best = minimize_scalar(minus, bounds=(a, b), method="bounded", options={"xatol": 1e-10})
        centre = min(max(B / A, a), b)
        return best.x if minus(best.x) <= minus(centre) else centre

    def posterior(self, A, B):
        """Mean and variance of ``w`` under ``P0(w) exp(B w - A w^2 / 2)``."""
        m, _ = self.moments(A, B)
        mean = m[1] / m[0]
        return mean, m[2] / m[0] - mean**2

    def field_average(self, q_hat, g, which=(0,)):
        r""":math:`\int dB\, [\,p(B)\, g(B, f_a(B)),\ r(B)\, g(B, f_a(B))\,]` with
        :math:`p(B) = \int dP_0(w)\, N(B; \hat q w, \hat q)` and ``r`` the same with a
        factor ``w``: the averages of ``g`` and of ``w0 g`` over the teacher and the field
        (``which`` of them: 0, 1).

        :math:`N(B; \hat q w, \hat q) = e^{Bw - \hat q w^2/2}\, e^{-B^2/(2\hat q)}/\sqrt{2\pi\hat q}`,
        so both are moments of the tilted prior at ``A = q_hat``.
        """
        spread = 12.0 * math.sqrt(q_hat * q_hat * self.rho + q_hat)
        shift = q_hat * max([abs(w) for _, w in self.atoms] + [0.0])
        norm = 1.0 / math.sqrt(2 * math.pi * q_hat)

        def parts(B):
            m, s = self.moments(q_hat, B)
            scale = math.exp(s - B * B / (2 * q_hat)) * norm
            f_a = m[1] / m[0]
            return m[0] * scale, m[1] * scale, f_a

        def avg(B, which):
            p, r, f_a = parts(B)
            value = g(B, f_a)
            return p * value if which == 0 else r * value

        bounds = (-spread - shift, 0.0, spread + shift)
        return [
            sum(
                quad(avg, a, b, args=(which,), epsabs=1e-13, epsrel=1e-10, limit=200)[0]
                for a, b in zip(bounds[:-1], bounds[1:])
            )
            for which in which
        ]


def _kinks(expr, z):
    """Where ``Heaviside``, ``sign``, ``Abs``, ``Max``/``Min`` of a linear form in ``z``
    switch, as expressions in the other symbols (the quadrature cuts there)."""
    args = [f.args[0] for f in expr.atoms(sp.Heaviside, sp.sign, sp.Abs)]
    args += [f.args[0] - f.args[1] for f in expr.atoms(sp.Max, sp.Min) if len(f.args) == 2]
    roots = []
    for u in args:
        u = sp.expand(u)
        if u.is_polynomial(z) and sp.degree(u, z) == 1:
            a, b = sp.Poly(u, z).all_coeffs()
            roots.append(sp.simplify(-b / a))
    return roots


class _NumericChannel:
    """The channel at drawn parameter values: ``P(y | z)`` as a numpy function."""

    #: Gauss-Legendre nodes per smooth piece of the z-integral (a piece spans at most
    #: 24 standard deviations of N(z; omega, V); 200 nodes integrate a Gaussian over it,
    #: and the named likelihoods, analytic there, to ~1e-15).
    NODES = 200

    def __init__(self, glm, values):
        ch = glm.channel
        self.support = None if ch.support is None else [float(v) for v in ch.support]
        like = ch.likelihood.subs(values)
        self.like = sp.lambdify((ch.y, ch.z), like, _NUMPY)
        self.kinks = [sp.lambdify(ch.y, k, _NUMPY) for k in _kinks(like, ch.z)]
        self.nodes, self.weights = np.polynomial.legendre.leggauss(self.NODES)

    def z_derivatives(self, y, omega, V, orders=3):
        r""":math:`\partial^k_\omega Z(y, \omega, V)` for ``k = 0, 1, 2``: Gauss--Legendre
        over ``z`` in ``omega +- 12 sqrt(V)``, cut at the mean and at the likelihood's kinks."""
        s = math.sqrt(V)
        lo, hi = omega - 12 * s, omega + 12 * s
        kinks = {float(k(y)) for k in self.kinks}
        cuts = np.array(sorted({lo, omega, hi} | {k for k in kinks if lo < k < hi}))
        half = (cuts[1:] - cuts[:-1])[:, None] / 2
        z = ((cuts[1:] + cuts[:-1])[:, None] / 2 + half * self.nodes).ravel()
        w = (half * self.weights).ravel()
        with _quiet():
            like = np.broadcast_to(np.asarray(self.like(y, z), dtype=float), z.shape)
        u = (z - omega) / V
        density = w * like * np.exp(-((z - omega) ** 2) / (2 * V)) / (s * math.sqrt(2 * math.pi))
        out = [density.sum(), (density * u).sum(), (density * (u * u - 1 / V)).sum()]
        return np.array(out[:orders] + [0.0] * (3 - orders))

    def fisher(self, omega, V):
        r""":math:`\sum_y (\partial_\omega Z)^2 / Z` (``int dy`` for a continuous ``y``)."""

        def term(y):
            Z, dZ, _ = self.z_derivatives(y, omega, V, orders=2)
            return dZ * dZ / Z if Z > 0 else 0.0  # Z underflows only where dZ^2/Z -> 0

        if self.support is not None:
            return sum(term(y) for y in self.support)
        # y = z + noise: centred on omega, spread sqrt(V) plus the channel's own
        spread = 12.0 * math.sqrt(V + 1.0)
        return sum(
            quad(term, a, b, epsabs=1e-13, epsrel=1e-10, limit=200)[0]
            for a, b in ((omega - spread, omega), (omega, omega + spread))
        )

    def q_hat(self, alpha, q, rho):
        r""":math:`\alpha\,\mathbb{E}_\xi \sum_y (\partial_\omega Z)^2/Z` at
        :math:`\omega = \sqrt q\xi`, :math:`V = \rho - q`."""

        def integrand(xi):
            return self.fisher(math.sqrt(q) * xi, rho - q) * math.exp(-xi * xi / 2)

        value = sum(
            quad(integrand, a, b, epsabs=1e-13, epsrel=1e-10, limit=200)[0]
            for a, b in ((-12.0, 0.0), (0.0, 12.0))
        )
        return alpha * value / math.sqrt(2 * math.pi)


def _call(kernel, values, **more):
    """``kernel`` at the named values it takes (a selected kernel drops unused parameters);
    a tuple of its outputs."""
    given = {k: v for k, v in {**values, **more}.items() if k in kernel.arguments}
    out = kernel(*kernel.bind(given))
    return out if isinstance(out, tuple) else (out,)


def _close(got, want, tol):
    return math.isfinite(got) and abs(got - want) <= tol * (1 + abs(want))


def verify_glm(glm, examples=20, seed=None):
    """Yield the checks of a :class:`derive.GLM` (see the module docstring)."""
    hypothesis, st = _hypothesis()
    eqs = derive.denoisers(glm)
    inputs = numerics.compile(eqs.select("f_a", "f_v"))
    outputs = numerics.compile(eqs.select("g_out", "dg_out"))
    param = st.floats(0.05, 0.45)
    drawn_params = st.tuples(*[param for _ in glm.params])

    def values_of(drawn):
        return {p: v for p, v in zip(glm.params, drawn)}

    def named(drawn, **more):
        return {**{p.name: v for p, v in zip(glm.params, drawn)}, **more}

    @_settings(hypothesis, examples)
    @hypothesis.given(st.floats(0.1, 3.0), st.floats(-3.0, 3.0), drawn_params)
    def input_side(A, B, drawn):
        at = named(drawn, A=A, B=B)
        f_a, f_v = _call(inputs, at)
        mean, var = _NumericPrior(glm, values_of(drawn)).posterior(A, B)
        assert _close(f_a, mean, INPUT_TOL), f"f_a = {f_a!r}, quadrature {mean!r} at {at}"
        assert _close(f_v, var, INPUT_TOL), f"f_v = {f_v!r}, quadrature {var!r} at {at}"

    yield _run(
        "f_a, f_v = posterior mean and variance (sum / quad)",
        f"{examples} drawn (A, B, parameters), tolerance {INPUT_TOL:g}",
        input_side,
        seed,
        hypothesis,
    )

    ys = (
        st.sampled_from([float(v) for v in glm.channel.support])
        if glm.channel.support is not None
        else st.floats(-3.0, 3.0)
    )

    @_settings(hypothesis, examples)
    @hypothesis.given(ys, st.floats(-2.0, 2.0), st.floats(0.2, 2.0), drawn_params)
    def output_side(y, omega, V, drawn):
        at = named(drawn, y=y, omega=omega, V=V)
        g, dg = _call(outputs, at)
        Z, dZ, d2Z = _NumericChannel(glm, values_of(drawn)).z_derivatives(y, omega, V)
        g_num = dZ / Z
        dg_num = d2Z / Z - g_num**2
        assert _close(g, g_num, OUTPUT_TOL), f"g_out = {g!r}, quadrature {g_num!r} at {at}"
        assert abs(dg - dg_num) <= OUTPUT_TOL * (1 + abs(dg_num) + g_num**2), (
            f"dg_out = {dg!r}, quadrature {dg_num!r} at {at}"
        )

    yield _run(
        "g_out, dg_out = d/d omega log Zout (quadrature over z of P(y|z) d^k N(z; omega, V))",
        f"{examples} drawn (y, omega, V, parameters), tolerance {OUTPUT_TOL:g}",
        output_side,
        seed,
        hypothesis,
    )

    yield from _state_evolution_checks(glm, inputs, examples, seed, hypothesis, st)


def _state_evolution_checks(glm, inputs, examples, seed, hypothesis, st):
    """The state-evolution map, the free entropy's stationarity and Nishimori."""
    se_eqs = derive.state_evolution(glm)
    phi_eqs = derive.free_entropy(glm)
    kernels = {}

    def kernel(eqs, q, rho):
        order = order_for(q, rho)
        if (eqs.key, order) not in kernels:
            kernels[eqs.key, order] = numerics.compile(eqs, order=order)
        return kernels[eqs.key, order]

    n = max(1, examples // SE_EXAMPLES_DIVISOR)
    drawn_params = st.tuples(*[st.floats(0.05, 0.45) for _ in glm.params])

    def setup(drawn):
        values = {p: v for p, v in zip(glm.params, drawn)}
        prior = _NumericPrior(glm, values)
        return values, prior, {p.name: v for p, v in values.items()}

    # no shrinking: every example is two levels of quadrature
    @_settings(hypothesis, n, shrink=False)
    @hypothesis.given(st.floats(0.05, 0.9), st.floats(0.1, 4.0), st.floats(0.5, 2.0), drawn_params)
    def se_map(frac, q_hat, alpha, drawn):
        values, prior, at = setup(drawn)
        q = frac * prior.rho
        k = kernel(se_eqs, q, prior.rho)
        got = dict(zip(k.outputs, _call(k, at, q=q, q_hat=q_hat, alpha=alpha)))
        want_q_hat = _NumericChannel(glm, values).q_hat(alpha, q, prior.rho)
        want_q = prior.field_average(q_hat, lambda B, f_a: f_a * f_a)[0]
        where = f"q = {q:.6g}, q_hat = {q_hat:.6g}, alpha = {alpha:.6g}, {at}"
        assert _close(got["q_hat"], want_q_hat, SE_TOL), (
            f"q_hat(q) = {got['q_hat']!r}, quadrature {want_q_hat!r} at {where}"
        )
        assert _close(got["q"], want_q, SE_TOL), (
            f"q(q_hat) = {got['q']!r}, quadrature {want_q!r} at {where}"
        )

    yield _run(
        "state evolution q_hat(q), q(q_hat) = two-level quadrature of the model",
        f"{n} drawn (q, q_hat, alpha, parameters), tolerance {SE_TOL:g}",
        se_map,
        seed,
        hypothesis,
    )

    def fixed_point(alpha, at, rho):
        result = numerics.state_evolution(glm, alpha, params=at, tol=1e-12)
        assert result.converged, f"state evolution at alpha = {alpha}, {at}: {result.message}"
        q, q_hat = result.overlap, result.q_hat
        assert 0 < q < rho, f"fixed point q = {q!r} at alpha = {alpha}, {at}: not in (0, rho)"
        return q, q_hat

    @_settings(hypothesis, n, shrink=False)
    @hypothesis.given(st.floats(0.3, 1.2), drawn_params)
    def stationary(alpha, drawn):
        _, prior, at = setup(drawn)
        q, q_hat = fixed_point(alpha, at, prior.rho)
        k = kernel(phi_eqs, q, prior.rho)

        def phi(dq, dq_hat):
            return _call(k, at, q=q + dq, q_hat=q_hat + dq_hat, alpha=alpha)[0]

        h_q, h_hat = H_FD * min(q, prior.rho - q), H_FD * q_hat
        d_q = (phi(h_q, 0) - phi(-h_q, 0)) / (2 * h_q)
        d_hat = (phi(0, h_hat) - phi(0, -h_hat)) / (2 * h_hat)
        where = f"the fixed point q = {q:.10g}, q_hat = {q_hat:.10g}, alpha = {alpha:.6g}, {at}"
        # each derivative is a difference of two terms of size q_hat / 2 (resp. q / 2)
        assert abs(d_q) <= STATIONARY_TOL * (1 + q_hat), f"d phi / d q = {d_q!r} at {where}"
        assert abs(d_hat) <= STATIONARY_TOL * (1 + q), f"d phi / d q_hat = {d_hat!r} at {where}"

    yield _run(
        "RS free entropy stationary at the state-evolution fixed point",
        f"{n} drawn (alpha, parameters); central differences, tolerance {STATIONARY_TOL:g}",
        stationary,
        seed,
        hypothesis,
    )

    @_settings(hypothesis, n, shrink=False)
    @hypothesis.given(st.floats(0.3, 1.2), drawn_params)
    def nishimori(alpha, drawn):
        _, prior, at = setup(drawn)
        q, q_hat = fixed_point(alpha, at, prior.rho)

        def f_a(B, _):
            return _call(inputs, at, A=q_hat, B=B)[0]

        (square,) = prior.field_average(q_hat, lambda B, _: f_a(B, _) ** 2)
        (overlap,) = prior.field_average(q_hat, f_a, which=(1,))
        where = f"the fixed point q = {q:.10g}, q_hat = {q_hat:.10g}, alpha = {alpha:.6g}, {at}"
        assert _close(square, q, NISHIMORI_TOL), f"E f_a^2 = {square!r} != q at {where}"
        assert _close(overlap, q, NISHIMORI_TOL), f"E w0 f_a = {overlap!r} != q at {where}"

    yield _run(
        "Nishimori at the fixed point: E f_a^2 = E w0 f_a = q",
        f"{n} drawn (alpha, parameters); compiled f_a averaged by quad, tolerance "
        f"{NISHIMORI_TOL:g}",
        nishimori,
        seed,
        hypothesis,
    )
