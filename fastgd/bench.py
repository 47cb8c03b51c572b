"""The speed report: ``python -m fastgd.bench``.

For each workload of the spec, in one run: ``reference / fast`` (the numpy reference's time over
fastgd's) and ``floor / fast`` (one vectorised read pass over X per iteration, over fastgd's), plus
the largest difference from the reference. fastgd runs as a user gets it (its default threads),
and the floor is one thread's read, so ``floor / fast`` can pass 1 on large X; the target table
gives the one-thread ratios. Ratios taken in one run hold where absolute times drift, so only
ratios are printed.
"""
import argparse
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numba
import numpy as np

from . import reference
from ._kernels.floor import column_read_passes_team, fma_passes, read_passes, read_passes_team
from ._kernels.layout import fortran_copy
from ._pool import numba_threads
from .linear import block_rows, choose_kernel, fit_by_kernel, fit_linear, prefetch_distance
from .optimize import minimize
from .timing import best_time, best_times
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

    # The reference churns through temporaries as large as X, which slows whatever runs next:
    # it is timed on its own, the kernel and the floor in interleaved rounds.
    t_ref = best_time(ref, repeat=max(1, repeat // 2))
    t_fast, t_floor = best_times(fast, lambda: read_passes(flat, iters), repeat=repeat)
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
    t_ref, t_jit, t_plain = best_times(
        lambda: reference.minimize(plain, workload.x0, lr=workload.lr, eps=0.0,
                                   max_iter=workload.iterations),
        lambda: minimize(jitted, workload.x0, **options),
        lambda: minimize(plain, workload.x0, **options),
        repeat=repeat)
    x_ref, _ = reference.minimize(plain, workload.x0, lr=workload.lr, eps=0.0, max_iter=workload.iterations)
    return {
        "workload": workload.name,
        "iters": workload.iterations,
        "reference/jitted grad": t_ref / t_jit,
        "reference/plain grad": t_ref / t_plain,
        "max |dx|": float(np.max(np.abs(minimize(jitted, workload.x0, **options).x - x_ref))),
    }


_PEAK_MEMORY = textwrap.dedent("""
    import resource, numpy as np, fastgd
    rng = np.random.default_rng(0)
    X = np.empty((1_000_000, 20))
    for start in range(0, len(X), 100_000):  # no temporary as large as X
        X[start:start + 100_000] = rng.standard_normal((100_000, 20))
    y = X[:, 0] + 0.5
    fastgd.fit_linear(X[:10], y[:10], max_iter=1)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    fastgd.fit_linear(X, y, max_iter=20)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print((after - before) * 1024 / X.nbytes)
""")
FIRST_FIT = "import fastgd; fastgd.fit_linear([[1.0], [2.0], [3.0]], [2.0, 4.0, 6.0])"


_BARE_KERNEL = textwrap.dedent("""
    import numba

    @numba.njit(cache=True)
    def first(x):
        return x[0]
""")


def bare_kernel_call(folder):
    """Write a one-line cached numba kernel into ``folder``; return code that imports and calls
    it: what any numba package pays at its first call."""
    Path(folder, "bare_kernel.py").write_text(_BARE_KERNEL)
    return (f"import sys; sys.path.insert(0, {folder!r}); import numpy as np, bare_kernel; "
            "bare_kernel.first(np.ones(3))")


#: Times ``{code}`` inside the fresh interpreter that runs it, as asv's ``timeraw_`` does: the
#: interpreter's start (0.02 s) and exit fall outside. The exit is not short once numba has
#: loaded a kernel: Python's last garbage collections walk numba's objects, 0.15-0.25 s here
#: (``gc.freeze()`` after the fit, or ``os._exit``, takes it away; ``gc.disable()`` does not).
_TIMED_INSIDE = "import time\nstart = time.perf_counter()\n{code}\nprint(time.perf_counter() - start)"


def _first_call_seconds(repeat=5):
    """Import + first fit in a fresh interpreter, the same for a bare cached numba kernel (both
    timed inside it, as asv's ``timeraw_`` times them), and the fit's whole process from start
    to exit: the best of ``repeat`` runs each, in interleaved rounds. Warm-up runs fill numba's
    cache and Python's: ``PYTHONDONTWRITEBYTECODE`` is dropped, as an installed package has its
    bytecode (with it set, every run compiled fastgd's sources again, 0.014 s here)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}

    def seconds_inside(code):
        return float(subprocess.run([sys.executable, "-c", code], check=True, env=env,
                                    capture_output=True, text=True).stdout)

    best = [float("inf")] * 3
    with tempfile.TemporaryDirectory() as folder:
        codes = [_TIMED_INSIDE.format(code=code) for code in (FIRST_FIT, bare_kernel_call(folder))]
        for code in codes:
            seconds_inside(code)
        for _ in range(repeat):
            for index, code in enumerate(codes):
                start = time.perf_counter()
                best[index] = min(best[index], seconds_inside(code))
                if index == 0:
                    best[2] = min(best[2], time.perf_counter() - start)
    return best


def _allocations(X, y, iters):
    """Numba allocations made by one ``fit_linear`` call."""
    from numba.core.runtime import _nrt_python, rtsys

    _nrt_python.memsys_enable_stats()
    before = rtsys.get_allocation_stats().alloc
    fit_linear(X, y, max_iter=iters)
    return rtsys.get_allocation_stats().alloc - before


#: Bytes of X's rows fitted to time X's kernel in cache (L2) rather than from memory.
IN_CACHE_BYTES = 1 << 19


def _stream_share(flat, passes, repeat):
    """Read floor / two-FMA stream over ``flat``: what the fused arithmetic alone leaves of the
    floor on one thread, timed in interleaved rounds."""
    stream, floor = best_times(lambda: fma_passes(flat, passes),
                               lambda: read_passes(flat, passes), repeat=repeat)
    return floor / stream


def _add_memory_caps(add, name, X, y, iters, floor, repeat):
    """What caps a fit of X from memory on one thread: the same arithmetic without the rows (two
    FMAs an element into separate sums) against the read floor; the time of the kernel that
    fits X on rows held in cache (without prefetches), per element, as a share of the read
    from memory. Work that costs near a DRAM read in cache cannot hide behind it."""
    add(f"  {name} floor / two-FMA stream, 1 thread", _stream_share(X.reshape(-1), iters, repeat),
        "(the arithmetic alone)")
    rows = max(1, IN_CACHE_BYTES // X[0].nbytes)
    part, part_y, part_iters = X[:rows], y[:rows], iters * (X.shape[0] // rows)
    kernel, _ = choose_kernel(X)

    in_cache = best_time(lambda: fit_by_kernel(part, part_y, kernel, lr=LR, max_iter=part_iters),
                         repeat=repeat)
    add(f"  {name} kernel ({kernel}) in cache / read from memory, an element",
        (in_cache / (part.size * part_iters)) / (floor / (X.size * iters)), "(its share)")
    # Why fastgd picks the kernel it does for X this large: the others, prefetching as fastgd
    # would have them, against the read floor taken again beside each.
    for other in [other for other in ("vectors", "tile", "rows") if other != kernel]:
        ahead = prefetch_distance(X, other)
        other_time, again = best_times(
            lambda: fit_by_kernel(X, y, other, ahead, lr=LR, max_iter=iters),
            lambda: read_passes(X.reshape(-1), iters), repeat=repeat)
        add(f"  {name} floor / {other} kernel, 1 thread", again / other_time,
            "(a kernel not picked)")


def measure_targets(repeat=5):
    """The rows of the performance table that are not per-workload ratios."""
    rows = []

    def add(what, value, target):
        rows.append({"what": what, "measured": value, "target": target})

    X64, y64 = make_problem(WORKLOADS["W5"])
    X32, y32 = make_problem(WORKLOADS["W5f32"])
    # The fits and their floors in the same rounds, so the four times share the machine's load.
    t64, t32, floor64, floor32 = best_times(
        lambda: fit_linear(X64, y64, max_iter=20, n_threads=1),
        lambda: fit_linear(X32, y32, max_iter=20, n_threads=1),
        lambda: read_passes(X64.reshape(-1), 20), lambda: read_passes(X32.reshape(-1), 20),
        repeat=repeat)
    f64, f32 = fit_linear(X64, y64, max_iter=20), fit_linear(X32, y32, max_iter=20)
    add("W5 float64 time / float32 time, 1 thread", t64 / t32, ">= 1.8")
    # What caps it: half the bytes make the read floor at most twice as fast, and float32 gains
    # only what its kernel keeps of its own floor.
    add("  W5 read floor: float64 / float32", floor64 / floor32, "(the most float32 gains)")
    add("  W5 float32 floor / fast, 1 thread", floor32 / t32, "(float32 kernel vs its floor)")
    add("  W5 float64 floor / fast, 1 thread", floor64 / t64, "(float64 kernel vs its floor)")
    add("  W5 float32 floor / two-FMA stream, 1 thread", _stream_share(X32.reshape(-1), 20, repeat),
        "(the arithmetic alone)")
    add("W5 float32 vs float64 max rel |dw|", float(np.max(np.abs(f32.w - f64.w) / np.abs(f64.w))), "<= 1e-5")

    floor_targets = {"W3": ">= 0.5", "W4": ">= 0.5", "W5": ">= 0.9", "W6": ">= 0.9"}
    for name, target in floor_targets.items():
        X, y = make_problem(WORKLOADS[name])
        iters = WORKLOADS[name].iterations
        one, floor = best_times(lambda: fit_linear(X, y, max_iter=iters, n_threads=1),
                                lambda: read_passes(X.reshape(-1), iters), repeat=repeat)
        add(f"{name} floor / fast, 1 thread", floor / one, target)
        if name in ("W5", "W6"):
            _add_memory_caps(add, name, X, y, iters, floor, repeat)

    pool = numba.config.NUMBA_NUM_THREADS
    for name in ("W3", "W4", "W6"):
        X, y = make_problem(WORKLOADS[name])
        iters = WORKLOADS[name].iterations
        one, many, default = best_times(
            lambda: fit_linear(X, y, max_iter=iters, n_threads=1),
            lambda: fit_linear(X, y, max_iter=iters, n_threads=pool),
            lambda: fit_linear(X, y, max_iter=iters), repeat=repeat)
        add(f"{name} 1 thread / {pool} threads", one / many, ">= 1.7")
        add(f"{name} 1 thread / default threads", one / default, ">= 1 (never slower)")
        # What caps it: the read floor on as many threads meeting once a pass, as the fit's do
        # (cache or memory bandwidth, and the meeting).
        flat = X.reshape(-1)

        def floor_on(count):
            with numba_threads(count):
                read_passes_team(flat, iters, count)

        single, threaded = best_times(lambda: floor_on(1), lambda: floor_on(pool), repeat=repeat)
        add(f"  {name} read floor: 1 thread / {pool} threads", single / threaded, ">= 1.7 for 1.7")
        if name == "W4" and choose_kernel(X)[0] == "fixed":
            # The same read in the kernel's own order: n column streams at once, block by block.
            F = X if X.flags.f_contiguous else fortran_copy(X)
            width, block = (0,) * X.shape[1], block_rows(*X.shape)

            def columns_on(count):
                with numba_threads(count):
                    column_read_passes_team(F, block, iters, count, width)

            single, threaded = best_times(lambda: columns_on(1), lambda: columns_on(pool),
                                          repeat=repeat)
            add(f"  W4 read floor in the kernel's order: 1 thread / {pool} threads",
                single / threaded, ">= 1.7 for 1.7")
        if name == "W3":
            # And where a pass is this short, the meeting itself: the same on 16 elements.
            tiny = np.zeros(16)
            with numba_threads(pool):
                meeting = best_time(lambda: read_passes_team(tiny, iters, pool), repeat=repeat)
            add(f"  W3: {pool}-thread meeting / 1-thread pass", meeting / one,
                f"<= {1 / 1.7 - 1 / pool:.2g} for 1.7")
            # The most a team can gain: a member fits its share of the rows, as one thread
            # fitting only those rows does, and meets the others besides.
            share = X.shape[0] // pool
            whole, part = best_times(
                lambda: fit_linear(X, y, max_iter=iters, n_threads=1),
                lambda: fit_linear(X[:share], y[:share], max_iter=iters, n_threads=1),
                repeat=repeat)
            add(f"  W3 1 thread / (1/{pool} of the rows on 1 thread + meeting)",
                whole / (part + meeting), ">= 1.7 for 1.7")

    X, y = make_problem(WORKLOADS["W4"])
    bits = {fit_linear(X, y, max_iter=5, n_threads=t).w.tobytes() for t in range(1, pool + 1)}
    add(f"W4 distinct w over 1..{pool} threads", len(bits), "1")
    add("W4 numba allocations, 20 iterations - 1 iteration",
        _allocations(X, y, 20) - _allocations(X, y, 1), "0")
    add("W5 peak memory beyond X, / size of X",
        float(subprocess.run([sys.executable, "-c", _PEAK_MEMORY], capture_output=True, text=True,
                             check=True).stdout), "<= 0.05")
    fastgd_first, bare_first, whole = _first_call_seconds(repeat)
    add("import + first fit, fresh process, warm cache (s)", fastgd_first, "<= 0.4")
    add("  the same for a bare cached numba kernel (s)", bare_first, "(numba's own floor)")
    add("  the fit's process, from start to exit (s)", whole, "(and Python's start and exit)")

    fits = {}  # the timed fits' results, compared below (a fit at 1000 iterations takes seconds)

    def fit_by(solver):
        fits[solver] = fit_linear(X64, y64, max_iter=1000, solver=solver)

    t_rows, t_gram = best_times(lambda: fit_by("rows"), lambda: fit_by("gram"), repeat=1,
                                min_seconds=0)
    add("W5 x 1000 iterations: rows time / gram time", t_rows / t_gram, "(shortcut)")
    add("W5 x 1000: gram vs rows max rel |dw|",
        float(np.max(np.abs(fits["gram"].w - fits["rows"].w) / np.abs(fits["rows"].w))), "<= 1e-9")
    return rows


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
    parser.add_argument("--no-targets", dest="targets", action="store_false",
                        help="skip the table of performance targets (threads, float32, memory...)")
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
    if args.targets:
        print("\nthe performance targets\n")
        print(format_table(measure_targets(args.repeat)))
    if args.descent:
        rows = [measure_descent(w, args.repeat) for w in DESCENT_WORKLOADS.values()]
        print("\nminimize against seed 001's plain Python loop\n")
        print(format_table(rows))


if __name__ == "__main__":
    main()
