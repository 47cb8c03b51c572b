"""The speed report: ``python asv_bench/report.py`` (``--help`` for its options).

Prints, as markdown, dated and with the machine named, ratios taken in one run (absolute times
drift on shared machines; ratios taken side by side hold):

- per workload of the spec: ``reference / fast``, ``floor / fast`` (one vectorised read of X
  per iteration over fastgd's time) on default threads and on one, the pass the planner took,
  and the largest difference from the reference;
- what bounds them on this machine: the same read with the fused kernel's two FMAs an element
  (the arithmetic alone), without and with the row-vector pass's prefetching, and a loss's
  transcendental functions alone;
- W1's whole call against a naive fused numba loop's;
- W5 on dask (threaded and a two-worker LocalCluster) against one machine, and to least squares
  beside dask-ml;
- the scikit-learn estimator against the bare fit on W5, and on diabetes beside scikit-learn's;
- the same descent in numpy, JAX and torch (where installed), and W5 to least squares beside
  scikit-learn;
- threads on an idle machine and beside a process that keeps one core busy;
- the first fit of a width never seen, in a fresh interpreter whose cache only ``fastgd compare``
  warmed, and ``fastgd compare`` itself on an empty cache.

The workloads' widths are precompiled first (``fastgd.precompile(widths=...)``), as a program
that fits one width many times would; the width-agnostic ``rows`` pass is shown beside.
"""
import argparse
import datetime
import os
import platform
import subprocess
import sys
import tempfile
import textwrap
import time
import warnings

import numba
import numba.extending
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fastgd  # noqa: E402
from fastgd import _plan  # noqa: E402
from fastgd._kernels.elementary import logistic_parts  # noqa: E402
from fastgd._kernels.prefetch import emit_prefetch  # noqa: E402
from benchmarks.common import (LR, MANY_WORKLOADS, WORKLOADS, best_times, fit,  # noqa: E402
                               fit_by_kernel, fit_many, make_many, make_problem, precompile_for,
                               read_passes)

FMA = {"reassoc", "contract", "nsz", "arcp"}


@numba.njit(nogil=True, fastmath=FMA)
def fma_passes(flat, passes):
    """Two multiply-adds an element into two sums, once per pass: the fused kernel's arithmetic
    without its rows."""
    total = 0.0
    for _ in range(passes):
        first = flat.dtype.type(0)
        second = flat.dtype.type(0)
        for i in range(flat.size):
            first += flat[i] * flat.dtype.type(0.5)
            second += flat[i] * flat.dtype.type(0.25)
        total += first + second
    return total


@numba.extending.intrinsic
def _prefetch(typingctx, flat, i):
    """The row-vector pass's prefetch hint for the line of ``flat[i]``."""
    def codegen(context, builder, signature, args):
        array = context.make_array(signature.args[0])(context, builder, args[0])
        emit_prefetch(builder, builder.gep(array.data, [args[1]]))
        return context.get_dummy_value()
    return numba.types.none(flat, i), codegen


@numba.njit(nogil=True, fastmath=FMA)
def fma_prefetched_passes(flat, passes, ahead):
    """``fma_passes`` over float64 ``flat`` with each line prefetched ``ahead`` elements on, as
    the row-vector pass prefetches: what the arithmetic alone keeps where prefetching serves it.
    (A line's 8 elements a constant: LLVM makes them one vector.)"""
    total = 0.0
    whole = flat.size - flat.size % 8
    for _ in range(passes):
        first = 0.0
        second = 0.0
        for start in range(0, whole, 8):
            _prefetch(flat, start + ahead)
            for i in range(start, start + 8):
                first += flat[i] * 0.5
                second += flat[i] * 0.25
        for i in range(whole, flat.size):
            first += flat[i] * 0.5
            second += flat[i] * 0.25
        total += first + second
    return total


@numba.njit(nogil=True, fastmath=FMA)
def logistic_terms(z, passes):
    """The sigmoid and log1p(e^-|z|) once an element (fastgd's polynomials, vectorised), as the
    logistic loss takes them once a row."""
    total = 0.0
    for _ in range(passes):
        for i in range(z.size):
            sigmoid, tail = logistic_parts(z[i])
            total += sigmoid + tail
    return total


