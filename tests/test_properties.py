"""Property tests: any shape, dtype and memory layout gives the reference's answer."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import fastgd
from conftest import fit_by_kernel

ELEMENTS = st.floats(-10, 10, allow_nan=False, allow_infinity=False, width=32)


LAYOUTS = ("C", "F", "strided", "reversed", "read-only")


@st.composite
def problems(draw, widths=st.integers(1, 6), dtypes=(np.float64, np.float32, np.int32, np.bool_),
             layouts=LAYOUTS):
    m = draw(st.integers(1, 70))
    n = draw(widths)
    k = draw(st.sampled_from([None, 1, 3]))
    dtype = draw(st.sampled_from(dtypes))
    base = draw(hnp.arrays(np.float64, (m, n), elements=ELEMENTS))
    X = base.astype(dtype)
    layout = draw(st.sampled_from(layouts))
    if layout == "F":
        X = np.asfortranarray(X)
    elif layout == "strided":
        big = np.zeros((2 * m, 2 * n), dtype)
        big[1::2, ::2] = X
        X = big[1::2, ::2]
    elif layout == "reversed":
        X = X[::-1, ::-1].copy()[::-1, ::-1]
    elif layout == "read-only":
        X.flags.writeable = False
    y = draw(hnp.arrays(np.float64, (m,) if k is None else (m, k), elements=ELEMENTS))
    return X, y


def kernel_dtype(X):
    return np.float32 if X.dtype == np.float32 else np.float64


def stable_lr(X):
    """A step that is stable for any X: 1/L <= 1/trace of the Hessian."""
    return 1.0 / (1.0 + np.mean(np.sum(np.asarray(X, np.float64) ** 2, axis=1)))


def assert_matches(fast, ref, X, y, iters):
    dtype = kernel_dtype(X)
    assert fast.w.dtype == ref.w.dtype == dtype
    assert fast.w.shape == ref.w.shape == (X.shape[1],) + y.shape[1:]
    assert np.shape(fast.b) == np.shape(ref.b) == y.shape[1:]
    assert fast.n_iter == ref.n_iter == iters
    rtol = 1e-9 if dtype == np.float64 else 1e-3
    scale = 1 + np.abs(ref.w).max() + np.abs(ref.b).max()
    np.testing.assert_allclose(fast.w, ref.w, rtol=rtol, atol=rtol * scale)
    np.testing.assert_allclose(fast.b, ref.b, rtol=rtol, atol=rtol * scale)
    np.testing.assert_allclose(fast.history, ref.history, rtol=rtol,
                               atol=rtol * (1 + ref.history.max(initial=0)))


@given(problems(), st.integers(0, 30), st.sampled_from(["squared", "huber", "logistic"]),
       st.sampled_from([(0.0, 0.0), (0.3, 0.0), (0.0, 0.05)]))
def test_fast_matches_reference(problem, iters, loss, penalty):
    X, y = problem
    if loss == "logistic":
        y = (y > 0).astype(np.float64)
    lr = stable_lr(X)
    options = dict(lr=lr, max_iter=iters, history=True, loss=loss, l2=penalty[0], l1=penalty[1])
    fast = fastgd.fit_linear(X, y, **options)
    ref = fastgd.reference.fit_linear(X, y, **options)
    assert_matches(fast, ref, X, y, iters)


# Few widths: the per-width kernels compile for each. The row-vector kernel needs a vector's
# worth of features (16 in float32).
@pytest.mark.parametrize("kernel, widths", [("vectors", [16, 20]), ("tile", [1, 3, 20]),
                                            ("fixed", [1, 4])])
@given(data=st.data(), iters=st.integers(0, 30))
def test_per_width_kernels_match_reference(kernel, widths, data, iters):
    X, y = data.draw(problems(widths=st.sampled_from(widths), dtypes=(np.float64, np.float32),
                              layouts=("C", "read-only")))
    lr = stable_lr(X)
    fit = fit_by_kernel(X, y, kernel, lr=lr, max_iter=iters, history=True)
    ref = fastgd.reference.fit_linear(X, y, lr=lr, max_iter=iters, history=True)
    assert_matches(fit, ref, X, y, iters)


@given(problems())
def test_inputs_untouched(problem):
    X, y = problem
    before = X.copy(), y.copy()
    fastgd.fit_linear(X, y, lr=1e-3, max_iter=3)
    np.testing.assert_array_equal(X, before[0])
    np.testing.assert_array_equal(y, before[1])


@given(problems())
def test_fortran_copy_keeps_every_bit(problem):
    from fastgd._kernels.layout import fortran_copy

    X = problem[0]
    X = X.astype(kernel_dtype(X), copy=False)  # the kernel's dtype, in X's layout if it has it
    before = X.copy()
    for threads in (1, 2, 3):  # one thread, or the rows shared out among several
        F = fortran_copy(X, threads)
        assert F.flags.f_contiguous and F.dtype == X.dtype and F.shape == X.shape
        assert F.tobytes(order="C") == X.tobytes(order="C")
    np.testing.assert_array_equal(X, before)


@st.composite
def categorical_groups(draw):
    """Rows labelled by a pandas categorical whose categories may go unused (empty problems),
    in an order of their own."""
    pd = pytest.importorskip("pandas")
    categories = draw(st.lists(st.sampled_from("abcdefgh"), min_size=1, max_size=6, unique=True))
    used = draw(st.lists(st.sampled_from(categories), min_size=1, max_size=60))
    X = draw(hnp.arrays(np.float64, (len(used), 2), elements=ELEMENTS))
    y = draw(hnp.arrays(np.float64, (len(used),), elements=ELEMENTS))
    return X, y, pd.Categorical(used, categories=categories), np.array(used)


@given(categorical_groups(), st.integers(0, 20))
def test_categorical_groups_each_fit_alone_or_are_marked_empty(problem, iters):
    X, y, groups, labels = problem
    lr = 1.0 / (1.0 + np.max(np.sum(X**2, axis=1)))  # stable for any subset of the rows
    res = fastgd.fit_linear_many(X, y, groups=groups, lr=lr, max_iter=iters, on_error="mark")
    assert res.keys.tolist() == list(groups.categories)
    for p, key in enumerate(res.keys):
        rows = labels == key
        if not rows.any():
            assert res.status[p] == 3 and res.n_iter[p] == 0 and (res.w[p] == 0).all()
            continue
        alone = fastgd.fit_linear(X[rows], y[rows], lr=lr, max_iter=iters)
        assert res.status[p] == 0 and res[p].w.tobytes() == alone.w.tobytes()
        assert res.b[p] == alone.b and res.n_iter[p] == alone.n_iter == iters
