"""minimize: a jitted gradient, a plain Python gradient, and seed 001's plain loop as reference."""
import numba

import fastgd
from fastgd import reference
from .common import DESCENT_WORKLOADS


class Minimize:
    params = list(DESCENT_WORKLOADS)
    param_names = ["workload"]

    def setup(self, name):
        self.w = DESCENT_WORKLOADS[name]
        self.jitted = numba.njit(self.w.grad)
        self.options = dict(lr=self.w.lr, tol=0.0, max_iter=self.w.iterations)
        fastgd.minimize(self.jitted, self.w.x0, **self.options)  # compile outside the timing
        fastgd.minimize(self.w.grad, self.w.x0, **self.options)

    def time_jitted_gradient(self, name):
        fastgd.minimize(self.jitted, self.w.x0, **self.options)

    def time_plain_gradient(self, name):
        fastgd.minimize(self.w.grad, self.w.x0, **self.options)

    def time_reference(self, name):
        reference.minimize(self.w.grad, self.w.x0, lr=self.w.lr, eps=0.0, max_iter=self.w.iterations)
