"""What the planner chooses between: threads, memory orders, per-width kernels, solvers."""
import numpy as np

import fastgd

from .common import LR, WORKLOADS, fit, fit_by_kernel, make_problem


class Threads:
    """A whole fit on one thread and on the default (the idle cores for large X)."""

    params = (["W3", "W4", "W6"], [1, None])
    param_names = ["workload", "n_threads"]
    timeout = 300

    def setup(self, name, threads):
        self.workload = WORKLOADS[name]
        fit(self.workload, max_iter=0, n_threads=threads)

    def time_fit(self, name, threads):
        fit(self.workload, n_threads=threads)


class MemoryOrder:
    """W4 with X in C order, Fortran order and as a strided view."""

    params = ["C", "F", "strided"]
    param_names = ["order"]

    def setup(self, order):
        X, self.y = make_problem(WORKLOADS["W4"])
        if order == "F":
            X = np.asfortranarray(X)
        elif order == "strided":
            X = np.repeat(X, 2, axis=1)[:, ::2]
        self.X = X
        fastgd.fit_linear(self.X, self.y, max_iter=0, n_threads=1)

    def time_fit(self, order):
        fastgd.fit_linear(self.X, self.y, lr=LR, max_iter=WORKLOADS["W4"].iterations, n_threads=1)


class Kernels:
    """W3, W5 (float64 and float32) and W6 on one thread by each pass that reads them."""

    params = (["W3", "W5", "W5f32", "W6"], ["rows", "fixed", "vectors", "tile"])
    param_names = ["workload", "kernel"]
    timeout = 300

    def setup(self, name, kernel):
        self.X, self.y = make_problem(WORKLOADS[name])
        if (kernel == "fixed") != (self.X.shape[1] <= 16) and kernel != "rows":
            raise NotImplementedError("the kernel does not read X this wide")  # asv skips
        self.iters = WORKLOADS[name].iterations
        fit_by_kernel(self.X, self.y, kernel, max_iter=0)

    def time_fit(self, name, kernel):
        fit_by_kernel(self.X, self.y, kernel, max_iter=self.iters)


class Solvers:
    """W5 at 1000 iterations by the row pass and by the Gram shortcut."""

    params = ["rows", "gram"]
    param_names = ["solver"]
    timeout = 600
    number = 1
    repeat = 2

    def setup(self, solver):
        self.X, self.y = make_problem(WORKLOADS["W5"])
        fastgd.fit_linear(self.X, self.y, max_iter=0, solver=solver)

    def time_w5_1000_iterations(self, solver):
        fastgd.fit_linear(self.X, self.y, lr=LR, max_iter=1000, solver=solver)
