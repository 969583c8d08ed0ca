"""The command line on an ERM model file: derive prints the channel side, export writes the
module that numerics.erm runs (Gerace et al., ICML 2020, arXiv:2002.09339, eq. (3.3))."""

import derive
import numerics
from cookbooks.cli import main

MODEL = """
import sympy as sp
from derive import ERM, Channel, Loss

u = sp.Symbol("u", real=True)
model = ERM(Loss.hinge(), Channel.sign(), sp.erf(u), u)
"""


def test_derive_and_export_an_erm_model(tmp_path, capsys):
    path = tmp_path / "erm_model.py"
    path.write_text(MODEL)
    assert main(["derive", str(path)]) == 0
    assert "prox = Piecewise" in capsys.readouterr().out
    out = tmp_path / "solver.py"
    assert main(["export", str(path), "-o", str(out)]) == 0
    eqs = derive.erm(derive.Loss.hinge(), derive.Channel.sign())
    assert out.read_text() == numerics.erm_source(eqs, True)
