"""``fastgd.dask.fit_linear``: the same fit on dask arrays, one fused pass per row chunk.

Validate -> persist -> per iteration: one task per chunk runs the compiled pass of
``fit_linear`` (the same ``drivers.descend`` variant, stopped after its first pass) and returns
the chunk's float64 sums; the driver adds them in a fixed tree order and makes the update
(``drivers.settle``, ``drivers.update``): one round of tasks an iteration. Needs the extra
``fastgd[dask]`` (``dask[array]`` and ``distributed``).
"""
import functools
import time
import uuid

import dask
import dask.array as da
import numpy as np

from . import _plan
from ._divergence import (BLOWUP, GRAM_MAX_FEATURES, factor, gram_curvature, gram_matrix,
                          linear_divergence, power_eigenvalue)
from ._drive import _START, Info, Outcome, _Progress
from ._kernels import drivers, linear_gram
from ._kernels.gram import moments
from ._kernels.losses import Weighted
from ._validate import (check_finite, check_solver, check_weight_total, check_weights, flag,
                        kernel_dtype, labels, linear_problem, scaled_weights, weight_array)
from .linear import SOLVERS, auto_lr, fit_gram, gram_of_moments, result
from .linear import settings as linear_settings

__all__ = ["fit_linear"]

#: Rows of X's start that the advice of a warning or error looks at (``badly_scaled``).
ADVICE_ROWS = 100_000


def fit_linear(X, y, *, lr=0.01, max_iter=1000, tol=0.0, w0=None, b0=None, history=False,
               loss="squared", delta=1.0, l2=0.0, l1=0.0, standardize=False, callback=None,
               progress=False, solver="rows", sample_weight=None, fit_intercept=True,
               persist=True):
    """Fit ``y ~ X w + b`` by batch gradient descent on dask arrays chunked by rows.

    The fit of :func:`fastgd.fit_linear`, with the same keywords and result (but
    ``n_threads``: dask runs the chunks). Each iteration is a task
    per row chunk, the compiled fused pass over the chunk's rows, and a reduction of the
    chunks' float64 sums in a fixed tree order on the caller's side, where the update is made:
    the fit equals ``fastgd.fit_linear`` on the same data to rounding (1e-10 relative in
    float64), and is the same bits run after run for the same chunking. It runs on the active
    ``distributed`` client, if any, else on dask's threaded scheduler.

    Parameters
    ----------
    X : dask array or array_like, shape (m, n)
        Chunked by rows only (one chunk across the columns). A numpy array is cut into chunks
        of rows.
    y : dask array or array_like, shape (m,) or (m, k)
        Chunked by rows as X is.
    lr, max_iter, tol, w0, b0, history, loss, delta, l2, l1, standardize, callback, progress :
        As in :func:`fastgd.fit_linear`. ``lr="auto"`` and ``standardize=True`` take their
        statistics in one round over the chunks before the descent; ``callback`` is called
        after every iteration's stop test.
    sample_weight : dask array or array_like, shape (m,), optional
        As in :func:`fastgd.fit_linear`; chunked by rows as X is. Checked (finite, >= 0, not
        all 0) in one round over its chunks before the fit.
    fit_intercept : bool, default True
        As in :func:`fastgd.fit_linear`.
    solver : {"rows", "gram"}, default "rows"
        ``"gram"`` (squared loss, no penalty) reads the data once, into the centred moments
        of ``[X 1]`` and y, then iterates on the caller's side, whatever the number of
        iterations.
    persist : bool, default True
        Keep X and y in the workers' memory for the fit (``dask.persist``). ``False`` computes
        each chunk from its source every iteration: for data larger than the cluster's memory
        (zarr, parquet, or chunks generated on the workers).

    Returns
    -------
    LinearResult

    Raises
    ------
    TypeError, ValueError
        Bad arguments, or X and y not chunked by rows alike; before any work.
    DivergenceError
        As in :func:`fastgd.fit_linear`.

    Examples
    --------
    >>> import dask.array as da, fastgd.dask
    >>> X = da.from_array([[1.0], [2.0], [3.0], [4.0]], chunks=(2, 1))
    >>> y = da.from_array([2.0, 4.0, 6.0, 8.0], chunks=2)
    >>> res = fastgd.dask.fit_linear(X, y, lr="auto", tol=1e-10, max_iter=10**5)
    >>> res.converged, round(float(res.w[0]), 6), round(res.b, 6)
    (True, 2.0, 0.0)
    """
    if solver not in SOLVERS:
        raise ValueError(f"solver must be one of {', '.join(map(repr, SOLVERS))}, got {solver!r}")
    X, Y, weights, vector_y = _chunked(X, y, sample_weight)
    stand_in = np.zeros((1,) + Y.shape[1:], X.dtype)
    # The stand-in's one weight tells check_solver that the fit is weighted; the chunks' own
    # weights go into each task's loss.
    problem = linear_problem(np.zeros((1, X.shape[1]), X.dtype),
                             stand_in[:, 0] if vector_y else stand_in, lr=lr, max_iter=max_iter,
                             tol=tol, w0=w0, b0=b0, history=history, loss=loss, delta=delta,
                             l2=l2, l1=l1, callback=callback, progress=progress, check_data=False,
                             fit_intercept=fit_intercept,
                             sample_weight=None if weights is None else np.ones(1))
    standardize = check_solver(problem, solver, standardize)
    persist = flag(persist, "persist")
    if persist:
        X, Y, weights = dask.persist(X, Y, weights)
    data = _Chunks(X, Y, weights, vector_y, persist)
    failure = _failure_of(data)
    if solver == "gram":
        sums = data.gram_sums()
        if problem.lr is None:
            problem.lr = auto_lr(gram_curvature(gram_of_moments(sums), problem.loss_name, 0.0),
                                 data.check_data)
        return fit_gram(problem, sums, failure, data.first_rows)
    data.prepare(problem, standardize)
    return _descend(problem, data, failure)


