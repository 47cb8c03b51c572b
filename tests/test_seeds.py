"""Seed 002's worked example, exactly, through both paths."""
import numpy as np
import pytest

import fastgd

X_SEED = np.array([[1], [2], [3]])
Y_SEED = np.array([2, 4, 6])


@pytest.mark.parametrize("fit", [fastgd.fit_linear, fastgd.reference.fit_linear])
def test_seed_002_example(fit):
    res = fit(X_SEED, Y_SEED)
    assert res.w.shape == (1,) and res.w.dtype == np.float64
    assert isinstance(res.b, float)
    assert res.w[0] == pytest.approx(1.90259238, abs=5e-9)
    assert res.b == pytest.approx(0.22143042, abs=5e-9)
    assert res.n_iter == 1000 and not res.converged


@pytest.mark.parametrize("fit", [fastgd.fit_linear, fastgd.reference.fit_linear])
def test_seed_002_with_2d_y_as_the_seed_writes_it(fit):
    res = fit(X_SEED, Y_SEED[:, None])  # the seed's y is (m, 1): w is (n, 1), b is (1,)
    assert res.w.shape == (1, 1) and res.b.shape == (1,)
    assert res.w[0, 0] == pytest.approx(1.90259238, abs=5e-9)
    assert res.b[0] == pytest.approx(0.22143042, abs=5e-9)


def test_seed_002_defaults_are_the_seeds_call():
    explicit = fastgd.fit_linear(X_SEED, Y_SEED, lr=0.01, max_iter=1000, w0=[0.0], b0=0.0)
    default = fastgd.fit_linear(X_SEED, Y_SEED)
    assert explicit.w[0] == default.w[0] and explicit.b == default.b


def test_first_update_by_hand():
    # J(0, 0) = (4 + 16 + 36) / 6; dw = -(2 + 8 + 18) / 3; db = -(2 + 4 + 6) / 3.
    res = fastgd.fit_linear(X_SEED, Y_SEED, max_iter=1, history=True)
    assert res.history[0] == pytest.approx(56 / 6, rel=1e-15)
    assert res.w[0] == pytest.approx(0.01 * 28 / 3, rel=1e-15)
    assert res.b == pytest.approx(0.01 * 4, rel=1e-15)
