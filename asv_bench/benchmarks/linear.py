"""fit_linear: fastgd against the numpy reference and the floor, over the spec's W1-W6."""
import subprocess
import sys
import tempfile

import numpy as np

import fastgd
from fastgd import reference
from fastgd._kernels.floor import fma_passes, read_passes
from fastgd.bench import FIRST_FIT, bare_kernel_call
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
        fma_passes(self.X.reshape(-1), 0)

    def time_fast(self, name):
        fastgd.fit_linear(self.X, self.y, lr=LR, max_iter=self.iters)

    def time_reference(self, name):
        reference.fit_linear(self.X, self.y, lr=LR, max_iter=self.iters)

    def time_floor(self, name):
        """One vectorised read pass over X per iteration: what a fused kernel cannot beat."""
        read_passes(self.X.reshape(-1), self.iters)

    def time_fma_stream(self, name):
        """The floor's read with the fused kernel's two FMAs an element and no rows: what the
        arithmetic alone leaves of the floor on one thread."""
        fma_passes(self.X.reshape(-1), self.iters)

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
    """Import plus the first fit in a fresh interpreter, with numba's cache already warm, beside
    the same for a bare cached numba kernel (numba's own share of it)."""

    def setup_cache(self):
        bare = bare_kernel_call(tempfile.mkdtemp(prefix="fastgd-asv-"))
        for code in (FIRST_FIT, bare):
            subprocess.run([sys.executable, "-c", code], check=True)  # fill numba's cache
        return bare

    def timeraw_import_and_first_fit(self, bare):
        return FIRST_FIT

    def timeraw_bare_numba_kernel(self, bare):
        return bare
