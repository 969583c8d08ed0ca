r"""Recipe ``bp-random-graphs``: belief propagation on random 3-regular graphs, against Monte Carlo.

The model is the Ising model of the DSL, :math:`e(s_i, s_j) = -J s_i s_j`,
:math:`\phi(s_i) = -h s_i` on :math:`\{-1, 1\}`, at :math:`h = 0`. Everything below comes from
it through the library:

* **(a) magnetisation.** ``graphs.belief_propagation`` (the message update of
  ``derive.belief_propagation``, compiled) on a random 3-regular graph, :math:`J = 1`,
  on a temperature grid. The paramagnetic fixed point (all fields zero) stays a fixed
  point below the transition, only an unstable one: a start from it converges at once and
  would never leave it. So at each temperature BP runs twice — from zero messages and from
  random ones (which below the transition converge to a magnetised fixed point) — and the
  converged fixed point with the lower Bethe free energy is kept. Each temperature is
  independent of the others. Monte Carlo is Metropolis, cooled from high
  temperature (each temperature from the previous configuration), with
  :math:`\langle|M|\rangle/N` after burn-in. The vertical line is the instability
  temperature of the paramagnetic BP solution, ``numerics.bp_stability`` (the symbolic
  Jacobian of ``derive.bp_stability`` on the degree-3 tree).
* **(b) energy and free energy per spin.** BP: :math:`u = -\sum_{(ij)} J\, E[s_i s_j] / N`
  from the BP edge marginals, and the Bethe free energy ``-log_z / (beta N)``. Monte Carlo:
  the mean energy, and the free energy by thermodynamic integration from :math:`\beta = 0`,
  ``graphs.thermodynamic_integration`` (trapezoid rule, with its statistical and
  discretisation errors, both in the JSON).
* **(c) ±J spin glass.** :math:`J_{ij} = \pm 1` with probability 1/2, drawn with the seed.
  BP from several random initial messages: above the spin-glass instability of
  ``numerics.bp_stability`` it converges to :math:`m_i = 0` (:math:`q_\mathrm{BP} =
  \overline{m_i^2} = 0`), with an iteration count that grows as the instability is
  approached; below, it does not converge, and its iterates carry
  :math:`q_\mathrm{BP} > 0`.
* **(d) exactness on trees.** On random trees (12–16 nodes, random couplings and fields)
  BP marginals and the Bethe free entropy equal exact enumeration (``graphs.exact``) to
  rounding; on a 4×4 periodic grid (loops of length 4) they do not.
* **(e) the Bethe-lattice AT line.** ±J couplings in a uniform field :math:`h`: the cavity
  fields are no longer all equal, and ``numerics.bp_stability`` locates the instability of the
  replica-symmetric solution, :math:`(c-1)\lambda = 1`, by population dynamics (its
  population size, seed and error bar in the JSON); at :math:`h = 0` it is the homogeneous
  :math:`T_\mathrm{SG}`. Check: undamped BP on a ±J random 3-regular graph (N = 2000 in
  ``--quick``, 5000 in the full run) in the same field, from
  random messages, 0.25 above the line and 0.2 below it (at most 40% below): above it
  converges; below, near the line, it does not. Far below, BP on a finite graph can still
  converge, to one of the many fixed points of a replica-symmetry-broken phase (a state, not
  the replica-symmetric solution); the JSON records what it did.
* **(f) the growth rate.** :math:`\log[(c-1)\lambda]` of squared perturbations per
  generation, against temperature, from the population scan at each :math:`h`.

Every grid is a named ``numerics.sweep`` (``bp-random-graphs-<name>.jsonl`` under
``--checkpoint``): the BP temperatures of (a, b) (``ferromagnet-bp``), the cooled Monte Carlo
chain of (a, b) as one unit (``ferromagnet-monte-carlo``), the temperatures of (c)
(``spin-glass``), the graphs of (d) (``exactness``) and the fields of (e, f) (``at-line``).
Every task draws its graph from a seed it is given, and its random starts, Monte Carlo and
population seeds from the sweep's child seed of ``--seed``, so that ``cavitylab run
bp-random-graphs --workers N`` gives the serial numbers; the JSON's ``sweeps`` says how many
points each sweep computed.

Reference lines (never used in a computation): the Bethe-lattice
:math:`T_c = 2/\ln 3 \approx 1.8205` and the ±J spin-glass
:math:`T_\mathrm{SG} = 1/\mathrm{atanh}(1/\sqrt 2) \approx 1.1346` of degree 3.
"""

import functools
import math
import time
from pathlib import Path

import networkx as nx
import numpy as np

import graphs
import numerics

from .ising_meanfield import ising_model
from .report import figure, finish, format_table, pm, progress, run_sweep

__all__ = ["NAME", "SUMMARY", "run", "table", "plot"]

NAME = "bp-random-graphs"
SUMMARY = (
    "Belief propagation on random 3-regular graphs: Ising |m|, energy and Bethe free "
    "energy vs Monte Carlo, the ±J spin glass, exactness on trees"
)

#: Bethe lattice of degree 3, ferromagnet J = 1: tanh(beta_c) = 1/2 (reference only).
BETHE_TC_3 = 2.0 / math.log(3.0)
#: Bethe lattice of degree 3, ±J spin glass: tanh(beta_c)^2 = 1/2 (reference only).
BETHE_TSG_3 = 1.0 / math.atanh(1.0 / math.sqrt(2.0))

DEGREE = 3

