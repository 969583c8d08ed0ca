r"""Recipe ``sk-phase-diagram``: the Sherrington--Kirkpatrick model, replica-symmetric theory and TAP.

The model is written in the DSL, :math:`e(s_i, s_j) = -K s_i s_j`, :math:`\phi(s_i) = -h s_i`
on :math:`\{-1, 1\}`, with couplings :math:`K_{ij} \sim N(J_0/N, J^2/N)` on the complete
graph, :math:`J = 1`. Everything below comes from it through the library:

* **(a) the** :math:`(J_0, T)` **phase diagram**: ``numerics.rs_phase_diagram`` with the
  most ordered RS solution at each point (``numerics.OrderedRS``: the saddle point of
  ``derive.replica_symmetric`` from :math:`m = q = 1`, retried with damping where that gives
  :math:`m = 0`) at :math:`h = 0`, each grid point classified by ``RSResult.phase``:
  paramagnet, ferromagnet, spin glass, or mixed (ferromagnet with broken replica symmetry,
  AT >= 1). The transition lines come from ``numerics.rs_transition_lines`` (``brentq`` in
  :math:`T` at fixed :math:`J_0`, bracketed from the diagram): para--SG where :math:`q`
  becomes positive (:math:`q = 10^{-6}`, :math:`J_0 < 1`), para--ferro where :math:`m` does
  (:math:`m = 10^{-3}`, :math:`J_0 > 1`), and the de Almeida--Thouless line where the
  observable ``AT`` of the ordered solution crosses 1. The thresholds bias the first two
  lines by about the threshold (linear :math:`q`) or its square
  (:math:`m \sim \sqrt{T_c - T}`); the deviation from the textbook lines is in the JSON.
  Below the para--SG line the RS ferromagnet is re-entrant (the RS boundary between spin
  glass and ferromagnet bends towards larger :math:`J_0` at low :math:`T`), an artefact
  of replica symmetry that the Parisi solution removes.
* **(b) energy per spin at** :math:`J_0 = 0`: RS against Metropolis Monte Carlo on SK
  instances (a networkx complete graph with edge attribute ``K ~ N(0, 1/N)``), cooled from
  high temperature. Finite-:math:`N` Monte Carlo energies lie above the
  :math:`N \to \infty` value, and below :math:`T = 1` replica symmetry is broken, so the
  RS energy is not the true one there (its :math:`T \to 0` limit, about :math:`-0.798`,
  lies below the Parisi ground state :math:`-0.7632`).
* **(c) RS entropy at** :math:`J_0 = 0`: it turns negative at low :math:`T` — the classic
  sign that the RS solution is wrong there. The temperature where it crosses zero is
  found with ``numerics.rs_crossing``; the :math:`T \to 0` value is read at the lowest
  temperature and extrapolated linearly from the two lowest.
* **(d) TAP against Monte Carlo** on one instance above the AT line
  (:math:`J_0 = 0`, :math:`h = 0.5`, :math:`T = 0.8`): per-site :math:`m_i` from
  ``numerics.tap`` (AMP iteration of the Plefka site law of ``derive.tap``) against
  Monte Carlo, and naive mean-field — ``derive.meanfield`` of the same model on the same
  instance, :math:`m_i = \tanh\beta(h + \sum_j K_{ij} m_j)`, without the Onsager reaction
  term, solved by ``graphs.meanfield`` as a baseline — to show what the reaction term buys.

Every grid and every set of instances runs through ``numerics.sweep`` (one task per
temperature row of the diagram, per crossing of a line, per temperature of the RS curves, per
Monte Carlo instance; the Monte Carlo seeds are the sweep's child seeds of ``--seed``), so
``cavitylab run sk-phase-diagram --workers N`` runs them in parallel with the same numbers,
and ``--checkpoint DIR`` makes them resumable (``DIR/sk-phase-diagram-*.jsonl``); the JSON's
``sweeps`` says how many points each sweep computed. The Monte Carlo temperatures of one
instance stay one task: each starts from the previous one's configuration.

Reference values (labelled lines and ``reference`` entries only): the para--SG line
:math:`T = J`, the para--ferro line :math:`T = J_0`; the RS ground-state energy
:math:`-\sqrt{2/\pi} \approx -0.7979` and Parisi's :math:`-0.7632`; the RS zero-temperature
entropy :math:`-1/(2\pi) \approx -0.159`.
"""

