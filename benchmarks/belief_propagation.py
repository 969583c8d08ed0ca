"""Directed-message updates per second: generated BP kernel vs hand-written numba, numpy and Python.

Ising model, J = 1 on every edge (a per-directed-edge array), h = 0, beta = 0.3, on
a random regular graph of degree 3. One update is one new cavity field

    h_{i->j} = h_i + sum_{k in di \\ j} atanh(tanh(beta J_ki) tanh(beta h_{k->i})) / beta.

* generated: ``message_sweep`` of ``numerics.compile(derive.belief_propagation(model))``,
  called the way ``graphs.belief_propagation`` calls it (parallel schedule, damping 0);
* hand-written numba, naive: a loop over the same CSR arrays, the "full sum minus own
  term" trick, reading ``messages[reverse[e]]`` amid the math, the textbook atanh(tanh tanh);
* hand-written numba, gather first: the incoming messages gathered into a contiguous
  array first, then per node one pass that stores the summands and sums them and one that
  subtracts (the loop structure the generator emits for sum aggregates);
* numpy: what a user writes without numba, vectorised over the edge arrays
  (``np.bincount`` for the sums per node);
* plain Python: dict messages on a networkx graph (a smaller graph, ``--n-python``).

Every variant is printed with its ratio to the FASTEST hand-written numba kernel, which is
also the headline (target >= 0.9). Every kernel is compiled (or loaded from the cache) and
warmed up before timing, and checked to give the same messages; each is timed over
``--sweeps`` sweeps from the same random messages in [-1, 1] (at beta = 0.3 they shrink by
~tanh(0.3) (c - 1) = 0.58 per sweep, so 20 sweeps stay far from subnormal numbers and from
the exact zeros that short-cut the stable form), best of ``--repeat`` rounds that time every
variant in turn. Times are CPU times of this (single-threaded) process, so that other
processes on a shared machine do not count; on a quiet machine they equal wall times.
``--profile`` adds hand-written variants that isolate the costs of the generated kernel's
choices (stable log-cosh form, hybrid form, 2-d data layout).

    python benchmarks/belief_propagation.py [--n 1000000] [--degree 3] [--sweeps 20]
        [--n-python 10000] [--profile]
"""

import argparse
import math
import os
import time

import networkx as nx
import numba
import numpy as np
import sympy as sp
from timing import best_of

import derive
import numerics
from graphs import to_csr


@numba.njit(cache=True)
def hand_written(indptr, reverse, J, h, beta, messages, scratch, out):
    """One parallel sweep of Ising BP in cavity fields; returns the largest change."""
    change = 0.0
    for i in range(indptr.shape[0] - 1):
        start, stop = indptr[i], indptr[i + 1]
        total = h[i]
        for e in range(start, stop):
            u = math.atanh(math.tanh(beta * J[e]) * math.tanh(beta * messages[reverse[e]])) / beta
            scratch[e - start] = u
            total += u
        for e in range(start, stop):
            new = total - scratch[e - start]
            change = max(change, abs(new - messages[e]))
            out[e] = new
    return change


@numba.njit(inline="always")
def _logcosh(x):
    a = abs(x)
    return a + math.log1p(math.exp(-2.0 * a)) - 0.6931471805599453


@numba.njit(cache=True)
def hand_written_logcosh(indptr, reverse, J, h, beta, messages, scratch, out):
    """``hand_written`` with the generated kernel's stable form of the bias,
    (logcosh(a + b) - logcosh(a - b)) / 2 with a zero short-cut: isolates its cost."""
    change = 0.0
    for i in range(indptr.shape[0] - 1):
        start, stop = indptr[i], indptr[i + 1]
        total = h[i]
        for e in range(start, stop):
            a = beta * J[e]
            b = beta * messages[reverse[e]]
            u = 0.0
            if a != 0.0 and b != 0.0:
                u = 0.5 * (_logcosh(a + b) - _logcosh(a - b)) / beta
            scratch[e - start] = u
            total += u
        for e in range(start, stop):
            new = total - scratch[e - start]
            change = max(change, abs(new - messages[e]))
            out[e] = new
    return change


