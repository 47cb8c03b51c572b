"""The fast path against the reference, the closed form and itself."""
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import fastgd
from conftest import random_problem


def assert_same_fit(fast, ref, rtol):
    np.testing.assert_allclose(fast.w, ref.w, rtol=rtol, atol=rtol * np.abs(ref.w).max())
    np.testing.assert_allclose(fast.b, ref.b, rtol=rtol, atol=rtol * np.abs(ref.w).max())
    assert fast.n_iter == ref.n_iter
    assert fast.converged == ref.converged
    assert fast.loss == pytest.approx(ref.loss, rel=rtol)
    # float32 ends near its rounding noise, where the norm of a small gradient is noise too.
    assert fast.grad_norm == pytest.approx(ref.grad_norm, rel=rtol * 100,
                                           abs=rtol * (1 + float(np.abs(ref.w).max())))


def layouts(X):
    yield "C", np.ascontiguousarray(X)
    yield "F", np.asfortranarray(X)
    wide = np.zeros((X.shape[0] * 2, X.shape[1] * 3), X.dtype)
    wide[::2, ::3] = X
    yield "strided", wide[::2, ::3]
    yield "reversed", np.ascontiguousarray(X[::-1, ::-1])[::-1, ::-1]
    readonly = X.copy()
    readonly.flags.writeable = False
    yield "read-only", readonly


@pytest.mark.parametrize("dtype,rtol", [(np.float64, 1e-9), (np.float32, 2e-4)])
@pytest.mark.parametrize("k", [None, 3])
def test_fast_equals_reference_every_layout(dtype, rtol, k):
    X, y = random_problem(301, 7, k, dtype)
    ref = fastgd.reference.fit_linear(X, y, lr=0.05, max_iter=300, history=True)
    for name, Xl in layouts(X):
        fast = fastgd.fit_linear(Xl, y, lr=0.05, max_iter=300, history=True)
        assert fast.w.dtype == dtype, name
        assert fast.w.shape == ref.w.shape, name
        assert_same_fit(fast, ref, rtol)
        np.testing.assert_allclose(fast.history, ref.history, rtol=rtol)


def test_memory_mapped_X(tmp_path):
    X, y = random_problem(500, 4)
    path = tmp_path / "X.npy"
    np.save(path, X)
    mapped = np.load(path, mmap_mode="r")
    assert_same_fit(fastgd.fit_linear(mapped, y), fastgd.reference.fit_linear(X, y), 1e-9)


@pytest.mark.parametrize("dtype", [np.int64, np.int8, np.bool_])
def test_ints_and_bools_become_float64(dtype):
    X = np.array([[1, 0], [0, 1], [1, 1], [2, 1]]).astype(dtype)
    y = np.array([1, 2, 3, 4])
    fast = fastgd.fit_linear(X, y, lr=0.1)
    assert fast.w.dtype == np.float64
    assert_same_fit(fast, fastgd.reference.fit_linear(X, y, lr=0.1), 1e-12)


@pytest.mark.parametrize("dtype", [">f4", ">f8"])
def test_big_endian_floats_keep_their_precision(dtype):
    # A byte-swapped float32 is still float32: computed in float32, with the bits of the same
    # numbers in native order.
    X, y = random_problem(40, 3)
    swapped = fastgd.fit_linear(X.astype(dtype), y.astype(dtype), max_iter=20)
    native = fastgd.fit_linear(X.astype(dtype[1:]), y.astype(dtype[1:]), max_iter=20)
    assert swapped.w.dtype == np.dtype(dtype[1:])
    assert swapped.w.tobytes() == native.w.tobytes() and swapped.b == native.b


def test_list_input():
    fast = fastgd.fit_linear([[1.0, 2.0], [3.0, 5.0], [4.0, 4.0]], [1.0, 2.0, 3.0], lr=0.02)
    assert fast.w.shape == (2,)