def _chunked(X, y, sample_weight):
    """X (m, n) and y as dask arrays of X's float dtype, and the weights (or None), chunked
    alike by rows; and whether y is 1-D. Raises for chunks along the columns, unknown chunk
    sizes, or mismatched rows."""
    X_lazy, y_lazy = isinstance(X, da.Array), isinstance(y, da.Array)
    if not X_lazy:
        X = _as_array(X, "X")
    if not y_lazy:
        y = _as_array(y, "y")
    for name, array in (("X", X), ("y", y)):
        if array.dtype.kind not in "biuf":
            raise TypeError(f"{name} must hold real numbers, got dtype {array.dtype}")
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D (rows, features), got {X.ndim}-D with shape {X.shape}")
    if y.ndim not in (1, 2):
        raise ValueError(f"y must be 1-D (m,) or 2-D (m, k), got {y.ndim}-D with shape {y.shape}")
    for name, array in (("X", X), ("y", y)):
        if isinstance(array, da.Array) and any(np.isnan(size) for size in array.chunks[0]):
            raise ValueError(f"{name} has unknown chunk sizes (from a dataframe or a boolean "
                             f"mask): call {name}.compute_chunk_sizes() first, or build it with "
                             "to_dask_array(lengths=True)")
    if X.shape[0] != y.shape[0]:
        raise ValueError(f"y must have one row per row of X ({X.shape[0]}), got {y.shape[0]} "
                         f"(shape {y.shape})")
    if X.shape[0] == 0 or X.shape[1] == 0 or (y.ndim == 2 and y.shape[1] == 0):
        raise ValueError(f"X and y must have at least one row and column, got shapes {X.shape} "
                         f"and {y.shape}")
    if not X_lazy:
        X = da.from_array(X, chunks=(y.chunks[0] if y_lazy else "auto", -1))
    if not y_lazy:
        y = da.from_array(y, chunks=(X.chunks[0],) + ((-1,) if y.ndim == 2 else ()))
    for name, array in (("X", X), ("y", y)):
        if array.ndim == 2 and len(array.chunks[1]) > 1:
            raise ValueError(f"{name} is chunked along its columns ({array.chunks[1]}): each task "
                             f"needs whole rows; use {name} = {name}.rechunk({{1: -1}})")
    if y.chunks[0] != X.chunks[0]:
        raise ValueError(f"y's row chunks {_sizes(y.chunks[0])} differ from X's "
                         f"{_sizes(X.chunks[0])}: use y = y.rechunk({{0: X.chunks[0]}})")
    dtype = kernel_dtype(np.empty(0, X.dtype))
    vector_y = y.ndim == 1
    Y = (y[:, None] if vector_y else y).astype(dtype)
    return X.astype(dtype), Y, _chunked_weights(sample_weight, X), vector_y