import functools
import math
import time
from pathlib import Path

import networkx as nx
import numpy as np
import sympy as sp

import derive
import graphs
import numerics

from .report import figure, finish, format_table, pm, progress, run_sweep

__all__ = ["NAME", "SUMMARY", "run", "table", "plot", "sk_model", "sk_couplings", "PHASES"]

NAME = "sk-phase-diagram"
SUMMARY = (
    "SK model: replica-symmetric (J0, T) phase diagram with the AT line, RS energy and "
    "entropy vs Monte Carlo, TAP vs naive mean-field vs Monte Carlo"
)

#: RS ground-state energy per spin, -sqrt(2/pi) (reference only).
RS_GROUND_STATE = -math.sqrt(2.0 / math.pi)
#: Parisi (full RSB) ground-state energy per spin (reference only).
PARISI_GROUND_STATE = -0.7632
#: RS entropy per spin at T = 0, -1/(2 pi) (reference only).
RS_ENTROPY_T0 = -1.0 / (2.0 * math.pi)

#: The phases of ``RSResult.phase``, in the order of the colour map.
PHASES = ("paramagnetic", "ferromagnetic", "spin glass", "mixed")
COLORS = ("#e8e8e8", "#9ecae1", "#a1d99b", "#fdae6b")

J = 1.0
#: Threshold on q (para--SG) and m (para--ferro) at which the order parameter "becomes > 0".
THRESHOLDS = {"para_sg": 1e-6, "para_ferro": 1e-3}
#: The SK lines (reference only): Sherrington & Kirkpatrick, PRL 35, 1792 (1975).
REFERENCE_LINES = {
    "para_sg": ("T = J", lambda J0: J),
    "para_ferro": ("T = J0", lambda J0: J0),
}
#: The TAP instance: J0 = 0, field and temperature above the AT line.
TAP_H, TAP_T = 0.5, 0.8

#: Grids, sizes and Monte Carlo lengths; full run and ``--quick``.
SETTINGS = {
    False: dict(
        J0=(0.0, 2.0, 21),
        T=(0.1, 1.6, 16),
        T_min=0.02,
        line_stride=1,
        xtol=1e-5,
        rs_T=(0.02, 2.0, 100),
        mc_N=400,
        mc_instances=3,
        mc_T=(2.0, 0.2, 19),
        mc_sweeps=4_000,
        mc_burn_in=1_000,
        tap_N=1000,
        tap_sweeps=20_000,
        tap_burn_in=4_000,
        blocks=20,
    ),
    True: dict(
        J0=(0.0, 2.0, 11),
        T=(0.2, 1.6, 8),
        T_min=0.02,
        line_stride=2,
        xtol=1e-5,
        rs_T=(0.02, 2.0, 21),
        mc_N=100,
        mc_instances=2,
        mc_T=(1.9, 0.3, 9),
        mc_sweeps=2_000,
        mc_burn_in=500,
        tap_N=300,
        tap_sweeps=6_000,
        tap_burn_in=1_200,
        blocks=20,
    ),
}


def sk_model():
    """The SK model in the DSL: ``PairwiseModel((-1, 1), -K si sj, -h si)``."""
    si, sj, K, h = sp.symbols("s_i s_j K h", real=True)
    return derive.PairwiseModel((-1, 1), -K * si * sj, -h * si, variables=(si, sj))


def sk_couplings(N, rng, J0=0.0, J=J):
    """A symmetric matrix ``K_ij ~ N(J0/N, J^2/N)``, zero diagonal."""
    upper = np.triu(rng.normal(J0 / N, J / math.sqrt(N), size=(N, N)), 1)
    return upper + upper.T


def sk_graph(K):
    """The complete graph on ``len(K)`` nodes with edge attribute ``"K"`` from the matrix."""
    G = nx.complete_graph(K.shape[0])
    nx.set_edge_attributes(G, {(i, j): float(K[i, j]) for i, j in G.edges()}, "K")
    return G


