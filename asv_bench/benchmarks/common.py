"""What asv's benchmarks and the report (``python asv_bench/report.py``) share: the spec's
workloads W1-W9, the read floor, timing in interleaved rounds, and a fit by a named kernel."""
import time
from dataclasses import dataclass
from functools import lru_cache

import numba
import numpy as np

import fastgd
from fastgd import _plan
from fastgd.linear import descend
from fastgd._validate import linear_problem

LR = 0.01


@dataclass(frozen=True)
class Workload:
    name: str
    label: str
    rows: int
    features: int
    iterations: int
    dtype: str = "float64"
    loss: str = "squared"


WORKLOADS = {
    w.name: w
    for w in [
        Workload("W1", "seed", 3, 1, 1000),
        Workload("W2", "small", 100, 1, 1000),
        Workload("W3", "in-cache", 1_000, 10, 1000),
        Workload("W4", "mid", 100_000, 10, 100),
        Workload("W5", "large", 1_000_000, 20, 20),
        Workload("W5f32", "large float32", 1_000_000, 20, 20, "float32"),
        Workload("W5huber", "large Huber", 1_000_000, 20, 20, loss="huber"),
        Workload("W6", "wide", 200_000, 100, 20),
        Workload("W9", "logistic", 1_000_000, 20, 20, loss="logistic"),
    ]
}


def random_problem(rows, features, dtype="float64", seed=0):
    """``X`` standard normal, ``y = X @ w_true + 0.5``, from ``numpy.random.default_rng(seed)``."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((rows, features))
    y = X @ rng.standard_normal(features) + 0.5
    return X.astype(dtype, copy=False), y.astype(dtype, copy=False)


@lru_cache(maxsize=2)
def make_problem(workload):
    """``(X, y)`` for a workload, read-only (cached: building W5 takes a while). W9's y is
    ``(X w_true + 0.5 + noise > 0)``."""
    if workload.name == "W1":
        X, y = np.array([[1.0], [2.0], [3.0]]), np.array([2.0, 4.0, 6.0])
    else:
        X, y = random_problem(workload.rows, workload.features, workload.dtype)
        if workload.loss == "logistic":
            noise = np.random.default_rng(1).standard_normal(workload.rows)
            y = (y + noise > 0).astype(workload.dtype)
    X.flags.writeable = y.flags.writeable = False
    return X, y


@dataclass(frozen=True)
class ManyWorkload:
    """Many problems: W7 stacked, W8 ragged (groups of ``rows`` to ``max_rows`` rows)."""

    name: str
    label: str
    problems: int
    rows: int
    features: int
    iterations: int
    max_rows: int = 0
    options: tuple = ()


MANY_WORKLOADS = {
    w.name: w
    for w in [
        ManyWorkload("W7", "many", 10_000, 50, 3, 500),
        ManyWorkload("W8", "ragged", 20_000, 5, 4, 5000, max_rows=200,
                     options=(("lr", "auto"), ("tol", 1e-6))),
    ]
}


@lru_cache(maxsize=2)
def make_many(workload):
    """``(X, y, groups)``: stacked for W7 (groups None), ragged for W8 (uniform sizes, seed 0,
    rows of a group scattered)."""
    rng = np.random.default_rng(0)
    n = workload.features
    if not workload.max_rows:
        X = rng.standard_normal((workload.problems, workload.rows, n))
        return X, X @ rng.standard_normal(n) + 0.5, None
    sizes = rng.integers(workload.rows, workload.max_rows + 1, workload.problems)
    groups = np.repeat(np.arange(workload.problems), sizes)
    rng.shuffle(groups)
    X = rng.standard_normal((len(groups), n))
    y = X @ rng.standard_normal(n) + 0.5 + 0.1 * rng.standard_normal(len(groups))
    return X, y, groups


def precompile_for(workloads):
    """Compile (or load) the per-width passes that fits of these workloads (``Workload`` or
    ``ManyWorkload``) run, as a program that fits one width many times would (writable X only:
    read-only X runs the same variant, through a writable alias)."""
    for w in workloads:
        fastgd.precompile(dtypes=[getattr(w, "dtype", "float64")], layouts=["C"],
                          read_only=[False], losses=[getattr(w, "loss", "squared")],
                          widths=[w.features])


def fit_many(workload, **options):
    """``fastgd.fit_linear_many`` on the workload's problems."""
    X, y, groups = make_many(workload)
    arguments = dict(dict(lr=LR, max_iter=workload.iterations), **dict(workload.options))
    return fastgd.fit_linear_many(X, y, groups=groups, **dict(arguments, **options))


def fit(workload, **options):
    """``fastgd.fit_linear`` on the workload's data with its loss and iterations."""
    X, y = make_problem(workload)
    arguments = dict(lr=LR, max_iter=workload.iterations, loss=workload.loss)
    return fastgd.fit_linear(X, y, **dict(arguments, **options))


def fit_by_kernel(X, y, kernel, *, threads=1, lr=LR, max_iter=1000, loss="squared",
                  history=False):
    """``fit_linear(X, y)`` by the kernel named (a row of ``fastgd._plan.KERNELS``) whatever the
    planner would choose: for setting one kernel against another."""
    problem = linear_problem(X, y, lr=lr, max_iter=max_iter, tol=0.0, w0=None, b0=None,
                             history=history, loss=loss)
    return descend(problem, _plan.plan(problem.X, problem.Y, problem.loss, max_iter, threads,
                                       kernel))


@numba.njit(nogil=True, fastmath={"reassoc", "contract", "nsz", "arcp"})
def read_passes(flat, passes):
    """The floor: sum every element of the 1-D ``flat`` once per pass (one vectorised read)."""
    total = 0.0
    for _ in range(passes):
        partial = flat.dtype.type(0)
        for i in range(flat.size):
            partial += flat[i]
        total += partial
    return total


def _calls_filling(fn, min_seconds):
    number = 1
    while True:
        start = time.perf_counter()
        for _ in range(number):
            fn()
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds:
            return number
        number *= 2 if elapsed == 0 else max(2, min(10, int(min_seconds / elapsed) + 1))


def best_times(*fns, repeat=5, min_seconds=0.02):
    """Seconds one call of each of ``fns`` takes: the best of ``repeat`` rounds, each round
    timing every function in turn, so a burst of load slows all alike and their ratios hold."""
    for fn in fns:
        fn()  # warm: compile, caches, page faults
    numbers = [_calls_filling(fn, min_seconds) for fn in fns]
    best = [float("inf")] * len(fns)
    for _ in range(repeat):
        for index, (fn, number) in enumerate(zip(fns, numbers)):
            start = time.perf_counter()
            for _ in range(number):
                fn()
            best[index] = min(best[index], (time.perf_counter() - start) / number)
    return best


# Workloads of minimize: the seeds' functions, run for a fixed number of updates (tol = 0).
_SCALES = np.linspace(1.0, 10.0, 100)


def theta_squared_gradient(theta):
    """Seed 000: J(theta) = theta^2."""
    return 2 * theta


def quadratic_gradient(x):
    """A 100-dimensional quadratic sum(d_i x_i^2), curvatures 1..10."""
    return 2 * _SCALES * x


@dataclass(frozen=True)
class DescentWorkload:
    name: str
    grad: object
    x0: object
    lr: float
    iterations: int


DESCENT_WORKLOADS = {
    w.name: w
    for w in [
        DescentWorkload("theta2", theta_squared_gradient, 3.0, 0.001, 10_000),
        DescentWorkload("quad100", quadratic_gradient, np.ones(100), 0.04, 1_000),
    ]
}
