"""The gaussian-equivalence recipe's two tasks at tiny sizes, and its table and figure.

The numbers themselves are tested in tests/derive/test_get_moments.py and
tests/numerics/test_hidden_manifold.py; here: the tasks' rows are what the table and the plot
read, and the Monte Carlo moments of sign(u) agree with (0, sqrt(2/pi), 1) (Goldt et al.,
arXiv:1909.11500) within 5 standard errors.
"""

import numpy as np

from cookbooks import gaussian_equivalence as recipe


def test_tasks_table_and_plot():
    moments = [dict(name="sign", **recipe.moment_point("sign", samples=20_000, seed=0))]
    row = moments[0]
    assert row["exact"] == [True, True, True]
    assert np.allclose(row["theory"], [0.0, np.sqrt(2 / np.pi), 1.0], atol=1e-15)
    for mc, theory, err in zip(row["mc"], row["theory"], row["mc_error"]):
        assert abs(mc - theory) <= 5 * err + 1e-15  # c: sign^2 = 1, no error at all
    covariance = [
        dict(
            name="sign",
            kind="orthogonal",
            **recipe.covariance_point(
                "sign", "orthogonal", samples=2000, latent=10, features=20, seed=1
            ),
        )
    ]
    assert covariance[0]["max_z"] < 4.5  # 10 entries, 4.5 sigma each (see test_hidden_manifold)
    results = dict(moments=moments, covariance=covariance)
    text = recipe.table(results)
    assert "sign" in text and "max |z| GET" in text
    fig = recipe.plot(results)
    assert len(fig.axes) == 4  # the learning-curve panel is left empty without its rows