def _phase_diagram(rs, cfg, sweeps):
    """(a): ``numerics.rs_phase_diagram`` on the grid, with a progress line per temperature."""
    Ts = np.linspace(*cfg["T"])

    def report(k, T, phases):
        progress(
            f"[{NAME}] (a) RS phase diagram T = {T:.3f}: "
            + " ".join(p[0].upper() if p != "mixed" else "X" for p in phases)
            + f"  ({k + 1}/{len(Ts)})"
        )

    diagram = numerics.rs_phase_diagram(
        rs, np.linspace(*cfg["J0"]), Ts, progress=report, name=f"{NAME}-rs-diagram"
    )
    sweeps["rs-diagram"] = dict(points=len(Ts), computed=diagram.computed)
    grid = dict(
        J0=diagram.J0,
        T=diagram.T,
        phase=diagram.phase,
        m=diagram.m,
        q=diagram.q,
        at=diagram.at,
        converged=diagram.point_converged,
        counts=diagram.counts,
        all_converged=diagram.converged,
    )
    return diagram, grid


def _lines(rs, cfg, diagram, sweeps):
    """(a): the transition lines (``numerics.rs_transition_lines``) against the SK lines."""
    computed = numerics.rs_transition_lines(
        rs,
        diagram,
        stride=cfg["line_stride"],
        xtol=cfg["xtol"],
        thresholds=THRESHOLDS,
        name=f"{NAME}-rs-lines",
    )
    lines = {}
    for key, line in computed.items():
        sweeps[f"rs-lines-{key}"] = dict(points=len(line.crossings), computed=line.computed)
        entry = dict(J0=line.J0, T=line.T, criterion=line.criterion, xtol=cfg["xtol"])
        if key in REFERENCE_LINES:
            formula, ref = REFERENCE_LINES[key]
            refs = [ref(a) for a in line.J0]
            ok = [abs(T - r) for T, r in zip(line.T, refs) if T is not None]
            entry.update(
                reference=refs,
                reference_formula=formula,
                max_abs_deviation_from_reference=max(ok) if ok else None,
            )
        if not line.converged:
            entry["message"] = line.message
        lines[key] = entry
        progress(
            f"[{NAME}] (a) {key} line: T = "
            + ", ".join("-" if T is None else f"{T:.5f}" for T in line.T)
        )
    return lines


def _rs_curves(rs, cfg, sweeps):
    """(b, c): RS energy and entropy at J0 = 0 on a fine grid, the entropy's zero, T -> 0.

    The solver itself is the sweep's task (``rs(T=...)``, J0 = 0)."""
    Ts = np.linspace(*cfg["rs_T"])
    sols = run_sweep(rs, {"T": Ts}, "rs-curve", sweeps, recipe=NAME)
    u = np.array([r["energy"] for r in sols])
    s = np.array([r["entropy"] for r in sols])
    crossing = numerics.rs_crossing(rs, "entropy", 0.0, (Ts[0], 1.0), xtol=1e-6).T
    # linear extrapolation to T = 0 from the two lowest temperatures
    extrap = lambda y: float(y[0] - Ts[0] * (y[1] - y[0]) / (Ts[1] - Ts[0]))  # noqa: E731
    return dict(
        T=Ts,
        u=u,
        s=s,
        q=np.array([r["q"] for r in sols]),
        at=np.array([r["at"] for r in sols]),
        converged=bool(all(r["converged"] for r in sols)),
        energy_T0=dict(
            computed_lowest_T=float(u[0]),
            T=float(Ts[0]),
            reference_rs=RS_GROUND_STATE,
            reference_rs_formula="-sqrt(2/pi)",
            reference_parisi=PARISI_GROUND_STATE,
        ),
        entropy_zero_T=crossing,
        entropy_T0=dict(
            computed_lowest_T=float(s[0]),
            T=float(Ts[0]),
            computed_extrapolated=extrap(s),
            reference=RS_ENTROPY_T0,
            reference_formula="-1/(2 pi)",
        ),
        note="extrapolated: linear in T from the two lowest temperatures (s - s(0) is "
        "linear in T at low T)",
    )


