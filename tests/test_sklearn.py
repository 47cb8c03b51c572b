"""fastgd.sklearn's estimators: scikit-learn's own estimator checks, and the fits they wrap."""
import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

from fastgd.sklearn import GDClassifier, GDRegressor  # noqa: E402


@parametrize_with_checks([GDRegressor(), GDClassifier()])
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


from sklearn.datasets import load_diabetes, make_classification  # noqa: E402
from sklearn.linear_model import (ElasticNet, Lasso, LinearRegression,  # noqa: E402
                                  LogisticRegression, Ridge)

import fastgd  # noqa: E402


def test_defaults_reach_least_squares_on_diabetes():
    X, y = load_diabetes(return_X_y=True)
    model = GDRegressor().fit(X, y)
    exact = LinearRegression().fit(X, y)
    np.testing.assert_allclose(model.coef_, exact.coef_, rtol=1e-6, atol=1e-6 * np.abs(exact.coef_).max())
    assert model.intercept_ == pytest.approx(exact.intercept_, rel=1e-6)
    assert len(model.loss_curve_) == model.n_iter_ > 0
    assert np.all(np.diff(model.loss_curve_) <= 1e-14 * model.loss_curve_[0])  # lr = 1/L: J falls


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("penalty, sklearn_model", [
    ("l2", lambda m, a: Ridge(alpha=m * a)),
    ("l1", lambda m, a: Lasso(alpha=a, tol=1e-12, max_iter=100_000)),
    ("elasticnet", lambda m, a: ElasticNet(alpha=a, l1_ratio=0.15, tol=1e-12, max_iter=100_000)),
])
def test_penalties_are_scikit_learns(penalty, sklearn_model, seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((120, 5))
    y = X @ np.array([1.5, -2.0, 0.0, 0.3, 0.0]) + 0.7 + 0.2 * rng.standard_normal(120)
    alpha = 0.05
    model = GDRegressor(penalty=penalty, alpha=alpha, standardize=False, tol=1e-12,
                        max_iter=10**6).fit(X, y)
    expected = sklearn_model(len(X), alpha).fit(X, y)
    np.testing.assert_allclose(model.coef_, expected.coef_, rtol=1e-6, atol=1e-8)
    assert model.intercept_ == pytest.approx(expected.intercept_, rel=1e-6)


@pytest.mark.parametrize("seed", [0, 1])
def test_binary_classifier_is_logistic_regression(seed):
    X, y = make_classification(200, 4, n_informative=3, n_redundant=0, random_state=seed)
    alpha = 0.01
    model = GDClassifier(alpha=alpha, standardize=False, tol=1e-12, max_iter=10**6).fit(X, y)
    expected = LogisticRegression(C=1 / (len(X) * alpha), solver="newton-cg", tol=1e-12,
                                  max_iter=10_000).fit(X, y)
    np.testing.assert_allclose(model.coef_, expected.coef_, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(model.intercept_, expected.intercept_, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(model.predict_proba(X), expected.predict_proba(X), atol=1e-8)


def test_multiclass_one_vs_rest():
    X, y = make_classification(300, 5, n_informative=4, n_redundant=0, n_classes=3,
                               random_state=0)
    labels = np.array(["a", "b", "c"])[y]
    model = GDClassifier(tol=1e-10).fit(X, labels)
    assert model.coef_.shape == (3, 5) and model.classes_.tolist() == ["a", "b", "c"]
    proba = model.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert (model.classes_[proba.argmax(axis=1)] == model.predict(X)).all()
    # Each class's column is that class against the rest, fitted alone.
    for k, name in enumerate(model.classes_):
        alone = GDClassifier(tol=1e-10).fit(X, labels == name)
        np.testing.assert_allclose(model.coef_[k], alone.coef_[0], rtol=1e-5, atol=1e-7)
    from sklearn.multiclass import OneVsRestClassifier
    rest = OneVsRestClassifier(LogisticRegression(C=1 / (len(X) * 0.001))).fit(X, labels)
    assert model.score(X, labels) >= rest.score(X, labels) - 0.02


def test_weights_warm_start_no_intercept_and_pandas():
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(3)
    X = rng.standard_normal((80, 3))
    y = X @ np.array([1.0, 2.0, -1.0]) + 0.5 + rng.standard_normal(80)
    weights = rng.integers(0, 4, 80)
    weighted = GDRegressor().fit(X, y, sample_weight=weights)
    repeated = GDRegressor().fit(np.repeat(X, weights, axis=0), np.repeat(y, weights))
    np.testing.assert_allclose(weighted.coef_, repeated.coef_, rtol=1e-9)
    warm = GDRegressor(warm_start=True).fit(X, y)
    n_first = warm.n_iter_
    warm.fit(X, y)
    assert warm.n_iter_ < n_first / 10
    origin = GDRegressor(fit_intercept=False, standardize=False).fit(X, y)
    assert origin.intercept_ == 0.0
    np.testing.assert_allclose(origin.coef_, LinearRegression(fit_intercept=False).fit(X, y).coef_,
                               rtol=1e-6)
    frame = pd.DataFrame(X, columns=["price", "size", "age"])
    model = GDRegressor().fit(frame, y)
    assert model.feature_names_in_.tolist() == ["price", "size", "age"]
    np.testing.assert_allclose(model.predict(frame), GDRegressor().fit(X, y).predict(X))


def test_bad_parameters_say_which():
    X, y = np.ones((4, 1)), np.arange(4.0)
    with pytest.raises(ValueError, match="penalty must be one of"):
        GDRegressor(penalty="l3").fit(X, y)
    with pytest.raises(ValueError, match="loss must be one of"):
        GDRegressor(loss="hinge").fit(X, y)
    with pytest.raises(ValueError, match="l1_ratio must be"):
        GDRegressor(penalty="elasticnet", l1_ratio=2).fit(X, y)
    with pytest.raises(ValueError, match="fit_intercept=True"):
        GDRegressor(fit_intercept=False).fit(X, y)  # standardize=True needs the intercept


def test_regressor_speed_path_is_fit_linear():
    """With a given lr and tol=0 the estimator runs exactly fit_linear's descent."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((500, 4))
    y = X @ np.arange(4.0) + 0.5
    model = GDRegressor(lr=0.01, tol=0, max_iter=50, standardize=False).fit(X, y)
    res = fastgd.fit_linear(X, y, lr=0.01, max_iter=50)
    assert np.array_equal(model.coef_, res.w) and model.intercept_ == res.b
