"""The speed report: ``python -m fastgd.bench``.

For each workload of the spec, in one run: ``reference / fast`` (the numpy reference's time over
fastgd's) and ``floor / fast`` (one vectorised read pass over X per iteration, over fastgd's), plus
the largest difference from the reference. Ratios taken in one run hold where absolute times
drift, so only ratios are printed.
"""
import argparse
import sys

import numba
import numpy as np

from . import reference
from ._kernels.floor import read_passes
from .linear import fit_linear
from .optimize import minimize
from .timing import best_time
from .workloads import DESCENT_WORKLOADS, LR, WORKLOADS, make_problem


def measure(workload, repeat=5):
    """Ratios and agreement for one workload, as a dict."""
    X, y = make_problem(workload)
    iters = workload.iterations
    flat = X.reshape(-1)

    def fast():
        return fit_linear(X, y, lr=LR, max_iter=iters)

    def ref():
        return reference.fit_linear(X, y, lr=LR, max_iter=iters)

    t_fast = best_time(fast, repeat=repeat)
    t_ref = best_time(ref, repeat=max(1, repeat // 2))
    t_floor = best_time(lambda: read_passes(flat, iters), repeat=repeat)
    a, r = fast(), ref()
    return {
        "workload": f"{workload.name} {workload.label}",
        "shape": f"{workload.rows} x {workload.features}",
        "dtype": workload.dtype,
        "iters": iters,
        "reference/fast": t_ref / t_fast,
        "floor/fast": t_floor / t_fast,
        "max |dw|": float(np.max(np.abs(a.w - r.w))),
    }


def measure_descent(workload, repeat=5):
    """``minimize`` with a jitted and with a plain Python gradient, against seed 001's loop."""
    plain = workload.grad
    jitted = numba.njit(plain)
    options = dict(lr=workload.lr, tol=0.0, max_iter=workload.iterations)
    t_ref = best_time(lambda: reference.minimize(plain, workload.x0, lr=workload.lr, eps=0.0,
                                                 max_iter=workload.iterations), repeat=repeat)
    t_jit = best_time(lambda: minimize(jitted, workload.x0, **options), repeat=repeat)
    t_plain = best_time(lambda: minimize(plain, workload.x0, **options), repeat=repeat)
    x_ref, _ = reference.minimize(plain, workload.x0, lr=workload.lr, eps=0.0, max_iter=workload.iterations)
    return {
        "workload": workload.name,
        "iters": workload.iterations,
        "reference/jitted grad": t_ref / t_jit,
        "reference/plain grad": t_ref / t_plain,
        "max |dx|": float(np.max(np.abs(minimize(jitted, workload.x0, **options).x - x_ref))),
    }


def format_table(rows):
    """Rows of dicts as an aligned text table (floats as 3 significant digits)."""
    def cell(value):
        if isinstance(value, float):
            return f"{value:.3g}" if abs(value) >= 0.001 or value == 0 else f"{value:.1e}"
        return str(value)

    header = list(rows[0])
    cells = [[cell(row[key]) for key in header] for row in rows]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(header)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths))]
    lines.append("  ".join("-" * w for w in widths))
    for row, raw in zip(cells, rows):
        lines.append("  ".join(
            c.ljust(w) if isinstance(v, str) else c.rjust(w)
            for c, w, v in zip(row, widths, raw.values())
        ))
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m fastgd.bench", description=__doc__.splitlines()[0])
    parser.add_argument("workloads", nargs="*", default=list(WORKLOADS),
                        help=f"workloads to run (default: all of {', '.join(WORKLOADS)})")
    parser.add_argument("--repeat", type=int, default=5, help="timing repeats, best taken (default 5)")
    parser.add_argument("--no-descent", dest="descent", action="store_false",
                        help="skip the minimize workloads")
    args = parser.parse_args(argv)
    unknown = [name for name in args.workloads if name not in WORKLOADS]
    if unknown:
        parser.error(f"unknown workload(s) {', '.join(unknown)}; choose from {', '.join(WORKLOADS)}")
    rows = []
    for name in args.workloads:
        rows.append(measure(WORKLOADS[name], args.repeat))
        print(f"measured {name}", file=sys.stderr, flush=True)
    print("fit_linear against the numpy reference and the floor\n")
    print(format_table(rows))
    if args.descent:
        rows = [measure_descent(w, args.repeat) for w in DESCENT_WORKLOADS.values()]
        print("\nminimize against seed 001's plain Python loop\n")
        print(format_table(rows))


if __name__ == "__main__":
    main()