def _chunked_weights(sample_weight, X):
    """``sample_weight`` as a dask array chunked as X's rows, or None."""
    if sample_weight is None:
        return None
    if not isinstance(sample_weight, da.Array):
        weights = weight_array(sample_weight, X.shape[0])
        return da.from_array(weights, chunks=(X.chunks[0],))
    if sample_weight.dtype.kind not in "biuf":
        raise TypeError(f"sample_weight must hold real numbers, got dtype {sample_weight.dtype}")
    if sample_weight.shape != (X.shape[0],):
        raise ValueError(f"sample_weight must have shape ({X.shape[0]},), one weight per row of "
                         f"X, got {sample_weight.shape}")
    if sample_weight.chunks[0] != X.chunks[0]:
        raise ValueError(f"sample_weight's chunks {_sizes(sample_weight.chunks[0])} differ from "
                         f"X's rows' {_sizes(X.chunks[0])}: use sample_weight = "
                         "sample_weight.rechunk(X.chunks[0])")
    return sample_weight


def _as_array(value, name):
    try:
        return np.asarray(value)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must be an array of real numbers: {err}") from None


def _sizes(chunks):
    return chunks if len(chunks) <= 6 else f"({', '.join(map(str, chunks[:5]))}, ...)"


def _keys(array):
    """The keys of a 2-D dask array's chunks, in row order (one chunk across the columns)."""
    return [row[0] for row in array.__dask_keys__()]


def _groups(get, chunks):
    """Which chunks each task of a round reads. A task costs the scheduler more than a call
    costs the task (a millisecond on a cluster), so there are as many tasks as threads: on a
    ``distributed`` cluster where X is in memory, the chunks each worker holds in as many runs
    as it has threads (each task runs where its chunks are); else runs of neighbouring chunks,
    one per thread of the local scheduler."""
    try:
        from distributed import Client, Future, wait
    except ImportError:
        Client = Future = type(None)
    client = getattr(get, "__self__", None)
    singles = [[i] for i in range(len(chunks))]  # the scheduler places each
    if isinstance(client, Client):
        if not all(isinstance(chunk, Future) for chunk in chunks):
            return singles  # computed in the round
        wait(chunks)  # persisted, but maybe still computing: their workers are known once done
        holders, threads = client.who_has(chunks), client.nthreads()
        if not all(holders.get(chunk.key) for chunk in chunks):
            return singles
        by_worker = {}
        for i, chunk in enumerate(chunks):
            by_worker.setdefault(holders[chunk.key][0], []).append(i)
    else:
        by_worker = {None: list(range(len(chunks)))}
        threads = {None: dask.config.get("num_workers", None) or dask.system.CPU_COUNT}
    groups = []
    for worker, held in by_worker.items():
        runs = max(1, min(len(held), threads.get(worker, 1)))
        groups += [part.tolist() for part in np.array_split(held, runs)]
    return groups


def _pairwise(parts, add):
    """``parts`` added in a fixed tree: neighbours first, then neighbours of those."""
    while len(parts) > 1:
        parts = [add(parts[i], parts[i + 1]) if i + 1 < len(parts) else parts[i]
                 for i in range(0, len(parts), 2)]
    return parts[0]


