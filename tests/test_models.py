"""Converged fits against scikit-learn's solutions at the SPEC's mapping: Ridge(alpha = m l2),
Lasso(alpha = l1), ElasticNet, LogisticRegression(C = 1/(m l2)) and its L1 and elastic net,
HuberRegressor's objective, at 1e-6 relative on the coefficients, on several seeds."""
import numpy as np
import pytest

import fastgd

linear_model = pytest.importorskip("sklearn.linear_model")
sklearn = pytest.importorskip("sklearn")
#: scikit-learn 1.8 sets a logistic penalty by l1_ratio and C alone (penalty= is deprecated).
NEW_PENALTY_API = tuple(int(part) for part in sklearn.__version__.split(".")[:2]) >= (1, 8)


def logistic_regression(C, l1_ratio, **options):
    """LogisticRegression with an elastic-net mix ``l1_ratio`` (0: L2) at strength 1/C, or
    without a penalty (C None), in the API of the installed scikit-learn."""
    if NEW_PENALTY_API:
        return linear_model.LogisticRegression(C=np.inf if C is None else C, l1_ratio=l1_ratio,
                                               **options)
    if C is None:
        return linear_model.LogisticRegression(penalty=None, **options)
    penalty = {0.0: "l2", 1.0: "l1"}.get(l1_ratio, "elasticnet")
    extra = dict(l1_ratio=l1_ratio) if penalty == "elasticnet" else {}
    return linear_model.LogisticRegression(penalty=penalty, C=C, **extra, **options)


SEEDS = [0, 1, 2]


def regression(seed, m=200, n=5):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((m, n)) * rng.uniform(0.5, 2.0, n)
    y = X @ rng.standard_normal(n) + 0.7 + 0.3 * rng.standard_normal(m)
    return X, y


def classification(seed, m=300, n=4):
    X, y = regression(seed, m, n)
    noise = np.random.default_rng(seed + 100).logistic(size=m)
    return X, (y - np.median(y) + noise > 0).astype(float)


def converged(X, y, **options):
    fit = fastgd.fit_linear(X, y, lr="auto", tol=1e-11, max_iter=2_000_000, **options)
    assert fit.converged
    return fit


def assert_same(fit, coef, intercept, rtol=1e-6):
    scale = np.abs(coef).max()
    np.testing.assert_allclose(fit.w, coef, rtol=rtol, atol=rtol * scale)
    assert fit.b == pytest.approx(intercept, rel=rtol, abs=rtol * scale)


@pytest.mark.parametrize("seed", SEEDS)
def test_l2_is_ridge(seed):
    X, y = regression(seed)
    l2 = 0.3
    ridge = linear_model.Ridge(alpha=len(X) * l2, tol=1e-14).fit(X, y)
    assert_same(converged(X, y, l2=l2), ridge.coef_, ridge.intercept_)


@pytest.mark.parametrize("seed", SEEDS)
def test_l1_is_lasso(seed):
    X, y = regression(seed)
    lasso = linear_model.Lasso(alpha=0.05, tol=1e-14, max_iter=1_000_000).fit(X, y)
    fit = converged(X, y, l1=0.05)
    assert_same(fit, lasso.coef_, lasso.intercept_)


@pytest.mark.parametrize("seed", SEEDS)
def test_l1_and_l2_are_elastic_net(seed):
    X, y = regression(seed)
    alpha, ratio = 0.1, 0.4
    net = linear_model.ElasticNet(alpha=alpha, l1_ratio=ratio, tol=1e-14,
                                  max_iter=1_000_000).fit(X, y)
    assert_same(converged(X, y, l1=alpha * ratio, l2=alpha * (1 - ratio)), net.coef_,
                net.intercept_)


@pytest.mark.parametrize("seed", SEEDS)
def test_logistic_with_l2_is_logistic_regression(seed):
    X, y = classification(seed)
    l2 = 0.01
    model = logistic_regression(1 / (len(X) * l2), 0.0, tol=1e-14, max_iter=100_000).fit(X, y)
    assert_same(converged(X, y, loss="logistic", l2=l2), model.coef_[0], model.intercept_[0])


@pytest.mark.parametrize("seed", SEEDS)
def test_logistic_with_l1_and_elastic_net_are_saga(seed):
    X, y = classification(seed)
    m, C = len(X), 0.5
    for ratio in (1.0, 0.5):
        model = logistic_regression(C, ratio, solver="saga", tol=1e-12,
                                    max_iter=1_000_000).fit(X, y)
        fit = converged(X, y, loss="logistic", l1=ratio / (C * m), l2=(1 - ratio) / (C * m))
        assert_same(fit, model.coef_[0], model.intercept_[0])