@numba.njit(nogil=True, fastmath=FMA)
def naive_fit(X, y, lr, iters):
    """The seed's loop fused by hand in numba: what a user would write in ten lines."""
    m, n = X.shape
    w = np.zeros(n)
    b = 0.0
    dw = np.zeros(n)
    for _ in range(iters):
        dw[:] = 0.0
        db = 0.0
        for i in range(m):
            e = b - y[i]
            for f in range(n):
                e += X[i, f] * w[f]
            for f in range(n):
                dw[f] += X[i, f] * e
            db += e
        for f in range(n):
            w[f] -= lr * dw[f] / m
        b -= lr * db / m
    return w, b


def machine():
    """The CPU's model name, cores and what numba compiles for."""
    model = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo") as handle:
            model = next(line.split(":", 1)[1].strip() for line in handle if "model name" in line)
    except (OSError, StopIteration):
        pass
    return (f"{model}, {os.cpu_count()} cores, LLVM target {_plan.compiled_cpu()}; Python "
            f"{platform.python_version()}, numba {numba.__version__}, numpy {np.__version__}")


def table(header, rows):
    def cell(value):
        if isinstance(value, float):
            return f"{value:.3g}" if value == 0 or 1e-3 <= abs(value) < 1e5 else f"{value:.1e}"
        return str(value)
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def workloads(names, repeat):
    rows = []
    for name in names:
        w = WORKLOADS[name]
        X, y = make_problem(w)
        plan = _plan.plan(X, y[:, None], fastgd._validate.linear_problem(
            X, y, lr=LR, max_iter=1, tol=0.0, w0=None, b0=None, history=False,
            loss=w.loss).loss, w.iterations, None)
        t_fast, t_one, t_rows, t_floor = best_times(
            lambda: fit(w), lambda: fit(w, n_threads=1),
            lambda: fit_by_kernel(X, y, "rows", max_iter=w.iterations, loss=w.loss),
            lambda: read_passes(X.reshape(-1), w.iterations), repeat=repeat)
        ref_options = dict(lr=LR, max_iter=w.iterations, loss=w.loss)
        t_ref = best_times(lambda: fastgd.reference.fit_linear(X, y, **ref_options),
                           repeat=max(1, repeat // 2))[0]
        fast, ref = fit(w), fastgd.reference.fit_linear(X, y, **ref_options)
        rows.append([f"{name} {w.label}", f"{w.rows} x {w.features} {w.dtype}", w.loss,
                     plan.kernel, t_ref / t_fast, t_floor / t_fast, t_floor / t_one,
                     t_floor / t_rows, float(np.max(np.abs(fast.w - ref.w)))])
        print(f"measured {name}", file=sys.stderr, flush=True)
    return table(["workload", "data", "loss", "pass", "reference / fast", "floor / fast",
                  "floor / fast, 1 thread", "floor / rows pass, 1 thread", "max abs dw"], rows)


def bounds(repeat):
    rows = []
    for name in ("W5", "W6"):
        w = WORKLOADS[name]
        X, _ = make_problem(w)
        it = w.iterations
        stream, floor = best_times(lambda: fma_passes(X.reshape(-1), it),
                                   lambda: read_passes(X.reshape(-1), it), repeat=repeat)
        rows.append([f"{name}: floor / two-FMA stream (the arithmetic alone)", floor / stream])
        ahead = _plan.streaming_distance("vectors", X.itemsize)
        if ahead is not None:
            prefetched, floor = best_times(
                lambda: fma_prefetched_passes(X.reshape(-1), it, ahead),
                lambda: read_passes(X.reshape(-1), it), repeat=repeat)
            rows.append([f"{name}: floor / two-FMA stream, prefetched as the row-vector pass "
                         f"({ahead * X.itemsize // 1024} KiB ahead)", floor / prefetched])
        # A fit of `it` updates reads X it + 1 times (its J and gradient norm are those of the
        # returned w): the difference of two fits is what one more iteration costs.
        longer, shorter, one_read = best_times(
            lambda: fit(w, n_threads=1), lambda: fit(w, n_threads=1, max_iter=0),
            lambda: read_passes(X.reshape(-1), 1), repeat=repeat)
        rows.append([f"{name}: one read / one more iteration of the one-thread fit (a fit of "
                     f"{it} updates reads X {it + 1} times)", one_read * it / (longer - shorter)])
    X, _ = make_problem(WORKLOADS["W9"])
    z = X[:, 0].copy()
    terms, floor = best_times(lambda: logistic_terms(z, 20),
                              lambda: read_passes(X.reshape(-1), 20), repeat=repeat)
    rows.append(["W9: floor / the logistic terms a row alone (exp, log1p, two divisions)",
                 floor / terms])
    # W1's arrays as a program makes them, writable (make_problem's are read-only, which costs
    # fastgd a copy of each on a small fit: the second row)
    X, y = (array.copy() for array in make_problem(WORKLOADS["W1"]))
    fast, naive = best_times(lambda: fastgd.fit_linear(X, y),
                             lambda: naive_fit(X, y, LR, 1000), repeat=repeat)
    rows.append(["W1: naive fused numba loop's call / fastgd's call", naive / fast])
    X, y = make_problem(WORKLOADS["W1"])
    fast, naive = best_times(lambda: fastgd.fit_linear(X, y),
                             lambda: naive_fit(X, y, LR, 1000), repeat=repeat)
    rows.append(["W1, read-only X and y: naive fused numba loop's call / fastgd's call",
                 naive / fast])
    return table(["what", "ratio"], rows)


def many(repeat):
    """W7 and W8: fit_linear_many on the default threads and on one, W7 against a Python loop
    over fit_linear; nanoseconds per row-iteration (grouping included for W8)."""
    rows, per_row_iteration = [], {}
    for name, w in MANY_WORKLOADS.items():
        X, y, groups = make_many(w)
        default, one = best_times(lambda: fit_many(w), lambda: fit_many(w, n_threads=1),
                                  repeat=max(1, repeat // 2), min_seconds=0)
        res = fit_many(w)
        sizes = (np.full(len(res), X.shape[1]) if groups is None
                 else np.bincount(np.searchsorted(res.keys, groups)))
        row_iterations = float(np.sum(sizes * res.n_iter))
        loop = float("nan")
        if groups is None:
            loop = best_times(lambda: [fastgd.fit_linear(X[i], y[i], lr=LR, max_iter=w.iterations)
                                       for i in range(len(X))], repeat=1, min_seconds=0)[0]
        per_row_iteration[name] = default / row_iterations
        rows.append([f"{name} {w.label}", len(res), loop / default, one / default,
                     len(res) / default, per_row_iteration[name] * 1e9])
    many_table = table(["workload", "problems", "python loop / many", "1 thread / default",
                        "problems / s", "ns per row-iteration"], rows)
    against_one = table(["many against one", "ratio"], _many_against_one(repeat))
    stages = _ragged_stages(repeat, 1.5 * per_row_iteration["W7"])
    return "\n\n".join([many_table, stages, against_one])


def _ragged_stages(repeat, target):
    """Where W8's time goes (default threads): grouping and the copy (``many._problems``),
    lr="auto" (against the same fit given its rates), the descents; beside them, the floor of
    the copy (numpy's gather of X in group order, one thread), the descents' iteration cost, and
    W8's time at ``target`` seconds a row-iteration."""
    w = MANY_WORKLOADS["W8"]
    X, y, groups = make_many(w)
    res = fit_many(w)
    order = np.argsort(groups, kind="stable")
    whole, grouping, given, gather = best_times(
        lambda: fit_many(w), lambda: fastgd.many._problems(X, y, groups),
        lambda: fit_many(w, lr=res.lr), lambda: np.take(X, order, axis=0),
        repeat=max(1, repeat // 2), min_seconds=0)
    sizes = np.bincount(np.searchsorted(res.keys, groups))
    small = float(np.sum(res.n_iter[sizes < 20]) / np.sum(res.n_iter))
    rows = [["whole fit", whole * 1e3, ""],
            ["labels, row order and the copy of X", grouping * 1e3, ""],
            ["lr='auto': Gram matrices and eigenvalues", (whole - given) * 1e3, ""],
            ["descents", (given - grouping) * 1e3,
             f"{np.sum(res.n_iter):.3g} iterations, {small:.0%} of them in groups of < 20 rows, "
             f"{(given - grouping) / np.sum(res.n_iter) * 1e9:.3g} ns an iteration"],
            ["floor of the copy: np.take of X in group order, 1 thread", gather * 1e3, ""],
            ["W8 at 1.5x W7's ns per row-iteration (issue 23's target)",
             target * float(np.sum(sizes * res.n_iter)) * 1e3,
             "less than the copy's floor alone" if target * np.sum(sizes * res.n_iter) < gather
             else ""]]
    return table(["W8 stage", "ms", "note"], rows)


def _many_against_one(repeat):
    """One problem of W5's size through fit_linear_many against fit_linear; W7 by JAX's vmap of
    a jitted descent against fit_linear_many (where JAX is installed)."""
    w = WORKLOADS["W5"]
    X, y = make_problem(w)
    single, alone = best_times(
        lambda: fastgd.fit_linear_many(X[None], y[None], lr=LR, max_iter=w.iterations),
        lambda: fastgd.fit_linear(X, y, lr=LR, max_iter=w.iterations), repeat=repeat,
        min_seconds=0)
    rows = [["W5 as one problem: fit_linear_many / fit_linear", single / alone]]
    try:
        import jax
        fit, _, convert = _jax_fit()
    except ImportError:
        return rows + [["W7: JAX vmap / fit_linear_many: JAX not installed", float("nan")]]
    many = MANY_WORKLOADS["W7"]
    Xs, ys, _ = make_many(many)
    batched = jax.jit(jax.vmap(fit.descent, in_axes=(0, 0, None, None)), static_argnums=3)
    Xj, yj = convert(np.ascontiguousarray(Xs)), convert(np.ascontiguousarray(ys))
    jax.block_until_ready(batched(Xj, yj, LR, many.iterations))
    # Both on every core: JAX's pool spins on for a while after its call, which fastgd's
    # default reads as a busy core (and then takes one thread).
    vmapped, ours = best_times(
        lambda: jax.block_until_ready(batched(Xj, yj, LR, many.iterations)),
        lambda: fit_many(many, n_threads=_plan.cores()), repeat=max(1, repeat // 2), min_seconds=0)
    return rows + [["W7: JAX vmap of a jitted descent / fit_linear_many, both on every core",
                    vmapped / ours]]


def on_dask(repeat):
    """W5's data as a dask array of 8 row chunks, 20 iterations, on dask's threaded scheduler
    and on a LocalCluster of two one-thread worker processes, against ``fastgd.fit_linear``;
    beside it, a fit to least squares by ``solver="gram"`` and by dask-ml's LinearRegression."""
    import dask
    import dask.array as da
    import distributed
    import fastgd.dask

    w = WORKLOADS["W5"]
    X, y = make_problem(w)
    chunks = w.rows // 8
    Xd, yd = da.from_array(X, chunks=(chunks, -1)), da.from_array(y, chunks=chunks)
    exact = dict(solver="gram", lr="auto", tol=1e-8, max_iter=10**6)
    one = lambda: fastgd.fit_linear(X, y, lr=LR, max_iter=w.iterations)  # noqa: E731
    on = lambda Xd, yd: fastgd.dask.fit_linear(Xd, yd, lr=LR, max_iter=w.iterations)  # noqa: E731
    fastgd.dask.fit_linear(Xd, yd, max_iter=1)
    rounds = w.iterations + 1
    rows = []

    def measure(label, Xd, yd):
        """The ratio, the time an iteration adds, and the bound that empty rounds of tasks set
        (a round of the tasks fit_linear's would run, each doing nothing)."""
        X2, Y2, _, vector_y = fastgd.dask._chunked(Xd, yd, None)
        chunks = fastgd.dask._Chunks(*dask.persist(X2, Y2), None, vector_y)
        local, on_dask, empty = best_times(one, lambda: on(Xd, yd),
                                           lambda: chunks.each(_nothing), repeat=repeat,
                                           min_seconds=0)
        rows.append([label, on_dask / local, (on_dask - local) / rounds * 1e3, empty * 1e3,
                     (local + rounds * empty) / local])

    measure("threaded scheduler", Xd, yd)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=":0",
                                  silence_logs=50) as cluster, distributed.Client(cluster) as client:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "large graph": X goes in it, once
            Xc, yc = client.persist([Xd, yd])
        distributed.wait([Xc, yc])
        fastgd.dask.fit_linear(Xc, yc, max_iter=1)
        measure("LocalCluster, 2 workers of 1 thread", Xc, yc)
        gram = best_times(lambda: fastgd.dask.fit_linear(Xc, yc, **exact), repeat=repeat,
                          min_seconds=0)[0]
    ratios = table(["W5 as 8 chunks, 20 iterations", "time / fit_linear's",
                    "ms more an iteration", "ms, a round of empty tasks",
                    "bound: (fit_linear + 21 empty rounds) / fit_linear"], rows)
    solution = fastgd.dask.fit_linear(Xd, yd, **exact)
    rows = [["fastgd.dask, solver='gram', lr='auto', tol=1e-8 (LocalCluster)", gram, 0.0]]
    try:
        from dask_ml.linear_model import LinearRegression
    except ImportError:
        rows.append(["dask-ml LinearRegression(): not installed", float("nan"), float("nan")])
    else:
        model = LinearRegression()
        start = time.perf_counter()
        model.fit(Xd, yd)
        rows.append(["dask-ml LinearRegression() (threaded; its default ADMM, C=1)",
                     time.perf_counter() - start, np.max(np.abs(model.coef_ - solution.w))])
    return ratios + "\n\n" + table(
        ["W5 to least squares", "seconds", "largest |w - w_least_squares|"], rows)


def _jax_fit():
    """Batch gradient descent as a JAX user writes it: the loop in ``lax.fori_loop``, jitted."""
    import jax
    import jax.numpy as jnp
    jax.config.update("jax_enable_x64", True)

    def fit(X, y, lr, iterations):
        m, n = X.shape

        def step(_, state):
            w, b = state
            error = X @ w + b - y
            return w - lr * (X.T @ error) / m, b - lr * jnp.mean(error)
        return jax.lax.fori_loop(0, iterations, step, (jnp.zeros(n, X.dtype), jnp.zeros((), X.dtype)))

    jitted = jax.jit(fit, static_argnums=3)

    def run(X, y, lr, iterations):
        return jax.block_until_ready(jitted(X, y, lr, iterations))
    run.descent = fit  # unjitted, for vmap
    return run, jax.__version__, lambda array: jax.device_put(array)


def _torch_fit():
    """Batch gradient descent as a torch user writes it: tensor operations in a Python loop."""
    import torch

    def run(X, y, lr, iterations):
        m, n = X.shape
        w, b = torch.zeros(n, dtype=X.dtype), torch.zeros((), dtype=X.dtype)
        with torch.no_grad():
            for _ in range(iterations):
                error = X @ w + b - y
                w -= lr * (X.T @ error) / m
                b -= lr * error.mean()
        return w, b
    return run, torch.__version__, torch.from_numpy


def peers(repeat):
    """The same batch gradient descent (squared loss, lr=0.01, fixed iterations) in numpy
    (fastgd's reference), JAX and torch, against fastgd; and W5 to least squares beside
    scikit-learn's LinearRegression. Times in ms, ratios peer / fastgd."""
    from sklearn.linear_model import LinearRegression, SGDRegressor

    available = {}
    for name, make in (("JAX", _jax_fit), ("torch", _torch_fit)):
        try:
            available[name] = make()
        except ImportError:
            pass
    rows = []
    for name in ("W3", "W5"):
        w = WORKLOADS[name]
        X, y = make_problem(w)
        runs = [lambda: fastgd.fit_linear(X, y, lr=LR, max_iter=w.iterations),
                lambda: fastgd.reference.fit_linear(X, y, lr=LR, max_iter=w.iterations)]
        for run, _, convert in available.values():
            Xp, yp = convert(np.ascontiguousarray(X)), convert(np.ascontiguousarray(y))
            run(Xp, yp, LR, w.iterations)  # compile outside the timing
            runs.append(lambda run=run, Xp=Xp, yp=yp: run(Xp, yp, LR, w.iterations))
        times = best_times(*runs, repeat=repeat, min_seconds=0)
        rows.append([f"{name} {w.label}, {w.iterations} iterations", times[0] * 1e3]
                    + [t / times[0] for t in times[1:]]
                    + [float("nan")] * (len(_PEERS) - len(times) + 1))
    w = WORKLOADS["W5"]
    X, y = make_problem(w)
    fast, exact, sgd = best_times(
        lambda: fastgd.fit_linear(X, y, lr="auto", tol=1e-8, max_iter=10**6),
        lambda: LinearRegression().fit(X, y), lambda: SGDRegressor().fit(X, y),
        repeat=max(1, repeat // 2), min_seconds=0)
    versions = ", ".join(f"{name} {version}" for name, (_, version, _) in available.items())
    missing = [name for name in ("JAX", "torch") if name not in available]
    header = ["workload", "fastgd, ms", "numpy (reference) / fastgd"] + [
        f"{name} / fastgd" for name in available] + [f"{name}: not installed" for name in missing]
    rows = [row[:3 + len(available)] + [float("nan")] * len(missing) for row in rows]
    table_rows = table(header, rows)
    exact_rows = table(["W5 to least squares", "ms", "/ fastgd"],
                       [["fastgd.fit_linear(lr='auto', tol=1e-8)", fast * 1e3, 1.0],
                        ["scikit-learn LinearRegression()", exact * 1e3, exact / fast],
                        ["scikit-learn SGDRegressor() (stochastic, not batch)", sgd * 1e3,
                         sgd / fast]])
    return f"{table_rows}\n\n{exact_rows}\n\n({versions or 'no JAX or torch'})"


_PEERS = ("numpy", "JAX", "torch")


def estimators(repeat):
    """fastgd.sklearn's GDRegressor against the bare fit_linear on W5 (the estimator's own
    cost), and on scikit-learn's diabetes data, with defaults, against LinearRegression's
    solution, beside scikit-learn's SGDRegressor and Ridge."""
    from sklearn.datasets import load_diabetes
    from sklearn.linear_model import LinearRegression, Ridge, SGDRegressor

    from fastgd.sklearn import GDRegressor

    w = WORKLOADS["W5"]
    X, y = make_problem(w)
    model = GDRegressor(lr=LR, max_iter=w.iterations, tol=0, standardize=False)
    bare, wrapped = best_times(lambda: fastgd.fit_linear(X, y, lr=LR, max_iter=w.iterations),
                               lambda: model.fit(X, y), repeat=repeat, min_seconds=0)
    rows = [["W5: GDRegressor(lr=0.01, max_iter=20, tol=0, standardize=False).fit / "
             "fit_linear", wrapped / bare, float("nan")]]
    X, y = load_diabetes(return_X_y=True)
    exact = LinearRegression().fit(X, y).coef_
    models = [("GDRegressor()", GDRegressor()), ("SGDRegressor()", SGDRegressor()),
              ("Ridge() (alpha=1: another optimum)", Ridge()),
              ("LinearRegression()", LinearRegression())]
    times = best_times(*[lambda model=model: model.fit(X, y) for _, model in models],
                       repeat=repeat)
    for (label, model), seconds in zip(models, times):
        gap = np.max(np.abs(model.coef_ - exact)) / np.max(np.abs(exact))
        rows.append([f"diabetes (442 x 10): {label}, ms", seconds * 1e3, gap])
    return table(["estimator", "ratio or ms", "largest |coef - least squares| / largest |coef|"],
                 rows)


def _nothing(*chunk):
    return None


_BUSY = "while True: pass"


def threads(repeat):
    rows = []
    cores = _plan.cores()
    for name in ("W3", "W4", "W6"):
        w = WORKLOADS[name]
        one, default = best_times(lambda: fit(w, n_threads=1), lambda: fit(w), repeat=repeat)
        busy = subprocess.Popen([sys.executable, "-c", _BUSY],
                                preexec_fn=lambda: os.sched_setaffinity(0, {cores - 1}))
        try:
            time.sleep(0.3)
            one_loaded, default_loaded = best_times(lambda: fit(w, n_threads=1), lambda: fit(w),
                                                    repeat=repeat)
        finally:
            busy.kill()
            busy.wait()
        rows.append([name, one / default, default_loaded / one_loaded])
    return table(["workload", f"idle: 1 thread / default ({cores} cores)",
                  "one core busy: default / 1 thread"], rows)


# numba imports scipy.linalg (0.16 s here) at its first compile or cache load where scipy is
# installed, to find a BLAS; fastgd's core needs neither, so these interpreters run as after
# `pip install fastgd` alone, scipy hidden (one row with it, for comparison).
WITHOUT_SCIPY = "import sys; sys.modules['scipy'] = None\n"
COMPARE = "from fastgd.cli import main; main(['compare'])"
FIRST_FIT = WITHOUT_SCIPY + textwrap.dedent("""
    import time
    import numpy as np
    rng = np.random.default_rng(0)
    X = rng.standard_normal((50_000, {n})); y = X @ rng.standard_normal({n}) + 0.5
    start = time.perf_counter()
    import fastgd
    fastgd.fit_linear(X, y, max_iter=20)
    print(time.perf_counter() - start)
""")


def first_fits(widths=(7, 23, 60, 150, 400)):
    """Fresh interpreters on an empty cache: ``fastgd compare``, then a first fit of each width
    (scipy hidden: ``WITHOUT_SCIPY``); and ``fastgd compare`` with scipy, on another."""
    rows = []
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", WITHOUT_SCIPY + COMPARE], env=env, check=True,
                       capture_output=True)
        rows.append(["`fastgd compare`, empty cache (whole process)", time.perf_counter() - start])
        for n in widths:
            out = subprocess.run([sys.executable, "-c", FIRST_FIT.format(n=n)], env=env,
                                 check=True, capture_output=True, text=True)
            rows.append([f"import fastgd + first fit, 50 000 x {n}, 20 iterations",
                         float(out.stdout)])
    with tempfile.TemporaryDirectory() as cache:
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "fastgd", "compare"],
                       env=dict(os.environ, NUMBA_CACHE_DIR=cache), check=True,
                       capture_output=True)
        rows.append(["`fastgd compare`, empty cache, scipy installed beside",
                     time.perf_counter() - start])
    return table(["fresh interpreter, cache warmed by `fastgd compare` alone", "seconds"], rows)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python asv_bench/report.py",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("workloads", nargs="*", default=list(WORKLOADS),
                        help=f"workloads (default: all of {', '.join(WORKLOADS)})")
    parser.add_argument("--repeat", type=int, default=5, help="rounds, best taken (default 5)")
    parser.add_argument("--quick", action="store_true",
                        help="only the workloads' table (no bounds, threads or first fits)")
    args = parser.parse_args(argv)
    precompile_for([WORKLOADS[name] for name in args.workloads] + list(MANY_WORKLOADS.values()))
    print(f"## {datetime.date.today().isoformat()}: {machine()}\n")
    print("Ratios taken in one run, best of "
          f"{args.repeat} rounds; floor = one vectorised read of X per iteration.\n")
    print(workloads(args.workloads, args.repeat))
    if not args.quick:
        # JAX and dask leave threads that compete for the cores: their sections come last.
        for section in (bounds, threads, lambda repeat: first_fits(), many, on_dask, estimators,
                        peers):
            print("\n" + section(args.repeat), flush=True)


if __name__ == "__main__":
    main()
