"""The ``fastgd`` command: ``compare`` the fast path with the reference, ``demo`` the seeds."""
import argparse
import sys
import time

import numpy as np

from . import reference
from .data import load_problem
from .errors import DivergenceError
from .linear import fit_linear
from .optimize import maximize, minimize
from .workloads import random_problem

SEED_X = [[1], [2], [3]]
SEED_Y = [2, 4, 6]


def _timed(fn):
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def compare(args):
    if args.data:
        X, y = load_problem(args.data, args.target)
        source = args.data
    else:
        for name in ("rows", "features", "iters"):
            least = 0 if name == "iters" else 1
            if getattr(args, name) < least:
                raise ValueError(f"--{name} must be >= {least}, got {getattr(args, name)}")
        X, y = random_problem(args.rows, args.features, args.dtype)
        source = f"random {args.rows} x {args.features} {args.dtype}, y = X w + 0.5"
    options = dict(lr=args.lr, max_iter=args.iters, n_threads=args.threads)
    # Load (or compile) the kernel variant that this X and thread count take, and start the
    # threads, before timing: no update, one pass over X.
    fit_linear(X, y, **dict(options, max_iter=0))
    fast, t_fast = _timed(lambda: fit_linear(X, y, **options))
    options.pop("n_threads")
    ref, t_ref = _timed(lambda: reference.fit_linear(X, y, **options))
    print(f"problem: {source}; {X.shape[0]} rows, {X.shape[1]} features; "
          f"lr={args.lr:g}, {args.iters} iterations")
    rows = [
        ("", "reference", "fastgd"),
        ("time", f"{t_ref * 1e3:.3f} ms", f"{t_fast * 1e3:.3f} ms"),
        ("speedup", "1", f"{t_ref / t_fast:.1f}x"),
        ("final loss", f"{ref.loss:.10g}", f"{fast.loss:.10g}"),
        ("max |dw|", "", f"{np.max(np.abs(fast.w - ref.w)):.3g}"),
        ("|db|", "", f"{np.max(np.abs(np.asarray(fast.b) - ref.b)):.3g}"),
    ]
    width = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        print("  ".join(cell.rjust(w) for cell, w in zip(row, width)))


def _start(text):
    try:
        values = [float(part) for part in text.split(",")]
    except ValueError:
        raise ValueError(f"--x0 must be a number or numbers separated by commas, got {text!r}") from None
    return values[0] if len(values) == 1 else np.array(values)


def optimise(args):
    solve = maximize if args.command == "maximize" else minimize
    res = solve(args.expression, _start(args.x0), lr=args.lr, tol=args.tol,
                max_iter=args.max_iter, path=args.path)
    where = "maximiser" if args.command == "maximize" else "minimiser"
    x = res.x if isinstance(res.x, float) else np.array2string(res.x, precision=10)
    print(f"{where}: x = {x if isinstance(x, str) else f'{x:.10g}'}")
    print(f"objective: {res.fun[-1]:.10g}")
    print(f"iterations: {res.nit} ({'converged' if res.converged else 'not converged'}, "
          f"|grad| = {res.grad_norm:.3g}, tol = {args.tol:g})")
    if args.path:
        print("path:")
        for i, (point, value) in enumerate(zip(res.path, res.fun)):
            point = f"{point:.10g}" if np.ndim(point) == 0 else np.array2string(point, precision=10)
            print(f"  {i:>5}  x = {point}  f = {value:.10g}")


def demo(args):
    print("Seed 000: gradient descent on J(theta) = theta^2, gradient 2 theta, theta = 3, alpha = 0.3:")
    walk = minimize(lambda t: 2 * t, 3.0, lr=0.3, tol=0, max_iter=4, path=True).path
    print("  " + " -> ".join(f"{t:.4g}" for t in walk))
    print("\nSeed 001: descent on x^2 + 2x + 3 until |grad| <= eps = 1e-6, from x = 5, lr = 0.1:")
    res = minimize(lambda x: 2 * x + 2, 5.0, lr=0.1, tol=1e-6, fun=lambda x: x * x + 2 * x + 3)
    print(f"  x = {res.x:.8f} after {res.nit} updates (the minimum is at -1, f = {res.fun[-1]:.8f})")
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
                    "compiled kernel; print the time of each, the speedup, how far apart the "
                    "answers are and the final loss of each. The problem is random "
                    "(X standard normal, y = X w + 0.5, seed 0) unless --data gives one.")
    p.add_argument("--rows", type=int, default=100_000, help="rows of a random X (default 100000)")
    p.add_argument("--features", type=int, default=10, help="columns of a random X (default 10)")
    p.add_argument("--dtype", choices=["float64", "float32"], default="float64",
                   help="dtype of a random problem (default float64)")
    p.add_argument("--iters", type=int, default=100, help="gradient-descent updates (default 100)")
    p.add_argument("--lr", type=float, default=0.01, help="learning rate (default 0.01)")
    p.add_argument("--threads", type=int, default=None, help="fastgd's threads (default: by size)")
    p.add_argument("--data", metavar="FILE",
                   help="load the problem from a .npy or .csv table, or a .npz with X and y")
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
        p.set_defaults(run=optimise)

    p = commands.add_parser("demo", help="the source documents' worked examples",
                            description="Print the seeds' worked examples, computed by fastgd.")
    p.set_defaults(run=demo)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        args.run(args)
    except (ValueError, TypeError, OSError, ImportError, DivergenceError) as err:
        print(f"fastgd {args.command}: error: {err}", file=sys.stderr)
        return 1
    return 0
