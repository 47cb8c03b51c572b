"""minimize / maximize: the seeds exactly, compiled and Python paths alike, errors, divergence."""
import subprocess
import sys

import numba
import numpy as np
import pytest

import fastgd
from fastgd import reference


def python_only(t):
    """A gradient numba cannot compile (it calls into a Python object)."""
    return float(2 * t) + len({}) if isinstance(t, float) else 2 * t


# ---- the seeds -------------------------------------------------------------------------------

@pytest.mark.parametrize("grad", [lambda t: 2 * t, numba.njit(lambda t: 2 * t), python_only],
                         ids=["plain", "jitted", "python-only"])
def test_seed_000_walk(grad):
    res = fastgd.minimize(grad, 3.0, lr=0.3, max_iter=4, tol=0, path=True)
    textbook = [3.0]
    for _ in range(4):
        textbook.append(textbook[-1] - 0.3 * (2 * textbook[-1]))  # theta - alpha * 2 theta
    np.testing.assert_array_equal(res.path, textbook)
    np.testing.assert_allclose(res.path, [3, 1.2, 0.48, 0.192, 0.0768], rtol=1e-14)
    assert res.nit == 4 and not res.converged
    assert isinstance(res.x, float) and res.x == res.path[-1]


def test_seed_001_polynomial_minimum_at_minus_one():
    res = fastgd.minimize(lambda x: 2 * x + 2, 5.0, lr=0.1, tol=1e-6)
    assert res.converged and res.x == pytest.approx(-1, abs=1e-6)
    assert res.grad_norm <= 1e-6


def test_seed_001_symbolic_from_string_and_sympy():
    sympy = pytest.importorskip("sympy")
    x = sympy.Symbol("x")
    for expression in ("x**2 + 2*x + 3", x**2 + 2 * x + 3):
        res = fastgd.minimize(expression, 5.0, lr=0.1)
        assert res.x == pytest.approx(-1, abs=1e-6)
        assert res.fun_history[0] == 38.0 and res.fun == res.fun_history[-1]
        assert res.fun == pytest.approx(2.0, abs=1e-12)


def test_the_result_carries_scipys_names():
    res = fastgd.minimize(lambda x: 2 * x + 2, 5.0, lr=0.1, tol=1e-6,
                          fun=lambda x: x * x + 2 * x + 3)
    assert res.success and res.converged and res.status == 0
    assert res.message == "the gradient norm reached tol"
    assert res.jac == 2 * res.x + 2 and abs(res.jac) == res.grad_norm <= 1e-6
    assert res.fun == res.x * res.x + 2 * res.x + 3 == res.fun_history[-1]
    assert res.fun_history[0] == 38.0 and len(res.fun_history) == res.nit + 1
    short = fastgd.minimize(lambda x: 2 * x + 2, 5.0, lr=0.1, max_iter=3)
    assert not short.success and short.status == 1 and short.nit == 3
    assert short.message.startswith("max_iter updates made") and short.fun is None
    assert short.fun_history is None and short.jac == 2 * short.x + 2


def test_jac_is_the_gradient_at_x_for_a_vector_compiled_or_not():
    numba = pytest.importorskip("numba")
    D = np.array([1.0, 4.0])
    python = fastgd.minimize(lambda v: 2 * D * v, [1.0, 1.0], lr=0.1, max_iter=7, tol=0)
    jitted = fastgd.minimize(numba.njit(lambda v: 2 * D * v), [1.0, 1.0], lr=0.1, max_iter=7,
                             tol=0)
    for res in (python, jitted):
        np.testing.assert_array_equal(res.jac, 2 * D * res.x)
        assert res.jac.dtype == np.float64 and not res.jac.flags.writeable
        assert res.grad_norm == np.sqrt(np.sum(res.jac**2)) and res.status == 1
    np.testing.assert_array_equal(python.x, jitted.x)


def test_nit_counts_updates_as_the_seed_loop_does():
    for tol in (1e-1, 1e-3, 1e-6, 0.0):
        res = fastgd.minimize(lambda t: 2 * t, 3.0, lr=0.3, tol=tol, max_iter=500)
        var, updates = reference.minimize(lambda t: 2 * t, 3.0, lr=0.3, eps=tol, max_iter=500)
        assert res.nit == updates and res.x == var


def test_vector_descent_matches_the_seed_loop_exactly():
    D = np.linspace(1, 10, 100)
    grad = lambda x: 2 * D * x  # noqa: E731
    x0 = np.ones(100)
    res = fastgd.minimize(grad, x0, lr=0.04, tol=1e-8, max_iter=100_000)
    var, updates = reference.minimize(grad, x0, lr=0.04, eps=1e-8, max_iter=100_000)
    assert res.nit == updates
    np.testing.assert_allclose(res.x, var, rtol=0, atol=1e-15)
    assert res.converged and np.linalg.norm(res.x) < 1e-8
    np.testing.assert_array_equal(x0, 1)  # x0 untouched