#: Sizes, temperatures, Monte Carlo lengths; full run and ``--quick``.
SETTINGS = {
    False: dict(
        N=2000,
        T=(3.5, 0.5),
        n_T=31,
        n_high=8,
        beta_min=0.02,
        sweeps=10_000,
        burn_in=2_000,
        blocks=20,
        bp_refine=2,
        bp_max_iter=5_000,
        sg_N=2000,
        sg_T=(2.0, 0.4),
        sg_n_T=17,
        sg_inits=4,
        sg_max_iter=1_000,
        tree_sizes=(12, 14, 16),
        tree_betas=(0.2, 0.4, 0.6, 0.8, 1.0),
        at_h=(0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 1.0),
        at_population=dict(size=10_000, equilibration=200, generations=200, runs=4),
        at_bp_max_iter=2_000,
        at_N=5000,
    ),
    True: dict(
        N=300,
        T=(3.5, 0.5),
        n_T=16,
        n_high=4,
        beta_min=0.02,
        sweeps=3_000,
        burn_in=600,
        blocks=20,
        bp_refine=1,
        bp_max_iter=5_000,
        sg_N=300,
        sg_T=(2.0, 0.4),
        sg_n_T=9,
        sg_inits=3,
        sg_max_iter=1_000,
        tree_sizes=(12, 16),
        tree_betas=(0.25, 0.5, 1.0),
        at_h=(0.3, 0.6),  # the full run has 9 fields; each costs ~13 s (population and BP)
        at_population=dict(size=1000, equilibration=60, generations=60, runs=3),
        at_bp_max_iter=2_000,
        at_N=2000,
    ),
}


def _results(row, grid_keys):
    """A task's own results from its row of a sweep table (without index, grid keys, error)."""
    skip = {"index", "error", *grid_keys}
    return {k: v for k, v in row.items() if k not in skip}


def _seed(seq):
    """A non-negative integer seed drawn from ``seq`` (a ``numpy.random.SeedSequence``)."""
    return int(seq.generate_state(1)[0] % (2**31 - 1))


def _child(seq, k):
    """The ``k``-th child of ``seq``, as ``seq.spawn`` would give it first, without spawning
    (``spawn`` counts its children: a second call would give others)."""
    return np.random.SeedSequence(seq.entropy, spawn_key=(*seq.spawn_key, k))


def _regular_graph(N, graph_seed):
    """The random 3-regular graph on ``N`` nodes of ``graph_seed``: every task draws the same."""
    return nx.random_regular_graph(DEGREE, N, seed=graph_seed)


def _graph_seeds(seq):
    """The graph seed (an int) and the coupling seed (a ``SeedSequence``) of ``seq``."""
    return int(_child(seq, 0).generate_state(1)[0]), _child(seq, 1)


def _pm_j_graph(N, graph_seed, coupling_seed):
    """A random 3-regular graph (``graph_seed``) with J = ±1, probability 1/2, per edge
    (drawn from ``coupling_seed``)."""
    G = _regular_graph(N, graph_seed)
    signs = np.random.default_rng(coupling_seed).choice([-1.0, 1.0], size=G.number_of_edges())
    for (u, v), s in zip(G.edges(), signs):
        G.edges[u, v]["J"] = float(s)
    return G


def _bp(model, G, beta, params, init, seed, max_iter, damping=0.0):
    return graphs.belief_propagation(
        model, G, beta, params=params, init=init, seed=seed, max_iter=max_iter, damping=damping
    )


def _ferro_bp_point(model, N, graph_seed, max_iter, T, seed):
    """(a, b) BP at one temperature, a ``numerics.sweep`` task: from zero messages (the
    paramagnetic fixed point) and from random ones (``seed``); the converged fixed point with
    the lower Bethe free energy is kept."""
    G = _regular_graph(N, graph_seed)
    params = {"J": 1.0, "h": 0.0}
    starts = (
        ("uniform", _bp(model, G, 1.0 / T, params, "uniform", None, max_iter)),
        ("random", _bp(model, G, 1.0 / T, params, "random", seed, max_iter)),
    )
    pair = sorted(
        [(not r.converged, r.free_energy, name, r) for name, r in starts], key=lambda x: x[:2]
    )
    (_, f_best, name, best), (_, f_other, _, _) = pair
    return dict(
        m_abs=abs(float(best.magnetization.mean())),
        u=float(-(params["J"] * best.pair_correlations).sum() / N),
        f=f_best / N,
        f_other=f_other / N,
        converged=bool(best.converged),
        iterations=int(best.iterations),
        start=name,
    )


def _ferro_monte_carlo(model, N, graph_seed, betas, sweeps, burn_in, blocks, instance, seed):
    """(a, b) Monte Carlo cooled over ``betas`` and integrated
    (``graphs.thermodynamic_integration``), a ``numerics.sweep`` task: the chain is one unit
    (each temperature starts from the previous configuration); ``instance`` numbers
    independent chains on the same graph (the recipe runs one), seeded by ``seed``."""
    G = _regular_graph(N, graph_seed)
    betas = np.asarray(betas)
    ti = graphs.thermodynamic_integration(
        model,
        G,
        betas,
        {"J": 1.0, "h": 0.0},
        sweeps=sweeps,
        burn_in=burn_in,
        method="metropolis",
        n_blocks=blocks,
        seed=seed,
    )
    magnetisation = [r.mean_abs_magnetization() for r in ti.runs]
    return dict(
        m_abs=[m for m, _ in magnetisation],
        m_err=[e for _, e in magnetisation],
        u=ti.energy,
        u_err=ti.energy_error,
        acceptance=[r.acceptance for r in ti.runs],
        f=ti.free_energy,
        f_statistical=ti.statistical / betas,
        f_discretisation=ti.discretisation / betas,
        beta_f0=ti.beta_f0,
        u0=ti.energy0,
        ti_seed=ti.seed,
        ti_converged=bool(ti.converged),
    )


