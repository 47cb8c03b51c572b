"""The Gram-matrix solver against the row kernel, and precompile()."""
import os
import subprocess
import sys

import numpy as np
import pytest

import fastgd
from conftest import random_problem


@pytest.mark.parametrize("k", [None, 3])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_gram_follows_the_row_trajectory(k, dtype):
    X, y = random_problem(3000, 8, k, dtype)
    rows = fastgd.fit_linear(X, y, lr=0.05, max_iter=1000, history=True)
    gram = fastgd.fit_linear(X, y, lr=0.05, max_iter=1000, history=True, solver="gram")
    rtol = 1e-9 if dtype == np.float64 else 1e-4
    assert gram.w.dtype == dtype and gram.n_iter == rows.n_iter
    np.testing.assert_allclose(gram.w, rows.w, rtol=rtol, atol=rtol * np.abs(rows.w).max())
    np.testing.assert_allclose(gram.b, rows.b, rtol=rtol)
    np.testing.assert_allclose(gram.history[:100], rows.history[:100], rtol=rtol)
    if dtype == np.float64:  # gram works in float64: in float32 it goes below the rows' noise
        assert gram.grad_norm == pytest.approx(rows.grad_norm, rel=1e-6)


def test_gram_tol_warm_start_and_divergence():
    X, y = random_problem(500, 4)
    rows = fastgd.fit_linear(X, y, lr=0.1, max_iter=10_000, tol=1e-6, w0=np.ones(4), b0=2.0)
    gram = fastgd.fit_linear(X, y, lr=0.1, max_iter=10_000, tol=1e-6, w0=np.ones(4), b0=2.0, solver="gram")
    assert gram.converged and gram.n_iter == rows.n_iter
    with pytest.raises(fastgd.DivergenceError, match="a stable learning rate"):
        fastgd.fit_linear(X, y, lr=5.0, solver="gram")
    with pytest.raises(ValueError, match=r"X must be finite"):
        fastgd.fit_linear(np.full((3, 1), np.nan), np.ones(3), solver="gram")


def test_bad_solver():
    with pytest.raises(ValueError, match=r"solver must be one of 'rows', 'gram', got 'qr'"):
        fastgd.fit_linear([[1.0]], [1.0], solver="qr")


def test_gram_takes_squared_loss_without_penalties():
    with pytest.raises(ValueError, match="solver='gram' fits squared loss without penalties"):
        fastgd.fit_linear([[1.0], [2.0]], [0.0, 1.0], solver="gram", loss="logistic")


PRECOMPILED = """
import numpy as np, fastgd
from fastgd import _plan
from fastgd._kernels import drivers
print(fastgd.precompile(dtypes=['float32'], layouts=['F'], read_only=[True], widths=[3]))
before = len(drivers.descend.signatures)
X = np.asfortranarray(np.random.default_rng(0).standard_normal((50, 3)).astype(np.float32))
X.flags.writeable = False
for kernel in ("fixed", "columns"):
    y = X.sum(axis=1)
    p = fastgd._validate.linear_problem(X, y, lr=0.1, max_iter=3, tol=0.0, w0=None, b0=None,
                                        history=False)
    fastgd.linear.descend(p, _plan.plan(p.X, p.Y, p.loss, 3, 1, kernel))
plan = _plan.plan(X, p.Y, p.loss, 3, 1)
print(before, len(drivers.descend.signatures), plan.kernel, plan.alone)
"""


def test_precompile_in_a_fresh_process(tmp_path):
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path))
    out = subprocess.run([sys.executable, "-c", PRECOMPILED], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    # The columns kernel and the fixed-width kernel for 3 features, each for a 1-D and a 2-D y
    # (a 1-D y is an (m, 1) view: one variant serves both), and the fixed-width kernel's variant
    # alone (one thread, one block, one output); read-only X read through a writable alias.
    # Afterwards the fits compile nothing more, and the planner takes the fixed kernel alone.
    assert out.stdout.split() == ["4", "3", "3", "fixed", "True"]


@pytest.mark.parametrize("arguments, exception, pattern", [
    (dict(widths=[0]), ValueError, r"widths must hold positive integers, got 0"),
    (dict(widths=[2.5]), TypeError, r"widths must hold positive integers, got 2.5"),
    (dict(layouts=["X"]), ValueError, r"layouts must be drawn from \['C', 'F', 'strided'\], got 'X'"),
    (dict(dtypes=["float16"]), ValueError, r"dtypes must be drawn from .*got 'float16'"),
    (dict(losses=["hinge"]), ValueError, r"losses must be drawn from"),
])
def test_precompile_refuses_bad_arguments_before_any_work(arguments, exception, pattern):
    with pytest.raises(exception, match=pattern):
        fastgd.precompile(**arguments)


def test_gram_is_not_fooled_by_cancellation_at_the_optimum():
    # Warm-started at the optimum of y with a large offset, J is a difference of huge sums.
    false_alarms = 0
    for seed in range(40):
        rng = np.random.default_rng(seed)
        X = rng.standard_normal((1000, 2))
        y = X @ [1.0, 2.0] + 1e4
        fit = fastgd.fit_linear(X, y, w0=[1.0, 2.0], b0=1e4, lr=0.1, max_iter=200, solver="gram")
        false_alarms += fit.loss < 0
    assert false_alarms == 0
    rng = np.random.default_rng(0)
    X = rng.standard_normal((500, 3))
    cold = fastgd.fit_linear(X, X @ [1.0, -1.0, 2.0] + 1e8, lr=0.5, max_iter=2000, solver="gram")
    assert cold.loss >= 0