def test_compiled_and_python_paths_give_identical_results():
    D = np.linspace(1, 3, 7)
    jitted = fastgd.minimize(numba.njit(lambda x: 2 * D * x - 1), np.ones(7), lr=0.1, path=True)
    plain = fastgd.minimize(lambda x: 2 * D * x - 1, np.ones(7), lr=0.1, path=True)
    assert jitted.nit == plain.nit
    np.testing.assert_array_equal(jitted.x, plain.x)
    np.testing.assert_array_equal(jitted.path, plain.path)


def test_a_plain_gradient_keeps_pythons_meaning():
    # Globals are read at each call, and integers never wrap: the gradient runs as Python.
    namespace = {"target": 3.0}
    exec("def g(x):\n    return 2 * (x - target)", namespace)
    assert fastgd.minimize(namespace["g"], 0.0).x == pytest.approx(3.0)
    namespace["target"] = 5.0  # changed after a first run: Python reads the new value
    assert fastgd.minimize(namespace["g"], 0.0).x == pytest.approx(5.0)
    scale = np.array([1.0])

    def scaled(x):
        return 2 * scale[0] * x

    scale[0] = 0.0  # changed in place after the function was made
    assert fastgd.minimize(scaled, 3.0, max_iter=5).x == 3.0
    big = fastgd.minimize(lambda x: float(2**70 * 0 + 2 * x), 1.0)
    assert big.converged


def test_a_gradient_that_changes_shape_mid_run_names_grad():
    calls = []

    def grad(x):
        calls.append(1)
        return np.ones(2) if len(calls) < 5 else np.ones(3)

    with pytest.raises(ValueError, match=r"grad must return an array of shape \(2,\) like x0, got "
                                         r"shape \(3,\) at iterate 4"):
        fastgd.minimize(grad, np.ones(2), lr=0.01)


def test_a_nan_objective_is_an_error_naming_fun():
    with pytest.raises(ValueError, match=r"fun is NaN at iterate \d+"):
        fastgd.minimize("log(x)", 1.0)
    with pytest.raises(TypeError, match=r"fun must return a real number, got array"):
        fastgd.minimize(lambda x: 2 * x, 1.0, fun=lambda x: np.array([x, x]))


def test_a_zero_d_gradient_for_a_vector_names_grad():
    with pytest.raises(TypeError, match=r"grad must return a real array shaped like x0 \(2,\)"):
        fastgd.minimize(lambda x: np.float64(1.0), np.ones(2))


def test_path_and_fun_grow_past_the_first_buffer():
    res = fastgd.minimize(lambda t: 2 * t, 3.0, lr=0.001, tol=0, max_iter=1000, path=True,
                          fun=lambda t: t * t)
    assert res.path.shape == (1001,) and res.fun_history.shape == (1001,)
    np.testing.assert_array_equal(res.fun_history, res.path**2)
    assert res.path[0] == 3.0 and res.path[-1] == res.x


def test_maximize_is_the_mirror_image():
    up = fastgd.maximize(lambda x: -(2 * x + 2), 5.0, lr=0.1, path=True)
    down = fastgd.minimize(lambda x: 2 * x + 2, 5.0, lr=0.1, path=True)
    np.testing.assert_array_equal(up.path, down.path)
    assert up.nit == down.nit


def test_several_variables_symbolic():
    res = fastgd.minimize("(a - 1)**2 + 10*(b + 2)**2 + sin(c)**2", [0.0, 0.0, 0.5], lr=0.04)
    np.testing.assert_allclose(res.x, [1, -2, 0], atol=1e-6)
    with pytest.raises(ValueError, match=r"x0 must give one value per variable \('a', 'b'\), got 3"):
        fastgd.minimize("a**2 + b**2", [1.0, 2.0, 3.0])


def test_symbolic_bad_expression():
    with pytest.raises(ValueError, match="grad: cannot read"):
        fastgd.minimize("x**2 +* 3", 1.0)
    with pytest.raises(ValueError, match="has no variable"):
        fastgd.minimize("3 + 4", 1.0)


