"""The ``cavitylab`` command line, called in-process through ``cookbooks.cli.main``."""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import graphs
import numerics
from cookbooks import families
from cookbooks.cli import main
from cookbooks.registry import recipes

ROOT = Path(__file__).resolve().parents[2]

ISING = """
import sympy as sp
from derive import PairwiseModel

si, sj, J, h = sp.symbols("s_i s_j J h", real=True)
model = PairwiseModel(alphabet=(-1, 1), pair_energy=-J*si*sj, field_energy=-h*si,
                      variables=(si, sj))
"""

SPIN1 = """
import sympy as sp
from derive import PairwiseModel

si, sj, J, h, D = sp.symbols("s_i s_j J h D", real=True)
model = PairwiseModel(alphabet=(-1, 0, 1), pair_energy=-J*si*sj,
                      field_energy=-h*si + D*si**2, variables=(si, sj))
"""


def write(tmp_path, text, name="model.py"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return str(path)


@pytest.fixture
def ising_file(tmp_path):
    return write(tmp_path, ISING, "ising.py")


def run_cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


# --- list ---------------------------------------------------------------------------------


def test_list_shows_every_recipe_with_its_summary(capsys):
    code, out, _ = run_cli(capsys, "list")
    assert code == 0
    lines = out.strip().splitlines()
    assert len(lines) == len(recipes())
    assert lines[0].startswith("ising-meanfield ")
    assert "Monte Carlo" in lines[0]


def test_no_command_prints_help_and_exits_2(capsys):
    code, _, err = run_cli(capsys)
    assert code == 2 and "usage" in err


# --- derive -------------------------------------------------------------------------------


def test_derive_ising_prints_tanh(capsys, ising_file):
    code, out, err = run_cli(capsys, "derive", ising_file)
    assert code == 0, err
    assert "naive mean-field" in out
    assert "m = tanh(beta*(H + h))" in out
    assert "H = sum_j [J*m_j]" in out


def test_derive_ising_prints_bp_with_atanh_then_rs_and_tap(capsys, ising_file):
    code, out, err = run_cli(capsys, "derive", ising_file)
    assert code == 0, err
    names = [
        "naive mean-field",
        "belief propagation",
        "replica-symmetric saddle point",
        "TAP site law",
    ]
    positions = [out.index(name) for name in names]
    assert positions == sorted(positions)
    bp = out[positions[1] : positions[2]]
    assert "atanh(tanh(J*beta)*tanh(beta*h_{k \\to i}))/beta" in bp
    assert "h_{i \\to j}_new = U + h" in bp
    assert "AT = " in out and "m = tanh(beta*(H + h))" in out[positions[3] :]


POTTS = """
import sympy as sp
from derive import PairwiseModel

si, sj, J = sp.symbols("s_i s_j J", real=True)
model = PairwiseModel(alphabet=(0, 1, 2), pair_energy=-J*sp.KroneckerDelta(si, sj),
                      variables=(si, sj))
"""


def test_derive_skips_rs_and_tap_when_the_pair_energy_is_not_bilinear(capsys, tmp_path):
    code, out, err = run_cli(capsys, "derive", write(tmp_path, POTTS))
    assert code == 0, err
    assert "naive mean-field" in out and "belief propagation" in out
    assert "replica-symmetric" not in out and "TAP" not in out


def test_derive_spin1_is_bilinear_ghatak_sherrington(capsys, tmp_path):
    code, out, _ = run_cli(capsys, "derive", write(tmp_path, SPIN1))
    assert code == 0
    assert "replica-symmetric saddle point" in out and "Q = E_{z}" in out


def test_derive_latex(capsys, ising_file):
    code, out, _ = run_cli(capsys, "derive", ising_file, "--latex")
    assert code == 0
    assert out.startswith("\\begin{aligned}")
    assert "\\tanh" in out and "\\sum_{j \\in \\partial i}" in out


def test_derive_spin1_has_three_marginals(capsys, tmp_path):
    code, out, _ = run_cli(capsys, "derive", write(tmp_path, SPIN1))
    assert code == 0
    for name in ("P_-1 =", "P_0 =", "P_1 =", "LogSumExp"):
        assert name in out


# --- export -------------------------------------------------------------------------------


def test_export_writes_a_module_that_imports_in_a_fresh_interpreter(capsys, tmp_path, ising_file):
    target = tmp_path / "solvers" / "ising_solver.py"
    code, out, err = run_cli(capsys, "export", ising_file, "-o", target)
    assert code == 0, err
    assert out.strip() == str(target)
    assert target.is_file()
    probe = textwrap.dedent(f"""
        import importlib.util, sys
        spec = importlib.util.spec_from_file_location("solver", {str(target)!r})
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        assert "sympy" not in sys.modules and "cavitylab" not in sys.modules
        print(len(mod.MF_ARGUMENTS), repr(mod.mf_outputs(0.3, 0.7, 0.1)[0]))
    """)
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=tmp_path, timeout=120
    )
    assert done.returncode == 0, done.stderr
    arguments, value = done.stdout.rsplit(" ", 1)
    assert arguments == "3"  # H, beta, h
    assert float(value) == pytest.approx(np.tanh(0.7 * (0.3 + 0.1)), rel=1e-12)


