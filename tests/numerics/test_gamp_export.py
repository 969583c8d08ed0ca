"""The exported GAMP solver is the library's: same module, same guards, same numbers.

Oracle: numerics.amp in this process. The exported file is imported by path
(``importlib.util.spec_from_file_location``) in two fresh interpreters one after the other,
with its numba cache beside it (the second run loads the first run's cache: issue 9 section 9,
where this failed with ModuleNotFoundError '<dynamic>').
"""

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import sympy as sp

import numerics
from derive import GLM, Channel, Prior

DELTA = sp.Symbol("Delta", positive=True)
RHO = sp.Symbol("rho", positive=True)
SPARSE = GLM(Prior.gauss_bernoulli(RHO), Channel.gaussian(DELTA))
PARAMS = {"rho": 0.2, "Delta": 1e-8}  # tiny noise: variances down to ~1e-10

SCRIPT = """
import importlib.util, json, sys
import numpy as np
sys.modules["sympy"] = None  # the exported solver needs numpy and numba only
spec = importlib.util.spec_from_file_location("gamp_sparse", {path!r})
mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mod)
X, y = np.load({x!r}), np.load({y!r})
run = mod.gamp_run(X, y, (0.2, 1e-8), 0.2, max_iter=200, tol=1e-8)
np.save({out!r}, np.stack([run["estimate"], run["variance"]]))
try:
    mod.gamp_run(X, y, (0.2,), 0.2)
    wrong = "accepted"
except ValueError as err:
    wrong = str(err)
print(json.dumps({{"params": list(mod.PARAMS), "iterations": run["iterations"],
                  "converged": run["converged"], "message": run["message"], "wrong": wrong}}))
"""


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("gamp")
    data = numerics.teacher_student(SPARSE, 300, 0.6, seed=5, params=PARAMS)
    np.save(tmp / "X.npy", data.X)
    np.save(tmp / "y.npy", data.y)
    path = numerics.export_amp(SPARSE, tmp / "gamp_sparse.py")
    reports = []
    for run in range(2):  # the second interpreter loads the numba cache the first wrote
        script = SCRIPT.format(
            path=str(path), x=str(tmp / "X.npy"), y=str(tmp / "y.npy"), out=str(tmp / f"{run}.npy")
        )
        out = subprocess.run(
            [sys.executable, "-c", textwrap.dedent(script)],
            capture_output=True,
            text=True,
            timeout=600,
            cwd=tmp,
        )
        assert out.returncode == 0, out.stderr
        reports.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return data, tmp, reports


def test_exported_gamp_gives_the_library_numbers_twice(exported):
    data, tmp, reports = exported
    ref = numerics.amp(SPARSE, data.X, data.y, params=PARAMS, max_iter=200, tol=1e-8)
    for run, report in enumerate(reports):
        assert report["params"] == ["rho", "Delta"]
        assert report["iterations"] == ref.iterations
        assert report["converged"] == ref.converged
        assert report["message"] == ref.message
        estimate, variance = np.load(tmp / f"{run}.npy")
        # the same generated module, the same float64 operations: equal to round-off
        np.testing.assert_allclose(estimate, ref.estimate, rtol=0, atol=1e-12)
        np.testing.assert_allclose(variance, ref.variance, rtol=0, atol=1e-12)


def test_exported_gamp_checks_the_number_of_parameters(exported):
    _, _, reports = exported
    for report in reports:
        assert "1 value(s) given, the model takes 2" in report["wrong"]
