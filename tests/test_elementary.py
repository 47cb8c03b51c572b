"""The logistic loss's ``exp`` and ``log1p`` (``fastgd._kernels.elementary``): where their
polynomials come from, and how close the sigmoid and ``log1p(e^-|z|)`` are to the exact values."""
import mpmath
import numba
import numpy as np

from fastgd._kernels import elementary


def chebyshev_interpolant(f, low, high, degree):
    """Monomial coefficients (float64) of the polynomial of ``degree`` that equals ``f`` at the
    Chebyshev nodes of ``[low, high]``, solved in 200-bit arithmetic."""
    with mpmath.workprec(200):
        count = degree + 1
        nodes = [(low + high) / 2 + (high - low) / 2 * mpmath.cos(mpmath.pi * (k + 0.5) / count)
                 for k in range(count)]
        A = mpmath.matrix([[x ** j for j in range(count)] for x in nodes])
        coefficients = mpmath.lu_solve(A, mpmath.matrix([f(x) for x in nodes]))
        return tuple(float(c) for c in coefficients)


def atanh_ratio(t):
    """``atanh(s) / s`` as a function of ``t = s^2``."""
    return mpmath.atanh(mpmath.sqrt(t)) / mpmath.sqrt(t) if t > 0 else mpmath.mpf(1)


def test_exp_polynomial_is_the_chebyshev_interpolant_on_the_reduced_range():
    with mpmath.workprec(200):
        half_ln2 = mpmath.log(2) / 2
        assert elementary._EXP_TERMS == chebyshev_interpolant(mpmath.exp, -half_ln2, half_ln2, 11)


def test_atanh_polynomial_is_the_chebyshev_interpolant_up_to_s_one_third():
    with mpmath.workprec(200):
        assert elementary._ATANH_TERMS == chebyshev_interpolant(atanh_ratio, mpmath.mpf(0),
                                                                mpmath.mpf(1) / 9, 10)


@numba.njit
def _parts(z):
    sigmoid, tail = np.empty_like(z), np.empty_like(z)
    for i in range(z.size):
        sigmoid[i], tail[i] = elementary.logistic_parts(z[i])
    return sigmoid, tail


def _ulps(value, exact):
    return abs(value - float(exact)) / np.spacing(abs(float(exact)))


def test_sigmoid_and_log1p_tail_within_a_few_ulp_of_exact():
    rng = np.random.default_rng(0)
    z = np.concatenate([rng.uniform(-708, 708, 1500), rng.uniform(-30, 30, 1500),
                        [0.0, -0.0, 1e-300, -1e-300, 0.5 * np.log(2), -708.0, 708.0]])
    sigmoid, tail = _parts(z)
    worst_sigmoid = worst_tail = 0.0
    with mpmath.workprec(120):
        for value, s, t in zip(z, sigmoid, tail):
            x = mpmath.mpf(float(value))
            worst_sigmoid = max(worst_sigmoid, _ulps(s, 1 / (1 + mpmath.exp(-x))))
            worst_tail = max(worst_tail, _ulps(t, mpmath.log1p(mpmath.exp(-abs(x)))))
    assert worst_sigmoid <= 3
    assert worst_tail <= 4


def test_beyond_708_the_sigmoid_and_tail_are_held_at_e_to_the_minus_708():
    sigmoid, tail = _parts(np.array([-750.0, -1e300, 750.0, 1e300]))
    assert np.all(sigmoid[:2] <= 1e-307) and np.all(sigmoid[2:] == 1.0)
    assert np.all(tail <= 1e-307)