@pytest.mark.parametrize("k", [None, 2])
def test_converged_fit_is_least_squares(k):
    X, y = random_problem(400, 6, k)
    fast = fastgd.fit_linear(X, y, lr=0.5, max_iter=100_000, tol=1e-12)
    assert fast.converged and fast.n_iter < 100_000
    A = np.hstack([X, np.ones((len(X), 1))])
    coef = np.linalg.lstsq(A, y, rcond=None)[0]
    np.testing.assert_allclose(fast.w, coef[:-1], rtol=0, atol=1e-10)
    np.testing.assert_allclose(fast.b, coef[-1], rtol=0, atol=1e-10)


def test_tol_stops_at_first_small_gradient_before_updating(problem):
    X, y = problem
    full = fastgd.fit_linear(X, y, lr=0.1, max_iter=500, history=True)
    grads = [fastgd.fit_linear(X, y, lr=0.1, max_iter=i).grad_norm for i in range(0, 60)]
    tol = (grads[39] + grads[40]) / 2  # norms fall monotonically: the first <= tol is iterate 40
    assert all(g > tol for g in grads[:40]) and grads[40] < tol
    stopped = fastgd.fit_linear(X, y, lr=0.1, max_iter=500, tol=tol, history=True)
    ref = fastgd.reference.fit_linear(X, y, lr=0.1, max_iter=500, tol=tol)
    assert stopped.n_iter == ref.n_iter == 40
    assert stopped.converged and stopped.grad_norm <= tol
    np.testing.assert_array_equal(stopped.history, full.history[:40])


def test_tol_zero_runs_exactly_max_iter():
    X = np.array([[1.0], [2.0]])
    y = 3 * X[:, 0]
    res = fastgd.fit_linear(X, y, w0=[3.0], b0=0.0, max_iter=7)  # starts at the optimum
    assert res.n_iter == 7 and res.grad_norm == 0 and res.converged


def test_max_iter_zero_reports_the_start(problem):
    X, y = problem
    res = fastgd.fit_linear(X, y, max_iter=0, history=True)
    assert res.n_iter == 0 and res.history.shape == (0,)
    np.testing.assert_array_equal(res.w, 0)
    assert res.loss == pytest.approx(np.mean(y**2) / 2)


@pytest.mark.parametrize("k", [None, 2])
def test_warm_start_continues_the_trajectory_exactly(k):
    X, y = random_problem(257, 5, k)
    whole = fastgd.fit_linear(X, y, lr=0.05, max_iter=60, history=True)
    first = fastgd.fit_linear(X, y, lr=0.05, max_iter=25, history=True)
    w0, b0 = first.w.copy(), np.copy(first.b)
    rest = fastgd.fit_linear(X, y, lr=0.05, max_iter=35, w0=first.w, b0=first.b, history=True)
    np.testing.assert_array_equal(rest.w, whole.w)
    np.testing.assert_array_equal(rest.b, whole.b)
    np.testing.assert_array_equal(np.concatenate([first.history, rest.history]), whole.history)
    np.testing.assert_array_equal(first.w, w0)  # the warm start was not touched
    np.testing.assert_array_equal(first.b, b0)


@pytest.mark.parametrize("fit", [fastgd.fit_linear, fastgd.reference.fit_linear])
def test_inputs_are_not_mutated(fit):
    X, y = random_problem(100, 3, 2)
    w0, b0 = np.ones((3, 2)), np.array([0.5, -0.5])
    copies = [a.copy() for a in (X, y, w0, b0)]
    fit(X, y, w0=w0, b0=b0, max_iter=50)
    for original, copy in zip((X, y, w0, b0), copies):
        np.testing.assert_array_equal(original, copy)


def test_result_is_immutable(problem):
    res = fastgd.fit_linear(*problem, max_iter=3, history=True)
    with pytest.raises(AttributeError):
        res.n_iter = 5
    with pytest.raises(ValueError, match="read-only"):
        res.w[0] = 1.0
    with pytest.raises(ValueError, match="read-only"):
        res.history[0] = 1.0
    text = repr(res)
    for field in ("w:", "b:", "n_iter: 3", "converged: False", "loss:", "grad_norm:", "history:"):
        assert field in text