@numba.njit(inline="always")
def _atanh_tanh_product_hybrid(a, b):
    """Proposed helper: the textbook form where it is accurate (|tanh a tanh b| < 1/2,
    relative error a few ulp, also for tiny arguments), the log-cosh form elsewhere."""
    t = math.tanh(a) * math.tanh(b)
    if abs(t) < 0.5:
        return math.atanh(t)
    return 0.5 * (_logcosh(a + b) - _logcosh(a - b))


@numba.njit(cache=True)
def hand_written_hybrid(indptr, reverse, J, h, beta, messages, scratch, out):
    """``hand_written`` with the proposed hybrid stable form of the bias."""
    change = 0.0
    for i in range(indptr.shape[0] - 1):
        start, stop = indptr[i], indptr[i + 1]
        total = h[i]
        for e in range(start, stop):
            u = _atanh_tanh_product_hybrid(beta * J[e], beta * messages[reverse[e]]) / beta
            scratch[e - start] = u
            total += u
        for e in range(start, stop):
            new = total - scratch[e - start]
            change = max(change, abs(new - messages[e]))
            out[e] = new
    return change


@numba.njit(cache=True)
def hand_written_gather(indptr, reverse, J, h, beta, messages, incoming, out):
    """``hand_written`` that first gathers the incoming messages ``messages[reverse[e]]``
    into a contiguous array (one cheap pass of independent loads, which the CPU overlaps),
    then computes: on a large random graph each random load otherwise stalls behind the
    libm calls of the previous edges. ``incoming`` has one entry per directed edge; ``out``
    doubles as the scratch of the biases."""
    for e in range(reverse.shape[0]):
        incoming[e] = messages[reverse[e]]
    change = 0.0
    for i in range(indptr.shape[0] - 1):
        start, stop = indptr[i], indptr[i + 1]
        total = h[i]
        for e in range(start, stop):
            u = math.atanh(math.tanh(beta * J[e]) * math.tanh(beta * incoming[e])) / beta
            out[e] = u
            total += u
        for e in range(start, stop):
            new = total - out[e]
            change = max(change, abs(new - messages[e]))
            out[e] = new
    return change


@numba.njit(cache=True)
def hand_written_2d(indptr, reverse, node_values, edge_values, messages, scratch, out, damping):
    """``hand_written`` on the generated kernel's data layout: 2-d messages, scratch,
    node values (beta, h) and edge values, and the damped update."""
    change = 0.0
    for i in range(indptr.shape[0] - 1):
        start, stop = indptr[i], indptr[i + 1]
        beta = node_values[i, 0]
        total = 0.0
        for e in range(start, stop):
            u = (
                math.atanh(
                    math.tanh(edge_values[e, 0] * beta) * math.tanh(beta * messages[reverse[e], 0])
                )
                / beta
            )
            scratch[e - start, 0] = u
            total += u
        for e in range(start, stop):
            new = total - scratch[e - start, 0] + node_values[i, 1]
            value = (1.0 - damping) * new + damping * messages[e, 0]
            change = max(change, abs(value - messages[e, 0]))
            out[e, 0] = value
    return change


def plain_python_sweep(G, J, h, beta, messages):
    """One parallel sweep over a networkx graph with dict messages ``(k, i) -> h_{k->i}``."""
    new = {}
    change = 0.0
    for i, neighbours in G.adjacency():
        bias = {
            k: math.atanh(math.tanh(beta * J[k, i]) * math.tanh(beta * messages[k, i])) / beta
            for k in neighbours
        }
        total = h[i] + sum(bias.values())
        for j in neighbours:
            value = total - bias[j]
            change = max(change, abs(value - messages[i, j]))
            new[i, j] = value
    return new, change