def _combine(means, errors):
    """Mean over instances; error: the larger of the propagated Monte Carlo error and the
    standard error of the instance-to-instance spread."""
    means, errors = np.asarray(means), np.asarray(errors)
    n = means.size
    stat = math.sqrt(float(np.sum(errors**2))) / n
    spread = float(means.std(ddof=1) / math.sqrt(n)) if n > 1 else 0.0
    return float(means.mean()), max(stat, spread)


def _mc_instance(model, N, Ts, sweeps, burn_in, blocks, instance, seed):
    """(b), one sweep task: Metropolis energies per spin on one SK instance at ``J0 = 0``,
    drawn from ``seed``, cooled through ``Ts`` (each temperature from the previous one's
    last configuration). ``instance`` is the grid position only."""
    rng = np.random.default_rng(seed)
    G = sk_graph(sk_couplings(N, rng))
    seeds = rng.integers(2**31 - 1, size=len(Ts))
    config, u, err = "random", [], []
    for j, T in enumerate(Ts):
        r = graphs.monte_carlo(
            model,
            G,
            1.0 / T,
            params={"h": 0.0},
            sweeps=sweeps,
            burn_in=burn_in,
            method="metropolis",
            init=config,
            seed=int(seeds[j]),
            n_blocks=blocks,
        )
        config = r.configuration
        e, e_err = r.mean_energy()
        u.append(e / N)
        err.append(e_err / N)
    return dict(u=u, err=err)


def _monte_carlo_energy(model, cfg, seed, sweeps):
    """(b): Metropolis on SK instances at J0 = 0, cooled from high temperature; one sweep
    task per instance, its seed the sweep's child seed of the recipe's seed."""
    N = cfg["mc_N"]
    Ts = np.linspace(*cfg["mc_T"])
    task = functools.partial(
        _mc_instance,
        model,
        N,
        tuple(Ts.tolist()),
        cfg["mc_sweeps"],
        cfg["mc_burn_in"],
        cfg["blocks"],
    )
    rows = run_sweep(
        task,
        {"instance": range(cfg["mc_instances"])},
        "monte-carlo",
        sweeps,
        recipe=NAME,
        seed=seed,
    )
    per_instance = [dict(u=row["u"], err=row["err"]) for row in rows]
    for k, p in enumerate(per_instance):
        u, err = p["u"], p["err"]
        progress(
            f"[{NAME}] (b) Monte Carlo instance {k + 1}/{cfg['mc_instances']}, N = {N}: "
            f"u(T = {Ts[-1]:.2f}) = {pm(u[-1], err[-1])}"
        )
    pairs = [
        _combine([p["u"][j] for p in per_instance], [p["err"][j] for p in per_instance])
        for j in range(Ts.size)
    ]
    return dict(
        N=N,
        instances=cfg["mc_instances"],
        T=Ts,
        u=[p[0] for p in pairs],
        err=[p[1] for p in pairs],
        per_instance=per_instance,
        sweeps=cfg["mc_sweeps"],
        burn_in=cfg["mc_burn_in"],
        start="random at the highest T, then each T from the previous configuration",
    )