def test_float32_agrees_with_float64_fit():
    X, y = random_problem(20_000, 20)
    f64 = fastgd.fit_linear(X, y, max_iter=20)
    f32 = fastgd.fit_linear(X.astype(np.float32), y.astype(np.float32), max_iter=20)
    assert f32.w.dtype == np.float32
    np.testing.assert_allclose(f32.w, f64.w, rtol=1e-5, atol=1e-6)
    assert f32.b == pytest.approx(f64.b, rel=1e-5)


THREADS_SCRIPT = textwrap.dedent("""
    import numpy as np, fastgd
    rng = np.random.default_rng(1)
    X = rng.standard_normal((300_001, 12)); y = X @ rng.standard_normal(12) + 0.5
    Y = np.c_[y, -y]
    small = X[:20_000]
    wide = rng.standard_normal((3001, 60))
    cases = [(data, target[:len(data)]) for data in (X, np.asfortranarray(X), small, wide)
             for target in (y, Y)]
    fastgd.precompile(dtypes=["float64"], layouts=["C"], read_only=[False], widths=[12, 60])
    # X streaming from memory takes the per-width pass that precompile made ready for it
    from fastgd import _plan
    from fastgd._kernels.losses import Squared
    assert _plan.plan(X, Y, Squared(), 5, 1).kernel == "vectors"
    for data, target in cases:
        fits = [fastgd.fit_linear(data, target, max_iter=5, n_threads=t) for t in (1, 2, 3, 8)]
        for fit in fits[1:]:
            assert fit.w.tobytes() == fits[0].w.tobytes(), "w differs with threads"
            assert np.asarray(fit.b).tobytes() == np.asarray(fits[0].b).tobytes(), "b differs"
            assert fit.loss == fits[0].loss
    print("same bits")
""")


def test_same_bits_whatever_the_thread_count():
    # Generic and per-width kernels (precompiled), C and Fortran order, 1-D and 2-D y.
    out = subprocess.run([sys.executable, "-c", THREADS_SCRIPT], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "same bits" in out.stdout


def test_n_threads_beyond_the_blocks_is_capped(problem):
    X, y = problem
    np.testing.assert_array_equal(fastgd.fit_linear(X, y, n_threads=10_000).w, fastgd.fit_linear(X, y).w)


def test_c_order_x_gives_the_bits_of_its_fortran_order_copy_by_the_fixed_width_kernel():
    fastgd.precompile(dtypes=["float64"], layouts=["C", "F"], read_only=[False], widths=[9])
    X, y = random_problem(777, 9, 2)
    for threads in (1, 2):
        c = fastgd.fit_linear(X, y, max_iter=30, n_threads=threads)
        f = fastgd.fit_linear(np.asfortranarray(X), y, max_iter=30, n_threads=threads)
        assert c.w.tobytes() == f.w.tobytes() and c.b.tobytes() == f.b.tobytes()


@pytest.mark.parametrize("solver", ["rows", "gram"])
def test_gradient_norm_history_is_the_reference(solver):
    rng = np.random.default_rng(11)
    X = rng.standard_normal((300, 4))
    y = X @ np.array([1.0, -1.0, 2.0, 0.5]) + 0.3
    fast = fastgd.fit_linear(X, y, lr=0.05, max_iter=150, history=True, solver=solver)
    slow = fastgd.reference.fit_linear(X, y, lr=0.05, max_iter=150, history=True)
    assert fast.grad_history.shape == fast.history.shape == (150,)
    np.testing.assert_allclose(fast.grad_history, slow.grad_history, rtol=1e-9)
    assert fast.grad_history[-1] >= fast.grad_norm  # the norm before the last update, then after
    assert fastgd.fit_linear(X, y, max_iter=5).grad_history is None
