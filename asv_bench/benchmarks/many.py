"""fit_linear_many against a Python loop over fit_linear (W7, W8)."""
import numpy as np

import fastgd

from .common import LR, MANY_WORKLOADS, fit_many, make_many


class FitLinearMany:
    """All problems in one call, on one thread and the default, and (W7) a Python loop."""

    params = (list(MANY_WORKLOADS), [1, None])
    param_names = ["workload", "n_threads"]
    timeout = 600

    def setup(self, name, threads):
        self.workload = MANY_WORKLOADS[name]
        fit_many(self.workload, max_iter=1, n_threads=threads)

    def time_fit_linear_many(self, name, threads):
        fit_many(self.workload, n_threads=threads)

    def time_python_loop(self, name, threads):
        if name != "W7" or threads != 1:
            raise NotImplementedError("timed once, for W7")  # asv skips
        X, y, _ = make_many(self.workload)
        for i in range(len(X)):
            fastgd.fit_linear(X[i], y[i], lr=LR, max_iter=self.workload.iterations)

    def track_row_iterations_per_second(self, name, threads):
        import time
        X, y, groups = make_many(self.workload)
        start = time.perf_counter()
        res = fit_many(self.workload, n_threads=threads)
        seconds = time.perf_counter() - start
        rows = (np.full(len(res), X.shape[1]) if groups is None
                else np.bincount(np.searchsorted(res.keys, groups)))
        return float(np.sum(rows * res.n_iter)) / seconds

    track_row_iterations_per_second.unit = "row-iterations/s"