def test_missing_sympy_names_the_extra():
    code = ("import sys; sys.modules['sympy'] = None\n"
            "import fastgd\n"
            "try:\n    fastgd.minimize('x**2', 1.0)\n"
            "except ImportError as err:\n    print(err)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert "pip install 'fastgd[symbolic]'" in out.stdout, out.stderr


# ---- divergence --------------------------------------------------------------------------

@pytest.mark.parametrize("grad", [lambda t: 2 * t, python_only], ids=["compiled", "python"])
def test_overshooting_lr_raises(grad):
    message = (r"minimize diverged at iteration \d+: the gradient norm grew to .* with lr=1.5; "
               r"a stable learning rate near x0 is about 0.5 ")
    with pytest.raises(fastgd.DivergenceError, match=message) as caught:
        fastgd.minimize(grad, 3.0, lr=1.5)
    err = caught.value
    assert err.stable_lr == pytest.approx(0.5) and np.isfinite(err.w) and err.iteration < 100


def test_non_finite_gradient_raises():
    with pytest.raises(fastgd.DivergenceError, match="stopped being finite"):
        fastgd.minimize(lambda x: np.log(x), 0.5, lr=5.0)  # 0.5, 3.97, -2.9: log is NaN


def test_oscillation_is_bounded_by_max_iter():
    res = fastgd.minimize(lambda t: 2 * t, 3.0, lr=1.0, max_iter=1000)  # theta <- -theta forever
    assert res.nit == 1000 and not res.converged and abs(res.x) == 3.0


# ---- errors ------------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs,exception,pattern", [
    (dict(grad=42), TypeError, r"grad must be callable \(or an expression\), got 42"),
    (dict(grad=lambda x: "a"), TypeError, r"grad must return a real number for a scalar x0, got 'a'"),
    (dict(grad=lambda x: np.ones(2)), TypeError, r"grad must return a real number for a scalar x0"),
    (dict(grad=lambda x: complex(x)), TypeError, r"grad must return a real number"),
    (dict(grad=lambda x: float("nan")), ValueError, r"grad\(x0\) must be finite, got nan"),
    (dict(x0=np.ones(3), grad=lambda x: np.ones(2)), ValueError,
     r"grad must return an array of shape \(3,\) like x0, got shape \(2,\)"),
    (dict(x0=np.ones(3), grad=lambda x: 1.0), TypeError, r"grad must return a real array shaped like x0"),
    (dict(lr=0), ValueError, r"lr must be a finite number > 0, got 0"),
    (dict(lr=-1), ValueError, r"lr must be a finite number > 0"),
    (dict(tol=-1), ValueError, r"tol must be a finite number >= 0, got -1"),
    (dict(max_iter=-5), ValueError, r"max_iter must be >= 0 and < 2\*\*63, got -5"),
    (dict(max_iter=2.5), TypeError, r"max_iter must be an integer"),
    (dict(x0="abc"), TypeError, r"x0 must be an array of real numbers"),
    (dict(x0=1 + 2j), TypeError, r"x0 must hold real numbers, got dtype complex128"),
    (dict(x0=True), TypeError, r"x0 must be a real number or a 1-D array of them, got True"),
    (dict(x0=float("inf")), ValueError, r"x0 must be finite, got inf"),
    (dict(x0=[1.0, np.nan]), ValueError, r"x0 must be finite"),
    (dict(x0=np.ones((2, 2))), ValueError,
     r"x0 must be a number or a non-empty 1-D array, got shape \(2, 2\)"),
    (dict(x0=[]), ValueError, r"x0 must be a number or a non-empty 1-D array, got shape \(0,\)"),
    (dict(fun=3), TypeError, r"fun must be callable or None, got 3"),
    (dict(path="yes"), TypeError, r"path must be True or False"),
])
@pytest.mark.parametrize("solver", [fastgd.minimize, fastgd.maximize])
def test_bad_arguments(solver, kwargs, exception, pattern):
    arguments = dict(grad=lambda t: 2 * t, x0=1.0) | kwargs
    with pytest.raises(exception, match=pattern):
        solver(arguments.pop("grad"), arguments.pop("x0"), **arguments)


# ---- command line ------------------------------------------------------------------------

def test_cli_minimize_with_path(capsys):
    from fastgd.cli import main
    assert main(["minimize", "x**2", "--x0", "3", "--lr", "0.3", "--tol", "0.1", "--path"]) == 0
    out = capsys.readouterr().out
    assert "minimiser: x = 0.03072" in out and "iterations: 5 (converged" in out
    assert "    1  x = 1.2  f = 1.44" in out and "    4  x = 0.0768" in out


def test_cli_minimize_seed_001(capsys):
    from fastgd.cli import main
    assert main(["minimize", "x**2 + 2*x + 3", "--x0", "5", "--lr", "0.1"]) == 0
    out = capsys.readouterr().out
    assert "minimiser: x = -0.99999959" in out and "objective: 2" in out


def test_cli_maximize_two_variables(capsys):
    from fastgd.cli import main
    assert main(["maximize", "-(x-1)**2 - (y+2)**2", "--x0", "0,0"]) == 0
    assert "maximiser: x = [ 0.9999997943 -1.9999995886]" in capsys.readouterr().out