def test_export_rejects_a_path_that_is_not_python(capsys, tmp_path, ising_file):
    code, out, err = run_cli(capsys, "export", ising_file, "-o", tmp_path / "solver.txt")
    assert code == 2 and out == ""
    assert err.startswith("error: ") and ".py" in err and len(err.splitlines()) == 1


# --- verify -------------------------------------------------------------------------------


def test_verify_passes_on_ising(capsys, ising_file):
    code, out, err = run_cli(capsys, "verify", ising_file, "--examples", 5)
    assert code == 0, out + err
    lines = out.strip().splitlines()
    assert len(lines) == 3
    assert all(line.startswith("PASS") for line in lines)
    assert "sympy" in lines[0] and "Monte Carlo" in lines[1]
    assert "belief propagation = exact enumeration on trees" in lines[2]


def test_verify_reports_a_wrong_oracle_and_exits_1(capsys, ising_file, monkeypatch):
    real = graphs.exact

    def all_up(*args, **kwargs):  # a broken "exact" result: every spin up
        r = real(*args, **kwargs)
        r.marginals = np.tile([0.0, 1.0], (len(r.nodes), 1))
        return r

    monkeypatch.setattr(graphs, "exact", all_up)
    code, out, _ = run_cli(capsys, "verify", ising_file, "--examples", 3)
    assert code == 1
    first, second, third = out.strip().splitlines()
    assert first.startswith("PASS")
    assert second.startswith("FAIL")
    assert "exact 1.00000" in second
    assert third.startswith("FAIL") and "BP marginal" in third


def test_verify_bp_check_catches_a_wrong_bethe_free_entropy(capsys, ising_file, monkeypatch):
    real = graphs.belief_propagation

    def shifted(*args, **kwargs):  # a broken BP: log Z off by 1e-6
        r = real(*args, **kwargs)
        r.log_z += 1e-6
        return r

    monkeypatch.setattr(graphs, "belief_propagation", shifted)
    code, out, _ = run_cli(capsys, "verify", ising_file, "--examples", 3)
    assert code == 1
    lines = out.strip().splitlines()
    assert [line.split()[0] for line in lines] == ["PASS", "PASS", "FAIL"]
    assert "log Z of a" in lines[2] and "tree" in lines[2]


def test_verify_without_checks_for_the_family_says_so(capsys, ising_file, monkeypatch):
    pairwise = families.FAMILIES[0]
    monkeypatch.setattr(
        families,
        "FAMILIES",
        [
            families.Family(
                pairwise.name, pairwise.model_type, pairwise.steps, pairwise.export, None
            )
        ],
    )
    code, out, err = run_cli(capsys, "verify", ising_file)
    assert code == 2 and out == ""
    assert err.startswith("error: no property checks yet for pairwise spin models")


# --- errors -------------------------------------------------------------------------------

BAD_FILES = {
    "syntax": ("model = (\n", "syntax error"),
    "raises": ("import sympy\nx = 1\nmodel = undefined_name\n", "model.py:3: NameError"),
    "no model": ("import sympy\nx = 1\n", "defines no variable 'model'"),
    "not a model": ("model = 3\n", "model is of type int"),
    "model error": (
        "from derive import PairwiseModel\nmodel = PairwiseModel((), 0)\n",
        "ModelError: alphabet is empty",
    ),
    "asymmetric": (
        "import sympy as sp\nfrom derive import PairwiseModel\n"
        "si, sj = sp.symbols('s_i s_j', real=True)\n"
        "model = PairwiseModel((-1, 1), si * sj**2 + si, variables=(si, sj))\n",
        "not symmetric",
    ),
}


@pytest.mark.parametrize("command", ["derive", "export", "verify"])
@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_model_files_give_one_line_and_exit_2(capsys, tmp_path, case, command):
    source, expected = BAD_FILES[case]
    path = write(tmp_path, source)
    extra = ["-o", str(tmp_path / "out.py")] if command == "export" else []
    code, out, err = run_cli(capsys, command, path, *extra)
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith("error: ") and expected in err
    assert "Traceback" not in err


def test_missing_model_file(capsys, tmp_path):
    code, _, err = run_cli(capsys, "derive", tmp_path / "nope.py")
    assert code == 2 and err.startswith("error: ") and "nope.py: not found" in err


