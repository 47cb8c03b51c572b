"""fastgd.dask on W5's data in 8 row chunks: dask's threaded scheduler and a LocalCluster of
two one-thread worker processes, beside fit_linear on the same arrays (their ratio is the
overhead of a round of tasks an iteration)."""
import fastgd

from .common import LR, WORKLOADS, make_problem


class FitOnDask:
    params = ["threads", "cluster"]
    param_names = ["scheduler"]
    timeout = 300

    def setup(self, scheduler):
        try:
            import dask.array as da
            import distributed
            import fastgd.dask
        except ImportError:
            raise NotImplementedError("needs fastgd[dask]") from None  # asv skips it

        w = self.workload = WORKLOADS["W5"]
        X, y = self.X, self.y = make_problem(w)
        rows = w.rows // 8
        self.Xd, self.yd = da.from_array(X, chunks=(rows, -1)), da.from_array(y, chunks=rows)
        self.cluster = self.client = None
        if scheduler == "cluster":
            self.cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1,
                                                    dashboard_address=":0", silence_logs=50)
            self.client = distributed.Client(self.cluster)
            self.Xd, self.yd = self.client.persist([self.Xd, self.yd])
            distributed.wait([self.Xd, self.yd])
        self.fit = fastgd.dask.fit_linear
        self.fit(self.Xd, self.yd, max_iter=1)  # workers load the kernels outside the timing

    def teardown(self, scheduler):
        if self.client is not None:
            self.client.close()
            self.cluster.close()

    def time_dask(self, scheduler):
        self.fit(self.Xd, self.yd, lr=LR, max_iter=self.workload.iterations)

    def time_one_machine(self, scheduler):
        fastgd.fit_linear(self.X, self.y, lr=LR, max_iter=self.workload.iterations)

    def time_gram_to_least_squares(self, scheduler):
        self.fit(self.Xd, self.yd, solver="gram", lr="auto", tol=1e-8, max_iter=10**6)
