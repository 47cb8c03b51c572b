"""fit_linear_many: every input form, each problem equal to fit_linear on it alone bit for bit,
its own stop, failures reported per problem, and bad input."""
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import fastgd
from conftest import labels_for

FIELDS = ("n_iter", "loss", "grad_norm")


def assert_equals_fit_linear(res, problems, **options):
    assert len(res) == len(problems)
    for i, (X, y) in enumerate(problems):
        alone = fastgd.fit_linear(X, y, **options)
        assert res[i].w.tobytes() == alone.w.tobytes(), i
        assert res[i].b == alone.b and res.b[i] == alone.b, i
        for field in FIELDS:
            assert getattr(res[i], field) == getattr(alone, field), (i, field)
        assert res.converged[i] == alone.converged


def stacked(P, m, n, dtype, seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((P, m, n)).astype(dtype)
    y = (X @ rng.standard_normal(n).astype(dtype) + 0.5
         + 0.1 * rng.standard_normal((P, m))).astype(dtype)
    return X, y


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("loss", ["squared", "huber", "logistic"])
@pytest.mark.parametrize("threads", [1, 2])
def test_stacked_problems_equal_fit_linear_bit_for_bit(dtype, loss, threads):
    X, y = stacked(23, 40, 3, dtype, seed=threads)
    if loss == "logistic":
        y = labels_for(y.T).T
    options = dict(lr=0.05, max_iter=200, loss=loss, l2=0.01)
    res = fastgd.fit_linear_many(X, y, n_threads=threads, **options)
    assert res.w.dtype == dtype and res.w.shape == (23, 3) and (res.status == 0).all()
    assert_equals_fit_linear(res, list(zip(X, y)), **options)
    assert res.keys.tolist() == list(range(23))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_shared_x_is_one_problem_per_column_of_y(dtype):
    rng = np.random.default_rng(4)
    X = rng.standard_normal((120, 4)).astype(dtype)
    Y = (X @ rng.standard_normal((4, 7)) + rng.standard_normal(7)).astype(dtype)
    res = fastgd.fit_linear_many(X, Y, lr=0.1, max_iter=300, tol=1e-4, n_threads=2)
    assert_equals_fit_linear(res, [(X, Y[:, p]) for p in range(7)], lr=0.1, max_iter=300,
                             tol=1e-4)


def test_ragged_groups_of_any_sortable_label_need_not_be_contiguous():
    rng = np.random.default_rng(5)
    N, n = 600, 3
    X = rng.standard_normal((N, n))
    y = X @ [1.0, -2.0, 0.5] + rng.standard_normal(N) * 0.1
    groups = rng.choice(np.array(["b", "a", "d", "c"]), size=N)
    res = fastgd.fit_linear_many(X, y, groups=groups, lr="auto", tol=1e-9, max_iter=10_000)
    assert res.keys.tolist() == ["a", "b", "c", "d"]
    problems = [(X[groups == key], y[groups == key]) for key in res.keys]
    assert_equals_fit_linear(res, problems, lr="auto", tol=1e-9, max_iter=10_000)
    assert res.converged.all()


@pytest.mark.parametrize("labels, dtype", [
    (np.array([7, -3, 100, 0]), np.float64),            # integers, counted (no sort)
    (np.array([2**63 + 9, 5, 2**64 - 1], np.uint64), np.float32),  # beyond int64: sorted
    (np.array([True, False]), np.int32),                # integer X: one float64 copy
])
@pytest.mark.parametrize("N, threads", [(300, 1), (40_000, 2)])
def test_groups_of_integer_labels_and_dtypes_equal_fit_linear(labels, dtype, N, threads):
    rng = np.random.default_rng(N)
    X = (rng.standard_normal((N, 2)) * (3 if dtype == np.int32 else 1)).astype(dtype)
    groups = rng.choice(labels, size=N)
    y = X @ [1.0, -2.0] + 0.5 + rng.standard_normal(N) * 0.1
    before = X.copy(), y.copy(), groups.copy()
    res = fastgd.fit_linear_many(X, y, groups=groups, lr="auto", max_iter=60, n_threads=threads)
    assert res.keys.tolist() == sorted(labels.tolist()) and res.keys.dtype == labels.dtype
    problems = [(X[groups == key], y[groups == key]) for key in res.keys]
    assert_equals_fit_linear(res, problems, lr="auto", max_iter=60)
    for array, copy in zip((X, y, groups), before):
        np.testing.assert_array_equal(array, copy)  # inputs untouched


@pytest.mark.parametrize("lr", [0.05, "auto"])
def test_a_categorical_of_groups_gives_every_category_a_problem_and_marks_the_empty(lr):
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(8)
    N = 400
    X = rng.standard_normal((N, 2))
    y = X @ [1.0, -2.0] + 0.5
    labels = rng.choice(np.array(["x", "b", "m"]), size=N)
    groups = pd.Series(pd.Categorical(labels, categories=["x", "a", "m", "b", "z"]))
    res = fastgd.fit_linear_many(X, y, groups=groups, lr=lr, max_iter=80, on_error="mark")
    assert res.keys.tolist() == ["x", "a", "m", "b", "z"]  # the categories' own order
    assert res.status.tolist() == [0, 3, 0, 0, 3]
    for p in (0, 2, 3):
        X_p, y_p = X[labels == res.keys[p]], y[labels == res.keys[p]]
        alone = fastgd.fit_linear(X_p, y_p, lr=lr, max_iter=80)
        assert res[p].w.tobytes() == alone.w.tobytes() and res.b[p] == alone.b
        assert res.lr[p] == alone.lr
    for p in (1, 4):  # left at their start, nothing measured
        assert res.n_iter[p] == 0 and not res.converged[p] and (res.w[p] == 0).all()
        assert res.b[p] == 0 and np.isnan([res.loss[p], res.grad_norm[p]]).all()
        assert np.isnan(res.lr[p]) == (lr == "auto")
    with pytest.raises(ValueError, match=r"problem 1 \(key 'a'\) has no rows: a category of "
                                         r"groups that no row takes; remove the unused"):
        fastgd.fit_linear_many(X, y, groups=groups, lr=lr, max_iter=80)
    used = groups.cat.remove_unused_categories()  # the advice, followed
    assert fastgd.fit_linear_many(X, y, groups=used, lr=lr, max_iter=80).keys.tolist() == [
        "x", "m", "b"]
    with pytest.raises(ValueError, match=r"groups holds a missing label at row 3; drop"):
        fastgd.fit_linear_many(X, y, groups=groups.where(np.arange(N) != 3), on_error="mark")


def test_each_problem_stops_on_its_own():
    X, y = stacked(6, 30, 2, np.float64, seed=9)
    X[3] *= 10  # a problem that needs a smaller step and more of them
    lr = np.array([0.1, 0.1, 0.1, 0.004, 0.1, 0.1])
    max_iter = np.array([50, 5000, 5000, 5000, 5000, 0])
    res = fastgd.fit_linear_many(X, y, lr=lr, max_iter=max_iter, tol=1e-6)
    assert res.n_iter[0] == 50 and res.n_iter[5] == 0
    assert len(set(res.n_iter[1:5].tolist())) > 1  # each stopped at its own iterate
    for p in range(6):
        alone = fastgd.fit_linear(X[p], y[p], lr=lr[p], max_iter=int(max_iter[p]), tol=1e-6)
        assert res[p].w.tobytes() == alone.w.tobytes() and res.n_iter[p] == alone.n_iter


def test_failed_problems_are_marked_or_raised():
    X, y = stacked(5, 30, 2, np.float64, seed=2)
    X[1] *= 100  # diverges at lr 0.1
    y[3, 4] = np.nan
    res = fastgd.fit_linear_many(X, y, lr=0.1, max_iter=100, on_error="mark")
    assert res.status.tolist() == [0, 1, 0, 2, 0]
    assert np.isfinite(res.w[1]).all() and np.isfinite(res.b[1])  # the last finite state
    alone = fastgd.fit_linear(X[4], y[4], lr=0.1, max_iter=100)
    assert res[4].w.tobytes() == alone.w.tobytes()
    with pytest.raises(fastgd.DivergenceError, match=r"problem 1 \(key 1\): gradient descent "
                                                     r"diverged at iteration \d+"):
        fastgd.fit_linear_many(X, y, lr=0.1, max_iter=100)
    with pytest.raises(ValueError, match=r"problem 3 \(key 3\): y must be finite, got NaN at "
                                         r"index \(4,\)"):
        fastgd.fit_linear_many(X[[0, 2, 4, 3]], y[[0, 2, 4, 3]], lr=0.1, max_iter=100)


@pytest.mark.parametrize("call, exception, pattern", [
    (lambda X, y: fastgd.fit_linear_many(X[0], y[0]), ValueError, r"a shared X of shape"),
    (lambda X, y: fastgd.fit_linear_many(X, y[:, :5]), ValueError,
     r"a stacked X of shape \(4, 10, 2\) takes y of shape \(4, 10\)"),
    (lambda X, y: fastgd.fit_linear_many(X, y, lr=[0.1, 0.2]), ValueError,
     r"lr must be a scalar or have shape \(4,\), got shape \(2,\)"),
    (lambda X, y: fastgd.fit_linear_many(X, y, lr=[0.1, 0.2, -1, 0.1]), ValueError,
     r"lr must be a finite number > 0, got -1"),
    (lambda X, y: fastgd.fit_linear_many(X, y, max_iter=[1, 2, 3, 2.5]), TypeError,
     r"max_iter must be an integer"),
    (lambda X, y: fastgd.fit_linear_many(X, y, on_error="ignore"), ValueError,
     r"on_error must be 'raise' or 'mark', got 'ignore'"),
    (lambda X, y: fastgd.fit_linear_many(X, y, loss="hinge"), ValueError, r"loss must be one of"),
    (lambda X, y: fastgd.fit_linear_many(X, y, w0=np.zeros((4, 3))), ValueError,
     r"w0 must have shape \(4, 2\), got \(4, 3\)"),
    (lambda X, y: fastgd.fit_linear_many(X[0], y[0, :], groups=[1] * 9), ValueError,
     r"groups and y must have one entry per row of X \(10\)"),
    (lambda X, y: fastgd.fit_linear_many(X, y, n_threads=0), ValueError, r"n_threads must be >= 1"),
    (lambda X, y: fastgd.fit_linear_many(X.astype(complex), y), TypeError, r"X must hold real numbers"),
])
def test_bad_input(call, exception, pattern):
    X, y = stacked(4, 10, 2, np.float64, seed=0)
    with pytest.raises(exception, match=pattern):
        call(X, y)


def test_a_stacked_c_order_x_is_never_copied(monkeypatch):
    X, y = stacked(3, 20, 2, np.float64, seed=1)
    from fastgd import many
    seen = []
    original = many._Problems.__init__

    def spy(self, Xall, *args):
        seen.append(Xall)
        original(self, Xall, *args)

    monkeypatch.setattr(many._Problems, "__init__", spy)
    fastgd.fit_linear_many(X, y, max_iter=3)
    assert np.shares_memory(seen[0], X)


def test_one_problem_is_fit_linear_with_its_threads():
    """P = 1 runs fit_linear's own plan (a team of threads for large X): its bits, its speed."""
    rng = np.random.default_rng(7)
    X = rng.standard_normal((1, 40_000, 8))
    y = X[0] @ rng.standard_normal(8) + 0.5
    for threads in (1, 2):
        res = fastgd.fit_linear_many(X, y[None], lr="auto", tol=1e-9, max_iter=500,
                                     n_threads=threads)
        alone = fastgd.fit_linear(X[0], y, lr="auto", tol=1e-9, max_iter=500)
        assert np.array_equal(res[0].w, alone.w) and res[0].b == alone.b
        assert (res[0].n_iter, res[0].loss, res[0].grad_norm) == (alone.n_iter, alone.loss,
                                                                  alone.grad_norm)
    marked = fastgd.fit_linear_many(X[:, :50], 1e3 * y[None, :50], lr=5.0, on_error="mark")
    assert marked.status.tolist() == [1]
    bad = X[:, :50].copy()
    bad[0, 3, 1] = np.nan
    assert fastgd.fit_linear_many(bad, y[None, :50], on_error="mark").status.tolist() == [2]
    with pytest.raises(fastgd.DivergenceError, match="problem 0"):
        fastgd.fit_linear_many(X[:, :50], 1e3 * y[None, :50], lr=5.0)


CACHED_SCRIPT = textwrap.dedent("""
    import numpy as np, fastgd
    fastgd.precompile(dtypes=["float64"], layouts=["C"], read_only=[False], widths=[2])
    rng = np.random.default_rng(3)
    for P, m in ((2, 6000), (3, 40)):  # two blocks each; one block each (the variant alone)
        X = rng.standard_normal((P, m, 2))
        y = X @ np.array([1.0, -2.0]) + 0.5 + 0.1 * rng.standard_normal((P, m))
        res = fastgd.fit_linear_many(X, y, lr="auto", max_iter=60, n_threads=1)
        for p in range(P):
            alone = fastgd.fit_linear(X[p], y[p], lr="auto", max_iter=60)
            assert res[p].w.tobytes() == alone.w.tobytes(), p
            assert res[p].grad_norm == alone.grad_norm, (p, res[p].grad_norm, alone.grad_norm)
            assert res[p].loss == alone.loss
    plan = fastgd._plan.plan(X[0], y[0][:, None], fastgd._kernels.losses.Squared(), 60, 1)
    assert plan.kernel == "fixed" and plan.alone
    print("same bits")
""")


def test_the_many_driver_loaded_from_the_cache_gives_fit_linears_bits(tmp_path):
    # Problems of two blocks and of one on the fixed-width pass, in a process that compiles the
    # drivers and in one that loads them from numba's cache (a driver once cached a descend of
    # its own).
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path))
    for _ in range(2):
        out = subprocess.run([sys.executable, "-c", CACHED_SCRIPT], env=env, capture_output=True,
                             text=True)
        assert out.returncode == 0, out.stderr
        assert "same bits" in out.stdout