def _ferromagnet(model, cfg, graph_seed, bp_seed, mc_seed, counts):
    """(a) and (b): BP at each temperature of the grid, Monte Carlo cooled over the beta grid."""
    G = _regular_graph(cfg["N"], graph_seed)
    N = G.number_of_nodes()
    params = {"J": 1.0, "h": 0.0}
    temperatures = np.linspace(*cfg["T"], cfg["n_T"])
    high = np.linspace(cfg["beta_min"], 1.0 / cfg["T"][0], cfg["n_high"] + 1)[:-1]
    betas = np.concatenate([high, 1.0 / temperatures])  # increasing: MC cools along it
    refine = cfg["bp_refine"]  # BP on a grid `refine` times finer; every refine-th is shared
    bp_temperatures = np.linspace(*cfg["T"], (cfg["n_T"] - 1) * refine + 1)

    task = functools.partial(_ferro_bp_point, model, N, graph_seed, cfg["bp_max_iter"])
    rows = run_sweep(
        task, {"T": bp_temperatures}, "ferromagnet-bp", counts, recipe=NAME, seed=bp_seed
    )
    keys = ("m_abs", "u", "f", "f_other", "converged", "iterations", "start")
    bp = dict(T=bp_temperatures, **{key: [row[key] for row in rows] for key in keys})
    for k, row in enumerate(rows):
        progress(
            f"[{NAME}] (a) BP T = {row['T']:.3f}: |m| = {row['m_abs']:.4f}, "
            f"f = {row['f']:.5f} ({row['start']} start, {row['iterations']} iterations, "
            f"converged {row['converged']})  ({k + 1}/{len(rows)})"
        )

    progress(f"[{NAME}] (b) Monte Carlo, cooled over {len(betas)} temperatures, integrated")
    task = functools.partial(
        _ferro_monte_carlo,
        model,
        N,
        graph_seed,
        tuple(float(b) for b in betas),
        cfg["sweeps"],
        cfg["burn_in"],
        cfg["blocks"],
    )
    (row,) = run_sweep(
        task, {"instance": [0]}, "ferromagnet-monte-carlo", counts, recipe=NAME, seed=mc_seed
    )
    mc = dict(beta=betas, T=1.0 / betas)
    mc.update(
        (key, row[key])
        for key in (
            "m_abs",
            "m_err",
            "u",
            "u_err",
            "acceptance",
            "f",
            "f_statistical",
            "f_discretisation",
        )
    )
    for k, beta in enumerate(betas):
        progress(
            f"[{NAME}] (a) Monte Carlo T = {1 / beta:.3f}: |m| = "
            f"{pm(mc['m_abs'][k], mc['m_err'][k])}, u = {pm(mc['u'][k], mc['u_err'][k])}"
        )
    shown = slice(cfg["n_high"], None)  # the Monte Carlo points that are BP temperatures
    diff_f = np.abs(np.array(bp["f"][::refine]) - np.array(mc["f"])[shown])
    diff_u = np.abs(np.array(bp["u"][::refine]) - np.array(mc["u"])[shown])
    return dict(
        N=N,
        n_edges=G.number_of_edges(),
        params=params,
        bp=bp,
        bp_refine=refine,
        monte_carlo=mc,
        thermodynamic_integration=dict(
            call="graphs.thermodynamic_integration(model, G, betas, params, ...)",
            beta_grid=betas,
            beta_f0=row["beta_f0"],
            u0=row["u0"],
            seed=row["ti_seed"],
            converged=row["ti_converged"],
            rule="trapezoid from beta = 0 (u(0) = u0) over the Monte Carlo beta grid",
            max_statistical_error_f=float(np.max(mc["f_statistical"])),
            max_discretisation_error_f=float(np.max(mc["f_discretisation"])),
            note="f error = (error of beta f) / beta; statistical: Monte Carlo standard errors "
            "of u through the trapezoid weights; discretisation: Richardson |I_h - I_2h|/3",
        ),
        comparison=dict(
            max_abs_diff_f_bethe_vs_mc=float(diff_f.max()),
            max_abs_diff_u_bp_vs_mc=float(diff_u.max()),
        ),
    )


def _spin_glass_point(model, N, graph_seed, coupling_seed, inits, max_iter, T, seed):
    """(c) BP on the ±J graph of ``graph_seed, coupling_seed`` at one temperature from
    ``inits`` random starts (their seeds drawn from ``seed``), a ``numerics.sweep`` task."""
    G = _pm_j_graph(N, graph_seed, coupling_seed)
    init_seeds = np.random.SeedSequence(seed).generate_state(inits) % (2**31 - 1)
    out = dict(q=[], converged=[], iterations=[], last_residual=[])
    for init_seed in init_seeds:
        r = _bp(model, G, 1.0 / T, {"h": 0.0}, "random", int(init_seed), max_iter)
        out["q"].append(float(np.mean(r.magnetization**2)))
        out["converged"].append(bool(r.converged))
        out["iterations"].append(int(r.iterations))
        out["last_residual"].append(float(r.residuals[-1]))
    return out


