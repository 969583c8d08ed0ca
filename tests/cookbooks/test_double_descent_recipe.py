"""The double-descent recipe's tasks at tiny sizes, and its figure and table on their output
(the full curves are the recipe's job: ``cavitylab run double-descent``)."""

import cookbooks.double_descent as dd


def test_tasks_figure_and_table(tmp_path):
    # one point of each curve (lam = 1e-2: converges in a few iterations) and one simulated
    # point with p = 20, two seeds: the shapes the figure and the table read
    curve = {k: [] for k in ("alpha", "value", "train_error", "lam", "converged", "message")}
    points = {k: [] for k in ("alpha", "value", "value_se", "train_error", "converged", "message")}
    for alpha in (0.5, 1.0, 2.0):
        row = dd.theory_point("ridge", 1e-2, alpha)
        curve["alpha"].append(alpha)
        for k in ("value", "train_error", "lam", "converged", "message"):
            curve[k].append(row[k])
    row = dd.simulation_point("ridge", 1e-2, 20, 2, 1.0, seed=0)
    points["alpha"].append(1.0)
    for k in ("value", "value_se", "train_error", "converged", "message"):
        points[k].append(row[k])
    assert all(curve["converged"]) and points["converged"] == [True]
    results = dict(
        ridge=dict(
            theory={"0.0001": curve, "0.01": curve, "optimal": curve},
            simulation={"0.0001": points, "0.01": points},
            peak_alpha=dd._local_peak(curve),
        ),
        logistic=dict(
            lam=1e-4, theory=curve, simulation=points, peak_alpha=None, last_separable_alpha=1.0
        ),
        iid=dict(
            theory=curve,
            simulation=points,
            reference=dict(alpha=curve["alpha"], excess_risk=dd._hastie(curve["alpha"], 0.25)),
        ),
    )
    dd.plot(results).savefig(tmp_path / "dd.png")
    assert "ridge λ=0.01" in dd.table(results)
