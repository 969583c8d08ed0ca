"""The command line on a committee-machine model file: derive prints the Saad-Solla ODEs
(Saad & Solla, PRE 52, 4225 (1995)), export writes the right-hand side as a standalone
module that gives the compiled kernel's numbers, verify checks the averages against Monte
Carlo."""

import importlib.util

import numpy as np
import sympy as sp

import derive
import numerics
from cookbooks.cli import main
from derive import CommitteeMachine

MODEL = """
import sympy as sp
from derive import CommitteeMachine

u = sp.Symbol("u", real=True)
model = CommitteeMachine(student={student}, variable=u, K=1, M=1)
"""
U = sp.Symbol("u", real=True)


def write(tmp_path, student):
    path = tmp_path / "committee.py"
    path.write_text(MODEL.format(student=student))
    return path


def test_derive_prints_the_odes(tmp_path, capsys):
    assert main(["derive", str(write(tmp_path, "sp.erf(u / sp.sqrt(2))"))]) == 0
    out = capsys.readouterr().out
    assert "dR_0_0/dt" in out
    assert "dv_0/dt" in out  # the trained second layer
    assert "eps_g = " in out


def test_export_gives_the_kernel_numbers(tmp_path):
    out = tmp_path / "solver.py"
    assert main(["export", str(write(tmp_path, "u")), "-o", str(out)]) == 0
    spec = importlib.util.spec_from_file_location("committee_solver", out)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    eqs = derive.saad_solla(CommitteeMachine(U, variable=U, K=1, M=1))
    kernel = numerics.compile(eqs)
    values = {"t": 0.0, "Q_0_0": 0.7, "R_0_0": 0.2, "eta": 0.5, "sigma": 0.1}
    values.update({"kappa": 0.01, "T_0_0": 1.0, "A_0": 1.0})
    args = [values[name] for name in module.ARGUMENTS]
    want = np.ravel(kernel(*kernel.bind(values)))
    got = np.ravel(module.outputs(*args))
    assert np.allclose(got, want, rtol=1e-12, atol=0)


def test_verify_passes(tmp_path, capsys):
    assert main(["verify", str(write(tmp_path, "u")), "--examples", "2", "--seed", "0"]) == 0
    out = capsys.readouterr().out
    assert "PASS  I2, I3, I4, J2 equal Monte Carlo" in out
