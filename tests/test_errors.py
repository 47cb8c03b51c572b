"""Every bad input of the contract: the right exception and a message naming the argument."""
import numpy as np
import pytest

import fastgd

FITS = [fastgd.fit_linear, fastgd.reference.fit_linear]
X_OK = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 7.0]])
Y_OK = np.array([1.0, 2.0, 3.0])

BAD_CALLS = [
    # (arguments, exception, message pattern)
    (dict(X=np.array([[1.0, np.nan], [3.0, 4.0], [5.0, 7.0]])), ValueError,
     r"X must be finite, got NaN at index \(0, 1\)"),
    (dict(X=np.array([[1.0, 2.0], [np.inf, 4.0], [5.0, 7.0]])), ValueError,
     r"X must be finite, got inf at index \(1, 0\)"),
    (dict(y=np.array([1.0, np.nan, 3.0])), ValueError, r"y must be finite, got NaN at index \(1,\)"),
    (dict(X=np.array([1.0, 2.0, 3.0])), ValueError, r"X must be 2-D \(rows, features\), got 1-D"),
    (dict(X=np.ones((3, 2, 1))), ValueError, r"X must be 2-D .* got 3-D"),
    (dict(y=np.ones((3, 1, 1))), ValueError, r"y must be 1-D \(m,\) or 2-D \(m, k\), got 3-D"),
    (dict(y=np.ones(4)), ValueError, r"y must have one row per row of X \(3\), got 4"),
    (dict(X=np.empty((0, 2)), y=np.empty(0)), ValueError,
     r"X must have at least one row and one column, got shape \(0, 2\)"),
    (dict(X=np.empty((3, 0))), ValueError, r"X must have at least one row and one column"),
    (dict(y=np.empty((3, 0))), ValueError, r"y must have at least one column"),
    (dict(X=X_OK.astype(complex)), TypeError, r"X must hold real numbers, got dtype complex128"),
    (dict(X=[["a", "b"], ["c", "d"], ["e", "f"]]), TypeError, r"X must hold real numbers, got dtype <U1"),
    (dict(X=np.array([[1, 2], [3, None], [5, 6]], dtype=object)), TypeError,
     r"X must hold real numbers, got dtype object"),
    (dict(y=np.array([1, 2, 3], dtype=complex)), TypeError, r"y must hold real numbers"),
    (dict(X=None), TypeError, r"X must be an array of real numbers, got None"),
    (dict(X="1 2 3"), TypeError, r"X must be an array of real numbers"),
    (dict(lr=0), ValueError, r"lr must be a finite number > 0, got 0"),
    (dict(lr=-0.1), ValueError, r"lr must be a finite number > 0, got -0.1"),
    (dict(lr=float("nan")), ValueError, r"lr must be a finite number > 0, got nan"),
    (dict(lr=float("inf")), ValueError, r"lr must be a finite number > 0, got inf"),
    (dict(lr="0.1"), ValueError, r"lr must be a number > 0 or \"auto\", got '0.1'"),
    (dict(lr=True), TypeError, r"lr must be a real number, got True"),
    (dict(lr=1j), TypeError, r"lr must be a real number"),
    (dict(max_iter=-1), ValueError, r"max_iter must be >= 0 and < 2\*\*63, got -1"),
    (dict(max_iter=2**63), ValueError, r"max_iter must be >= 0 and < 2\*\*63, got 9223372036854775808"),
    (dict(max_iter=2**64), ValueError, r"max_iter must be >= 0 and < 2\*\*63"),
    (dict(max_iter=10.0), TypeError, r"max_iter must be an integer, got 10.0 \(float\)"),
    (dict(tol=-1e-9), ValueError, r"tol must be a finite number >= 0, got -1e-09"),
    (dict(tol=float("nan")), ValueError, r"tol must be a finite number >= 0, got nan"),
    (dict(loss="hinge"), ValueError, r"loss must be one of 'squared', 'huber', 'logistic', got 'hinge'"),
    (dict(loss="huber", delta=-1.0), ValueError, r"delta must be a finite number >= 0, got -1.0"),
    (dict(loss="huber", delta=0), ValueError, r"delta must be > 0 for loss='huber'"),
    (dict(l2=-0.1), ValueError, r"l2 must be a finite number >= 0, got -0.1"),
    (dict(l1=-1), ValueError, r"l1 must be a finite number >= 0, got -1"),
    (dict(l1="x"), TypeError, r"l1 must be a real number"),
    (dict(loss="logistic"), ValueError,
     r"y must hold labels 0 and 1 for loss='logistic', got 2.0 at index 1"),
    (dict(y=np.array([0.0, 1.0, 0.5]), loss="logistic"), ValueError, r"got 0.5 at index 2"),
    (dict(callback=3), TypeError, r"callback must be callable or None, got 3"),
    (dict(progress="yes"), TypeError, r"progress must be True or False"),
    (dict(X=np.ma.masked_array(X_OK, mask=X_OK > 6)), ValueError,
     r"X is a masked array with masked entries"),
    (dict(w0=np.zeros(3)), ValueError, r"w0 must have shape \(2,\) to match X and y, got \(3,\)"),
    (dict(w0=np.zeros((2, 1))), ValueError, r"w0 must have shape \(2,\) to match X and y, got \(2, 1\)"),
    (dict(w0=[np.nan, 0.0]), ValueError, r"w0 must be finite"),
    (dict(b0=np.zeros(2)), ValueError, r"b0 must be a scalar to match y, got shape \(2,\)"),
    (dict(b0=np.inf), ValueError, r"b0 must be finite"),
    (dict(b0="x"), TypeError, r"b0 must be an array of real numbers"),
    (dict(history="yes"), TypeError, r"history must be True or False, got 'yes'"),
]


