"""Fuzzing as a careless or hostile user would: any input gives a result with finite values, or
a ValueError/TypeError/DivergenceError with a one-line message; inputs are never changed."""
import warnings

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import fastgd
from fastgd.cli import main

EXPECTED = (ValueError, TypeError, fastgd.DivergenceError)
NUMBERS = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-10**20, 10**20),
                    st.just("auto"), st.just(None), st.text(max_size=3), st.booleans())


def arrays(max_dims=3):
    shapes = hnp.array_shapes(min_dims=0, max_dims=max_dims, min_side=0, max_side=6)
    dtypes = st.sampled_from([np.float64, np.float32, np.int32, np.bool_, np.complex128])
    return dtypes.flatmap(lambda dtype: hnp.arrays(dtype, shapes))


def finite(result):
    for name in ("w", "b", "x", "loss", "grad_norm"):
        value = getattr(result, name, None)
        if value is not None:
            assert np.all(np.isfinite(np.asarray(value, dtype=np.complex128).real)), name


def one_line(err):
    assert "\n" not in str(err), str(err)


@settings(max_examples=60)
@given(X=arrays(), y=arrays(), lr=NUMBERS, max_iter=NUMBERS, tol=NUMBERS,
       loss=st.sampled_from(["squared", "huber", "logistic", "hinge", 3]))
def test_fit_linear_and_many_never_misbehave(X, y, lr, max_iter, tol, loss):
    before = X.copy(), y.copy()
    if isinstance(max_iter, int) and max_iter > 10_000:
        max_iter = 10_000  # keep each example short
    for fit in (fastgd.fit_linear, fastgd.fit_linear_many, fastgd.reference.fit_linear):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                finite(fit(X, y, lr=lr, max_iter=max_iter, tol=tol, loss=loss))
        except EXPECTED as err:
            one_line(err)
        np.testing.assert_array_equal(X, before[0])
        np.testing.assert_array_equal(y, before[1])


@settings(max_examples=60)
@given(x0=st.one_of(NUMBERS, arrays(max_dims=2)), lr=NUMBERS, formula=st.sampled_from(
    ["x**2", "x**2 + y**2", "log(x)", "exp(x)", "x", "1/x", "sqrt(x)", "x**3", "Abs(x)"]))
def test_minimize_never_misbehaves(x0, lr, formula):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            finite(fastgd.minimize(formula, x0, lr=lr, max_iter=2000))
    except EXPECTED as err:
        one_line(err)


WORDS = ["compare", "minimize", "maximize", "demo", "--x0", "--rows", "--features", "--iters",
         "--lr", "--tol", "--dtype", "--many", "--max-iter", "--data", "-1", "0", "1e400", "nan",
         "x**2", "auto", "--path"]


@settings(max_examples=100, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(argv=st.lists(st.one_of(st.sampled_from(WORDS), st.text(max_size=8)), max_size=6))
def test_the_command_line_exits_cleanly_on_any_arguments(argv, capsys):
    if argv[:1] == ["compare"] and "--many" not in argv:
        argv = argv + ["--rows", "50", "--features", "2", "--iters", "3"]
    try:
        code = main(argv)
    except SystemExit as exit:  # argparse: usage errors and --help
        code = exit.code
    assert code in (0, 1, 2)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    if code == 1:
        assert len(err.strip().splitlines()) == 1, err
