"""The result protocol (DESIGN, "Results"): converged, iterations, residual, message, repr,
to_dict, strict."""

import json
from dataclasses import dataclass

import numpy as np
import pytest

from numerics import ConvergenceError, Result, SimulationResult


@dataclass(kw_only=True, repr=False)
class Toy(Result):
    value: float = 0.0
    trace: np.ndarray = None


def test_to_dict_is_json_with_arrays_as_lists_and_nan_as_null():
    res = Toy(
        value=np.float64(0.5),
        trace=np.array([1.0, np.nan]),
        converged=False,
        iterations=3,
        residual=1e-3,
        residuals=np.array([1.0, 1e-3]),
        message="stopped",
    )
    d = json.loads(json.dumps(res.to_dict()))
    assert d["value"] == 0.5
    assert d["trace"] == [1.0, None]
    assert d["converged"] is False and d["message"] == "stopped"


def test_repr_is_readable():
    text = repr(Toy(value=0.25, iterations=4, residual=1e-9, message="converged"))
    assert text.startswith("Toy(converged=True, iterations=4, residual=1e-09")
    assert "value=0.25" in text and "message='converged'" in text


def test_finish_raises_only_when_strict_and_not_converged():
    ok = Toy(converged=True)
    bad = Toy(converged=False, message="no fixed point")
    assert ok.finish(strict=True) is ok
    assert bad.finish(strict=False) is bad
    with pytest.raises(ConvergenceError, match="no fixed point") as err:
        bad.finish(strict=True)
    assert err.value.result is bad


def test_simulations_record_their_seed():
    assert SimulationResult(seed=7).to_dict()["seed"] == 7
