"""The speed report: ``python -m fastgd.bench``.

For each workload of the spec, in one run: ``reference / fast`` (the numpy reference's time over
fastgd's) and ``floor / fast`` (one vectorised read pass over X per iteration, over fastgd's), plus
the largest difference from the reference. Ratios taken in one run hold where absolute times
drift, so only ratios are printed.
"""
import argparse
import sys

import numpy as np

from . import reference
from ._kernels.floor import read_passes
from .linear import fit_linear
from .timing import best_time
from .workloads import LR, WORKLOADS, make_problem


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
    args = parser.parse_args(argv)
    unknown = [name for name in args.workloads if name not in WORKLOADS]
    if unknown:
        parser.error(f"unknown workload(s) {', '.join(unknown)}; choose from {', '.join(WORKLOADS)}")
    rows = []
    for name in args.workloads:
        rows.append(measure(WORKLOADS[name], args.repeat))
        print(f"measured {name}", file=sys.stderr, flush=True)
    print(format_table(rows))


if __name__ == "__main__":
    main()
