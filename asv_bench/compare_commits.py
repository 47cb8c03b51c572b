"""Compare the speed of two commits: ``asv_bench/compare-commits BASE HEAD [--quick]``.

Each commit is installed (its own checkout, ``pip install --no-deps --target``) into a folder of
its own, so its kernels compile into a cache of their own; fastgd also stamps every kernel with a
hash of all kernel sources, so two commits never share machine code. One worker process per
commit stays alive; the driver times HEAD's benchmark suite (``asv_bench/benchmarks``) in
interleaved rounds, BASE then HEAD then BASE..., each a best of several calls, and compares the
median of the rounds. A benchmark is slower when ``HEAD / BASE`` passes its threshold
(``thresholds.json``: from the noise measured by ``--calibrate``, a commit against itself).
Exits 1 exactly when some benchmark is slower beyond its threshold, else 0.
"""
import argparse
import importlib
import inspect
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
THRESHOLDS = os.path.join(HERE, "thresholds.json")
#: What --quick times: fits across the workloads (on the passes of a first use, and precompiled),
#: many problems, minimize.
QUICK = ("linear.FitLinear.time_fast", "linear.FitLinearPrecompiled.time_fast",
         "many.FitLinearMany.time_fit_linear_many", "descent.Minimize.time_jitted_gradient")
#: A round's best-of: calls per round fill at least this many seconds.
ROUND_SECONDS = 0.05


def benchmarks(names=None):
    """``(name, class, method, params)`` for every ``time_`` benchmark of the suite."""
    sys.path.insert(0, HERE)
    found = []
    for module_name in ("linear", "many", "descent", "targets"):
        module = importlib.import_module(f"benchmarks.{module_name}")
        for class_name, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ != module.__name__:
                continue
            grid = cls.params if isinstance(getattr(cls, "params", None), tuple) else (
                [cls.params] if hasattr(cls, "params") else [[]])
            for method in (m for m in dir(cls) if m.startswith("time_")):
                name = f"{module_name}.{class_name}.{method}"
                if names and not any(name.startswith(prefix) for prefix in names):
                    continue
                for params in itertools.product(*grid):
                    found.append((name, cls, method, params))
    return found


def worker():
    """Time benchmarks on request: reads ``name params-json`` lines, answers seconds (or
    ``skip``). Runs under the commit's fastgd (on PYTHONPATH)."""
    cases = {(name, json.dumps(list(params))): (cls, method, params)
             for name, cls, method, params in benchmarks()}
    ready = {}
    for line in sys.stdin:
        name, params = line.rstrip("\n").split(" ", 1)
        key = (name, params)
        try:
            if key not in ready:
                cls, method, values = cases[key]
                instance = cls()
                getattr(instance, "setup", lambda *a: None)(*values)
                call = getattr(instance, method)
                call(*values)
                number, start = 1, time.perf_counter()
                call(*values)
                elapsed = time.perf_counter() - start
                number = max(1, int(ROUND_SECONDS / max(elapsed, 1e-9)))
                ready[key] = (call, values, number)
            call, values, number = ready[key]
            start = time.perf_counter()
            for _ in range(number):
                call(*values)
            print((time.perf_counter() - start) / number, flush=True)
        except Exception:  # NotImplementedError (asv's skip), or an API this commit lacks
            ready.pop(key, None)
            print("skip", flush=True)


def install(commit, folder):
    """Check out ``commit`` and install its fastgd (no dependencies) into ``folder/site``."""
    source = os.path.join(folder, "source")
    subprocess.run(["git", "worktree", "add", "--detach", "--force", source, commit], check=True,
                   capture_output=True, cwd=HERE)
    try:
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target",
                        os.path.join(folder, "site"), source], check=True)
    finally:  # the checkout is not left registered, even when the install fails
        subprocess.run(["git", "worktree", "remove", "--force", source], check=True, cwd=HERE)
    return os.path.join(folder, "site")


