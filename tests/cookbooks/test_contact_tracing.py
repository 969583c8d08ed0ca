"""The recipe ``contact-tracing`` through the command line's --quick path, on a tiny setting.

The recipe's numbers (the published curves of Baker et al., PNAS 118, e2106548118 (2021))
come from its full run; the ordering of the strategies is tested in
tests/graphs/test_intervention.py. Here: every strategy runs on every replica and the JSON,
table and figure are written.
"""

import json

import numpy as np
import pytest

from cookbooks import contact_tracing
from cookbooks.cli import main


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    tiny = dict(contact_tracing._PROXIMITY, n=150, days=25, initial=3, tests_ranked=3)
    patch = pytest.MonkeyPatch()
    patch.setitem(
        contact_tracing.SETTINGS, True, {"proximity": (tiny, 2, contact_tracing.STRATEGIES)}
    )
    out = tmp_path_factory.mktemp("ct")
    try:
        assert main(["run", "contact-tracing", "--quick", "--out", str(out)]) == 0
    finally:
        patch.undo()
    assert (out / "contact-tracing.png").stat().st_size > 0
    return json.loads((out / "contact-tracing.json").read_text())


def test_every_strategy_runs_on_every_replica(results):
    st = results["settings"]["proximity"]
    assert sorted((r["replica"], r["strategy"]) for r in st["runs"]) == sorted(
        (k, s) for k in range(2) for s in contact_tracing.STRATEGIES
    )
    for r in st["runs"]:
        ever = np.array(r["ever_infected"])
        assert ever.shape == (26,) and ever[0] == 3 and np.all(np.diff(ever) >= 0)
    assert set(st["summary"]) == set(contact_tracing.STRATEGIES)


def test_no_intervention_spends_no_test(results):
    runs = results["settings"]["proximity"]["runs"]
    assert all(r["tests"] == 0 and r["detected"] == 0 for r in runs if r["strategy"] == "none")
    # 1 random + 3 ranked tests on each of the 16 days from the 10th on
    assert all(r["tests"] == 4 * 16 for r in runs if r["strategy"] != "none")