def _spin_glass(model, cfg, seq, counts):
    """(c): ±J couplings on a random 3-regular graph; BP from several random starts."""
    graph_seed, coupling_seed = _graph_seeds(seq)
    G = _pm_j_graph(cfg["sg_N"], graph_seed, coupling_seed)
    signs = np.array([G.edges[e]["J"] for e in G.edges()])
    temperatures = np.linspace(*cfg["sg_T"], cfg["sg_n_T"])
    task = functools.partial(
        _spin_glass_point,
        model,
        cfg["sg_N"],
        graph_seed,
        coupling_seed,
        cfg["sg_inits"],
        cfg["sg_max_iter"],
    )
    rows = run_sweep(
        task, {"T": temperatures}, "spin-glass", counts, recipe=NAME, seed=_seed(_child(seq, 2))
    )
    keys = ("q", "converged", "iterations", "last_residual")
    runs = dict(T=temperatures, **{key: [row[key] for row in rows] for key in keys})
    for k, row in enumerate(rows):
        ok, its = row["converged"], row["iterations"]
        progress(
            f"[{NAME}] (c) ±J BP T = {row['T']:.3f}: converged {sum(ok)}/{len(ok)}, q_BP = "
            f"{np.mean(row['q']):.4f}, iterations {min(its)}-{max(its)}  "
            f"({k + 1}/{len(rows)})"
        )
    return dict(
        N=G.number_of_nodes(),
        fraction_positive=float(np.mean(signs > 0)),
        max_iter=cfg["sg_max_iter"],
        inits=cfg["sg_inits"],
        runs=runs,
    )


def _random_couplings(G, rng, J_range=1.0, h_range=0.5):
    for u, v in G.edges():
        G.edges[u, v]["J"] = float(rng.uniform(-J_range, J_range))
    for v in G:
        G.nodes[v]["h"] = float(rng.uniform(-h_range, h_range))
    return G


#: Damping of BP on the loopy 4x4 grid of panel (d) (none on trees).
GRID_DAMPING = 0.5


def _exact_point(model, betas, graph, seed):
    """(d) BP against exact enumeration (``graphs.exact``) on one graph, a ``numerics.sweep``
    task: ``graph`` is ``"tree-<n>"`` (a random labelled tree) or ``"grid-4x4"`` (periodic);
    couplings J ~ U(-1, 1) and fields h ~ U(-0.5, 0.5) drawn from ``seed``."""
    rng = np.random.default_rng(seed)
    if graph.startswith("tree-"):
        G = nx.random_labeled_tree(int(graph[5:]), seed=int(rng.integers(2**31 - 1)))
        damping = 0.0
    else:
        G = nx.grid_2d_graph(4, 4, periodic=True)
        damping = GRID_DAMPING
    _random_couplings(G, rng)
    out = dict(
        n_nodes=G.number_of_nodes(),
        beta=list(betas),
        marginal_error=[],
        log_z_error=[],
        converged=[],
        iterations=[],
    )
    for beta in betas:
        ex = graphs.exact(model, G, beta)
        r = _bp(model, G, beta, None, "random", 0, 5_000, damping=damping)
        out["marginal_error"].append(float(np.max(np.abs(r.marginals - ex.marginals))))
        out["log_z_error"].append(abs(r.log_z - ex.log_z))
        out["converged"].append(bool(r.converged))
        out["iterations"].append(int(r.iterations))
    return out


def _trees_and_grid(model, cfg, seed, counts):
    """(d): BP against exact enumeration on random trees and on a 4x4 periodic grid."""
    names = [f"tree-{n}" for n in cfg["tree_sizes"]] + ["grid-4x4"]
    task = functools.partial(_exact_point, model, tuple(cfg["tree_betas"]))
    rows = run_sweep(task, {"graph": names}, "exactness", counts, recipe=NAME, seed=seed)
    trees = [_results(row, ("graph",)) for row in rows[:-1]]
    loopy = dict(_results(rows[-1], ("graph",)), damping=GRID_DAMPING)
    for t in trees:
        progress(
            f"[{NAME}] (d) tree n = {t['n_nodes']}: max |P_BP - P| = "
            f"{max(t['marginal_error']):.1e}, max |log Z_Bethe - log Z| = "
            f"{max(t['log_z_error']):.1e}"
        )
    progress(
        f"[{NAME}] (d) 4x4 periodic grid: |P_BP - P| up to "
        f"{max(loopy['marginal_error']):.2e}, |log Z_Bethe - log Z| up to "
        f"{max(loopy['log_z_error']):.2e}"
    )
    return dict(
        couplings="J ~ U(-1, 1) per edge, h ~ U(-0.5, 0.5) per node",
        trees=trees,
        grid=loopy,
        max_tree_marginal_error=max(max(t["marginal_error"]) for t in trees),
        max_tree_log_z_error=max(max(t["log_z_error"]) for t in trees),
    )


def _stability(model):
    ferro = numerics.bp_stability(model, DEGREE, {"J": 1.0}, {"h": 0.0})
    glass = numerics.bp_stability(model, DEGREE, {"J": {1: 0.5, -1: 0.5}}, {"h": 0.0})
    return dict(
        ferromagnetic=dict(
            computed=ferro.temperature_ferromagnetic,
            reference=BETHE_TC_3,
            reference_formula="2 / ln 3  (tanh(beta_c J) = 1/(c-1))",
            call="numerics.bp_stability(model, 3, {'J': 1.0}, {'h': 0.0})",
            method=ferro.method,
            converged=ferro.converged,
        ),
        spin_glass=dict(
            computed=glass.temperature_spin_glass,
            reference=BETHE_TSG_3,
            reference_formula="1 / atanh(1/sqrt 2)  (tanh(beta_c)^2 = 1/(c-1))",
            call="numerics.bp_stability(model, 3, {'J': {1: 0.5, -1: 0.5}}, {'h': 0.0})",
            ferromagnetic_instability=glass.temperature_ferromagnetic,
            method=glass.method,
            converged=glass.converged,
        ),
    )


