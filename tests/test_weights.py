"""``sample_weight`` and ``fit_intercept``: in fit_linear, fit_linear_many and the reference."""
import numpy as np
import pytest

import fastgd
from fastgd import reference

LOSSES = ["squared", "huber", "logistic"]


def data(loss, m=150, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((m, 4)) * [1.0, 2.0, 0.5, 1.5]
    y = X @ np.array([1.0, -0.5, 2.0, 0.3]) + 0.4 + 0.3 * rng.standard_normal(m)
    return X, ((y > 0.4).astype(float) if loss == "logistic" else y), rng.integers(0, 4, m)


@pytest.mark.parametrize("loss", LOSSES)
def test_integer_weights_are_repeated_rows(loss):
    X, y, weights = data(loss)
    options = dict(loss=loss, lr="auto", tol=1e-10, max_iter=10**6, l2=0.01)
    weighted = fastgd.fit_linear(X, y, sample_weight=weights, **options)
    repeated = fastgd.fit_linear(np.repeat(X, weights, axis=0), np.repeat(y, weights), **options)
    assert weighted.lr == pytest.approx(repeated.lr, rel=1e-12)
    np.testing.assert_allclose(weighted.w, repeated.w, rtol=1e-9)
    assert weighted.b == pytest.approx(repeated.b, rel=1e-9)
    # A weight of 0 is the row left out.
    kept = weights > 0
    dropped = fastgd.fit_linear(X[kept], y[kept], sample_weight=weights[kept], **options)
    np.testing.assert_allclose(weighted.w, dropped.w, rtol=1e-9)


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_agrees_with_the_reference(loss, fit_intercept):
    X, y, weights = data(loss, seed=1)
    options = dict(loss=loss, lr=0.05, max_iter=300, l1=0.01, sample_weight=weights + 0.5,
                   fit_intercept=fit_intercept, b0=0.25, history=True)
    fast, slow = fastgd.fit_linear(X, y, **options), reference.fit_linear(X, y, **options)
    np.testing.assert_allclose(fast.w, slow.w, rtol=1e-11, atol=1e-13)
    assert fast.b == pytest.approx(slow.b, rel=1e-11)
    np.testing.assert_allclose(fast.history, slow.history, rtol=1e-11)
    if not fit_intercept:
        assert fast.b == 0.25  # kept where it started


def test_without_intercept_is_least_squares_through_the_origin():
    X, y, _ = data("squared", seed=2)
    res = fastgd.fit_linear(X, y, fit_intercept=False, lr="auto", tol=1e-11, max_iter=10**6)
    np.testing.assert_allclose(res.w, np.linalg.lstsq(X, y, rcond=None)[0], rtol=1e-8)
    assert res.b == 0.0


def test_auto_lr_is_the_weighted_curvature():
    X, y, weights = data("squared", seed=3)
    res = fastgd.fit_linear(X, y, sample_weight=weights, lr="auto", max_iter=1)
    A = np.c_[X, np.ones(len(X))]
    L = np.linalg.eigvalsh(A.T @ (A * weights[:, None]) / weights.sum())[-1]
    assert res.lr == pytest.approx(1 / L, rel=1e-10)


def test_many_shares_the_weights_bit_for_bit():
    X, y, weights = data("squared", seed=4)
    Y = np.c_[y, 2 * y - 1, -y]
    res = fastgd.fit_linear_many(X, Y, sample_weight=weights, lr="auto", tol=1e-8,
                                 max_iter=10_000, fit_intercept=False)
    for p in range(3):
        alone = fastgd.fit_linear(X, Y[:, p], sample_weight=weights, lr="auto", tol=1e-8,
                                  max_iter=10_000, fit_intercept=False)
        assert np.array_equal(res[p].w, alone.w) and res[p].b == alone.b == 0.0
        assert res[p].n_iter == alone.n_iter


def test_bad_weights_and_combinations_say_what_to_do():
    X, y, weights = data("squared")
    with pytest.raises(ValueError, match=r"sample_weight must have shape \(150,\)"):
        fastgd.fit_linear(X, y, sample_weight=weights[:-1])
    with pytest.raises(ValueError, match="sample_weight must be >= 0, got -1.0 at index 3"):
        fastgd.fit_linear(X, y, sample_weight=np.where(np.arange(150) == 3, -1.0, 1.0))
    with pytest.raises(ValueError, match="zero for every row"):
        fastgd.fit_linear(X, y, sample_weight=np.zeros(150))
    with pytest.raises(ValueError, match="sample_weight must be finite"):
        fastgd.fit_linear(X, y, sample_weight=np.full(150, np.nan))
    with pytest.raises(ValueError, match="solver='rows' for sample_weight"):
        fastgd.fit_linear(X, y, sample_weight=weights, solver="gram")
    with pytest.raises(ValueError, match="use fit_intercept=True with it"):
        fastgd.fit_linear(X, y, standardize=True, fit_intercept=False)
    with pytest.raises(TypeError, match="fit_intercept must be True or False"):
        fastgd.fit_linear(X, y, fit_intercept=1)
    with pytest.raises(ValueError, match="not groups"):
        fastgd.fit_linear_many(X, y, groups=np.arange(150) % 3, sample_weight=weights)


def test_a_strided_y_fits_as_its_copy():
    X, y, _ = data("squared", seed=5)
    table = np.c_[y, -y, 2 * y]
    strided = fastgd.fit_linear(X, table[:, 1], max_iter=200)
    contiguous = fastgd.fit_linear(X, table[:, 1].copy(), max_iter=200)
    assert np.array_equal(strided.w, contiguous.w) and strided.b == contiguous.b
    assert table[0, 1] == -y[0]  # never written