def _tap(model, cfg, seq, rs_tap):
    """(d): TAP, naive mean-field and Monte Carlo on one instance above the AT line."""
    N = cfg["tap_N"]
    rng = np.random.default_rng(seq)
    K = sk_couplings(N, rng)
    beta = 1.0 / TAP_T
    params = {"h": TAP_H}
    tap = numerics.tap(model, K, beta, params, seed=int(rng.integers(2**31 - 1)))
    progress(f"[{NAME}] (d) TAP (AMP iteration): {tap.message}")
    G = sk_graph(K)
    # Naive mean-field baseline: derive.meanfield of the same model on the same instance,
    # without the Onsager reaction term (damped Jacobi iteration from m = 0).
    nmf = graphs.meanfield(
        model, G, beta, params=params, init=np.zeros(N), damping=0.5, tol=1e-10, max_iter=20_000
    )
    progress(f"[{NAME}] (d) naive mean-field: {nmf.message}")
    m_nmf = nmf.magnetization
    mc = graphs.monte_carlo(
        model,
        G,
        beta,
        params=params,
        sweeps=cfg["tap_sweeps"],
        burn_in=cfg["tap_burn_in"],
        method="metropolis",
        seed=int(rng.integers(2**31 - 1)),
        n_blocks=cfg["blocks"],
    )
    m_mc, m_err = mc.magnetization, mc.magnetization_error
    d_tap = np.abs(tap.m - m_mc)
    d_nmf = np.abs(m_nmf - m_mc)
    progress(
        f"[{NAME}] (d) Monte Carlo {cfg['tap_sweeps']} sweeps: mean |m_TAP - m_MC| = "
        f"{d_tap.mean():.4f}, mean |m_nMF - m_MC| = {d_nmf.mean():.4f}"
    )
    return dict(
        N=N,
        J0=0.0,
        h=TAP_H,
        T=TAP_T,
        rs=dict(
            m=rs_tap.m,
            q=rs_tap.q,
            at=rs_tap.at,
            phase=rs_tap.phase,
            above_at_line=bool(rs_tap.at_stable),
        ),
        tap=dict(
            m=tap.m,
            converged=bool(tap.converged),
            iterations=tap.iterations,
            method="amp",
            mean_m=float(tap.m.mean()),
            mean_m2=float(np.mean(tap.m**2)),
        ),
        naive_meanfield=dict(
            m=m_nmf,
            converged=bool(nmf.converged),
            iterations=nmf.iterations,
            equations=str(derive.meanfield(model)),
            solver="graphs.meanfield (derive.meanfield on the instance), damping 0.5, from m = 0",
        ),
        monte_carlo=dict(
            m=m_mc,
            err=m_err,
            sweeps=cfg["tap_sweeps"],
            burn_in=cfg["tap_burn_in"],
            mean_err=float(m_err.mean()),
        ),
        mean_abs_diff_tap_mc=float(d_tap.mean()),
        mean_abs_diff_nmf_mc=float(d_nmf.mean()),
        max_abs_diff_tap_mc=float(d_tap.max()),
        max_abs_diff_nmf_mc=float(d_nmf.max()),
    )


def run(quick=False, out=None, seed=0):
    """Run the recipe; writes ``out/sk-phase-diagram.json`` and ``.png``; returns the results."""
    start = time.perf_counter()
    cfg = SETTINGS[bool(quick)]
    out = Path(out) if out is not None else Path("results") / NAME
    model = sk_model()
    rs = numerics.OrderedRS(model, J=J, params={"h": 0.0}, T_min=cfg["T_min"])
    _, tap_seq = np.random.SeedSequence(seed).spawn(2)
    sweeps = {}
    diagram, phase = _phase_diagram(rs, cfg, sweeps)
    lines = _lines(rs, cfg, diagram, sweeps)
    curves = _rs_curves(rs, cfg, sweeps)
    progress(
        f"[{NAME}] (b, c) RS at J0 = 0: u(T = {curves['T'][0]:.2f}) = "
        f"{curves['u'][0]:.4f}, s(T = {curves['T'][0]:.2f}) = {curves['s'][0]:.4f}, "
        f"s = 0 at T = {curves['entropy_zero_T']:.4f}"
    )
    mc = _monte_carlo_energy(model, cfg, int(seed), sweeps)
    rs_tap = numerics.OrderedRS(model, J=J, params={"h": TAP_H}, T_min=cfg["T_min"])(TAP_T)
    tap = _tap(model, cfg, tap_seq, rs_tap)
    results = dict(
        recipe=NAME,
        quick=bool(quick),
        seed=int(seed),
        model=dict(
            alphabet=[int(a) for a in model.alphabet],
            pair_energy=str(model.pair_energy),
            field_energy=str(model.field_energy),
            couplings="K_ij ~ N(J0/N, J^2/N)",
            J=J,
            h=0.0,
        ),
        rs=dict(
            equations=str(derive.replica_symmetric(model)),
            quadrature_order=rs.order,
            init="numerics.OrderedRS: ordered (m = q = 1); where that gives m = 0, a retry "
            "with damping 0.3, keeping the more ordered solution",
            retries_that_found_order=diagram.retries,
        ),
        phase_diagram=dict(
            grid=phase,
            lines=lines,
            references=dict(para_sg="T = J (J0 < J)", para_ferro="T = J0 (J0 > J)"),
        ),
        energy=dict(
            rs=dict(T=curves["T"], u=curves["u"], converged=curves["converged"]),
            monte_carlo=mc,
            ground_state=curves["energy_T0"],
            note="finite-N Monte Carlo energies lie above the N -> infinity value; RS "
            "is wrong below T = 1, where replica symmetry is broken (AT > 1): "
            "its T -> 0 energy lies below the Parisi ground state",
        ),
        entropy=dict(
            T=curves["T"],
            s=curves["s"],
            zero_crossing_T=curves["entropy_zero_T"],
            T0=curves["entropy_T0"],
            note=curves["note"],
        ),
        tap=tap,
        sweeps=dict(
            counts=sweeps,
            note="numerics.sweep per grid: points, and those computed by this run (the "
            "others came from --checkpoint)",
        ),
    )
    return finish(NAME, results, out, plot, start)


