"""The benchmark workloads W1-W6 of fastgd's spec, built one way for asv, the report and the CLI.

>>> from fastgd.workloads import WORKLOADS, make_problem
>>> X, y = make_problem(WORKLOADS["W3"])
>>> X.shape, y.shape, X.dtype
((1000, 10), (1000,), dtype('float64'))
"""
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

LR = 0.01


@dataclass(frozen=True)
class Workload:
    name: str
    label: str
    rows: int
    features: int
    iterations: int
    dtype: str = "float64"


WORKLOADS = {
    w.name: w
    for w in [
        Workload("W1", "seed", 3, 1, 1000),
        Workload("W2", "small", 100, 1, 1000),
        Workload("W3", "in-cache", 1_000, 10, 1000),
        Workload("W4", "mid", 100_000, 10, 100),
        Workload("W5", "large", 1_000_000, 20, 20),
        Workload("W5f32", "large float32", 1_000_000, 20, 20, "float32"),
        Workload("W6", "wide", 200_000, 100, 20),
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
    """``(X, y)`` for a workload (cached: building W5 takes a while). Read-only, to be shared."""
    if workload.name == "W1":
        X, y = np.array([[1.0], [2.0], [3.0]]), np.array([2.0, 4.0, 6.0])
    else:
        X, y = random_problem(workload.rows, workload.features, workload.dtype)
    X.flags.writeable = y.flags.writeable = False
    return X, y


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
