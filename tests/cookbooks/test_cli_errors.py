"""The command line's error surface: CavitylabError is one line and exit 2; anything else is a bug.

DESIGN (Errors): bad input of any layer is a ``derive.CavitylabError``; the command line
catches only those (and its own argument files' errors), ``--traceback`` shows the trace.
"""

import textwrap

import pytest

import derive
from cookbooks import families
from cookbooks.cli import main

ISING = """
import sympy as sp
from derive import PairwiseModel

si, sj, J, h = sp.symbols("s_i s_j J h", real=True)
model = PairwiseModel(alphabet=(-1, 1), pair_energy=-J*si*sj, field_energy=-h*si,
                      variables=(si, sj))
"""


@pytest.fixture
def ising_file(tmp_path):
    path = tmp_path / "ising.py"
    path.write_text(textwrap.dedent(ISING))
    return str(path)


def run_cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_version_prints_the_installed_version(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    out, _ = capsys.readouterr()
    assert exit_.value.code == 0
    assert out.startswith("cavitylab 0.")


def test_out_that_is_not_writable_is_refused_before_any_computation(capsys, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    code, out, err = run_cli(capsys, "run", "ising-meanfield", "--quick", "--out", blocker)
    assert (code, out) == (2, "")
    assert err.startswith("error: --out") and "not a writable directory" in err


def test_export_to_a_missing_drive_is_one_line(capsys, ising_file, tmp_path):
    target = tmp_path / "file" / "solver.py"
    (tmp_path / "file").write_text("x")  # a file where the directory should be
    code, _, err = run_cli(capsys, "export", ising_file, "-o", target)
    assert code == 2
    assert err.startswith("error: the directory of -o")


def test_export_needs_a_python_module_name(capsys, ising_file, tmp_path):
    code, _, err = run_cli(capsys, "export", ising_file, "-o", tmp_path / "solver.txt")
    assert code == 2 and "end it in .py" in err


def test_derive_only_prints_one_derivation_with_progress(capsys, ising_file):
    code, out, err = run_cli(capsys, "derive", ising_file, "--only", "mf")
    assert code == 0
    assert out.startswith("naive mean-field")
    assert "belief propagation" not in out
    assert "[1/1] deriving naive mean-field (mf)" in err


def test_derive_only_with_an_unknown_name_lists_the_known_ones(capsys, ising_file):
    code, _, err = run_cli(capsys, "derive", ising_file, "--only", "nope")
    assert code == 2
    assert "choose one of mf, bp, rs, tap" in err


def test_a_cavitylab_error_shows_its_trace_with_traceback(ising_file, monkeypatch):
    def broken(model):
        raise derive.ModelError("a model error from deep inside")

    pairwise = families.FAMILIES[0]
    patched = families.Family(
        pairwise.name,
        pairwise.model_type,
        lambda model: [("mf", "broken", lambda: broken(model))],
        pairwise.export,
    )
    monkeypatch.setattr(families, "FAMILIES", [patched])
    with pytest.raises(derive.ModelError, match="from deep inside"):
        main(["--traceback", "derive", ising_file])


def test_an_error_that_is_not_a_cavitylab_error_is_a_bug_and_not_hidden(ising_file, monkeypatch):
    pairwise = families.FAMILIES[0]

    def bug(model):
        raise ZeroDivisionError("a bug")

    patched = families.Family(
        pairwise.name,
        pairwise.model_type,
        lambda model: [("mf", "bug", lambda: bug(model))],
        pairwise.export,
    )
    monkeypatch.setattr(families, "FAMILIES", [patched])
    with pytest.raises(ZeroDivisionError):
        main(["derive", ising_file])


@pytest.mark.parametrize(
    "error",
    [derive.ModelError, derive.InputError],
)
def test_every_cavitylab_error_is_one_line_and_exit_2(capsys, ising_file, monkeypatch, error):
    pairwise = families.FAMILIES[0]

    def fail(model):
        raise error("first line\nsecond line")

    patched = families.Family(
        pairwise.name,
        pairwise.model_type,
        lambda model: [("mf", "x", lambda: fail(model))],
        pairwise.export,
    )
    monkeypatch.setattr(families, "FAMILIES", [patched])
    code, out, err = run_cli(capsys, "derive", ising_file)
    assert code == 2
    assert err.strip().splitlines()[-1] == "error: first line second line"


def test_workers_must_be_positive(capsys):
    code, _, err = run_cli(capsys, "run", "ising-meanfield", "--quick", "--workers", 0)
    assert code == 2 and "--workers must be at least 1" in err


def test_a_scheduler_that_does_not_answer_is_a_clear_error_within_its_timeout(capsys, tmp_path):
    pytest.importorskip("distributed", reason="the test extra installs distributed")
    import time

    start = time.perf_counter()
    code, _, err = run_cli(
        capsys,
        "run",
        "ising-meanfield",
        "--quick",
        "--out",
        tmp_path,
        "--scheduler",
        "tcp://127.0.0.1:9",  # the discard port: nothing listens
    )
    assert code == 2 and "no Dask scheduler answered" in err
    assert time.perf_counter() - start < 60