def _edges(centres):
    """Cell edges around grid points (for pcolormesh)."""
    c = np.asarray(centres, dtype=float)
    mid = (c[1:] + c[:-1]) / 2
    return np.concatenate([[c[0] - (mid[0] - c[0])], mid, [c[-1] + (c[-1] - mid[-1])]])


def plot(results):
    """The four-panel figure of ``results``."""
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    fig, axes = figure(ncols=2, nrows=2, width=6.4, height=4.9)
    ax_pd, ax_u, ax_s, ax_tap = axes

    # (a) phase diagram
    pdg = results["phase_diagram"]
    grid, lines = pdg["grid"], pdg["lines"]
    codes = np.array([[PHASES.index(p) for p in row] for row in grid["phase"]])
    ax_pd.pcolormesh(
        _edges(grid["J0"]),
        _edges(grid["T"]),
        codes,
        cmap=ListedColormap(COLORS),
        vmin=-0.5,
        vmax=len(PHASES) - 0.5,
    )
    styles = dict(
        para_sg=("k", "para–SG: q becomes > 0"),
        para_ferro=("tab:blue", "para–ferro: m becomes > 0"),
        at=("tab:red", "AT line: AT = 1 on the ordered solution"),
    )
    handles = [Patch(color=c, label=p) for p, c in zip(PHASES, COLORS)]
    for key, (color, label) in styles.items():
        line = lines[key]
        pts = [(a, t) for a, t in zip(line["J0"], line["T"]) if t is not None]
        if pts:
            x, y = zip(*pts)
            handles += ax_pd.plot(x, y, "o-", color=color, lw=2, ms=4, label=label)
    handles += ax_pd.plot(
        [0, 1], [1, 1], "--", color="0.3", lw=1.2, label="reference T = J (para–SG)"
    )
    handles += ax_pd.plot(
        [1, 2], [1, 2], ":", color="0.3", lw=1.5, label="reference T = J₀ (para–ferro)"
    )
    ax_pd.set_xlim(_edges(grid["J0"])[0], _edges(grid["J0"])[-1])
    ax_pd.set_ylim(max(0.0, _edges(grid["T"])[0]), _edges(grid["T"])[-1])
    ax_pd.set_xlabel("J₀ / J (mean coupling × N)")
    ax_pd.set_ylabel("temperature T / J")
    ax_pd.set_title(
        "(a) replica-symmetric phase diagram, h = 0 (numerics.replica_symmetric)", fontsize=10
    )
    phases = ax_pd.legend(
        handles=handles[: len(PHASES)], fontsize=8, loc="upper left", ncol=2, framealpha=0.9
    )
    ax_pd.add_artist(phases)
    ax_pd.legend(
        handles=handles[len(PHASES) :],
        fontsize=8,
        loc="upper center",
        ncol=2,
        bbox_to_anchor=(0.5, -0.12),
        frameon=False,
    )

    # (b) energy
    en = results["energy"]
    rs, mc = en["rs"], en["monte_carlo"]
    t_sg = next((T for T in lines["para_sg"]["T"] if T is not None), 1.0)
    ax_u.axvspan(0, t_sg, color="#fdd0a2", alpha=0.4, label=f"RS unstable (AT > 1), T < {t_sg:.4f}")
    ax_u.plot(rs["T"], rs["u"], "-", color="tab:blue", lw=1.8, label="replica-symmetric u")
    ax_u.errorbar(
        mc["T"],
        mc["u"],
        yerr=mc["err"],
        fmt="o",
        ms=4,
        capsize=2,
        color="tab:orange",
        label=f"Monte Carlo, N = {mc['N']}, {mc['instances']} instances",
    )
    gs = en["ground_state"]
    ax_u.axhline(
        gs["reference_rs"],
        color="tab:blue",
        ls="--",
        lw=1.1,
        label=f"reference RS ground state −√(2/π) = {gs['reference_rs']:.4f}",
    )
    ax_u.axhline(
        gs["reference_parisi"],
        color="tab:red",
        ls=":",
        lw=1.5,
        label=f"reference Parisi ground state = {gs['reference_parisi']:.4f}",
    )
    ax_u.set_xlim(0, rs["T"][-1])
    ax_u.set_xlabel("temperature T / J")
    ax_u.set_ylabel("energy per spin u")
    ax_u.set_title("(b) SK energy per spin, J₀ = 0, h = 0", fontsize=10)
    ax_u.legend(fontsize=8, loc="lower right")

    # (c) entropy
    ent = results["entropy"]
    ax_s.axvspan(0, t_sg, color="#fdd0a2", alpha=0.4, label="RS unstable (AT > 1)")
    ax_s.plot(ent["T"], ent["s"], "-", color="tab:blue", lw=1.8, label="replica-symmetric s")
    ax_s.axhline(0, color="k", lw=0.8)
    if ent["zero_crossing_T"] is not None:
        ax_s.plot(
            [ent["zero_crossing_T"]],
            [0],
            "o",
            color="tab:red",
            ms=7,
            label=f"s = 0 at T = {ent['zero_crossing_T']:.4f}",
        )
    ax_s.axhline(
        ent["T0"]["reference"],
        color="tab:red",
        ls=":",
        lw=1.5,
        label=f"reference RS s(T=0) = −1/(2π) = {ent['T0']['reference']:.4f}",
    )
    ax_s.plot(
        [0],
        [ent["T0"]["computed_extrapolated"]],
        "s",
        mfc="none",
        color="tab:blue",
        ms=7,
        label=f"extrapolated to T = 0: {ent['T0']['computed_extrapolated']:.4f}",
    )
    ax_s.set_xlim(-0.03, ent["T"][-1])
    ax_s.set_xlabel("temperature T / J")
    ax_s.set_ylabel("entropy per spin s")
    ax_s.set_title("(c) RS entropy, J₀ = 0: negative at low T", fontsize=10)
    ax_s.legend(fontsize=8, loc="lower right")

    # (d) TAP vs naive mean-field vs Monte Carlo
    tp = results["tap"]
    m_mc = np.asarray(tp["monte_carlo"]["m"])
    err = np.asarray(tp["monte_carlo"]["err"])
    ax_tap.plot([-1, 1], [-1, 1], "-", color="0.5", lw=1)
    ax_tap.errorbar(
        m_mc,
        tp["naive_meanfield"]["m"],
        xerr=err,
        fmt="s",
        ms=2.5,
        alpha=0.5,
        color="tab:orange",
        elinewidth=0.6,
        label=f"naive mean-field: mean |Δm| = {tp['mean_abs_diff_nmf_mc']:.3f}",
    )
    ax_tap.errorbar(
        m_mc,
        tp["tap"]["m"],
        xerr=err,
        fmt="o",
        ms=2.5,
        alpha=0.6,
        color="tab:blue",
        elinewidth=0.6,
        label=f"TAP (numerics.tap): mean |Δm| = {tp['mean_abs_diff_tap_mc']:.3f}",
    )
    ax_tap.set_xlim(-1.02, 1.02)
    ax_tap.set_ylim(-1.02, 1.02)
    ax_tap.set_aspect("equal", adjustable="box")
    ax_tap.set_xlabel("Monte Carlo m_i (± batch-means error)")
    ax_tap.set_ylabel("m_i from the equations")
    ax_tap.set_title(
        f"(d) one instance, N = {tp['N']}, J₀ = 0, h = {tp['h']}, T = {tp['T']} "
        f"(RS AT = {tp['rs']['at']:.2f} < 1)",
        fontsize=10,
    )
    ax_tap.legend(fontsize=8, loc="upper left")
    for ax in axes:
        ax.grid(alpha=0.3)
    mode = "quick" if results["quick"] else "full"
    fig.suptitle(
        f"Sherrington–Kirkpatrick model, couplings N(J₀/N, 1/N): replica symmetry, "
        f"TAP and Monte Carlo ({mode} run)",
        fontsize=11,
    )
    return fig


