"""The ``fastgd`` command: ``compare`` the fast path with the reference, ``demo`` the seeds,
``minimize``/``maximize`` a formula."""
import argparse
import os
import sys
import time

import numpy as np

from . import reference
from .data import load_problem
from .errors import DivergenceError
from .linear import fit_linear
from .many import fit_linear_many
from .optimize import maximize, minimize

SEED_X = [[1], [2], [3]]
SEED_Y = [2, 4, 6]
#: Timed runs of each side in ``compare``: the best is shown. Runs stop early once a side has
#: spent ``BUDGET_SECONDS`` (at least one run): the default problem's reference takes three.
REPEATS = 5
BUDGET_SECONDS = 0.2


def random_problem(rows, features, dtype="float64", seed=0):
    """``X`` standard normal, ``y = X @ w_true + 0.5``, from ``numpy.random.default_rng(seed)``."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((rows, features)).astype(dtype, copy=False)
    return X, (X @ rng.standard_normal(features).astype(dtype) + 0.5).astype(dtype, copy=False)


def _available_memory():
    """Bytes of memory available now (Linux), or None where unknown."""
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def _best(fn):
    """``(result, best seconds, runs)``: up to REPEATS runs, fewer once BUDGET_SECONDS are
    spent."""
    best, runs, spent = float("inf"), 0, 0.0
    while runs < REPEATS and (runs == 0 or spent < BUDGET_SECONDS):
        start = time.perf_counter()
        result = fn()
        elapsed = time.perf_counter() - start
        best, runs, spent = min(best, elapsed), runs + 1, spent + elapsed
    return result, best, runs


def _print_table(rows):
    """Rows of three cells, right-aligned in columns."""
    width = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        print("  ".join(cell.rjust(w) for cell, w in zip(row, width)))


def compare_many(args):
    """P problems of W7's shape (50 x 3) in one fit_linear_many call and in a Python loop."""
    if args.many < 1:
        raise ValueError(f"--many must be >= 1, got {args.many}")
    rng = np.random.default_rng(0)
    X = rng.standard_normal((args.many, 50, 3)).astype(args.dtype)
    y = (X @ rng.standard_normal(3) + 0.5).astype(args.dtype)
    options = dict(lr=args.lr, max_iter=args.iters, tol=args.tol)
    fit_linear_many(X[:2], y[:2], **dict(options, max_iter=1))  # compile or load first
    fit_linear(X[0], y[0], **dict(options, max_iter=1))
    many, t_many, n_many = _best(lambda: fit_linear_many(X, y, **options, n_threads=args.threads))
    loop, t_loop, n_loop = _best(lambda: [fit_linear(Xp, yp, **options, n_threads=1)
                                          for Xp, yp in zip(X, y)])
    same = all(fit.w.tobytes() == many.w[p].tobytes() and fit.b == many.b[p]
               for p, fit in enumerate(loop))
    print(f"problems: {args.many} of 50 x 3 {args.dtype} (y = X w + 0.5); lr={many.lr[0]:g}, "
          f"max_iter={args.iters}, tol={args.tol:g}")
    rows = [("", "loop of fit_linear", "fit_linear_many"),
            ("time (best)", f"{t_loop * 1e3:.1f} ms", f"{t_many * 1e3:.1f} ms"),
            ("runs timed", str(n_loop), str(n_many)),
            ("problems / s", f"{args.many / t_loop:.0f}", f"{args.many / t_many:.0f}"),
            ("speedup", "1", f"{t_loop / t_many:.1f}x"),
            ("same bits", "", "yes" if same else "NO")]
    _print_table(rows)


