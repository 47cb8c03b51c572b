"""fit_linear: fastgd against the numpy reference and the floor, over the spec's W1-W6."""
import numpy as np

import fastgd
from fastgd import reference
from fastgd._kernels.floor import read_passes
from fastgd.workloads import LR, WORKLOADS, make_problem

NAMES = list(WORKLOADS)


class FitLinear:
    """Time and peak memory of one whole ``fit_linear`` call, fast and reference side by side."""

    params = NAMES
    param_names = ["workload"]
    timeout = 300

    def setup(self, name):
        self.workload = WORKLOADS[name]
        self.X, self.y = make_problem(self.workload)
        self.iters = self.workload.iterations
        fastgd.fit_linear(self.X, self.y, max_iter=0)  # compile (or load) outside the timing
        read_passes(self.X.reshape(-1), 0)

    def time_fast(self, name):
        fastgd.fit_linear(self.X, self.y, lr=LR, max_iter=self.iters)

    def time_reference(self, name):
        reference.fit_linear(self.X, self.y, lr=LR, max_iter=self.iters)

    def time_floor(self, name):
        """One vectorised read pass over X per iteration: what a fused kernel cannot beat."""
        read_passes(self.X.reshape(-1), self.iters)

    def peakmem_fast(self, name):
        fastgd.fit_linear(self.X, self.y, lr=LR, max_iter=self.iters)

    def peakmem_reference(self, name):
        reference.fit_linear(self.X, self.y, lr=LR, max_iter=self.iters)

    def track_max_abs_diff_from_reference(self, name):
        fast = fastgd.fit_linear(self.X, self.y, lr=LR, max_iter=self.iters)
        ref = reference.fit_linear(self.X, self.y, lr=LR, max_iter=self.iters)
        return float(max(np.max(np.abs(fast.w - ref.w)), abs(fast.b - ref.b)))

    track_max_abs_diff_from_reference.unit = "abs difference"


class FirstCall:
    """Import plus the first fit in a fresh interpreter, with numba's cache already warm."""

    def setup_cache(self):
        import subprocess
        import sys

        subprocess.run([sys.executable, "-c", self.CODE], check=True)  # fill numba's cache

    CODE = "import fastgd; fastgd.fit_linear([[1.0], [2.0], [3.0]], [2.0, 4.0, 6.0])"

    def timeraw_import_and_first_fit(self):
        return self.CODE
