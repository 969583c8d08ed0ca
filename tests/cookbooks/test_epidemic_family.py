"""The command line's family entry for compartmental epidemic models: derive, export, verify."""

import importlib.util

import sympy as sp

import derive
from cookbooks.families import family_of

lam, mu = sp.symbols("lambda mu", positive=True)
SIR = derive.Compartmental(
    ("S", "I", "R"), spontaneous={("I", "R"): mu}, contact={("S", "I"): ("I", lam)}
)
SIS = derive.Compartmental(
    ("S", "I"), spontaneous={("I", "S"): mu}, contact={("S", "I"): ("I", lam)}
)


def test_derivations():
    family = family_of(SIR)
    assert family.name == "compartmental epidemic models"
    names = [eqs.name for eqs in family.derivations(SIR)]
    assert names == [
        "individual-based mean-field (product)",
        "individual-based mean-field (linear)",
        "dynamic message passing",
        "dynamic message passing: marginals",
    ]
    assert len(family_of(SIS).derivations(SIS)) == 2  # no DMP for a return to S


def test_export_is_standalone(tmp_path):
    path = family_of(SIR).export(SIR, tmp_path / "sir.py")
    spec = importlib.util.spec_from_file_location("sir_solver", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert hasattr(module, "contact_messages") and hasattr(module, "contact_beliefs")
    imports = [
        line.split()[1].split(".")[0]
        for line in path.read_text().splitlines()
        if line.startswith(("import ", "from "))
    ]
    assert set(imports) <= {"math", "sys", "types", "numba", "numpy"}


def test_verify_passes_and_skips_dmp_where_it_does_not_apply():
    checks = list(family_of(SIR).verify(SIR, examples=3, seed=0))
    assert [c.passed for c in checks] == [True] * 4
    checks = list(family_of(SIS).verify(SIS, examples=3, seed=0))
    assert [c.passed for c in checks] == [True, True, None]