def test_compile_error_is_one_line(capsys, ising_file, monkeypatch):
    def fail(*args, **kwargs):
        raise numerics.CompileError(
            "numba cannot compile the outputs of 'x': m = foo(H)\n"
            "(numba said: Untyped global name 'foo')"
        )

    monkeypatch.setattr(numerics, "export", fail)
    code, _, err = run_cli(capsys, "export", ising_file, "-o", "x.py")
    assert code == 2
    assert err == (
        "error: numba cannot compile the outputs of 'x': m = foo(H) "
        "(numba said: Untyped global name 'foo')\n"
    )


def test_unknown_recipe(capsys):
    code, _, err = run_cli(capsys, "run", "no-such-recipe")
    assert code == 2 and "unknown recipe 'no-such-recipe'" in err and "ising-meanfield" in err


# --- packaging and layering ---------------------------------------------------------------


def test_console_script_and_module_entry_point():
    text = (ROOT / "pyproject.toml").read_text()
    assert 'cavitylab = "cookbooks.cli:main"' in text
    done = subprocess.run(
        [sys.executable, "-m", "cookbooks", "list"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert done.returncode == 0 and done.stdout.startswith("ising-meanfield")


def test_matplotlib_is_imported_lazily():
    probe = (
        "import sys, cookbooks, cookbooks.cli, cookbooks.verify, cookbooks.registry\n"
        "cookbooks.recipes()\n"
        "assert 'matplotlib' not in sys.modules, 'matplotlib imported eagerly'\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert done.returncode == 0, done.stderr


# --- run ----------------------------------------------------------------------------------


def test_run_quick_writes_png_json_and_table(capsys, tmp_path):
    out_dir = tmp_path / "results"
    code, out, err = run_cli(
        capsys, "run", "ising-meanfield", "--quick", "--out", out_dir, "--seed", 3
    )
    assert code == 0, err
    png, js = out_dir / "ising-meanfield.png", out_dir / "ising-meanfield.json"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    results = json.loads(js.read_text())
    assert results["quick"] is True and results["seed"] == 3
    assert "m_MC" in out and "Onsager" in out and str(js) in out
    assert "T = " in err  # progress, one line per temperature

    panels = {p["key"]: p for p in results["panels"]}
    assert set(panels) == {"complete", "lattice", "rrg"}
    lattice = panels["lattice"]["graphs"][0]
    assert lattice["weiss_Tc"] == pytest.approx(4.0)
    assert panels["rrg"]["graphs"][0]["weiss_Tc"] == pytest.approx(3.0)
    N = [g["n_nodes"] for g in panels["complete"]["graphs"]]
    assert len(N) == 2 and N[0] < N[1]
    for panel in panels.values():
        for g in panel["graphs"]:
            mc, gmf = g["monte_carlo"], g["graph_meanfield"]
            # ordered at the lowest temperature, and Weiss agrees there
            assert mc["m_abs"][0] > 0.95
            assert mc["m_abs"][0] == pytest.approx(mc["m_weiss"][0], abs=0.02)
            # above the Weiss T_c the Weiss magnetisation vanishes
            assert mc["T"][-1] > g["weiss_Tc"] and mc["m_weiss"][-1] < 1e-3
            # graphs.meanfield on a regular graph is the Weiss solution
            assert all(gmf["converged"]) and gmf["max_abs_diff_weiss"] < 1e-6
            assert max(gmf["m_spread"]) < 1e-6
            assert all(e >= 0 for e in mc["err"])
    # the 2D lattice is disordered well below the Weiss T_c = 4 (Onsager: 2.269)
    k = int(np.argmin(np.abs(np.array(lattice["monte_carlo"]["T"]) - 3.0)))
    assert lattice["monte_carlo"]["m_abs"][k] < 0.5 < lattice["monte_carlo"]["m_weiss"][k]


GLM_FILE = """
import sympy as sp
from derive import GLM, Channel, Prior
model = GLM(Prior.discrete({-1: sp.Rational(1, 2), 1: sp.Rational(1, 2)}), Channel.sign())
"""


def test_glm_family_derive_export_verify(capsys, tmp_path):
    """The GLM family through the same command line: the derived denoisers (f_a = tanh(B)
    for a Rademacher prior), a standalone GAMP solver, and the denoiser checks."""
    path = tmp_path / "perceptron.py"
    path.write_text(GLM_FILE)
    code, out, err = run_cli(capsys, "derive", str(path))
    assert code == 0 and "f_a = tanh(B)" in out and "state evolution" in out
    solver = tmp_path / "amp_solver.py"
    code, out, err = run_cli(capsys, "export", str(path), "-o", str(solver))
    assert code == 0 and "def gamp(" in solver.read_text()
    code, out, err = run_cli(capsys, "verify", str(path), "--examples", "3", "--seed", "1")
    assert code == 0 and out.count("PASS") == 5  # denoisers (2), SE map, stationarity, Nishimori
