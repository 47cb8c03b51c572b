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


def test_precompile_in_a_fresh_process(tmp_path):
    code = ("import fastgd\n"
            "from fastgd._kernels import linear_rows\n"
            "print(fastgd.precompile(dtypes=['float32'], layouts=['F'], read_only=[True],"
            " widths=[3]))\n"
            "print(len(linear_rows.descend.signatures), len(linear_rows.descend_team.signatures))\n")
    env = dict(os.environ, NUMBA_NUM_THREADS="2")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    # A 1-D y runs as an (m, 1) view, so one signature serves both: one thread and the team
    # compile the column kernel and the fixed-width kernel for 3 each.
    assert out.stdout.split() == ["8", "2", "2"]
