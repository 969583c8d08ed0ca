"""Property checks of a full-batch learning problem (``cavitylab verify`` for ``derive.ERM``).

* the Gaussian-equivalence moments ``(a, b, c)`` of the nonlinearity equal Monte Carlo
  averages over ``u ~ N(0, 1)`` (2e5 draws) within 5 standard errors;
* the proximal operator (closed form, or the compiled Newton iteration) is the minimiser of
  ``l(y, z) + (z - omega)^2 / (2 V)`` found by ``scipy.optimize.minimize_scalar``, at drawn
  ``y, omega, V`` (Gerace et al., ICML 2020, arXiv:2002.09339, eq. (3.3));
* the saddle point at ``alpha = 1.5, gamma = 0.5, lam = 0.1`` converges.
"""

import math

import numpy as np
import sympy as sp
from scipy.optimize import minimize_scalar

import numerics

from .verify import Check, _hypothesis, _run, _settings

__all__ = ["verify_erm"]

#: Monte Carlo draws of the moment check.
DRAWS = 200_000


def _moments_check(model, seed):
    got = numerics.get_moments(model.f, model.variable)
    rng = np.random.default_rng(seed)
    u = rng.standard_normal(DRAWS)
    f = sp.lambdify(model.variable, model.f, modules=["scipy", "numpy"])
    fu = np.broadcast_to(np.asarray(f(u), dtype=float), u.shape)
    samples = {"a": fu, "b": u * fu, "c": fu * fu}
    worst = []
    for name, x in samples.items():
        se = x.std(ddof=1) / math.sqrt(DRAWS)
        z = abs(getattr(got, name) - x.mean()) / max(se, 1e-300)
        worst.append((z, name))
    z, name = max(worst)
    detail = f"(a, b, c) = ({got.a:.6g}, {got.b:.6g}, {got.c:.6g}); largest gap {z:.2f} SE ({name})"
    return Check("GET moments equal Monte Carlo", bool(z < 5), detail)


def verify_erm(model, examples=10, seed=None):
    """Yield the checks of a :class:`derive.ERM` model (see the module docstring)."""
    hypothesis, st = _hypothesis()
    yield _moments_check(model, seed)
    module = numerics.erm_module(model.loss, model.teacher)
    closed = "prox" in module.OUTPUTS
    support = model.teacher.support
    labels = st.sampled_from([float(v) for v in support]) if support else st.floats(-3, 3)
    loss = model.loss
    objective = sp.lambdify((loss.y, loss.z), loss.expr, "mpmath")

    @_settings(hypothesis, examples)
    @hypothesis.given(labels, st.floats(-4, 4), st.floats(0.05, 5))
    def prox_is_argmin(y, omega, v):
        if closed:
            r = module.erm_point(y, omega, omega, v, 0.0, 1.0)
            z = r[module.OUTPUTS.index("prox")]
        else:
            z = module.erm_prox_newton(y, omega, v, 0.0, 1.0, math.nan)[0]
        best = minimize_scalar(
            lambda t: float(objective(y, t)) + (t - omega) ** 2 / (2 * v),
            bounds=(omega - 20 * v - 20, omega + 20 * v + 20),
            method="bounded",
            options={"xatol": 1e-10},
        ).x
        assert abs(z - best) < 1e-6, f"prox {z} but the minimiser is {best} at {(y, omega, v)}"

    yield _run(
        "proximal operator equals numerical minimisation",
        f"{examples} drawn (y, omega, V), {'closed form' if closed else 'Newton'}",
        prox_is_argmin,
        seed,
        hypothesis,
    )
    res = numerics.erm(
        model.loss, model.teacher, model.f, model.variable, alpha=1.5, gamma=0.5, lam=0.1
    )
    yield Check(
        "saddle point converges at alpha = 1.5, gamma = 0.5, lam = 0.1",
        bool(res.converged),
        f"test error {res.test_error:.4f}; {res.message}",
    )
