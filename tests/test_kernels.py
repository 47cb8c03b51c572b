"""Every pass of the planner's table (``fastgd._plan.KERNELS``) against the reference, for every
loss it computes; and which X the planner sends to which pass."""
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import fastgd
from fastgd import _plan, _tuning
from fastgd._kernels.losses import make
from conftest import fit_by_kernel, labels_for, random_problem
from fastgd._validate import linear_problem
from fastgd.linear import descend, standardized, with_lr

LOSSES = ("squared", "huber", "logistic")
#: Widths that each pass is tried on: below, at and above a vector of lanes, and a row's
#: last vector overlapping the one before it (13, 33).
WIDTHS = {"fixed": (1, 2, 5, 16), "vectors": (8, 13, 20, 100), "tile": (1, 7, 20, 33),
          "columns": (1, 5, 30), "rows": (1, 3, 20, 130)}


def cases():
    for kernel in _plan.KERNELS:
        for loss in LOSSES:
            if not kernel.computes(make(loss, 1.0)):
                continue
            for n in WIDTHS[kernel.name]:
                for dtype in (np.float64, np.float32):
                    if kernel.name == "vectors" and dtype == np.float32 and n < 16:
                        n = 16  # a vector's worth of float32 lanes
                    yield pytest.param(kernel.name, loss, n, dtype,
                                       id=f"{kernel.name}-{loss}-{n}-{np.dtype(dtype).name}")


def data_for(kernel, X):
    return np.asfortranarray(X) if kernel == "columns" else X


@pytest.mark.parametrize("kernel, loss, n, dtype", list(cases()))
def test_every_kernel_agrees_with_the_reference(kernel, loss, n, dtype):
    # 1003 rows: two blocks or more, and rows after the tile kernel's last whole group; one
    # output reads y's column as a vector, three read each column with a stride.
    rtol = 1e-12 if dtype == np.float64 else 2e-5
    for k in (None, 3):
        X, y = random_problem(1003, n, k, dtype)
        if loss == "logistic":
            y = labels_for(y)
        options = dict(lr=0.02, max_iter=30, loss=loss, delta=0.8, history=True)
        ref = fastgd.reference.fit_linear(X.astype(np.float64), y.astype(np.float64), **options)
        fit = fit_by_kernel(data_for(kernel, X), y, kernel, **options)
        assert fit.w.dtype == dtype and fit.n_iter == ref.n_iter == 30
        scale = np.abs(ref.w).max()
        np.testing.assert_allclose(fit.w, ref.w, rtol=rtol, atol=rtol * scale)
        np.testing.assert_allclose(fit.b, ref.b, rtol=rtol, atol=rtol * scale)
        np.testing.assert_allclose(fit.history, ref.history, rtol=rtol)
        assert fit.loss == pytest.approx(ref.loss, rel=rtol)


@pytest.mark.parametrize("kernel, options, what", [
    ("vectors", dict(sample_weight=np.ones(100)), "weighted"),
    ("tile", dict(loss="huber"), "huber"), ("tile", dict(loss="logistic"), "logistic")])
def test_kernels_refuse_the_losses_they_lack(kernel, options, what):
    X, y = random_problem(100, 20)
    if options.get("loss") == "logistic":
        y = labels_for(y)
    with pytest.raises(Exception, match=f"pass does not compute {what} loss"):
        fit_by_kernel(X, y, kernel, max_iter=1, **options)


@pytest.mark.parametrize("kernel, n, dtype", [
    ("tile", 1, np.float64), ("tile", 20, np.float64),
    ("vectors", 8, np.float64), ("vectors", 12, np.float64), ("vectors", 20, np.float32)])
def test_prefetching_variant_gives_the_same_bits(kernel, n, dtype, monkeypatch):
    # X beyond the caches gets the variant that prefetches ahead (the tile kernel, and the
    # row-vector kernel on some CPUs); it must not change a bit. 5007 rows leave 7 after the
    # row-vector kernel's steps of eight: a step of four, then three rows one at a time.
    X, y = random_problem(5007, n, dtype=dtype)
    for target in (y, np.c_[y, -y]):
        plain = fit_by_kernel(X, target, kernel, max_iter=20)
        monkeypatch.setattr(_tuning, "PREFETCH_MIN_BYTES", 0)
        monkeypatch.setattr(_tuning, "ROW_VECTOR_PREFETCH_CPUS", frozenset({_plan.compiled_cpu()}))
        assert _plan.prefetch_distance(X, kernel) is not None
        for threads in (1, 2):
            fit = fit_by_kernel(X, target, kernel, threads=threads, max_iter=20)
            assert fit.w.tobytes() == plain.w.tobytes() and fit.loss == plain.loss
        monkeypatch.undo()


