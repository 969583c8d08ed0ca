r"""Property checks of a committee machine (``cavitylab verify`` for ``derive.CommitteeMachine``).

* the derived averages :math:`I_2, I_3, I_4, J_2` (Saad & Solla, PRE 52, 4225 (1995)),
  compiled as the ODE kernel compiles them (closed forms and quadrature nodes alike), equal
  Monte Carlo averages of the activations over the local fields at drawn positive-definite
  covariances: :data:`DRAWS` draws per covariance, tolerance 5 standard errors plus
  :data:`QUADRATURE_TOL` for the quadrature of what did not close;
* the Saad--Solla equations derive (``derive.saad_solla``) for the model's K and M.
"""

import math

import numpy as np
import sympy as sp

import derive
import numerics
from derive.online import STUDENT, TEACHER, committee_integrals

from .verify import Check, _hypothesis, _run, _settings

__all__ = ["verify_online", "DRAWS"]

#: Monte Carlo draws per drawn covariance
DRAWS = 200_000
#: allowance for the quadrature of the averages that do not close (4-D tensor rules)
QUADRATURE_TOL = 1e-4


def _integrals_equations(model):
    """The averages as one ``Equations(kind="map")`` in the covariance symbols ``C_pq``."""
    outputs, cases = {}, []
    for name, table in committee_integrals(model).items():
        for kinds, expr in table.items():
            tag = "".join(k[0] for k in kinds)
            outputs[sp.Symbol(f"{name}_{tag}")] = expr
            cases.append((name, kinds))
    inputs = sorted(set().union(*[e.free_symbols for e in outputs.values()]), key=str)
    return derive.Equations("committee averages", "map", inputs, [], outputs), cases


def _sampler(model, name, kinds):
    """The integrand as a numpy function of the fields, from the activations themselves."""
    u = model.variable
    g = {
        STUDENT: sp.lambdify(u, model.student, modules=["scipy", "numpy"]),
        TEACHER: sp.lambdify(u, model.teacher, modules=["scipy", "numpy"]),
    }
    dg = sp.lambdify(u, model.derivative, modules=["scipy", "numpy"])

    def value(f, x):
        return np.broadcast_to(np.asarray(f(x), dtype=float), x.shape)

    def integrand(z):
        if name == "I2":
            return value(g[kinds[0]], z[0]) * value(g[kinds[1]], z[1])
        if name == "I3":
            return value(dg, z[0]) * z[1] * value(g[kinds[2]], z[2])
        if name == "I4":
            return (
                value(dg, z[0])
                * value(dg, z[1])
                * value(g[kinds[2]], z[2])
                * value(g[kinds[3]], z[3])
            )
        return value(dg, z[0]) * value(dg, z[1])

    return integrand


def verify_online(model, examples=10, seed=None):
    """Yield the checks of a :class:`derive.CommitteeMachine` (see the module docstring)."""
    hypothesis, st = _hypothesis()
    eqs, cases = _integrals_equations(model)
    kernel = numerics.compile(eqs)
    samplers = [_sampler(model, name, kinds) for name, kinds in cases]
    worst = []

    @_settings(hypothesis, examples)
    @hypothesis.given(st.integers(0, 2**31 - 1))
    def averages_equal_monte_carlo(draw):
        rng = np.random.default_rng(draw)
        a = rng.normal(size=(4, 6))
        cov = a @ a.T / 6 + 0.1 * np.eye(4)  # positive definite
        values = {s.name: cov[int(s.name[2]), int(s.name[3])] for s in eqs.inputs}
        got = np.ravel(kernel(*kernel.bind(values)))
        z = rng.multivariate_normal(np.zeros(4), cov, size=DRAWS).T
        for (name, kinds), sample, derived in zip(cases, samplers, got):
            x = sample(z)
            se = x.std(ddof=1) / math.sqrt(DRAWS)
            gap = abs(derived - x.mean())
            worst.append(gap / (5 * se + QUADRATURE_TOL))
            assert gap <= 5 * se + QUADRATURE_TOL, (
                f"{name}{tuple(kinds)}: derived {derived:.6g}, Monte Carlo {x.mean():.6g} "
                f"+- {se:.2g} at covariance {np.round(cov, 4).tolist()}"
            )

    yield _run(
        "I2, I3, I4, J2 equal Monte Carlo",
        f"{examples} drawn 4 x 4 covariances, {DRAWS} draws each, tolerance 5 SE + "
        f"{QUADRATURE_TOL:g}",
        averages_equal_monte_carlo,
        seed,
        hypothesis,
    )
    if worst:
        worst_fraction = max(worst)
        yield Check(
            "largest gap, as a fraction of the tolerance",
            bool(worst_fraction <= 1),
            f"{worst_fraction:.3f}",
        )
    eqs = derive.saad_solla(model)
    bodies = [d.body for d in eqs.definitions] + list(eqs.outputs.values())
    nodes = set().union(*[e.atoms(derive.GaussianExpectation) for e in bodies])
    yield Check(
        "Saad-Solla equations derive",
        True,
        f"K = {model.K}, M = {model.M}: {len(eqs.outputs)} ODEs, {len(eqs.definitions)} "
        f"averages defined once, {len(nodes)} quadrature nodes",
    )