def table(results):
    """The numbers of ``results`` as text."""
    pdg = results["phase_diagram"]
    grid = pdg["grid"]
    letters = {"paramagnetic": "P", "ferromagnetic": "F", "spin glass": "SG", "mixed": "M"}
    step = max(1, math.ceil(len(grid["J0"]) / 21))  # at most 21 columns on a terminal
    headers = ["T \\ J0"] + [f"{a:.2f}" for a in grid["J0"][::step]]
    rows = [
        [f"{T:.3f}"] + [letters[p] for p in row[::step]]
        for T, row in reversed(list(zip(grid["T"], grid["phase"])))
    ]
    blocks = [
        format_table(
            headers,
            rows,
            title="(a) RS phase (P para, F ferro, SG spin glass, M mixed = ferro with AT >= 1)",
        )
    ]
    rows = []
    for key, name in (("para_sg", "para-SG"), ("para_ferro", "para-ferro"), ("at", "AT")):
        line = pdg["lines"][key]
        for k, (a, T) in enumerate(zip(line["J0"], line["T"])):
            ref = line.get("reference")
            rows.append(
                [
                    name,
                    f"{a:.3f}",
                    "-" if T is None else f"{T:.5f}",
                    f"{ref[k]:.5f}" if ref else "-",
                ]
            )
    blocks.append(
        format_table(
            ["line", "J0", "T computed", "T reference"],
            rows,
            title="(a) transition lines (brentq in T)",
        )
    )
    en, ent = results["energy"], results["entropy"]
    rs_T, rs_u = np.asarray(en["rs"]["T"]), np.asarray(en["rs"]["u"])
    mc = en["monte_carlo"]
    rows = [
        [f"{T:.3f}", f"{np.interp(T, rs_T, rs_u):.4f}", pm(u, e)]
        for T, u, e in zip(mc["T"], mc["u"], mc["err"])
    ]
    gs = en["ground_state"]
    blocks.append(
        format_table(
            ["T", "u RS", f"u MC (N = {mc['N']})"], rows, title="(b) energy per spin, J0 = 0"
        )
        + f"\n  RS u at T = {gs['T']:.2f}: {gs['computed_lowest_T']:.4f} (reference "
        f"-sqrt(2/pi) = "
        f"{gs['reference_rs']:.4f}; Parisi {gs['reference_parisi']:.4f})"
    )
    t0 = ent["T0"]
    blocks.append(
        f"(c) RS entropy, J0 = 0: s = 0 at T = {ent['zero_crossing_T']:.4f}; s at "
        f"T = {t0['T']:.2f}: {t0['computed_lowest_T']:.4f}, extrapolated to T = 0: "
        f"{t0['computed_extrapolated']:.4f} (reference -1/(2 pi) = "
        f"{t0['reference']:.4f})"
    )
    tp = results["tap"]
    blocks.append(
        f"(d) one instance N = {tp['N']}, J0 = 0, h = {tp['h']}, T = {tp['T']} (RS AT "
        f"= {tp['rs']['at']:.3f}): mean |m_TAP - m_MC| = "
        f"{tp['mean_abs_diff_tap_mc']:.4f}, mean |m_nMF - m_MC| = "
        f"{tp['mean_abs_diff_nmf_mc']:.4f} (Monte Carlo error {tp['monte_carlo']['mean_err']:.4f}); "
        f"TAP converged {tp['tap']['converged']} in {tp['tap']['iterations']} iterations, "
        f"naive mean-field converged {tp['naive_meanfield']['converged']}"
    )
    return "\n\n".join(blocks)