def numpy_sweep(source, reverse, J, h, beta, messages):
    """One parallel sweep with numpy over the directed-edge arrays (``source[e]``: the node
    that edge e leaves): the baseline of a user without numba. Returns (new, change)."""
    u = np.arctanh(np.tanh(beta * J) * np.tanh(beta * messages[reverse])) / beta
    total = h + np.bincount(source, weights=u, minlength=h.shape[0])
    new = total[source] - u
    return new, float(np.max(np.abs(new - messages), initial=0.0))


def round_robin(variants, sweeps, repeat):
    """Best time of each variant over ``repeat`` rounds that run every variant once in turn:
    a change of machine load during the run then hits all variants alike."""
    best = dict.fromkeys(variants, math.inf)
    for _ in range(repeat):
        for name, fn in variants.items():
            t0 = time.process_time()
            fn(sweeps)
            best[name] = min(best[name], time.process_time() - t0)
    return best


def kernel_arrays(eqs, n_nodes, n_directed, values):
    """Node values (n_nodes, node parameters) and edge values (directed edges, edge
    parameters) in the generated kernel's column order, every parameter constant."""
    node = np.array([[values[p.name] for p in eqs.node_params]] * n_nodes)
    edge = np.array([[values[p.name] for p in eqs.edge_params]] * n_directed)
    return node, edge


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--degree", type=int, default=3)
    parser.add_argument("--beta", type=float, default=0.3)
    parser.add_argument("--sweeps", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--n-python", type=int, default=10_000)
    parser.add_argument("--python-sweeps", type=int, default=3)
    parser.add_argument(
        "--profile",
        action="store_true",
        help="also time hand-written variants that isolate the generated "
        "kernel's costs (stable log-cosh form, hybrid form, 2-d layout and damping)",
    )
    args = parser.parse_args()

    si, sj, J, h = sp.symbols("s_i s_j J h", real=True)
    model = derive.PairwiseModel((-1, 1), -J * si * sj, -h * si, variables=(si, sj))
    eqs = derive.belief_propagation(model)
    mod = numerics.compile(eqs).module
    values = {"J": 1.0, "h": 0.0, "beta": args.beta}

    t0 = time.perf_counter()
    G = nx.random_regular_graph(args.degree, args.n, seed=0)
    csr = to_csr(G)
    n_dir = csr.indices.size
    node_values, edge_values = kernel_arrays(eqs, args.n, n_dir, values)
    print(
        f"graph: N = {args.n}, degree {args.degree}, {n_dir} directed edges "
        f"(built in {time.perf_counter() - t0:.1f} s)"
    )
    init = np.random.default_rng(0).uniform(-1.0, 1.0, size=n_dir)
    degrees = np.diff(csr.indptr)
    width = max(int(degrees.max(initial=0)), 1)

    def generated_on(c, nodes, edges, start):
        def run(sweeps):
            messages, out = start[:, None].copy(), np.empty((c.indices.size, 1))
            incoming = np.empty_like(out)
            scratch = np.empty((width, len(eqs.aggregates)))
            for _ in range(sweeps):
                mod.message_sweep(
                    c.indptr, c.indices, c.reverse, messages, nodes, edges, scratch, incoming,
                    out, 0.0,
                )  # fmt: skip
                messages, out = out, messages
            return messages[:, 0]

        return run

    J_e = np.ones(n_dir)  # per directed edge
    h_i = np.zeros(args.n)

    def baseline(kernel):
        def run(sweeps):
            messages, out, scratch = init.copy(), np.empty(n_dir), np.empty(max(width, n_dir))
            for _ in range(sweeps):
                kernel(csr.indptr, csr.reverse, J_e, h_i, args.beta, messages, scratch, out)
                messages, out = out, messages
            return messages

        return run

    def layout_2d(sweeps):
        messages, out = init[:, None].copy(), np.empty((n_dir, 1))
        scratch = np.empty((width, 2))
        for _ in range(sweeps):
            hand_written_2d(
                csr.indptr, csr.reverse, node_values, edge_values, messages, scratch, out, 0.0
            )
            messages, out = out, messages
        return messages[:, 0]

    source = np.repeat(np.arange(args.n), degrees)

    def with_numpy(sweeps):
        messages = init.copy()
        for _ in range(sweeps):
            messages, _ = numpy_sweep(source, csr.reverse, J_e, h_i, args.beta, messages)
        return messages

    # hand-written numba kernels: the headline is against the fastest of them
    hand = {
        "hand-written numba, naive": baseline(hand_written),
        "hand-written numba, gather first": baseline(hand_written_gather),
    }
    if args.profile:
        hand["hand-written, log-cosh form"] = baseline(hand_written_logcosh)
        hand["hand-written, hybrid form"] = baseline(hand_written_hybrid)
        hand["hand-written, generated layout"] = layout_2d
    variants = {"generated kernel": generated_on(csr, node_values, edge_values, init)}
    variants.update(hand)
    variants["numpy, vectorised over edges"] = with_numpy

    # compile / load, and check that all compute the same messages
    reference = baseline(hand_written)(3)
    for name, fn in variants.items():
        np.testing.assert_allclose(fn(3), reference, rtol=1e-12, atol=1e-14, err_msg=name)

    updates = n_dir * args.sweeps
    rates = {
        name: updates / t for name, t in round_robin(variants, args.sweeps, args.repeat).items()
    }

    # plain Python on a smaller graph, and the generated kernel on the same graph
    H = nx.random_regular_graph(args.degree, args.n_python, seed=0)
    rng = np.random.default_rng(0)
    messages0 = {(i, j): float(rng.uniform(-1, 1)) for i, j in H.edges()}
    messages0.update({(j, i): float(rng.uniform(-1, 1)) for i, j in H.edges()})
    Jd = {key: 1.0 for key in messages0}
    hd = {i: 0.0 for i in H}

    def python(sweeps):
        messages = messages0
        for _ in range(sweeps):
            messages, _ = plain_python_sweep(H, Jd, hd, args.beta, messages)

    py_updates = 2 * H.number_of_edges() * args.python_sweeps
    py_rate = py_updates / best_of(
        lambda: python(args.python_sweeps), args.repeat, clock=time.process_time
    )
    small = to_csr(H)
    small_run = generated_on(
        small,
        *kernel_arrays(eqs, args.n_python, small.indices.size, values),
        np.random.default_rng(0).uniform(-1.0, 1.0, size=small.indices.size),
    )
    small_rate = (
        small.indices.size
        * args.sweeps
        / best_of(lambda: small_run(args.sweeps), args.repeat, clock=time.process_time)
    )

    print(
        f"beta = {args.beta}, J = 1, h = 0; {args.sweeps} parallel sweeps, best of "
        f"{args.repeat} rounds; numba {numba.__version__}, numpy {np.__version__}, "
        f"networkx {nx.__version__}"
    )
    fastest_name = max(hand, key=rates.get)
    fastest = rates[fastest_name]
    print(f"{'variant':36s}  {'M updates/s':>11s}  ratio to the fastest hand-written numba")
    for name, rate in rates.items():
        print(f"{name:36s}: {rate / 1e6:11.3f}  {rate / fastest:6.2f}")
    py_name = f"plain Python (N = {args.n_python})"
    small_name = f"generated kernel (N = {args.n_python})"
    print(f"{py_name:36s}: {py_rate / 1e6:11.4f}  {py_rate / fastest:6.4f}")
    print(f"{small_name:36s}: {small_rate / 1e6:11.3f}  {small_rate / fastest:6.2f}")
    gen = rates["generated kernel"]
    print(
        f"ratio generated / fastest hand-written ({fastest_name}) = {gen / fastest:.2f}"
        "   (target >= 0.9)"
    )
    print(
        f"ratio generated / numpy = {gen / rates['numpy, vectorised over edges']:.1f}; "
        f"generated / plain Python = {small_rate / py_rate:.0f} (both N = {args.n_python})"
    )
    print(
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs (CPU times; still "
        "noisy, through shared caches, when the load exceeds the number of CPUs)"
    )


if __name__ == "__main__":
    main()
