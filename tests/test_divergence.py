"""A learning rate too large is never returned silently."""
import numpy as np
import pytest

import fastgd
from fastgd._divergence import largest_hessian_eigenvalue
from conftest import fit_by_kernel, random_problem

FITS = [fastgd.fit_linear, fastgd.reference.fit_linear]


@pytest.mark.parametrize("fit", FITS)
def test_seed_lr_too_large(fit):
    X, y = [[1.0], [2.0], [3.0]], [2.0, 4.0, 6.0]
    with pytest.raises(fastgd.DivergenceError, match=r"diverged at iteration 1: the loss grew to 192\.148 "
                       r"with lr=1; a stable learning rate for this X is 0\.180295 \(1/L") as caught:
        fit(X, y, lr=1.0)
    err = caught.value
    assert err.iteration == 1 and err.lr == 1.0
    # L is the largest eigenvalue of [[14/3, 2], [2, 1]], known in closed form.
    L = (17 / 3 + np.sqrt((17 / 3) ** 2 - 4 * (14 / 3 - 4))) / 2
    assert err.stable_lr == pytest.approx(1 / L, rel=1e-9)
    np.testing.assert_array_equal(err.w, [0.0])  # the last good state: the start
    assert err.b == 0.0


@pytest.mark.parametrize("fit", FITS)
@pytest.mark.parametrize("k", [None, 2])
def test_divergence_names_a_stable_rate_that_works(fit, k):
    X, y = random_problem(500, 4, k)
    X = X * np.array([1.0, 3.0, 0.5, 10.0])  # badly scaled: L is about 100
    with pytest.raises(fastgd.DivergenceError) as caught:
        fit(X, y, lr=0.05, max_iter=1000)
    err = caught.value
    assert 0 < err.iteration < 1000
    assert np.all(np.isfinite(err.w)) and np.all(np.isfinite(err.b))
    assert err.stable_lr < 0.05
    res = fit(X, y, lr=err.stable_lr, max_iter=20_000, tol=1e-8)
    assert res.converged


def test_fast_and_reference_diverge_at_the_same_iteration():
    X, y = random_problem(300, 3)
    caught = []
    for fit in FITS:
        with pytest.raises(fastgd.DivergenceError) as err:
            fit(X, y, lr=2.2)
        caught.append(err.value)
    assert caught[0].iteration == caught[1].iteration
    np.testing.assert_allclose(caught[0].w, caught[1].w, rtol=1e-9)


@pytest.mark.parametrize("m, kernel, threads",
                         [(3, "fixed", 1), (300, "rows", 1), (300, "rows", 2)])
def test_the_last_good_state_is_the_same_across_chunks_threads_and_reference(m, kernel, threads):
    X, y = random_problem(m, 3)
    lr = 2.0005 / largest_hessian_eigenvalue(X)  # slow growth: past a callback's first chunk
    caught = []
    for callback in (None, lambda info: None):  # one call, and chunks of at most 1000 updates
        with pytest.raises(fastgd.DivergenceError) as err:
            fit_by_kernel(X, y, kernel, threads=threads, lr=lr, max_iter=10**6,
                          callback=callback)
        caught.append(err.value)
    with pytest.raises(fastgd.DivergenceError) as err:
        fastgd.reference.fit_linear(X, y, lr=lr, max_iter=10**6)
    reference = err.value
    assert caught[0].iteration == caught[1].iteration == reference.iteration > 1000
    assert caught[0].w.tobytes() == caught[1].w.tobytes() and caught[0].b == caught[1].b
    np.testing.assert_allclose(caught[0].w, reference.w, rtol=1e-6)
    assert caught[0].b == pytest.approx(reference.b, rel=1e-6)


def test_slow_divergence_is_caught_before_max_iter():
    X, y = random_problem(300, 3)
    lr = 2.05 / largest_hessian_eigenvalue(X)  # just past the edge: slow growth
    with pytest.raises(fastgd.DivergenceError, match="the loss grew"):
        fastgd.fit_linear(X, y, lr=lr, max_iter=100_000)


def adversarial():
    """X whose top eigenvector a power iteration from the all-ones vector never sees, and others."""
    rng = np.random.default_rng(5)
    c = np.tile([2.0, -2.0], 50)
    yield "orthogonal to ones", np.c_[c, -c]
    yield "+-1 columns", rng.choice([-1.0, 1.0], size=(200, 6))
    base = rng.standard_normal((300, 3))
    yield "rank-deficient", np.c_[base, base @ [1.0, -2.0, 0.5], base[:, :1]]
    yield "1e6 column scales", rng.standard_normal((300, 4)) * [1.0, 1e3, 1e-3, 1e6]


@pytest.mark.parametrize("name, X", list(adversarial()), ids=lambda v: v if isinstance(v, str) else "")
def test_curvature_is_the_largest_eigenvalue(name, X):
    A = np.c_[X, np.ones(len(X))]
    exact = np.linalg.eigvalsh(A.T @ A / len(X))[-1]
    assert largest_hessian_eigenvalue(X) == pytest.approx(exact, rel=1e-9)


@pytest.mark.parametrize("fit", FITS)
def test_the_advice_converges_when_followed(fit):
    c = np.tile([2.0, -2.0], 50)
    X, y = np.c_[c, -c], 0.3 * c + 1
    with pytest.raises(fastgd.DivergenceError) as caught:
        fit(X, y, lr=0.5)
    assert caught.value.stable_lr == pytest.approx(0.125)  # 1/L with L = 8; 2/L is 0.25
    res = fit(X, y, lr=caught.value.stable_lr, tol=1e-10, max_iter=100_000)
    assert res.converged


@pytest.mark.parametrize("fit", FITS)
# Separable labels: logistic loss needs an L2 penalty to have an optimum.
@pytest.mark.parametrize("loss, l2", [("squared", 0.0), ("logistic", 0.01), ("huber", 0.5)])
def test_lr_auto_converges_and_is_recorded(fit, loss, l2):
    X, y = random_problem(400, 5)
    X = X * [1.0, 10.0, 0.1, 3.0, 1.0]
    if loss == "logistic":
        y = (y > 0.5).astype(float)
    res = fit(X, y, lr="auto", loss=loss, l2=l2, tol=1e-8, max_iter=200_000)
    factor = 0.25 if loss == "logistic" else 1.0
    assert res.lr == pytest.approx(1 / (factor * largest_hessian_eigenvalue(X) + l2))
    assert res.converged


@pytest.mark.parametrize("fit", FITS)
def test_tol_not_reached_warns(fit):
    X, y = random_problem(100, 3)
    with pytest.warns(fastgd.ConvergenceWarning, match="max_iter=5"):
        fit(X, y, tol=1e-12, max_iter=5)
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit(X, y, max_iter=5)  # tol=0: a fixed number of updates never warns


def test_float32_near_1e20_fast_and_reference_agree_and_the_advice_works():
    import warnings
    rng = np.random.default_rng(0)
    X = (rng.standard_normal((200, 3)) * 1e20).astype(np.float32)
    y = (X @ np.array([1, 2, 3], np.float32) * 1e-20).astype(np.float32)
    caught = []
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no numpy RuntimeWarning from the reference either
        for fit in FITS:
            with pytest.raises(fastgd.DivergenceError) as error:
                fit(X, y, lr=0.01, max_iter=50)
            caught.append(error.value)
            res = fit(X, y, lr=error.value.stable_lr, max_iter=50)
            assert np.all(np.isfinite(res.w)) and res.w.dtype == np.float32
    assert caught[0].iteration == caught[1].iteration