def test_cli_demo_shows_all_seeds(capsys):
    from fastgd.cli import main
    main(["demo"])
    out = capsys.readouterr().out
    assert "3 -> 1.2 -> 0.48 -> 0.192 -> 0.0768" in out
    assert "x = -0.99999960 after 74 updates" in out
    assert "w = 1.90259238  b = 0.22143042" in out


@pytest.mark.parametrize("args,message", [
    (["minimize", "x**2", "--x0", "3", "--lr", "1.5"], "minimize diverged at iteration"),
    (["minimize", "x**2", "--x0", "a"], "--x0 must be a number or numbers separated by commas"),
    (["minimize", "x**2 +* 1", "--x0", "1"], "grad: cannot read"),
])
def test_cli_minimize_errors(args, message):
    out = subprocess.run([sys.executable, "-m", "fastgd", *args], capture_output=True, text=True)
    assert out.returncode == 1 and message in out.stderr and "Traceback" not in out.stderr


def test_a_formula_is_parsed_never_evaluated(tmp_path, capfd):
    marker = tmp_path / "pwned"
    for formula in (f"__import__('os').system('touch {marker}')", "x.real", "[x for x in y]",
                    "lambda: 1", "x if x else 1"):
        with pytest.raises(ValueError, match="is not allowed in a formula"):
            fastgd.minimize(formula, 1.0)
    assert not marker.exists()


@pytest.mark.parametrize("formula, x0, expected", [
    ("abs(x - 3) + x**2", 1.0, 0.5),      # real symbols: Abs differentiates to sign
    ("Abs(x - 1)**2", 3.0, 1.0),
    ("exp(x) - 2*x", 0.0, np.log(2)),
    ("(1-x)**2 + 100*(y-x**2)**2", [-1.2, 1.0], [1.0, 1.0]),
])
def test_formulas_with_functions(formula, x0, expected):
    lr = 0.001 if "100" in formula else 0.1
    res = fastgd.minimize(formula, x0, lr=lr, max_iter=200_000, tol=1e-8)
    np.testing.assert_allclose(res.x, expected, atol=1e-5)


@pytest.mark.parametrize("formula, message", [
    ("x^2", r"\^ is not a power in a formula; write x\*\*2"),
    ("sin", r"sin is a function; call it, as sin\(x\)"),
    ("log(x, 2, 3)", r"cannot read 'log\(x, 2, 3\)'"),
])
def test_formula_errors_say_what_to_write(formula, message):
    with pytest.raises(ValueError, match=message):
        fastgd.minimize(formula, 1.0)


def test_cli_negative_and_comma_separated_x0_as_typed(capsys):
    from fastgd.cli import main
    assert main(["minimize", "(1-x)**2 + 100*(y-x**2)**2", "--x0", "-1.2,1", "--lr", "0.001",
                 "--max-iter", "200000"]) == 0
    assert "minimiser: x = [" in capsys.readouterr().out
    assert main(["minimize", "x**2", "--x0", "-3"]) == 0


@pytest.mark.parametrize("solve, formula, bound", [(fastgd.maximize, "x**2", "above"),
                                                   (fastgd.minimize, "-x**2 - y**2", "below")])
def test_no_optimum_is_said_instead_of_a_learning_rate_that_fails(solve, formula, bound):
    x0 = 1.0 if formula == "x**2" else [1.0, 0.5]
    with pytest.raises(fastgd.DivergenceError, match=rf"may have no \w+ \(unbounded {bound}\)") as caught:
        solve(formula, x0, lr=0.5)
    assert caught.value.stable_lr is None
    with pytest.raises(fastgd.DivergenceError, match="a stable learning rate near x0 is about 0.5"):
        fastgd.minimize("x**2", 1.0, lr=1.5)  # bounded: the advice stands


def test_a_formula_runs_at_once_and_compiles_only_a_long_run(monkeypatch):
    pytest.importorskip("sympy")
    from fastgd import _tuning, symbolic

    def refuse(source):
        raise AssertionError("a short run compiled its gradient")

    with monkeypatch.context() as patch:
        patch.setattr(symbolic, "_compiled", refuse)
        short = fastgd.minimize("(x - 3)**2 + (y + 1)**2", [0.0, 0.0], lr=0.1)
    assert short.converged and np.allclose(short.x, [3.0, -1.0])
    # A run past COMPILE_AFTER_SECONDS goes on compiled, to the same iterates.
    rosenbrock = "(1-x)**2 + 100*(y-x**2)**2"
    python = fastgd.minimize(rosenbrock, [-1.2, 1.0], lr=0.001, max_iter=3000, tol=0)
    monkeypatch.setattr(_tuning, "COMPILE_AFTER_SECONDS", 0.0)
    compiled = fastgd.minimize(rosenbrock, [-1.2, 1.0], lr=0.001, max_iter=3000, tol=0)
    np.testing.assert_allclose(compiled.x, python.x, rtol=1e-12)
    assert compiled.nit == python.nit == 3000
