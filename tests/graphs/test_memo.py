"""Equal models share one derivation and one compiled kernel (issue 10 §2).

The graph solvers memoise their derivations with ``derive.memoized``, keyed by the
content of the model: two ``PairwiseModel`` objects built separately from the same
expressions get the same ``Equations`` object and the same compiled module.
"""

import importlib

import sympy as sp

from derive import PairwiseModel

# The modules, not the functions of the same name that the package exports.
bp, meanfield, montecarlo, tables = (
    importlib.import_module(f"graphs.{name}")
    for name in ("bp", "meanfield", "montecarlo", "tables")
)


def build():
    si, sj, J, h = sp.symbols("s_i s_j J h", real=True)  # fresh symbols every call

    return PairwiseModel((-1, 1), -J * si * sj, -h * si, variables=(si, sj))


def test_belief_propagation_derivation_is_shared():
    a, b = build(), build()
    assert a is not b
    eqs_a, kernel_a = bp._derived(a)
    eqs_b, kernel_b = bp._derived(b)
    assert eqs_a is eqs_b
    assert kernel_a.module is kernel_b.module
    assert bp._bethe_kernel(a).module is bp._bethe_kernel(b).module


def test_meanfield_derivation_is_shared():
    a, b = build(), build()
    eqs_a, kernel_a = meanfield._derived(a)
    eqs_b, kernel_b = meanfield._derived(b)
    assert eqs_a is eqs_b
    assert kernel_a.module is kernel_b.module


def test_monte_carlo_sampler_is_shared():
    a, b = build(), build()
    assert montecarlo._sampler(a)[1] is montecarlo._sampler(b)[1]


def test_energy_tables_derivation_is_shared():
    a, b = build(), build()
    assert tables._energies(a) is tables._energies(b)


def test_different_models_do_not_share():
    si, sj, K, h = sp.symbols("s_i s_j K h", real=True)

    other = PairwiseModel((-1, 1), -K * si * sj, -h * si, variables=(si, sj))
    assert meanfield._derived(other)[0] is not meanfield._derived(build())[0]