def _bp_check(model, G, T, h, seed, max_iter):
    r = _bp(model, G, 1.0 / T, {"h": h}, "random", seed, max_iter)
    tail = np.asarray(r.residuals)[-100:]
    return dict(
        T=T,
        converged=bool(r.converged),
        iterations=int(r.iterations),
        min_residual_last_100=float(tail.min()),
    )


def _at_point(model, betas, population, bp_N, bp_graph_seeds, bp_max_iter, h, seed):
    """(e, f) the RS instability of ±J at field ``h`` by population dynamics
    (``numerics.bp_stability``), then undamped BP on the ±J graph of ``bp_graph_seeds``
    above and below it; a ``numerics.sweep`` task (population and BP seeds drawn from
    ``seed``)."""
    pop_seed, bp_seed = (
        int(s) for s in np.random.SeedSequence(seed).generate_state(2) % (2**31 - 1)
    )
    r = numerics.bp_stability(
        model,
        DEGREE,
        {"J": {1: 0.5, -1: 0.5}},
        {"h": h},
        betas=np.asarray(betas),
        seed=pop_seed,
        **population,
    )
    T = r.temperature_spin_glass
    point = dict(
        T=T,
        T_error=r.spin_glass_error,
        method=r.method,
        converged=bool(r.converged),
        message=r.message,
        size=r.size,
        population_seed=r.seed,
        runs=r.population.runs,
        generations=r.population.equilibration + r.population.generations,
        scan_T=(1.0 / r.population.scan_betas).tolist(),
        scan_log_growth=r.population.scan_log_growth.tolist(),
    )
    if T is not None:
        # BP needs a large graph: short loops of a small one spoil convergence near the line
        G = _pm_j_graph(bp_N, *bp_graph_seeds)
        point["bp_above"] = _bp_check(model, G, T + 0.25, h, bp_seed, bp_max_iter)
        below = max(T - 0.2, 0.6 * T)
        point["bp_below"] = _bp_check(model, G, below, h, bp_seed, bp_max_iter)
    return point


def _at_line(model, cfg, seq, t_sg, counts):
    """(e, f): the RS instability of ±J in a field by population dynamics; BP around it."""
    # T_AT(h) lies below T_SG(h = 0): the scan starts there and cools
    betas = tuple(float(b) for b in np.geomspace(1.0, 8.0, 16) / t_sg)
    task = functools.partial(
        _at_point,
        model,
        betas,
        cfg["at_population"],
        cfg["at_N"],
        _graph_seeds(_child(seq, 0)),
        cfg["at_bp_max_iter"],
    )
    rows = run_sweep(
        task, {"h": list(cfg["at_h"])}, "at-line", counts, recipe=NAME, seed=_seed(_child(seq, 1))
    )
    points = [dict(h=0.0, T=t_sg, error=0.0, method="homogeneous", converged=True)]
    for row in rows:
        p = _results(row, ("h",))
        T, err = p["T"], p.pop("T_error")
        seed = p.pop("population_seed")
        points.append(dict(h=row["h"], **dict(p, error=err, seed=seed)))
        progress(
            f"[{NAME}] (e) AT line h = {row['h']}: T = {pm(T, err)} ({p['method']}, "
            f"population {p['size']}, {p['runs']} runs, converged {p['converged']})"
            + (
                f"; BP at T + 0.25 converged {p['bp_above']['converged']}, "
                f"at {p['bp_below']['T']:.3f} converged {p['bp_below']['converged']}"
                if T is not None
                else ""
            )
        )
    return dict(
        couplings="J = ±1 with probability 1/2, uniform field h",
        call="numerics.bp_stability(model, 3, {'J': {1: 0.5, -1: 0.5}}, {'h': h}, ...)",
        criterion="(c - 1) lambda = 1, lambda the growth of E prod (du/dh)^2 along a path",
        bp_graph_N=cfg["at_N"],
        points=points,
    )