class _Chunks:
    """X, Y and the rows' weights as row chunks: one round of tasks over them, each chunk with
    its first row. The weights are checked and summed in a first round, then scaled once as
    ``fastgd.fit_linear`` scales them (to sum to m, in X's dtype): ``self.weights``, kept in
    the workers' memory with ``persist``, which the tasks read."""

    def __init__(self, X, Y, weights, vector_y, persist=False):
        self.X, self.Y, self.vector_y = X, Y, vector_y
        self.m, self.n = X.shape
        self.k = Y.shape[1]
        self.get = dask.base.get_scheduler(collections=[X])  # distributed's when a client is on
        self.graph = {**X.__dask_graph__(), **Y.__dask_graph__()}
        self.keys = [(x, y, None) for x, y in zip(_keys(X), _keys(Y))]
        self.offsets = np.concatenate([[0], np.cumsum(X.chunks[0])[:-1]]).tolist()
        self.groups = _groups(self.get, [self.graph[x] for x, _, _ in self.keys])
        self.weights = None
        if weights is not None:
            self._weigh(weights)
            total = _pairwise(self.each(_weight_sum), np.add)
            check_weight_total(total)
            scaled = weights.map_blocks(scaled_weights, total, self.m, X.dtype, dtype=X.dtype)
            self.weights = dask.persist(scaled)[0] if persist else scaled
            self._weigh(self.weights)

    def _weigh(self, weights):
        """Give each chunk's tasks the chunk of ``weights`` (chunked as X's rows)."""
        self.graph.update(weights.__dask_graph__())
        self.keys = [(x, y, w) for (x, y, _), w in zip(self.keys, weights.__dask_keys__())]

    def each(self, task, *args):
        """``task(*args, X_chunk, Y_chunk, weights_chunk or None, offset)`` on every chunk, in
        one round: the results, in chunk order. The round's graph is written out whole, a task
        per group of chunks on X's own keys: building it through ``dask.delayed`` cost more
        than the passes of small X, and each task more costs a cluster's scheduler about a
        millisecond."""
        call = functools.partial(task, *args) if args else task
        name = f"fastgd-{task.__name__.strip('_')}-{uuid.uuid4().hex}"
        graph = dict(self.graph)
        for index, group in enumerate(self.groups):
            graph[name, index] = (_on_chunks, call, [self.keys[i][0] for i in group],
                                  [self.keys[i][1] for i in group],
                                  [self.keys[i][2] for i in group],
                                  [self.offsets[i] for i in group])
        results = [None] * len(self.keys)
        for group, parts in zip(self.groups, self.get(graph, [(name, index) for index in
                                                              range(len(self.groups))])):
            for i, part in zip(group, parts):
                results[i] = part
        return results

    def first_rows(self):
        return np.asarray(self.X[:ADVICE_ROWS])

    def prepare(self, problem, standardize):
        """Check the labels (logistic loss), take the columns' statistics (``standardize``)
        and the curvature (``lr="auto"``): one round over the chunks, only for what is asked."""
        wants = (problem.loss_name == "logistic", standardize, problem.lr is None)
        if not any(wants):
            return
        parts = self.each(_statistics, self.vector_y, *wants)
        if standardize:
            count, mean, squares = _pairwise([part["moments"] for part in parts], _moments_add)
            spread = np.sqrt(squares / count)
            spread[spread == 0] = 1.0
            problem.center, problem.spread = mean, spread
        if problem.lr is not None:
            return
        if "gram" in parts[0]:
            L = gram_curvature(self._gram(parts), problem.loss_name, problem.l2, problem.center,
                               problem.spread)
        else:
            L = self.power_curvature(problem.loss_name, problem.l2)
        problem.lr = auto_lr(L, self.check_data)

    def curvature(self, loss_name, l2):
        """The loss's ``L`` at X, without standardising."""
        if self.n > GRAM_MAX_FEATURES:
            return self.power_curvature(loss_name, l2)
        parts = self.each(_statistics, self.vector_y, False, False, True)
        return gram_curvature(self._gram(parts), loss_name, l2)

    def _gram(self, parts):
        """``[X 1]^T [X 1] / m`` from the chunks' unscaled matrices in ``parts``."""
        return _pairwise([part["gram"] for part in parts], np.add) / self.m

    def power_curvature(self, loss_name, l2):
        """``L`` by power iteration, a round of tasks a product: for X too wide for its Gram."""
        X, n, m, weights = self.X, self.n, self.m, self.weights

        def product(v):
            u = X @ v[:n] + v[n]
            if weights is not None:
                u = u * weights
            return np.append(*dask.compute(X.T @ u, u.sum())) / m
        with np.errstate(over="ignore", invalid="ignore"):
            top = max(power_eigenvalue(product, n + 1, seed) for seed in (0, 1))
        return factor(loss_name) * top + l2

    def gram_sums(self):
        """``linear_gram.gram_sums`` of all the rows, from each chunk's, in one round."""
        parts = self.each(_centred_moments)
        count, mu, ybar, C, D, S = _pairwise(parts, _centred_add)
        return mu, ybar, C / count, D / count, S / count

    def check_data(self):
        """Raise the ``ValueError`` for the first NaN or infinity in X, else in y."""
        self.each(_check_finite, self.vector_y)


