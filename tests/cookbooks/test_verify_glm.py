"""``cavitylab verify`` on generalized linear models: it passes on correct derivations and
fails (exit status 1) on a model whose state evolution is wrong.

The checks themselves compare with quadrature of the model's definition (see
``cookbooks.verify_glm``); here: that they pass on the binary perceptron, the logistic and
the probit channels, that a 1% error in the state-evolution map is caught, and that the
oracle's own arithmetic does not overflow where a naive ``math.exp`` would.
"""

import math

import numpy as np
import pytest
import sympy as sp

import derive
from cookbooks.cli import main
from cookbooks.verify_glm import _NumericChannel, _NumericPrior

MODELS = {
    "perceptron": """
import sympy as sp
from derive import GLM, Channel, Prior
model = GLM(Prior.discrete({-1: sp.Rational(1, 2), 1: sp.Rational(1, 2)}), Channel.sign())
""",
    "logistic": """
import sympy as sp
from derive import GLM, Channel, Prior
beta = sp.Symbol("beta", positive=True)
model = GLM(Prior.discrete({-1: sp.Rational(1, 2), 1: sp.Rational(1, 2)}), Channel.logistic(beta))
""",
    "probit": """
import sympy as sp
from derive import GLM, Channel, Prior
model = GLM(Prior.gaussian(), Channel.probit(sp.Symbol("sigma", positive=True)))
""",
}

CHECKS = 5  # denoisers (2), state-evolution map, stationarity, Nishimori


def run_verify(capsys, tmp_path, name, examples=4):
    path = tmp_path / f"{name}.py"
    path.write_text(MODELS[name])
    code = main(["verify", str(path), "--examples", str(examples), "--seed", "1"])
    out, _ = capsys.readouterr()
    return code, out


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(MODELS))
def test_verify_passes(capsys, tmp_path, name):
    code, out = run_verify(capsys, tmp_path, name)
    assert code == 0 and out.count("PASS") == CHECKS, out


def _perturbed(factor):
    """derive.state_evolution with q_hat multiplied by ``factor``: a mis-derived model."""
    original = derive.state_evolution

    def state_evolution(glm):
        eqs = original(glm)
        outputs = {s: (factor * e if s.name == "q_hat" else e) for s, e in eqs.outputs.items()}
        return derive.Equations(
            eqs.name + " (perturbed)",
            eqs.kind,
            eqs.inputs,
            eqs.params,
            outputs,
            model=eqs.model,
            description="perturbed",
        )

    return state_evolution


def test_verify_fails_on_a_perturbed_state_evolution(capsys, tmp_path, monkeypatch):
    monkeypatch.setattr(derive, "state_evolution", _perturbed(1.01))
    code, out = run_verify(capsys, tmp_path, "perceptron")
    lines = [line for line in out.splitlines() if "state evolution q_hat(q)" in line]
    assert code == 1 and lines and lines[0].startswith("FAIL"), out


def test_channel_oracle_does_not_overflow():
    """Logistic at beta = 800: exp(-beta y z) overflows math.exp for |z| > 0.9; numpy's inf
    gives the likelihood 0 there, and Z(y=1, omega=3, V=1) = P(z > 0) to ~1e-3 of the
    logistic's width: Phi(3) within beta^-1."""
    glm = derive.GLM(derive.Prior.gaussian(), derive.Channel.logistic(800))
    Z, dZ, _ = _NumericChannel(glm, {}).z_derivatives(1.0, 3.0, 1.0)
    phi3 = 0.5 * math.erfc(-3 / math.sqrt(2))
    assert np.isfinite([Z, dZ]).all() and abs(Z - phi3) <= 1e-3


def test_prior_oracle_does_not_overflow():
    """Posterior of a Rademacher prior at B = 1000: exp(B w) overflows math.exp; the shifted
    weights give the exact mean tanh(1000) = 1 and variance 0."""
    glm = derive.GLM(
        derive.Prior.discrete({-1: sp.Rational(1, 2), 1: sp.Rational(1, 2)}), derive.Channel.sign()
    )
    mean, var = _NumericPrior(glm, {}).posterior(1.0, 1000.0)
    assert mean == 1.0 and abs(var) <= 1e-15


def test_gaussian_prior_oracle_at_a_large_field():
    """N(0, 1) prior, A = 1, B = 1000: the posterior is N(B / (1 + A), 1 / (1 + A))."""
    glm = derive.GLM(derive.Prior.gaussian(), derive.Channel.sign())
    mean, var = _NumericPrior(glm, {}).posterior(1.0, 1000.0)
    assert abs(mean - 500.0) <= 1e-9 * 500 and abs(var - 0.5) <= 1e-6
