"""fit_linear against the numpy reference and the read floor, over the spec's workloads."""
import numpy as np

from fastgd import reference

from .common import LR, WORKLOADS, fit, make_problem, precompile_for, read_passes


class FitLinear:
    """One whole ``fit_linear`` call per workload (each loss it names), fast and reference side
    by side, with the floor (one vectorised read of X per iteration)."""

    params = list(WORKLOADS)
    param_names = ["workload"]
    timeout = 300

    def setup(self, name):
        self.workload = WORKLOADS[name]
        self.X, self.y = make_problem(self.workload)
        fit(self.workload, max_iter=0)  # compile (or load) outside the timing
        read_passes(self.X.reshape(-1), 0)

    def time_fast(self, name):
        fit(self.workload)

    def time_reference(self, name):
        reference.fit_linear(self.X, self.y, lr=LR, max_iter=self.workload.iterations,
                             loss=self.workload.loss)

    def time_floor(self, name):
        read_passes(self.X.reshape(-1), self.workload.iterations)

    def peakmem_fast(self, name):
        fit(self.workload)

    def track_max_abs_diff_from_reference(self, name):
        fast = fit(self.workload)
        ref = reference.fit_linear(self.X, self.y, lr=LR, max_iter=self.workload.iterations,
                                   loss=self.workload.loss)
        return float(max(np.max(np.abs(fast.w - ref.w)), abs(fast.b - ref.b)))

    track_max_abs_diff_from_reference.unit = "abs difference"


class FitLinearPrecompiled:
    """``fit_linear`` on one thread on each workload once ``precompile`` has readied its width:
    the per-width passes that the report times, at a speed that does not hang on the load that
    the default threads read (``FitLinear`` times what a first use of a width runs, on them)."""

    params = list(WORKLOADS)
    param_names = ["workload"]
    timeout = 600

    def setup(self, name):
        self.workload = WORKLOADS[name]
        precompile_for([self.workload])
        fit(self.workload, max_iter=0, n_threads=1)

    def time_fast(self, name):
        fit(self.workload, n_threads=1)


class FirstFit:
    """Import plus the first fit of a width in a fresh interpreter, once the cache holds what
    a first fit of another width compiled: a width never seen must not compile anything."""

    def setup_cache(self):
        import subprocess
        import sys
        subprocess.run([sys.executable, "-c", self.timeraw_new_width().replace("57", "5")],
                       check=True)

    def timeraw_new_width(self, *args):
        return ("import numpy as np, fastgd\n"
                "X = np.random.default_rng(0).standard_normal((50_000, 57))\n"
                "fastgd.fit_linear(X, X.sum(axis=1), max_iter=20)")