def compare(args):
    if args.many is not None:
        return compare_many(args)
    if args.data:
        X, y = load_problem(args.data, args.target)
        source = args.data
    else:
        for name in ("rows", "features", "iters"):
            least = 0 if name == "iters" else 1
            if getattr(args, name) < least:
                raise ValueError(f"--{name} must be >= {least}, got {getattr(args, name)}")
        needed = args.rows * (args.features + 1) * np.dtype(args.dtype).itemsize * 2
        available = _available_memory()
        if available is not None and needed > available:
            raise ValueError(f"--rows {args.rows} --features {args.features} needs about "
                             f"{needed / 2**30:.1f} GiB (X and a copy), more than the "
                             f"{available / 2**30:.1f} GiB available")
        X, y = random_problem(args.rows, args.features, args.dtype)
        source = f"random {args.rows} x {args.features} {args.dtype}, y = X w + 0.5"
    options = dict(lr=args.lr, max_iter=args.iters, tol=args.tol)
    # Load (or compile) what this X takes before timing: no update, one pass over X.
    fit_linear(X, y, **dict(options, max_iter=0, tol=0.0), n_threads=args.threads)
    fast, t_fast, n_fast = _best(lambda: fit_linear(X, y, **options, n_threads=args.threads))
    ref, t_ref, n_ref = _best(lambda: reference.fit_linear(X, y, **options))
    print(f"problem: {source}; {X.shape[0]} rows, {X.shape[1]} features; "
          f"lr={fast.lr:g}, max_iter={args.iters}, tol={args.tol:g}")
    dw = float(np.max(np.abs(fast.w - ref.w)))
    db = float(np.max(np.abs(np.asarray(fast.b) - ref.b)))
    rows = [
        ("", "reference", "fastgd"),
        ("time (best)", f"{t_ref * 1e3:.3f} ms", f"{t_fast * 1e3:.3f} ms"),
        ("runs timed", str(n_ref), str(n_fast)),
        ("speedup", "1", f"{t_ref / t_fast:.1f}x"),
        ("iterations", str(ref.n_iter), str(fast.n_iter)),
        ("converged", _converged(ref, args.tol), _converged(fast, args.tol)),
        ("final loss", f"{ref.loss:.10g}", f"{fast.loss:.10g}"),
        ("b", f"{np.asarray(ref.b).ravel()[0]:.10g}", f"{np.asarray(fast.b).ravel()[0]:.10g}"),
        ("max |w - w_ref|", "", f"{dw:.3g}"),
        ("|b - b_ref|", "", f"{db:.3g}"),
    ]
    _print_table(rows)
    if args.plot:
        from .plot import loss_curve

        def draw(ax):
            curves = dict(history=True, **options)
            loss_curve(reference.fit_linear(X, y, **curves), ax, label="reference")
            loss_curve(fit_linear(X, y, **curves, n_threads=args.threads), ax, label="fastgd",
                       tol=options.get("tol"))
        _save(draw, args.plot)


def _save(draw, filename):
    """Draw with ``draw(ax)`` on a new figure and save it to ``filename`` (any format matplotlib
    writes, by its extension), without a screen."""
    try:
        import matplotlib
    except ImportError:
        raise ImportError("--plot needs matplotlib: pip install 'fastgd[plot]'") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    figure, ax = plt.subplots(figsize=(6, 4.5))
    draw(ax)
    figure.tight_layout()
    figure.savefig(filename)
    plt.close(figure)
    print(f"plot: {filename}")


def _converged(result, tol):
    if tol == 0:
        return "n/a (tol=0)"
    return "yes" if result.converged else "no"


def _start(text):
    try:
        values = [float(part) for part in text.split(",")]
    except ValueError:
        raise ValueError(f"--x0 must be a number or numbers separated by commas, got {text!r}") from None
    return values[0] if len(values) == 1 else np.array(values)


def optimise(args):
    solve = maximize if args.command == "maximize" else minimize
    res = solve(args.expression, _start(args.x0), lr=args.lr, tol=args.tol,
                max_iter=args.max_iter, path=args.path or bool(args.plot))
    where = "maximiser" if args.command == "maximize" else "minimiser"
    x = res.x if isinstance(res.x, float) else np.array2string(res.x, precision=10)
    print(f"{where}: x = {x if isinstance(x, str) else f'{x:.10g}'}")
    print(f"objective: {res.fun:.10g}")
    print(f"iterations: {res.nit} ({'converged' if res.converged else 'not converged'}, "
          f"|grad| = {res.grad_norm:.3g}, tol = {args.tol:g})")
    if args.path:
        print("path:")
        for i, (point, value) in enumerate(zip(res.path, res.fun_history)):
            point = f"{point:.10g}" if np.ndim(point) == 0 else np.array2string(point, precision=10)
            print(f"  {i:>5}  x = {point}  f = {value:.10g}")
    if args.plot:
        from .plot import path
        _save(lambda ax: path(args.expression, res, ax), args.plot)


def demo(args):
    print("Seed 000: gradient descent on J(theta) = theta^2, gradient 2 theta, theta = 3, alpha = 0.3:")
    walk = minimize(lambda t: 2 * t, 3.0, lr=0.3, tol=0, max_iter=4, path=True).path
    print("  " + " -> ".join(f"{t:.4g}" for t in walk))
    print("\nSeed 001: descent on x^2 + 2x + 3 until |grad| <= eps = 1e-6, from x = 5, lr = 0.1:")
    res = minimize(lambda x: 2 * x + 2, 5.0, lr=0.1, tol=1e-6, fun=lambda x: x * x + 2 * x + 3)
    print(f"  x = {res.x:.8f} after {res.nit} updates (the minimum is at -1, f = {res.fun:.8f})")
    res = maximize(lambda x: -2 * x + 2, 5.0, lr=0.1, tol=1e-6)
    print(f"  ascent on -x^2 + 2x: x = {res.x:.8f} after {res.nit} updates (the maximum is at 1)")
    print("\nSeed 002: linear regression by batch gradient descent, fitting y = 2x from")
    print("X = [[1], [2], [3]], y = [2, 4, 6], w = b = 0, alpha = 0.01, 1000 iterations:")
    for name, fit in (("reference", reference.fit_linear), ("fastgd   ", fit_linear)):
        res = fit(SEED_X, SEED_Y)
        print(f"  {name}  w = {res.w[0]:.8f}  b = {res.b:.8f}  "
              f"learned y = {res.b:.4f} + {res.w[0]:.4f} x")


