"""The recipe ``epidemic-dmp`` with --quick: DMP is exact on the tree, IBMF is not."""

import json

import pytest

from cookbooks.cli import main


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    out = tmp_path_factory.mktemp("epi")
    assert main(["run", "epidemic-dmp", "--quick", "--out", str(out)]) == 0
    return json.loads((out / "epidemic-dmp.json").read_text())


def test_dmp_is_within_sampling_error_on_the_tree(results):
    tree = results["panels"][0]
    assert tree["is_tree"]
    # 2,000 runs, 30 people x 16 days x 3 states: the largest of ~1,400 z-scores stays
    # below 5 unless DMP is off (Lokhov, Mezard, Zdeborova, PRE 91, 012811 (2015))
    assert tree["dmp"]["max_z"] < 5


def test_ibmf_overestimates_the_spread(results):
    for panel in results["panels"]:
        assert panel["ibmf"]["ever_infected"][-1] > panel["mc_ever_infected"][-1] + 0.05
    assert results["panels"][0]["ibmf"]["max_abs_gap"] > 0.3


def test_dmp_is_closer_than_ibmf_on_the_loopy_graph(results):
    loopy = results["panels"][1]
    assert not loopy["is_tree"]
    assert loopy["dmp"]["mean_abs_gap"] < loopy["ibmf"]["mean_abs_gap"]