def run(quick=False, out=None, seed=0):
    """Run the recipe; writes ``out/bp-random-graphs.json`` and ``.png``; returns the results."""
    start = time.perf_counter()
    cfg = SETTINGS[bool(quick)]
    out = Path(out) if out is not None else Path("results") / NAME
    model = ising_model()
    seq = np.random.SeedSequence(seed)
    graph_seq, bp_seq, mc_seq, sg_seq, tree_seq, at_seq = seq.spawn(6)
    counts, seconds = {}, {}
    progress(f"[{NAME}] instability temperatures from numerics.bp_stability")
    stability = _stability(model)
    tick = time.perf_counter()
    ferro = _ferromagnet(
        model, cfg, int(graph_seq.generate_state(1)[0]), _seed(bp_seq), _seed(mc_seq), counts
    )
    seconds["ferromagnet"], tick = time.perf_counter() - tick, time.perf_counter()
    glass = _spin_glass(model, cfg, sg_seq, counts)
    seconds["spin_glass"], tick = time.perf_counter() - tick, time.perf_counter()
    exactness = _trees_and_grid(model, cfg, _seed(tree_seq), counts)
    seconds["exactness"], tick = time.perf_counter() - tick, time.perf_counter()
    at_line = _at_line(
        model,
        cfg,
        at_seq,
        stability["spin_glass"]["computed"],
        counts,
    )
    seconds["at_line"] = time.perf_counter() - tick
    progress(f"[{NAME}] seconds per part: " + ", ".join(f"{k} {v:.1f}" for k, v in seconds.items()))
    results = dict(
        recipe=NAME,
        quick=bool(quick),
        seed=int(seed),
        model=dict(
            alphabet=[int(a) for a in model.alphabet],
            pair_energy=str(model.pair_energy),
            field_energy=str(model.field_energy),
            degree=DEGREE,
        ),
        instability=stability,
        ferromagnet=ferro,
        spin_glass=glass,
        exactness=exactness,
        at_line=at_line,
        monte_carlo=dict(
            method="metropolis",
            sweeps=cfg["sweeps"],
            burn_in=cfg["burn_in"],
            blocks=cfg["blocks"],
            observable="<|M|>/N and <E>/N after burn-in",
            start="random at the smallest beta, then each beta from the previous "
            "configuration (cooling)",
        ),
        bp_note="at each T: from zero messages (the paramagnetic fixed point, which stays a "
        "fixed point, unstable, below T_c) and from random messages; the converged fixed point "
        "with the lower Bethe free energy is kept",
        sweeps=dict(
            counts=counts,
            note="numerics.sweep per grid: points, and those computed by this run (the "
            "others came from --checkpoint)",
        ),
    )
    return finish(NAME, results, out, plot, start)


def _floor(values, floor=1e-17):
    """Errors for a log axis: exact zeros shown at ``floor``."""
    return np.maximum(np.asarray(values, dtype=float), floor)