def _descend(problem, data, failure):
    """The iterations: a round of chunk passes, the fixed-order sum, the update."""
    m, n, k = data.m, data.n, data.k
    settings = linear_settings(problem, _plan.block_rows(m, n))
    Wt = np.ascontiguousarray(problem.W0.T)
    b = problem.b0
    Wt_last, b_last = Wt.copy(), b.copy()
    dW, db = np.empty((k, n)), np.empty(k)
    state = _START.copy()
    losses = []
    # each chunk's task weighs its own rows
    loss = problem.loss if data.weights is None else problem.loss.loss
    bar = _Progress(problem.max_iter) if problem.progress else None
    updates, stopped = 0, False
    start = time.perf_counter()
    while True:
        parts = data.each(_chunk_sums, Wt, b, loss, settings.block_rows)
        G, gb, value = _pairwise(parts, _sums_add)
        status = drivers.settle(G[None], gb[None], np.array([value]), m, settings, Wt, dW, db,
                                updates, state)
        if problem.callback is not None:
            stopped = problem.callback(Info(updates, float(state[drivers.LOSS]),
                                            float(state[drivers.GRAD_NORM]))) is True
        if status != drivers.CONTINUE or stopped:
            break
        if problem.history:
            losses.append((state[drivers.LOSS], state[drivers.GRAD_NORM]))
        Wt_last[...], b_last[...] = Wt, b
        drivers.update(Wt, b, dW, db, settings)
        updates += 1
        if bar is not None:
            bar.advance(updates, (time.perf_counter() - start) / updates)
    if bar is not None:
        bar.close()
    outcome = Outcome.recorded(
        drivers.OK if stopped else status, updates, float(state[drivers.LOSS]),
        float(state[drivers.GRAD_NORM]),
        np.array(losses, dtype=np.float64).reshape(-1, 2) if problem.history else None)
    if outcome.status != drivers.OK:
        raise failure(problem, outcome, Wt_last, b_last)
    return result(problem, Wt, b, outcome, data.first_rows)


def _failure_of(data):
    """The error of a failed descent on ``data``: NaN/inf in X or y when the very first pass was
    not finite, else the ``DivergenceError`` (its curvature from one more round)."""
    def failure(problem, outcome, Wt_last, b_last):
        if outcome.status == drivers.NONFINITE and outcome.n_iter == 0:
            data.check_data()
        L = data.curvature(problem.loss_name, problem.l2)
        return linear_divergence(data.first_rows(), problem.lr, outcome.n_iter, outcome.loss,
                                 *problem.output(Wt_last, b_last), loss_name=problem.loss_name,
                                 l2=problem.l2, L=L)
    return failure


def _on_chunks(task, Xs, Ys, Ws, offsets):
    """``task`` on each of a group's chunks, in order."""
    return [task(X, Y, W, offset) for X, Y, W, offset in zip(Xs, Ys, Ws, offsets)]


# The tasks, one per chunk: (..., X chunk, Y chunk, weights chunk or None, the chunk's first
# row in X).

def _weight_sum(X, Y, W, offset):
    """The chunk's weights checked (finite, >= 0): their float64 sum."""
    return check_weights(W, offset)


