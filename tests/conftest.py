import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

# Compiling a new signature takes a second or two; hypothesis must not count that as slowness.
settings.register_profile(
    "fastgd", deadline=None, max_examples=40, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("ci", parent=settings.get_profile("fastgd"), derandomize=True)
settings.load_profile("ci" if os.environ.get("CI") else "fastgd")


def random_problem(m, n, k=None, dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((m, n))
    W = rng.standard_normal((n, k or 1))
    Y = X @ W + 0.5 + 0.1 * rng.standard_normal((m, k or 1))
    y = Y[:, 0] if k is None else Y
    return X.astype(dtype), y.astype(dtype)


@pytest.fixture
def problem():
    return random_problem(200, 5)


def fit_by_kernel(X, y, kernel, *, threads=1, **options):
    """``fastgd.fit_linear(X, y, **options)`` by the kernel named (a row of
    ``fastgd._plan.KERNELS``) whatever the planner would choose."""
    from fastgd import _plan
    from fastgd._validate import linear_problem
    from fastgd.linear import descend, with_lr

    options = dict(dict(lr=0.01, max_iter=1000, tol=0.0, w0=None, b0=None, history=False), **options)
    problem = with_lr(linear_problem(X, y, **options))
    return descend(problem, _plan.plan(problem.X, problem.Y, problem.loss, problem.max_iter,
                                       threads, kernel))


def labels_for(y):
    """0/1 labels from a regression target: logistic problems with both classes."""
    return (y > np.median(y, axis=0)).astype(y.dtype)