def build_parser():
    parser = argparse.ArgumentParser(
        prog="fastgd", description="Gradient descent at native speed, with the textbook's semantics.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = commands.add_parser(
        "compare", help="fit one problem by the reference and by fastgd, side by side",
        description="Fit one linear-regression problem by the numpy reference and by fastgd's "
                    "compiled kernel, with the library's defaults; print the best time of "
                    "several runs of each, the speedup, the iterations, convergence, the final "
                    "loss and how far apart the coefficients are. The problem is random "
                    "(X standard normal, y = X w + 0.5, seed 0) unless --data gives one.")
    p.add_argument("--rows", type=int, default=10_000, help="rows of a random X (default 10000)")
    p.add_argument("--features", type=int, default=10, help="columns of a random X (default 10)")
    p.add_argument("--dtype", choices=["float64", "float32"], default="float64",
                   help="dtype of a random problem (default float64)")
    p.add_argument("--iters", type=int, default=1000,
                   help="most gradient-descent updates, max_iter (default 1000, the library's)")
    p.add_argument("--lr", type=_lr, default=0.01,
                   help='learning rate, a number or "auto" (default 0.01, the library\'s)')
    p.add_argument("--tol", type=float, default=0.0,
                   help="stop at gradient norm <= tol (default 0: exactly --iters updates)")
    p.add_argument("--threads", type=int, default=None, help="fastgd's threads (default: by size)")
    p.add_argument("--plot", metavar="FILE.png", help="draw both loss curves to FILE")
    p.add_argument("--many", type=int, metavar="P",
                   help="instead, P problems of 50 x 3: one fit_linear_many call against a "
                        "Python loop over fit_linear")
    p.add_argument("--data", metavar="FILE",
                   help="load the problem from a .npy, .csv or .parquet table, or a .npz with X "
                        "and y")
    p.add_argument("--target", metavar="COLUMN",
                   help="y's column in a --data table: a header name or an index (default: last)")
    p.set_defaults(run=compare)

    for name, verb in (("minimize", "descent"), ("maximize", "ascent")):
        p = commands.add_parser(
            name, help=f"gradient {verb} on an expression, its gradient derived symbolically",
            description=f"Gradient {verb} on EXPRESSION (a formula in x, or in several variables "
                        "taken in alphabetical order), its gradient derived by SymPy and compiled. "
                        "Needs fastgd[symbolic].")
        p.add_argument("expression", metavar="EXPRESSION", help='the objective, e.g. "x**2 + 2*x + 3"')
        p.add_argument("--x0", required=True, help="the start: a number, or numbers separated by commas")
        p.add_argument("--lr", type=float, default=0.1, help="learning rate (default 0.1)")
        p.add_argument("--tol", type=float, default=1e-6, help="stop when |grad| <= tol (default 1e-6)")
        p.add_argument("--max-iter", type=int, default=10_000, help="most updates (default 10000)")
        p.add_argument("--path", action="store_true", help="print every iterate and its objective")
        p.add_argument("--plot", metavar="FILE.png",
                       help="draw the walk over the curve (1 variable) or contours (2) to FILE")
        p.set_defaults(run=optimise)

    p = commands.add_parser("demo", help="the source documents' worked examples",
                            description="Print the seeds' worked examples, computed by fastgd.")
    p.set_defaults(run=demo)
    return parser


def _lr(text):
    return text if text == "auto" else float(text)


_lr.__name__ = "lr"  # argparse's message: invalid lr value


def _attach_values(argv):
    """``--x0 -1.2,1`` as ``--x0=-1.2,1``: argparse takes a value that starts with ``-`` for an
    option unless it is attached."""
    argv = list(sys.argv[1:] if argv is None else argv)
    for i, arg in enumerate(argv[:-1]):
        if arg == "--x0" and argv[i + 1].startswith("-"):
            return argv[:i] + [f"--x0={argv[i + 1]}"] + argv[i + 2:]
    return argv


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(_attach_values(argv))
    try:
        args.run(args)
    except (ValueError, TypeError, OSError, ImportError, DivergenceError) as err:
        print(f"fastgd {args.command}: error: {err}", file=sys.stderr)
        return 1
    return 0
