"""``cavitylab verify`` for generalized linear models: denoisers against brute force.

* the input denoisers ``f_a``, ``f_v`` equal the posterior mean and variance of
  ``w ~ P0(w) exp(B w - A w^2 / 2)``, computed by summation over atoms and
  ``scipy.integrate.quad`` over continuous parts (the prior's density, lambdified);
* the output denoisers ``g_out``, ``dg_out`` equal central differences in ``omega`` of
  ``log Zout``, with ``Zout = int dz P(y | z) N(z; omega, V)`` by ``quad``.

Model parameters are drawn in ``[0.05, 0.45]``: inside the domain of every parameter the
named constructors take (probabilities, flip rates, variances).
"""

import math

import numpy as np
import sympy as sp
from scipy.integrate import quad

import derive
import numerics

from .verify import _hypothesis, _run, _settings

__all__ = ["verify_glm"]

#: Tolerances: the input side is a ratio of quadratures (~1e-10); the output side a
#: central difference of step 1e-4 of a quadrature (truncation ~1e-8 relative).
INPUT_TOL, OUTPUT_TOL = 1e-7, 1e-5


def _posterior(glm, values, A, B):
    """Mean and variance of w under P0(w) exp(B w - A w^2/2): sums and quad, no derivation."""
    moments = np.zeros(3)
    for weight, comp in glm.prior.components:
        p = float(weight.subs(values))
        if comp[0] == "atom":
            w = float(comp[1].subs(values))
            moments += p * np.exp(B * w - A * w * w / 2) * np.array([1, w, w * w])
            continue
        _, density, var = comp
        f = sp.lambdify(var, density.subs(values), "math")
        for k in range(3):
            moments[k] += (
                p
                * quad(
                    lambda w, f=f, k=k: f(w) * w**k * math.exp(B * w - A * w * w / 2),
                    -np.inf,
                    np.inf,
                    epsabs=1e-13,
                    epsrel=1e-12,
                    limit=200,
                )[0]
            )
    mean = moments[1] / moments[0]
    return mean, moments[2] / moments[0] - mean**2


def _log_zout(glm, values, y, omega, V):
    ch = glm.channel
    like = sp.lambdify(
        ch.z,
        ch.likelihood.subs(values)
        .subs(ch.y, y)
        .replace(sp.Heaviside, lambda x, *_: sp.Piecewise((1, x > 0), (0, True))),
        [{"Phi": lambda x: 0.5 * math.erfc(-x / math.sqrt(2))}, "math"],
    )
    s = math.sqrt(V)
    density = lambda z: (
        like(z) * math.exp(-((z - omega) ** 2) / (2 * V)) / (s * math.sqrt(2 * math.pi))
    )  # noqa: E731
    points = sorted({0.0, omega - 8 * s, omega, omega + 8 * s})
    total = sum(
        quad(density, a, b, epsabs=0, epsrel=1e-13, limit=200)[0]
        for a, b in zip([-np.inf] + points, points + [np.inf])
    )
    return math.log(total)


def verify_glm(glm, examples=20, seed=None):
    """Yield the checks of a :class:`derive.GLM`."""
    hypothesis, st = _hypothesis()
    eqs = derive.denoisers(glm)
    inputs = numerics.compile(eqs.select("f_a", "f_v"))
    outputs = numerics.compile(eqs.select("g_out", "dg_out"))
    param = st.floats(0.05, 0.45)

    def values_of(drawn):
        return {p: v for p, v in zip(glm.params, drawn)}

    @_settings(hypothesis, examples)
    @hypothesis.given(
        st.floats(0.1, 3.0), st.floats(-3.0, 3.0), st.tuples(*[param for _ in glm.params])
    )
    def input_side(A, B, drawn):
        values = values_of(drawn)
        named = {"A": A, "B": B, **{p.name: v for p, v in values.items()}}
        f_a, f_v = inputs(*[named[a] for a in inputs.arguments])
        mean, var = _posterior(glm, values, A, B)
        assert abs(f_a - mean) <= INPUT_TOL * (1 + abs(mean)), (f_a, mean, named)
        assert abs(f_v - var) <= INPUT_TOL * (1 + abs(var)), (f_v, var, named)

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
    @hypothesis.given(
        ys, st.floats(-2.0, 2.0), st.floats(0.2, 2.0), st.tuples(*[param for _ in glm.params])
    )
    def output_side(y, omega, V, drawn):
        values = values_of(drawn)
        named = {"y": y, "omega": omega, "V": V, **{p.name: v for p, v in values.items()}}
        g, dg = outputs(*[named[a] for a in outputs.arguments])
        h = 1e-3
        f = [_log_zout(glm, values, y, omega + k * h, V) for k in (-1, 0, 1)]
        g_num = (f[2] - f[0]) / (2 * h)
        dg_num = (f[2] - 2 * f[1] + f[0]) / h**2
        assert abs(g - g_num) <= OUTPUT_TOL * (1 + abs(g_num)), (g, g_num, named)
        assert abs(dg - dg_num) <= 1e3 * OUTPUT_TOL * (1 + abs(dg_num)), (dg, dg_num, named)

    yield _run(
        "g_out, dg_out = d/d omega log Zout (quad, central differences)",
        f"{examples} drawn (y, omega, V, parameters); step 1e-3: truncation ~h^2 "
        f"relative, tolerance {OUTPUT_TOL:g} (g) and {1e3 * OUTPUT_TOL:g} (dg)",
        output_side,
        seed,
        hypothesis,
    )