def start_worker(site):
    env = dict(os.environ, PYTHONPATH=site, PYTHONDONTWRITEBYTECODE="1")
    env.pop("NUMBA_CACHE_DIR", None)  # each commit's kernels cached beside its own install
    return subprocess.Popen([sys.executable, __file__, "--worker"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True, env=env, cwd=HERE)


def ask(process, name, params):
    process.stdin.write(f"{name} {json.dumps(list(params))}\n")
    process.stdin.flush()
    answer = process.stdout.readline().strip()
    return None if answer in ("skip", "") else float(answer)


def measure(base_site, head_site, cases, rounds):
    """``{(name, params): (base times, head times)}`` over interleaved rounds."""
    workers = [start_worker(base_site), start_worker(head_site)]
    times = {}
    try:
        for case in cases:
            name, _, _, params = case
            samples = ([], [])
            for _ in range(rounds):
                for side, process in enumerate(workers):
                    seconds = ask(process, name, params)
                    if seconds is not None:
                        samples[side].append(seconds)
            if all(samples):
                times[(name, tuple(params))] = samples
    finally:
        for process in workers:
            process.stdin.close()
            process.wait()
    return times


def threshold(name, table):
    for prefix in sorted(table, key=len, reverse=True):
        if name.startswith(prefix):
            return table[prefix]
    return table.get("default", 1.2)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="asv_bench/compare-commits",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("base", nargs="?", help="the commit to compare against")
    parser.add_argument("head", nargs="?", default="HEAD", help="the commit measured (HEAD)")
    parser.add_argument("--quick", action="store_true", help="the subset for a pull request")
    parser.add_argument("--rounds", type=int, default=7, help="interleaved rounds (default 7)")
    parser.add_argument("--bench", action="append", help="only benchmarks named so (a prefix)")
    parser.add_argument("--calibrate", action="store_true",
                        help="measure BASE against itself and write thresholds.json")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker()
    if not args.base:
        parser.error("BASE is required")
    names = args.bench or (list(QUICK) if args.quick else None)
    cases = benchmarks(names)
    with tempfile.TemporaryDirectory(prefix="fastgd-compare-") as folder:
        base_site = install(args.base, os.path.join(folder, "base"))
        head_site = (base_site if args.calibrate
                     else install(args.head, os.path.join(folder, "head")))
        times = measure(base_site, head_site, cases, args.rounds)
    table = json.load(open(THRESHOLDS)) if os.path.exists(THRESHOLDS) else {"default": 1.2}
    if args.calibrate:
        noise = {}
        for (name, params), (base, head) in times.items():
            ratio = statistics.median(head) / statistics.median(base)
            noise[name] = max(noise.get(name, 1.0), ratio, 1 / ratio)
        table = {"default": 1.2}
        table.update({name: round(max(1.1, 1 + 2 * (spread - 1)), 2)
                      for name, spread in sorted(noise.items())})
        with open(THRESHOLDS, "w") as handle:
            json.dump(table, handle, indent=2)
            handle.write("\n")
        print(f"wrote {THRESHOLDS}: twice the largest ratio of a commit against itself, "
              "at least 1.1")
        return 0
    slower = []
    print(f"{'benchmark':70} {'base':>10} {'head':>10} {'ratio':>7} {'limit':>6}")
    for (name, params), (base, head) in sorted(times.items(), key=str):
        ratio = statistics.median(head) / statistics.median(base)
        limit = threshold(name, table)
        label = f"{name}{list(params) if params else ''}"
        mark = " SLOWER" if ratio > limit else " faster" if ratio < 1 / limit else ""
        print(f"{label:70} {statistics.median(base):10.3g} {statistics.median(head):10.3g} "
              f"{ratio:7.2f} {limit:6.2f}{mark}")
        if ratio > limit:
            slower.append(label)
    if slower:
        print(f"\nPERFORMANCE DECREASED: {len(slower)} benchmark(s) slower beyond their "
              f"threshold: {', '.join(slower)}")
        return 1
    print("\nno significant change")
    return 0


if __name__ == "__main__":
    sys.exit(main())
