"""The fast path against the reference, the closed form and itself."""
import os
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
    assert fast.grad_norm == pytest.approx(ref.grad_norm, rel=rtol * 100)


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
    small = X[:20_000]  # in the caches: copied to Fortran order for the fixed-width kernel,
    # by the fit's threads (it is over 1 MiB)
    wide = rng.standard_normal((3001, 60))  # in the caches, row by row in vectors
    cases = [(data, target[:len(data)]) for data in (X, np.asfortranarray(X), small, wide)
             for target in (y, Y)]
    for data, target in cases:
        fits = [fastgd.fit_linear(data, target, max_iter=5, n_threads=t) for t in (1, 2, 3, 8)]
        for fit in fits[1:]:
            assert fit.w.tobytes() == fits[0].w.tobytes(), "w differs with threads"
            assert np.asarray(fit.b).tobytes() == np.asarray(fits[0].b).tobytes(), "b differs"
            assert fit.loss == fits[0].loss
    print("same bits")
""")


def test_same_bits_whatever_the_thread_count():
    env = dict(os.environ, NUMBA_NUM_THREADS="8")
    out = subprocess.run([sys.executable, "-c", THREADS_SCRIPT], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "same bits" in out.stdout


def test_n_threads_beyond_the_pool_is_capped(problem):
    X, y = problem
    np.testing.assert_array_equal(fastgd.fit_linear(X, y, n_threads=10_000).w, fastgd.fit_linear(X, y).w)


@pytest.mark.parametrize("kernel, n, dtype", [
    ("tile", 1, np.float64), ("tile", 3, np.float64), ("tile", 20, np.float64),
    ("vectors", 8, np.float64), ("vectors", 12, np.float64), ("vectors", 20, np.float64),
    ("vectors", 20, np.float32)])
def test_prefetching_variant_gives_the_same_bits(kernel, n, dtype):
    # X beyond the caches gets the variant of the tile kernel, and on some CPUs of the
    # row-vector kernel, that prefetches ahead; it must not change a bit. (float64 n = 8 and 12,
    # float32 n = 20: the row-vector kernel's steps of four rows prefetching, of eight without
    # on a CPU with AVX-512; the last block leaves 7 rows after its steps of eight: a step of
    # four, then three rows one at a time.)
    from fastgd.linear import fit_by_kernel

    X, y = random_problem(5007, n, dtype=dtype)
    for target in (y, np.c_[y, -y]):
        fits = [fit_by_kernel(X, target, kernel, ahead, threads=threads, max_iter=20)
                for threads, ahead in [(1, None), (1, 7), (2, 7)]]
        for fit in fits[1:]:
            assert fit.w.tobytes() == fits[0].w.tobytes() and fit.loss == fits[0].loss


def test_which_kernels_prefetch_and_only_x_beyond_the_caches(monkeypatch):
    from fastgd import linear
    from fastgd.linear import PREFETCH_BYTES, PREFETCH_MIN_BYTES, prefetch_distance

    big = np.empty((PREFETCH_MIN_BYTES // 16, 2))  # never touched: no memory is committed
    assert prefetch_distance(big, "tile") == PREFETCH_BYTES // 8
    assert prefetch_distance(big[:, :1], "tile") is None  # 8 MiB, in the caches
    assert prefetch_distance(np.empty((1000, 2)), "tile") is None
    for kernel in ("fixed", "column", "rows"):
        assert prefetch_distance(big, kernel) is None
    # The row-vector kernel, by the CPU numba compiles for; float32 twice as far ahead.
    monkeypatch.setattr(linear, "ROW_VECTOR_PREFETCH_CPUS", frozenset({linear.compiled_cpu()}))
    assert prefetch_distance(big, "vectors") == (1 << 13) // 8
    assert prefetch_distance(big.view(np.float32), "vectors") == (1 << 14) // 4
    assert prefetch_distance(big[:, :1], "vectors") is None
    monkeypatch.setattr(linear, "ROW_VECTOR_PREFETCH_CPUS", frozenset())
    assert prefetch_distance(big, "vectors") is None


@pytest.mark.parametrize("n", [1, 2, 5, 16, 17])
def test_fixed_width_kernel_agrees_with_the_generic_kernels(n):
    # n <= 16 goes to the fixed-width kernel (on a Fortran-order copy of C-order X), 17 does not.
    from fastgd.linear import fit_by_kernel

    X, y = random_problem(1003, n)
    ref = fastgd.reference.fit_linear(X, y, lr=0.02, max_iter=50)
    for data in (X, np.asfortranarray(X)):
        fixed = fastgd.fit_linear(data, y, lr=0.02, max_iter=50)
        generic = fit_by_kernel(data, y, "column" if data is not X else "rows", lr=0.02,
                                max_iter=50)
        assert_same_fit(fixed, ref, 1e-12)
        assert_same_fit(generic, ref, 1e-12)


@pytest.mark.parametrize("kernel, n, dtype", [
    ("tile", 1, np.float64), ("tile", 7, np.float64), ("tile", 20, np.float64),
    ("tile", 100, np.float64), ("tile", 20, np.float32), ("tile", 33, np.float32),
    # a multiple of the row-vector kernel's lanes (8 float64, 16 float32) or not: then the
    # last vector of a row overlaps the one before it
    ("vectors", 8, np.float64), ("vectors", 13, np.float64), ("vectors", 20, np.float64),
    ("vectors", 100, np.float64), ("vectors", 16, np.float32), ("vectors", 33, np.float32)])
def test_vector_kernels_agree_with_the_reference(kernel, n, dtype):
    # 1003 rows: two blocks for n = 20, and rows after the tile kernel's last whole group of 8
    # or 16. One output reads y's column as a vector, three read each column with a stride.
    from fastgd.linear import fit_by_kernel

    for k in (None, 3):
        X, y = random_problem(1003, n, k, dtype)
        ref = fastgd.reference.fit_linear(X.astype(np.float64), y.astype(np.float64), lr=0.02,
                                          max_iter=30)
        fit = fit_by_kernel(X, y, kernel, lr=0.02, max_iter=30)
        assert fit.w.dtype == dtype
        assert_same_fit(fit, ref, 1e-12 if dtype == np.float64 else 1e-5)


@pytest.mark.parametrize("bad", [np.inf, np.nan])
def test_row_vector_kernel_finds_a_non_finite_x_in_the_overlap(bad):
    # fit_linear leaves X's check to the first pass. With 60 features the last vector of a row
    # (features 52-59) overlaps the one before it on features 52-55, zero in w there.
    from fastgd.linear import choose_kernel

    X, y = random_problem(64, 60)
    X[5, 53] = bad
    assert choose_kernel(X)[0] == "vectors"
    with pytest.raises(ValueError, match=rf"X must be finite, got {bad} at index \(5, 53\)"):
        fastgd.fit_linear(X, y, max_iter=3)


VECTOR_BITS_SCRIPT = textwrap.dedent("""
    import numpy as np
    from fastgd.linear import fit_by_kernel
    rng = np.random.default_rng(3)
    for kernel, dtype, n in (("tile", np.float64, 20), ("tile", np.float32, 3),
                             ("vectors", np.float64, 12), ("vectors", np.float64, 20),
                             ("vectors", np.float64, 100), ("vectors", np.float32, 20)):
        X = rng.standard_normal((61, n)).astype(dtype)
        y = rng.standard_normal(61).astype(dtype)
        fit = fit_by_kernel(X, y, kernel, lr=0.01, max_iter=7)
        print(fit.w.tobytes().hex(), np.asarray(fit.b).tobytes().hex())