def test_masked_array_without_masked_entries_is_its_data():
    masked = np.ma.masked_array(X_OK, mask=np.zeros_like(X_OK, bool))
    assert fastgd.fit_linear(masked, Y_OK).w.tobytes() == fastgd.fit_linear(X_OK, Y_OK).w.tobytes()


def test_pandas_nullable_columns():
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"a": pd.array([1, 3, 5], dtype="Int64"),
                          "b": pd.array([2.0, 4.0, 7.0], dtype="Float64")})
    fit = fastgd.fit_linear(frame, pd.Series(Y_OK, dtype="Float64"))
    assert fit.w.tobytes() == fastgd.fit_linear(X_OK, Y_OK).w.tobytes()
    frame.loc[1, "b"] = pd.NA
    with pytest.raises(ValueError, match=r"X column 'b' holds missing values \(NA\)"):
        fastgd.fit_linear(frame, Y_OK)


@pytest.mark.parametrize("fit", FITS)
@pytest.mark.parametrize("bad,exception,pattern", BAD_CALLS)
def test_bad_input_raises_before_any_work(fit, bad, exception, pattern):
    arguments = dict(X=X_OK, y=Y_OK) | bad
    X, y = arguments.pop("X"), arguments.pop("y")
    with pytest.raises(exception, match=pattern):
        fit(X, y, **arguments)


@pytest.mark.parametrize("fit", FITS)
def test_2d_y_warm_start_shapes(fit):
    Y = np.ones((3, 2))
    with pytest.raises(ValueError, match=r"w0 must have shape \(2, 2\) to match X and y, got \(2,\)"):
        fit(X_OK, Y, w0=np.zeros(2))
    with pytest.raises(ValueError, match=r"b0 must be a scalar or shape \(2,\) to match y, got shape \(3,\)"):
        fit(X_OK, Y, b0=np.zeros(3))
    res = fit(X_OK, Y, b0=0.5, max_iter=0)  # a scalar b0 starts every column
    np.testing.assert_array_equal(res.b, [0.5, 0.5])


@pytest.mark.parametrize("bad,exception,pattern", [
    (0, ValueError, r"n_threads must be >= 1, got 0"),
    (1.5, TypeError, r"n_threads must be a positive integer or None, got 1.5"),
])
def test_bad_thread_count(bad, exception, pattern):
    with pytest.raises(exception, match=pattern):
        fastgd.fit_linear(X_OK, Y_OK, n_threads=bad)


@pytest.mark.parametrize("options", [dict(n_threads=2), dict(solver="gram")])
def test_non_finite_y_found_by_the_first_pass(options):
    # fit_linear leaves y's check, as X's, to the solver's first pass: every kernel and the gram
    # solver must still name the element, here in the second column of a 2-D y.
    X = np.ones((4096, 4))
    Y = np.ones((4096, 2))
    Y[4000, 1] = np.nan
    with pytest.raises(ValueError, match=r"y must be finite, got NaN at index \(4000, 1\)"):
        fastgd.fit_linear(X, Y, max_iter=5, **options)


@pytest.mark.parametrize("fit", FITS)
def test_overflow_at_the_start_blames_the_data_not_lr(fit):
    X = np.full((3, 1), 1e300)
    with pytest.raises(fastgd.DivergenceError, match="cannot start: the loss at the start is not "
                                                     "finite: X, y or the warm start are too large"):
        fit(X, np.ones(3), b0=1e300)


def test_finite_check_survives_a_sum_that_overflows():
    from fastgd._validate import check_finite

    check_finite(np.array([1e308, 1e308, -1e308]), "y")  # finite values, infinite sum: no error
    with pytest.raises(ValueError, match=r"y must be finite, got inf at index \(2,\)"):
        check_finite(np.array([1e308, 1e308, np.inf]), "y")
    with pytest.raises(ValueError, match=r"w0 must be finite, got NaN at index \(1, 0\)"):
        check_finite(np.array([[1.0], [np.nan]], dtype=np.float32), "w0")


def test_the_reference_takes_every_fit_linear_keyword():
    fast = fastgd.fit_linear(X_OK, Y_OK, n_threads=2, solver="rows", progress=False)
    ref = fastgd.reference.fit_linear(X_OK, Y_OK, n_threads=2, solver="gram", progress=False)
    np.testing.assert_allclose(ref.w, fast.w, rtol=1e-12)


def test_cli_minimize_of_a_nan_objective_exits_1_in_one_line():
    import subprocess
    import sys
    out = subprocess.run([sys.executable, "-m", "fastgd", "minimize", "log(x)", "--x0", "1"],
                         capture_output=True, text=True)
    assert out.returncode == 1 and "fun is NaN at iterate" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def test_nan_in_x_with_lr_auto_is_named_as_such():
    # The curvature of X is then NaN: the message must not advise rescaling X.
    X = np.random.default_rng(0).standard_normal((100, 3))
    X[5, 1] = np.nan
    with pytest.raises(ValueError, match=r"X must be finite, got NaN at index \(5, 1\)"):
        fastgd.fit_linear(X, X.sum(axis=1), lr="auto")
