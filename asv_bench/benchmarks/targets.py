"""The performance targets that are not per-workload ratios: threads, memory order, the block
kernels, the Gram shortcut, and the floors that bound them (``python -m fastgd.bench`` prints
the same table)."""
import numba
import numpy as np

import fastgd
from fastgd._kernels.floor import column_read_passes_team, read_passes_team
from fastgd._kernels.layout import fortran_copy
from fastgd._pool import numba_threads
from fastgd.linear import block_rows, fit_by_kernel, prefetch_distance
from fastgd.workloads import LR, WORKLOADS, make_problem

POOL = numba.config.NUMBA_NUM_THREADS


def _fit(X, y, iters, **options):
    fastgd.fit_linear(X, y, lr=LR, max_iter=iters, **options)


class Threads:
    """A whole fit on 1, 2 or all threads (target: 2 threads >= 1.7x one on W3, W4 and W6), and
    the read floor on as many threads meeting once a pass, as a fit's threads do (cache or
    memory bandwidth and the meeting cap what threads can give)."""

    params = (["W3", "W4", "W6"], sorted({1, 2, POOL}))
    param_names = ["workload", "n_threads"]
    timeout = 300

    def setup(self, name, threads):
        if threads > POOL:
            raise NotImplementedError(f"numba's pool has {POOL} threads")  # asv skips
        workload = WORKLOADS[name]
        self.X, self.y = make_problem(workload)
        self.iters = workload.iterations
        _fit(self.X, self.y, 0, n_threads=threads)
        with numba_threads(threads):
            read_passes_team(self.X.reshape(-1), 1, threads)

    def time_fit(self, name, threads):
        _fit(self.X, self.y, self.iters, n_threads=threads)

    def time_read_floor(self, name, threads):
        with numba_threads(threads):
            read_passes_team(self.X.reshape(-1), self.iters, threads)


class KernelOrderFloor:
    """The read floor of W3 and W4 in the fixed-width kernel's own order (their Fortran-order
    copy, block by block, the 10 column streams at once) on 1, 2 or all threads: what the
    kernel's reads leave a second thread to gain, where a single stream gains more."""

    params = (["W3", "W4"], sorted({1, 2, POOL}))
    param_names = ["workload", "n_threads"]

    def setup(self, name, threads):
        if threads > POOL:
            raise NotImplementedError(f"numba's pool has {POOL} threads")
        X, _ = make_problem(WORKLOADS[name])
        self.F, self.iters = fortran_copy(X), WORKLOADS[name].iterations
        self.width, self.rows = (0,) * X.shape[1], block_rows(*X.shape)
        with numba_threads(threads):
            column_read_passes_team(self.F, self.rows, 1, threads, self.width)

    def time_read_floor(self, name, threads):
        with numba_threads(threads):
            column_read_passes_team(self.F, self.rows, self.iters, threads, self.width)


class Meeting:
    """A team of 1, 2 or all threads meeting 1000 times over a pass of 16 elements: what a
    threaded fit pays every iteration beyond its share of the pass."""

    params = sorted({1, 2, POOL})
    param_names = ["n_threads"]

    def setup(self, threads):
        if threads > POOL:
            raise NotImplementedError(f"numba's pool has {POOL} threads")
        self.tiny = np.zeros(16)
        read_passes_team(self.tiny, 1, threads)

    def time_1000_meetings(self, threads):
        with numba_threads(threads):
            read_passes_team(self.tiny, 1000, threads)


class MemoryOrder:
    """W4 with X in C order, Fortran order and as a strided view. Fortran order is read in place;
    the others (10 features, 8 MB) are copied to Fortran order first, within the timed fit."""

    params = ["C", "F", "strided"]
    param_names = ["order"]

    def setup(self, order):
        X, self.y = make_problem(WORKLOADS["W4"])
        if order == "F":
            X = np.asfortranarray(X)
        elif order == "strided":
            X = np.repeat(X, 2, axis=1)[:, ::2]
        self.X = X
        _fit(self.X, self.y, 0, n_threads=1)

    def time_fit(self, order):
        _fit(self.X, self.y, WORKLOADS["W4"].iterations, n_threads=1)


class Kernels:
    """W5 (float64 and float32) and W6 on one thread by the row-vector kernel, the tile kernel
    and the row kernel, each prefetching as ``fit_linear`` would have it. ``fit_linear`` picks
    the row-vector kernel for all three: a change in which is faster shows here.
    """

    params = (["W5", "W5f32", "W6"], ["vectors", "tile", "rows"])
    param_names = ["workload", "kernel"]
    timeout = 300

    def setup(self, name, kernel):
        self.X, self.y = make_problem(WORKLOADS[name])
        self.iters = WORKLOADS[name].iterations
        self.ahead = prefetch_distance(self.X, kernel)
        fit_by_kernel(self.X, self.y, kernel, self.ahead, lr=LR, max_iter=0)

    def time_fit(self, name, kernel):
        fit_by_kernel(self.X, self.y, kernel, self.ahead, lr=LR, max_iter=self.iters)


class Solvers:
    """W5 at 1000 iterations by the row kernel and by the Gram shortcut."""

    params = ["rows", "gram"]
    param_names = ["solver"]
    timeout = 600
    number = 1
    repeat = 2

    def setup(self, solver):
        self.X, self.y = make_problem(WORKLOADS["W5"])
        _fit(self.X, self.y, 0, solver=solver)

    def time_w5_1000_iterations(self, solver):
        _fit(self.X, self.y, 1000, solver=solver)