""")


def test_vector_kernels_give_the_same_bits_on_any_vector_width(tmp_path):
    # The tile and row-vector kernels work in vectors of 64 bytes whatever the CPU: a CPU
    # without AVX-512 holds each in several registers (and the row-vector kernel takes rows of
    # one or two vectors four at a time, not eight). Compiled for x86-64 without AVX (16-byte
    # registers) in a fresh process, they must give this process's bits.
    env = dict(os.environ, NUMBA_CPU_NAME="generic", NUMBA_CACHE_DIR=str(tmp_path))
    out = subprocess.run([sys.executable, "-c", VECTOR_BITS_SCRIPT], env=env,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    here = subprocess.run([sys.executable, "-c", VECTOR_BITS_SCRIPT], capture_output=True,
                          text=True)
    assert out.stdout.split() == here.stdout.split() and len(out.stdout.split()) == 12


def test_which_x_gets_the_tile_or_the_row_vector_kernel():
    from fastgd.linear import (PREFETCH_BYTES, PREFETCH_MIN_BYTES, ROW_VECTOR_PREFETCH_CPUS,
                               TILE_MAX_FEATURES, VECTORS_MAX_FEATURES,
                               VECTORS_MIN_FEATURES_IN_CACHE, choose_kernel, compiled_cpu)

    def large(n, dtype=np.float64):  # never touched: no memory is committed
        return np.empty((PREFETCH_MIN_BYTES // (n * np.dtype(dtype).itemsize) + 1, n), dtype)

    # In the caches: the tile kernel up to a width, the row-vector kernel from it.
    assert choose_kernel(np.empty((1000, 20))) == ("tile", None)
    assert choose_kernel(np.empty((1000, VECTORS_MIN_FEATURES_IN_CACHE - 1))) == ("tile", None)
    assert choose_kernel(np.empty((1000, VECTORS_MIN_FEATURES_IN_CACHE))) == ("vectors", None)
    assert choose_kernel(np.empty((1000, TILE_MAX_FEATURES), np.float32)) == ("vectors", None)
    assert choose_kernel(np.empty((1000, TILE_MAX_FEATURES + 1))) == ("rows", None)
    assert choose_kernel(np.empty((1000, 20), order="F")) == ("column", None)
    assert choose_kernel(np.empty((1000, 40))[:, ::2]) == ("rows", None)  # strided
    assert choose_kernel(np.empty((1000, 5))) == ("fixed", None)  # copied to Fortran order
    # Beyond the caches: the row-vector kernel from a vector's worth of features (8 float64,
    # 16 float32), prefetching on the CPUs that gain by it; the tile kernel, prefetching, below
    # it.
    prefetching = compiled_cpu() in ROW_VECTOR_PREFETCH_CPUS
    for n in (8, 20, VECTORS_MAX_FEATURES):
        assert choose_kernel(large(n)) == ("vectors", (1 << 13) // 8 if prefetching else None)
    assert choose_kernel(large(16, np.float32)) == ("vectors",
                                                    (1 << 14) // 4 if prefetching else None)
    assert choose_kernel(large(VECTORS_MAX_FEATURES + 1)) == ("rows", None)
    assert choose_kernel(large(7)) == ("tile", PREFETCH_BYTES // 8)
    assert choose_kernel(large(15, np.float32)) == ("tile", PREFETCH_BYTES // 4)


def test_c_order_x_in_the_caches_gives_the_bits_of_its_fortran_order_copy():
    X, y = random_problem(777, 9, 2)
    for threads in (1, 2):
        c = fastgd.fit_linear(X, y, max_iter=30, n_threads=threads)
        f = fastgd.fit_linear(np.asfortranarray(X), y, max_iter=30, n_threads=threads)
        assert c.w.tobytes() == f.w.tobytes() and c.b.tobytes() == f.b.tobytes()


def test_which_x_gets_the_fixed_width_kernel():
    from fastgd.linear import COLUMN_COPY_MAX_BYTES, FIXED_WIDTH_MAX, fixed_width

    rows = COLUMN_COPY_MAX_BYTES // (8 * FIXED_WIDTH_MAX)  # never touched: no memory committed
    assert fixed_width(np.empty((1000, FIXED_WIDTH_MAX)))
    assert fixed_width(np.empty((1000, 2 * FIXED_WIDTH_MAX))[:, ::2])  # strided, small: copied
    assert not fixed_width(np.empty((1000, FIXED_WIDTH_MAX + 1)))
    assert not fixed_width(np.empty((rows, FIXED_WIDTH_MAX)))  # too large to copy
    assert fixed_width(np.empty((rows, FIXED_WIDTH_MAX), order="F"))  # its columns, in place