@pytest.mark.parametrize("n, dtype, loss", [
    (50, np.float64, "squared"), (100, np.float64, "squared"), (100, np.float64, "huber"),
    (112, np.float64, "squared"), (100, np.float32, "squared"), (200, np.float32, "squared")])
def test_rows_read_as_whole_lines_give_the_bits_of_x_read_in_place(n, dtype, loss, monkeypatch):
    # From memory, on AVX-512, rows of LINES_MIN_VECTORS vectors or more are read as the lines they
    # span and realigned in registers: wherever X starts in a line, its first row or its last,
    # and if it is not aligned to its items at all (read in place then), the bits are those
    # of the pass that reads X in place in the caches.
    X, y = random_problem(1001, n, dtype=dtype)
    plain = fit_by_kernel(X, y, "vectors", max_iter=20, loss=loss)
    monkeypatch.setattr(_tuning, "PREFETCH_MIN_BYTES", 0)
    monkeypatch.setattr(_tuning, "ROW_VECTOR_PREFETCH_CPUS", frozenset({_plan.compiled_cpu()}))
    buffer = np.empty(X.nbytes + 128, np.uint8)
    first = -buffer.ctypes.data % 64  # the buffer's first byte on a line
    for offset in [*range(0, 64, X.itemsize), 3]:
        at = first + offset
        moved = buffer[at:at + X.nbytes].view(dtype).reshape(X.shape)
        moved[...] = X
        assert moved.flags.aligned == (offset != 3)
        fit = fit_by_kernel(moved, y, "vectors", max_iter=20, loss=loss)
        assert fit.w.tobytes() == plain.w.tobytes() and fit.loss == plain.loss


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("n, dtype", [(1, np.float64), (5, np.float32), (16, np.float64)])
def test_alone_variant_gives_the_bits_of_the_team_variant(loss, n, dtype):
    # One thread, one block, one output: the descent runs on its state in registers
    # (``Plan.alone``); the same plan without it runs the team's variant. A callback cuts the
    # descent into calls of 1000 updates, each resuming the update the last one left pending.
    X, y = random_problem(50, n, dtype=dtype)
    if loss == "logistic":
        y = labels_for(y)
    for options in (dict(max_iter=300), dict(max_iter=300, l1=0.01, l2=0.1, history=True),
                    dict(lr="auto", max_iter=5000, callback=lambda info: False),  # 5 calls
                    dict(max_iter=300, standardize=True, w0=np.full(n, 0.5), b0=1.0)):
        options = dict(dict(lr=0.01, tol=0.0, w0=None, b0=None, history=False, loss=loss),
                       **options)
        standardize = options.pop("standardize", False)
        problem = linear_problem(X, y, **options)
        if standardize:
            standardized(problem)
        plan = _plan.plan(problem.X, problem.Y, problem.loss, problem.max_iter, 1, "fixed")
        assert plan.alone
        alone = descend(with_lr(problem), plan)
        # the descent updated the problem's start in place: start the team where alone began
        problem.W0[...] = 0.0 if options["w0"] is None else options["w0"][:, None]
        problem.b0[...] = options["b0"] or 0.0
        team = descend(problem, _plan.plan(problem.X, problem.Y, problem.loss, problem.max_iter,
                                           1, "fixed", alone=False))
        assert alone.w.tobytes() == team.w.tobytes() and alone.b == team.b
        assert alone.n_iter == team.n_iter and alone.loss == team.loss
        if options.get("history"):
            assert alone.history.tobytes() == team.history.tobytes()
    if loss == "logistic":
        return  # its gradient is bounded: it does not blow up
    # A divergence carries the state before the last update, written from the stack.
    problem = linear_problem(X, y, lr=50.0, max_iter=100, tol=0.0, w0=None, b0=None,
                             history=False, loss=loss)
    errors = []
    for alone in (True, False):
        problem.W0[...], problem.b0[...] = 0.0, 0.0
        plan = _plan.plan(problem.X, problem.Y, problem.loss, problem.max_iter, 1, "fixed",
                          alone=alone)
        assert plan.alone == alone
        with pytest.raises(fastgd.DivergenceError) as caught:
            descend(problem, plan)
        errors.append(caught.value)
    assert errors[0].iteration == errors[1].iteration
    assert errors[0].w.tobytes() == errors[1].w.tobytes() and errors[0].b == errors[1].b