def plot(results):
    """The four-panel figure of ``results``."""
    fig, axes = figure(ncols=2, nrows=3, width=6.4, height=4.9)
    ax_m, ax_e, ax_sg, ax_tree, ax_at, ax_growth = axes
    ferro, stab = results["ferromagnet"], results["instability"]
    bp, mc = ferro["bp"], ferro["monte_carlo"]
    N = ferro["N"]
    tc, tc_ref = stab["ferromagnetic"]["computed"], stab["ferromagnetic"]["reference"]
    tsg, tsg_ref = stab["spin_glass"]["computed"], stab["spin_glass"]["reference"]
    t_max = bp["T"][0] + 0.05

    # (a) magnetisation
    ax_m.plot(
        bp["T"],
        bp["m_abs"],
        "-",
        color="tab:blue",
        lw=1.8,
        label="BP |m| (graphs.belief_propagation)",
    )
    ax_m.errorbar(
        mc["T"],
        mc["m_abs"],
        yerr=mc["m_err"],
        fmt="o",
        ms=4,
        capsize=2,
        color="tab:orange",
        label="Monte Carlo ⟨|M|⟩/N",
    )
    ax_m.axvline(
        tc,
        color="tab:blue",
        ls="--",
        lw=1.2,
        label=f"BP instability (numerics.bp_stability) = {tc:.4f}",
    )
    ax_m.axvline(tc_ref, color="tab:red", ls=":", lw=1.5, label=f"reference 2/ln 3 = {tc_ref:.4f}")
    ax_m.set_xlim(bp["T"][-1] - 0.05, t_max)
    ax_m.set_ylim(-0.03, 1.05)
    ax_m.set_xlabel("temperature T")
    ax_m.set_ylabel("|m|")
    ax_m.set_title(f"(a) ferromagnet J = 1 on a random 3-regular graph, N = {N}", fontsize=10)
    ax_m.legend(fontsize=8, loc="upper right")

    # (b) energy and free energy per spin
    keep = mc["T"] <= t_max
    T_mc = np.asarray(mc["T"])[keep]
    ax_e.plot(bp["T"], bp["u"], "-", color="tab:blue", lw=1.6, label="BP energy u")
    ax_e.errorbar(
        T_mc,
        np.asarray(mc["u"])[keep],
        yerr=np.asarray(mc["u_err"])[keep],
        fmt="o",
        ms=4,
        capsize=2,
        color="tab:orange",
        label="Monte Carlo energy ⟨E⟩/N",
    )
    ax_e.plot(
        bp["T"],
        bp["f"],
        "-",
        color="tab:green",
        lw=1.6,
        label="Bethe free energy −log Z_Bethe/(βN)",
    )
    f_err = (np.asarray(mc["f_statistical"]) + np.asarray(mc["f_discretisation"]))[keep]
    ax_e.errorbar(
        T_mc,
        np.asarray(mc["f"])[keep],
        yerr=f_err,
        fmt="s",
        ms=4,
        mfc="none",
        capsize=2,
        color="tab:purple",
        label="Monte Carlo f, thermodynamic integration",
    )
    ax_e.axvline(tc, color="tab:blue", ls="--", lw=1.0, label="BP instability")
    ax_e.set_xlim(bp["T"][-1] - 0.05, t_max)
    ax_e.set_xlabel("temperature T")
    ax_e.set_ylabel("per spin")
    ti = ferro["thermodynamic_integration"]
    ax_e.set_title("(b) energy and free energy per spin; βf = −ln 2 + ∫₀^β u dβ′", fontsize=10)
    ax_e.legend(
        fontsize=8,
        loc="lower right",
        title=f"max |f_Bethe − f_MC| = {ferro['comparison']['max_abs_diff_f_bethe_vs_mc']:.1e}"
        f"; TI error ≤ {ti['max_statistical_error_f'] + ti['max_discretisation_error_f']:.1e}",
        title_fontsize=8,
    )

    # (c) ±J spin glass
    sg = results["spin_glass"]
    runs = sg["runs"]
    T = np.asarray(runs["T"])
    q = np.asarray(runs["q"])
    ok = np.asarray(runs["converged"], dtype=bool)
    for j in range(q.shape[1]):
        ax_sg.plot(
            T[ok[:, j]],
            q[ok[:, j], j],
            "o",
            color="tab:blue",
            ms=5,
            label="q_BP, converged" if j == 0 else None,
        )
        ax_sg.plot(
            T[~ok[:, j]],
            q[~ok[:, j], j],
            "x",
            color="tab:red",
            ms=6,
            label=f"q_BP of the last iterate, not converged in {sg['max_iter']}"
            if j == 0
            else None,
        )
    ax_sg.axvline(
        tsg,
        color="tab:blue",
        ls="--",
        lw=1.2,
        label=f"spin-glass instability (numerics.bp_stability) = {tsg:.4f}",
    )
    ax_sg.axvline(
        tsg_ref, color="tab:red", ls=":", lw=1.5, label=f"reference 1/atanh(1/√2) = {tsg_ref:.4f}"
    )
    ax_sg.set_xlabel("temperature T")
    ax_sg.set_ylabel("q_BP = mean m_i²")
    ax_sg.set_ylim(-0.03, 1.0)
    twin = ax_sg.twinx()
    its = np.asarray(runs["iterations"], dtype=float).mean(axis=1)
    twin.semilogy(T, its, "-", color="tab:gray", lw=1.2, alpha=0.8)
    twin.set_ylabel("BP iterations (grey, mean over starts)", color="tab:gray")
    twin.tick_params(axis="y", colors="tab:gray")
    ax_sg.set_title(
        f"(c) ±J spin glass, N = {sg['N']}: BP from {sg['inits']} random starts", fontsize=10
    )
    ax_sg.legend(fontsize=8, loc="upper right")

    # (d) BP vs exact enumeration
    ex = results["exactness"]
    betas = ex["grid"]["beta"]
    tree_m = np.max([t["marginal_error"] for t in ex["trees"]], axis=0)
    tree_z = np.max([t["log_z_error"] for t in ex["trees"]], axis=0)
    sizes = ", ".join(str(t["n_nodes"]) for t in ex["trees"])
    ax_tree.semilogy(
        betas,
        _floor(tree_m),
        "o-",
        color="tab:green",
        label=f"trees (n = {sizes}): max |P_BP − P_exact|",
    )
    ax_tree.semilogy(
        betas,
        _floor(tree_z),
        "s--",
        color="tab:green",
        mfc="none",
        label="trees: |log Z_Bethe − log Z|",
    )
    ax_tree.semilogy(
        betas,
        _floor(ex["grid"]["marginal_error"]),
        "o-",
        color="tab:purple",
        label="4×4 periodic grid: max |P_BP − P_exact|",
    )
    ax_tree.semilogy(
        betas,
        _floor(ex["grid"]["log_z_error"]),
        "s--",
        color="tab:purple",
        mfc="none",
        label="4×4 periodic grid: |log Z_Bethe − log Z|",
    )
    failed = ~np.asarray(ex["grid"]["converged"], dtype=bool)
    if failed.any():
        ax_tree.semilogy(
            np.asarray(betas)[failed],
            _floor(np.asarray(ex["grid"]["marginal_error"])[failed]),
            "x",
            color="tab:red",
            ms=10,
            mew=2,
            label=f"grid: BP not converged (damping {ex['grid']['damping']})",
        )
    ax_tree.set_ylim(1e-17, 10)
    ax_tree.set_xlabel("inverse temperature β")
    ax_tree.set_ylabel("error (zeros shown at 1e-17)")
    ax_tree.set_title("(d) BP vs exact enumeration, J ~ U(−1, 1), h ~ U(−0.5, 0.5)", fontsize=10)
    ax_tree.legend(fontsize=8, loc="center right")

    _plot_at_line(ax_at, ax_growth, results["at_line"])
    for ax in axes:
        ax.grid(alpha=0.3)
    mode = "quick" if results["quick"] else "full"
    fig.suptitle(
        f"Belief propagation on random 3-regular graphs vs Monte Carlo and exact "
        f"enumeration ({mode} run, {results['monte_carlo']['sweeps']} sweeps)",
        fontsize=11,
    )
    return fig