@pytest.mark.parametrize("seed", SEEDS)
def test_logistic_without_penalty_reaches_the_log_loss_minimum(seed):
    X, y = classification(seed)
    model = logistic_regression(None, 0.0, solver="newton-cg", tol=1e-14,
                                max_iter=100_000).fit(X, y)
    assert_same(converged(X, y, loss="logistic"), model.coef_[0], model.intercept_[0])


@pytest.mark.parametrize("seed", SEEDS)
def test_huber_reaches_the_minimum_of_its_objective(seed):
    # No small step from fastgd's optimum lowers J; and HuberRegressor (alpha = 0), whose
    # objective at its fitted scale s is sum s H_e(r / s) = (2 / s) sum huber_{e s}(r), has the
    # same coefficients as Huber loss with delta = e s.
    X, y = regression(seed)
    y[:10] += 20  # outliers
    fit = converged(X, y, loss="huber", delta=1.0)
    ref = fastgd.reference.fit_linear(X, y, loss="huber", delta=1.0, w0=fit.w, b0=fit.b,
                                      max_iter=0)
    rng = np.random.default_rng(seed)
    for _ in range(20):
        step = rng.standard_normal(X.shape[1]) * 1e-4
        moved = fastgd.reference.fit_linear(X, y, loss="huber", delta=1.0, w0=fit.w + step,
                                            b0=fit.b, max_iter=0)
        assert moved.loss >= ref.loss
    robust = linear_model.HuberRegressor(epsilon=1.35, alpha=0.0, tol=1e-12,
                                         max_iter=100_000).fit(X, y)
    scaled = converged(X, y, loss="huber", delta=1.35 * robust.scale_)
    assert_same(scaled, robust.coef_, robust.intercept_, rtol=1e-4)


def test_standardize_fits_unscaled_diabetes_to_least_squares_fast():
    datasets = pytest.importorskip("sklearn.datasets")
    import time
    X, y = datasets.load_diabetes(return_X_y=True, scaled=False)
    exact = linear_model.LinearRegression().fit(X, y)
    fastgd.fit_linear(X, y, standardize=True, lr="auto", tol=1e-8, max_iter=10)  # compile
    start = time.perf_counter()
    fit = fastgd.fit_linear(X, y, standardize=True, lr="auto", tol=1e-8, max_iter=1_000_000)
    seconds = time.perf_counter() - start
    assert fit.converged and seconds < 5  # the 0.1 s is measured in the report
    assert_same(fit, exact.coef_, exact.intercept_)


@pytest.mark.parametrize("loss, penalty", [("squared", {}), ("huber", {"l2": 0.1}),
                                           ("logistic", {"l1": 0.01})])
def test_standardize_agrees_with_the_reference(loss, penalty):
    X, y = regression(3)
    X = X * [1.0, 1e3, 1e-2, 5.0, 1.0] + [0.0, 1e4, 0.0, -3.0, 0.0]
    if loss == "logistic":
        y = (y > np.median(y)).astype(float)
    options = dict(standardize=True, lr=0.1, max_iter=200, loss=loss, history=True, **penalty)
    fast, ref = fastgd.fit_linear(X, y, **options), fastgd.reference.fit_linear(X, y, **options)
    np.testing.assert_allclose(fast.w, ref.w, rtol=1e-9)
    assert fast.b == pytest.approx(ref.b, rel=1e-9)
    np.testing.assert_allclose(fast.history, ref.history, rtol=1e-9)
    assert fast.grad_norm == pytest.approx(ref.grad_norm, rel=1e-7)


def test_badly_scaled_columns_are_told_to_standardize():
    datasets = pytest.importorskip("sklearn.datasets")
    diabetes = datasets.load_diabetes(return_X_y=True, scaled=False)  # large column offsets
    with pytest.raises(fastgd.DivergenceError, match="standardize=True helps"):
        fastgd.fit_linear(*diabetes)
    X, y = regression(4)
    X = X * [1.0, 1e4, 1.0, 1e-2, 1.0]
    with pytest.warns(fastgd.ConvergenceWarning, match="standardize=True helps"):
        fastgd.fit_linear(X, y, lr="auto", tol=1e-8, max_iter=100)
    with pytest.raises(fastgd.DivergenceError, match="standardize=True helps"):
        fastgd.fit_linear(X, y, lr=0.01)