VECTOR_BITS_SCRIPT = textwrap.dedent("""
    import sys, numpy as np
    sys.path.insert(0, sys.argv[1])
    from conftest import fit_by_kernel
    rng = np.random.default_rng(3)
    for kernel, dtype, n in (("tile", np.float64, 20), ("tile", np.float32, 3),
                             ("vectors", np.float64, 12), ("vectors", np.float64, 100),
                             ("vectors", np.float32, 20)):
        X = rng.standard_normal((61, n)).astype(dtype)
        y = rng.standard_normal(61).astype(dtype)
        fit = fit_by_kernel(X, y, kernel, lr=0.01, max_iter=7)
        print(fit.w.tobytes().hex(), np.asarray(fit.b).tobytes().hex())
""")


def test_vector_kernels_give_the_same_bits_on_any_vector_width(tmp_path):
    # The tile and row-vector kernels work in vectors of 64 bytes whatever the CPU: compiled
    # for x86-64 without AVX (16-byte registers) in a fresh process, they give this one's bits.
    here = os.path.dirname(__file__)
    env = dict(os.environ, NUMBA_CPU_NAME="generic", NUMBA_CACHE_DIR=str(tmp_path))
    generic = subprocess.run([sys.executable, "-c", VECTOR_BITS_SCRIPT, here], env=env,
                             capture_output=True, text=True)
    assert generic.returncode == 0, generic.stderr
    native = subprocess.run([sys.executable, "-c", VECTOR_BITS_SCRIPT, here],
                            capture_output=True, text=True)
    assert generic.stdout.split() == native.stdout.split() and len(native.stdout.split()) == 10


@pytest.mark.parametrize("bad, shown", [(np.inf, "inf"), (np.nan, "NaN")])
def test_row_vector_kernel_finds_a_non_finite_x_in_the_overlap(bad, shown):
    # With 60 features a row's last vector (52-59) overlaps the one before it on 52-55.
    X, y = random_problem(64, 60)
    X[5, 53] = bad
    with pytest.raises(ValueError, match=rf"X must be finite, got {shown} at index \(5, 53\)"):
        fit_by_kernel(X, y, "vectors", max_iter=3)


def _choose(X, loss="squared", ready=(), max_iter=10, monkeypatch=None):
    from fastgd._kernels.losses import make
    y = np.zeros((X.shape[0], 1), X.dtype)
    monkeypatch.setattr(_plan, "_available", lambda kernel, *args, **kw: kernel in ready)
    monkeypatch.setattr(_plan, "_chosen", {})  # not what earlier fits memoised
    return _plan.choose(X, y, make(loss, 1.0), max_iter)


def test_per_width_kernels_only_where_compiled(monkeypatch):
    # A width that no compiled kernel serves runs at once on the width-agnostic passes.
    small, wide = np.empty((1000, 5)), np.empty((1000, 60))
    assert _choose(small, monkeypatch=monkeypatch) == "rows"
    assert _choose(np.asfortranarray(small), monkeypatch=monkeypatch) == "columns"
    assert _choose(small, ready={"fixed"}, monkeypatch=monkeypatch) == "fixed"
    assert _choose(wide, ready={"tile", "vectors"}, monkeypatch=monkeypatch) == "vectors"
    assert _choose(np.empty((1000, 20)), ready={"tile", "vectors"}, monkeypatch=monkeypatch) == "tile"
    # Losses a kernel lacks go to one that has them.
    assert _choose(np.empty((1000, 20)), "logistic", ready={"tile", "vectors"},
                   monkeypatch=monkeypatch) == "rows"
    assert _choose(wide, "logistic", ready={"tile", "vectors"}, monkeypatch=monkeypatch) == "vectors"
    assert _choose(small, "huber", ready={"fixed"}, monkeypatch=monkeypatch) == "fixed"
    assert _choose(np.empty((1000, 40))[:, ::2], ready={"fixed", "tile", "vectors"},
                   monkeypatch=monkeypatch) == "rows"  # strided, 20 features


def test_a_fit_large_enough_compiles_the_kernel_it_lacks_and_says_so(monkeypatch, capsys):
    X = np.empty((1000, 5))
    big = _plan.COMPILE_PAYS_ELEMENT_UPDATES // X.size
    assert _choose(X, max_iter=big, monkeypatch=monkeypatch) == "fixed"
    assert "compiling the fixed kernel for 5 features" in capsys.readouterr().err


