"""A learning rate too large is never returned silently."""
import numpy as np
import pytest

import fastgd
from fastgd._divergence import largest_hessian_eigenvalue
from conftest import random_problem

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


def test_slow_divergence_is_caught_before_max_iter():
    X, y = random_problem(300, 3)
    lr = 2.05 / largest_hessian_eigenvalue(X, iterations=500)  # just past the edge: slow growth
    with pytest.raises(fastgd.DivergenceError, match="the loss grew"):
        fastgd.fit_linear(X, y, lr=lr, max_iter=100_000)