def _chunk_sums(Wt, b, loss, block_rows, X, Y, W, offset):
    """The chunk's gradient sums (k, n), (k,) and loss sum, float64, its blocks added in
    order: ``fit_linear``'s compiled descent, stopped after its first pass."""
    if W is not None:
        loss = Weighted(loss, W)
    m, n = X.shape
    k = Y.shape[1]
    blocks = -(-m // block_rows)
    G = np.zeros((1, blocks, k, n), X.dtype)
    gb, values = np.zeros((1, blocks, k)), np.zeros((1, blocks))
    if m:
        X, Y = _plan.writable_alias(X), _plan.writable_alias(Y)
        spec = _plan.make_spec(_plan.choose(X, Y, loss, 1, in_place=True), X, 1, block_rows,
                               loss=loss)
        no_columns = np.empty(0)
        settings = drivers.Settings(1.0, 1, 0.0, BLOWUP, 0.0, 0.0, 1.0, block_rows, no_columns,
                                    no_columns, True)
        # It returns after the stop test of the start, before any update: Wt, b are only read.
        drivers.descend(0, 1, X, Y, Wt, b, spec, loss, settings, G, gb, values,
                        np.zeros(1, np.int64), np.zeros(3, np.int64),
                        _START.copy(), np.empty((k, n)), np.empty(k), np.empty((0, 2)))
    return (G[0].sum(axis=0, dtype=np.float64), gb[0].sum(axis=0), float(values[0].sum()))


def _sums_add(a, b):
    return a[0] + b[0], a[1] + b[1], a[2] + b[2]


def _statistics(vector_y, logistic, standardize, curvature, X, Y, W, offset):
    """What ``_Chunks.prepare`` asks of a chunk: labels checked, the columns' count (sum of
    weights), mean and sum of squared deviations, and ``[X 1]^T S [X 1]`` (unscaled; S the
    rows' weights)."""
    out = {}
    if logistic:
        labels(Y[:, 0] if vector_y else Y, offset)
    m = X.shape[0]
    if standardize:
        out["moments"] = _column_moments(X, W)
    if curvature and X.shape[1] <= GRAM_MAX_FEATURES:
        out["gram"] = gram_matrix(X, W) * m if m else np.zeros((X.shape[1] + 1,) * 2)
    return out


def _column_moments(X, weights):
    """The chunk's (count, mean, sum of squared deviations) of each column, its rows weighted
    where ``weights`` are given (the count then their sum)."""
    n = X.shape[1]
    weights = None if weights is None else weights.astype(np.float64)
    count = X.shape[0] if weights is None else float(weights.sum())
    if count == 0:
        return 0, np.zeros(n), np.zeros(n)
    if weights is None:
        mean, std = moments(X)
        return count, mean, std * std * count
    columns = np.asarray(X, np.float64)
    mean = weights @ columns / count
    return count, mean, weights @ np.square(columns - mean)


def _moments_add(a, b):
    """Two chunks' (count, mean, sum of squared deviations) as one (Chan et al.)."""
    (ma, mean_a, sa), (mb, mean_b, sb) = a, b
    if ma == 0 or mb == 0:
        return a if mb == 0 else b
    count = ma + mb
    delta = mean_b - mean_a
    return count, mean_a + delta * (mb / count), sa + sb + delta * delta * (ma * mb / count)


def _centred_moments(X, Y, W, offset):
    """The chunk's count, means of X and Y, and unscaled centred moments (``gram_sums``')."""
    if X.shape[0] == 0:
        n, k = X.shape[1], Y.shape[1]
        return 0, np.zeros(n), np.zeros(k), np.zeros((n, n)), np.zeros((n, k)), np.zeros(k)
    mu, ybar, C, D, S = linear_gram.gram_sums(X, Y)
    m = X.shape[0]
    return m, mu, ybar, C * m, D * m, S * m


def _centred_add(a, b):
    """Two chunks' centred moments as one: the pairwise update of the co-moments."""
    (ma, mu_a, y_a, C_a, D_a, S_a), (mb, mu_b, y_b, C_b, D_b, S_b) = a, b
    if ma == 0 or mb == 0:
        return a if mb == 0 else b
    count = ma + mb
    dx, dy = mu_b - mu_a, y_b - y_a
    weight = ma * mb / count
    return (count, mu_a + dx * (mb / count), y_a + dy * (mb / count),
            C_a + C_b + np.outer(dx, dx) * weight, D_a + D_b + np.outer(dx, dy) * weight,
            S_a + S_b + dy * dy * weight)


def _check_finite(vector_y, X, Y, W, offset):
    check_finite(X, "X", offset)
    check_finite(Y[:, 0] if vector_y else Y, "y", offset)