def test_which_x_each_per_width_kernel_reads():
    def large(n, dtype=np.float64):  # never touched: no memory is committed
        return np.empty((_tuning.PREFETCH_MIN_BYTES // (n * np.dtype(dtype).itemsize) + 1, n), dtype)

    takes = {kernel.name: kernel.takes for kernel in _plan.KERNELS}
    assert takes["fixed"](np.empty((1000, 16))) and not takes["fixed"](np.empty((1000, 17)))
    assert takes["fixed"](np.empty((1000, 32))[:, ::2])  # strided, small: copied
    assert not takes["fixed"](large(16)) and takes["fixed"](np.asfortranarray(large(16)[:2]))
    assert takes["vectors"](large(8)) and not takes["vectors"](large(7))
    assert not takes["vectors"](np.empty((1000, 20)))  # in the caches: the tile kernel's
    assert takes["vectors"](np.empty((1000, _tuning.VECTORS_MIN_FEATURES_IN_CACHE)))
    assert not takes["vectors"](large(_tuning.VECTORS_MAX_FEATURES + 1))
    assert takes["tile"](np.empty((10, 128))) and not takes["tile"](np.empty((10, 129)))
    assert takes["columns"](np.empty((10, 3), order="F")) and not takes["columns"](np.empty((10, 3)))


def test_which_kernels_prefetch_and_only_x_beyond_the_caches(monkeypatch):
    big = np.empty((_tuning.PREFETCH_MIN_BYTES // 16, 2))  # never touched
    assert _plan.prefetch_distance(big, "tile") == _tuning.PREFETCH_BYTES // 8
    assert _plan.prefetch_distance(big[:, :1], "tile") is None  # 8 MiB, in the caches
    for kernel in ("fixed", "columns", "rows"):
        assert _plan.prefetch_distance(big, kernel) is None
    monkeypatch.setattr(_tuning, "ROW_VECTOR_PREFETCH_CPUS", frozenset({_plan.compiled_cpu()}))
    assert _plan.prefetch_distance(big, "vectors") == (1 << 13) // 8
    assert _plan.prefetch_distance(big.view(np.float32), "vectors") == (1 << 14) // 4
    # the logistic loss's steps of eight rows prefetch further; the others as the squared
    assert _plan.prefetch_distance(big, "vectors", make("logistic", 1.0)) == (1 << 14) // 8
    assert _plan.prefetch_distance(big, "vectors", make("huber", 1.0)) == (1 << 13) // 8
    plan = _plan.plan(big[:, :1].repeat(8, axis=1), np.zeros((len(big), 1)), make("logistic", 1.0),
                      1, 1, "vectors")
    assert plan.spec.ahead == (1 << 14) // 8
    monkeypatch.setattr(_tuning, "ROW_VECTOR_PREFETCH_CPUS", frozenset())
    assert _plan.prefetch_distance(big, "vectors") is None


def test_blocks_are_cut_by_the_shape_alone():
    assert _plan.block_rows(1_000, 10) == 512  # two blocks, whole groups of 16 rows
    assert _plan.block_rows(100, 10) == 112  # one block: two would hold under 64 rows each
    assert _plan.block_rows(60, 10) == 64
    assert _plan.block_rows(129, 10) == 80  # two blocks
    assert _plan.block_rows(1_000_000, 10) == 1632  # 2^14 elements
    assert _plan.block_rows(1_000_000, 200) == 80  # 16384 // 200, down to 16 rows


def test_read_only_x_is_read_through_a_writable_alias_without_a_copy():
    X, y = random_problem(300, 4)
    frozen = X.copy()
    frozen.flags.writeable = False
    alias = _plan.writable_alias(frozen)
    assert alias.flags.writeable and np.shares_memory(alias, frozen)
    reversed_view = frozen[::-1, ::-2]
    np.testing.assert_array_equal(_plan.writable_alias(reversed_view), reversed_view)
    fit = fastgd.fit_linear(frozen, y, max_iter=20)
    assert fit.w.tobytes() == fastgd.fit_linear(X, y, max_iter=20).w.tobytes()
    assert not frozen.flags.writeable
    # up to ALIAS_MIN_BYTES, a copy (cheaper than the alias), in the same memory order
    small = np.asfortranarray(X[:100])
    small.flags.writeable = False
    assert small.nbytes <= _tuning.ALIAS_MIN_BYTES
    copy = _plan.writable_alias(small)
    assert copy.flags.writeable and copy.flags.f_contiguous and not np.shares_memory(copy, small)
    np.testing.assert_array_equal(copy, small)