def _plot_at_line(ax, ax_growth, at):
    """(e) T_AT(h) with its error bars and the BP checks; (f) the growth rates of the scans."""
    pts = at["points"]
    found = [p for p in pts if p["T"] is not None]
    ax.errorbar(
        [p["h"] for p in found],
        [p["T"] for p in found],
        yerr=[p["error"] for p in found],
        fmt="o-",
        ms=4,
        capsize=3,
        color="tab:blue",
        label="RS instability (c−1)λ = 1, numerics.bp_stability",
    )
    for key, marker, where in (("bp_above", "^", "above"), ("bp_below", "v", "below")):
        for ok in (True, False):
            sel = [p for p in found if key in p and p[key]["converged"] is ok]
            ax.plot(
                [p["h"] for p in sel],
                [p[key]["T"] for p in sel],
                marker,
                ms=7,
                mfc="none" if ok else "tab:red",
                color="tab:green" if ok else "tab:red",
                label=f"BP on the ±J graph (N = {at['bp_graph_N']}) {where}: "
                + ("converged" if ok else "not converged")
                if sel
                else None,
            )
    ax.set_xlabel("field h")
    ax.set_ylabel("temperature T")
    ax.set_ylim(0, None)
    ax.set_title("(e) Bethe-lattice AT line, ±J, c = 3 (population dynamics)", fontsize=10)
    ax.legend(fontsize=8, loc="upper right")
    from matplotlib import colormaps  # lazily, with the figure

    cmap = colormaps["viridis"]
    scans = [p for p in pts if "scan_T" in p]
    for k, p in enumerate(scans):
        ax_growth.plot(
            p["scan_T"],
            p["scan_log_growth"],
            "o-",
            ms=3,
            color=cmap(k / max(1, len(scans) - 1)),
            label=f"h = {p['h']} (P = {p['size']}, run 1 of {p['runs']})",
        )
    ax_growth.axhline(0.0, color="k", lw=0.8)
    ax_growth.set_xlabel("temperature T")
    ax_growth.set_ylabel("log[(c−1)λ] per generation")
    ax_growth.set_title("(f) growth of squared perturbations along the RS solution", fontsize=10)
    ax_growth.legend(fontsize=8, loc="lower left")


def table(results):
    """The numbers of ``results`` as text."""
    ferro, stab = results["ferromagnet"], results["instability"]
    bp, mc = ferro["bp"], ferro["monte_carlo"]
    refine = ferro["bp_refine"]
    shown = len(mc["T"]) - len(bp["T"][::refine])
    rows = []
    for j in range(shown, len(mc["T"])):
        k, T = (j - shown) * refine, mc["T"][j]
        rows.append(
            [
                f"{T:.3f}",
                f"{bp['m_abs'][k]:.4f}",
                pm(mc["m_abs"][j], mc["m_err"][j]),
                f"{bp['u'][k]:.4f}",
                pm(mc["u"][j], mc["u_err"][j]),
                f"{bp['f'][k]:.4f}",
                pm(mc["f"][j], mc["f_statistical"][j] + mc["f_discretisation"][j]),
            ]
        )
    ti = ferro["thermodynamic_integration"]
    blocks = [
        format_table(
            ["T", "|m| BP", "|m| MC", "u BP", "u MC", "f Bethe", "f MC (TI)"],
            rows,
            title=f"(a, b) ferromagnet J = 1, random 3-regular, N = {ferro['N']}",
        )
        + f"\n  max |f_Bethe - f_MC| = {ferro['comparison']['max_abs_diff_f_bethe_vs_mc']:.2e}"
        f", max |u_BP - u_MC| = {ferro['comparison']['max_abs_diff_u_bp_vs_mc']:.2e}"
        f"\n  thermodynamic integration error of f: statistical <= "
        f"{ti['max_statistical_error_f']:.1e}, discretisation <= "
        f"{ti['max_discretisation_error_f']:.1e}"
    ]
    runs = results["spin_glass"]["runs"]
    rows = [
        [f"{T:.3f}", f"{sum(ok)}/{len(ok)}", f"{min(its)}-{max(its)}", f"{np.mean(q):.4f}"]
        for T, ok, its, q in zip(runs["T"], runs["converged"], runs["iterations"], runs["q"])
    ]
    blocks.append(
        format_table(
            ["T", "converged", "iterations", "q_BP"],
            rows,
            title=f"(c) ±J spin glass, N = {results['spin_glass']['N']}",
        )
    )
    ex = results["exactness"]
    rows = [
        [
            f"tree n={t['n_nodes']}",
            f"{max(t['marginal_error']):.1e}",
            f"{max(t['log_z_error']):.1e}",
            f"{sum(t['converged'])}/{len(t['converged'])}",
        ]
        for t in ex["trees"]
    ]
    g = ex["grid"]
    rows.append(
        [
            "4x4 periodic grid",
            f"{max(g['marginal_error']):.1e}",
            f"{max(g['log_z_error']):.1e}",
            f"{sum(g['converged'])}/{len(g['converged'])}",
        ]
    )
    blocks.append(
        format_table(
            ["graph", "max |P_BP - P|", "max |dlog Z|", "BP converged"],
            rows,
            title=f"(d) BP vs exact enumeration at beta in {list(g['beta'])}",
        )
    )
    at = results["at_line"]
    rows = []
    for p in at["points"]:
        above, below = p.get("bp_above"), p.get("bp_below")
        rows.append(
            [
                f"{p['h']:g}",
                "-" if p["T"] is None else pm(p["T"], p["error"]),
                p["method"],
                str(p.get("size", "-")),
                str(p["converged"]),
                "-" if above is None else f"{above['T']:.3f}: {above['converged']}",
                "-" if below is None else f"{below['T']:.3f}: {below['converged']}",
            ]
        )
    blocks.append(
        format_table(
            ["h", "T_AT", "method", "population", "converged", "BP above", "BP below"],
            rows,
            title=f"(e) AT line of ±J on the Bethe lattice, c = 3 (BP on N = {at['bp_graph_N']})",
        )
    )
    blocks.append(
        "instability temperatures of the paramagnetic BP solution, degree 3:\n"
        f"  ferromagnet: computed {stab['ferromagnetic']['computed']:.6f}, reference "
        f"2/ln 3 = {stab['ferromagnetic']['reference']:.6f}\n"
        f"  ±J spin glass: computed {stab['spin_glass']['computed']:.6f}, reference "
        f"1/atanh(1/sqrt 2) = {stab['spin_glass']['reference']:.6f}"
    )
    return "\n\n".join(blocks)
