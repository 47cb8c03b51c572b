"""``fit_linear``: the checked Python layer over the fused row kernel."""
import functools
import itertools
import numbers

import llvmlite.binding
import numba
import numpy as np

from ._divergence import BLOWUP, linear_divergence
from ._kernels import layout, linear_gram, linear_rows, tiles
from ._pool import lost_in_fork, numba_threads
from ._validate import linear_problem
from .result import LinearResult

__all__ = ["fit_linear", "precompile"]

SOLVERS = ("rows", "gram")

#: Elements of X below which one thread is fastest: the threads meet once an iteration, and
#: under this the meeting costs more than the pass they share. One thread over two, 300
#: iterations: 2^12 elements 1.37 (n = 1), 1.09 (n = 10), 1.0 (n = 100, one block);
#: 2^13 1.48, 1.38, 1.40; 2^16 3.0, 1.71, 1.90 (random X, ``fit_linear`` timed both ways).
PARALLEL_MIN_ELEMENTS = 1 << 13
#: Rows of a block hold about this many elements, so a block stays in the L2 cache.
BLOCK_ELEMENTS = 1 << 14
#: Blocks that X is cut into at the least, where it has the rows, so that two threads can share
#: X that fits one block. More blocks cost W3 (two blocks of 512 rows) time: on one thread
#: 0.61-0.62 µs an iteration with 4 blocks against 0.56-0.60 with 2, on 2 threads 0.41-0.42
#: against 0.375-0.384.
MIN_BLOCKS = 2
#: Fewest rows in a block.
MIN_BLOCK_ROWS = 64
#: C-order X above this size streams from memory: the row-vector kernel takes it from a
#: vector's worth of features, and the tile kernel, which takes narrower rows, prefetches it.
#: Below it X stays in the caches, where prefetches only cost instructions (measured with an
#: earlier row kernel on a 32 MiB L3, m x 20 float64, one thread: 8 MiB ran 0.29 ns an
#: element without, 0.39 with; 15 MiB 0.37 without, 0.30 with). The row kernel does not
#: prefetch: the widest rows it still takes from memory ran faster without (Zen 4, one thread,
#: floor / kernel, 128 MB of float64 X: n = 600 0.38-0.39 against 0.35, 1000 0.38-0.42
#: against 0.35-0.39, 2000 0.44-0.45 against 0.38-0.39 prefetching 8 KiB ahead).
PREFETCH_MIN_BYTES = 1 << 24
#: How far ahead of the rows being computed the tile kernel prefetches.
PREFETCH_BYTES = 1 << 13
#: CPUs (LLVM's names, as numba compiles for them) on which the row-vector kernel prefetches X
#: beyond the caches (ROW_VECTOR_PREFETCH_BYTES ahead). Where a row's instructions are few for its bytes,
#: the CPU's reorder window reaches far enough ahead in X to keep memory busy on its own; where
#: a core reads memory much faster than that window covers, the kernel waits on its loads.
#: One thread, floor / kernel, 128 MB of float64 X (n = 8-512) and W5/W6: on a Zen 5 (45 GB/s
#: a core) prefetching 8 KiB ahead lifted every width, n = 20 0.55 to 0.70, 100 0.49 to 0.65,
#: W5 0.57-0.64 to 0.76-0.83, W6 0.52-0.60 to 0.68-0.79, float32 W5 0.51-0.58 to 0.72-0.78
#: (4 KiB ahead did less, 16 KiB about as much); on a Zen 4 (27 GB/s a core) the kernel kept
#: 0.88-1.04 of the floor on W5 and W6 without, and prefetching 8 or 32 KiB ahead cost it
#: 10-30 %. A Zen 3 (AVX2, 11-13 GB/s a core) gained too, medians of six interleaved rounds:
#: W5 0.74 to 0.80 (8 KiB ahead), W6 0.60 to 0.71, float32 W5 0.69 to 0.79 (16 KiB ahead).
ROW_VECTOR_PREFETCH_CPUS = frozenset({"znver3", "znver5"})
#: How far ahead the row-vector kernel prefetches there, by item size. float32 gained from
#: twice float64's distance (W5 in float32, one thread, floor / kernel in seven A/B runs:
#: 16 KiB ahead 0.80-0.91 against 0.72-0.79 at 8 KiB); float64 did not (W5 0.77-0.79 against
#: 0.76-0.83, W6 0.70-0.78 against 0.68-0.79).
ROW_VECTOR_PREFETCH_BYTES = {4: 1 << 14, 8: 1 << 13}
#: Most features the fixed-width kernel is compiled for. Up to here its sums stay in registers;
#: measured in the caches (F-order float64, one thread, floor/fastgd): n = 8 0.90, 12 0.67,
#: 16 0.42, 20 0.33, 32 0.20, against 0.27, 0.29, 0.24, 0.23, 0.27 for the column kernel.
FIXED_WIDTH_MAX = 16
#: X with at most FIXED_WIDTH_MAX features but not in Fortran order is copied to it when it is
#: smaller than this (so it fits the caches, as the copy does). On W4 the copy
#: (``layout.fortran_copy``) takes 0.28-0.32 ns an element on a Zen 4, about three iterations of
#: the kernel, and a fit of C-order X takes 0.6-0.9 ms (eight iterations) more than one of the
#: same X in Fortran order, fresh pages included; the kernel saves 0.26 ns an element every
#: iteration.
COLUMN_COPY_MAX_BYTES = PREFETCH_MIN_BYTES
#: A threaded fit shares that copy among its threads from this size of X. Zen 5, 10 features,
#: float64, one thread against two: 0.1 MB 2.4-2.6 µs against 6.8-9.3; 0.8 MB 26-31 against
#: 25-27; 2.4 MB 77-97 against 63-69; 8 MB 0.39 ms against 0.22.
TEAM_COPY_MIN_BYTES = 1 << 20
#: Most features the tile kernel is compiled for (its loop is unrolled over them). Measured
#: against the row kernel, one thread, ns an element (tile / row), C-order X in L2: n = 17
#: 0.149 / 0.174, 20 0.078 / 0.13, 32 0.078 / 0.162, 50 0.087 / 0.137, 64 0.083 / 0.133, 100
#: 0.109 / 0.134 (float64); 20 0.076 / 0.16, 100 0.067 / 0.095 (float32).
TILE_MAX_FEATURES = 128
#: Most features the row-vector kernel is compiled for (unrolled over the row's vectors). From
#: memory it streams C-order X faster than any other kernel at every width measured up to
#: here; one thread, floor / kernel, 128 MB of float64 X (AVX-512, Zen 4): n = 8 0.59 against
#: 0.46 (tile), 20 0.72 / 0.39 (tile) / 0.57 (row), 50 0.76 / 0.37 / 0.47, 100 0.81 / 0.31 /
#: 0.24, 200 0.72 / 0.26 (row), 500 0.62 / 0.30 (row); float32 n = 16 0.63 / 0.43 / 0.59, 100
#: 0.73 / 0.26 / 0.52.
VECTORS_MAX_FEATURES = 512
#: C-order X in the caches goes to the row-vector kernel from this many features to
#: TILE_MAX_FEATURES (beyond, the row kernel is as fast there). Floor / kernel in L2, one
#: thread (row-vector / tile): float64 n = 20 0.43 / 0.53, 32 0.62 / 0.68, 50 0.64 / 0.44, 64
#: 0.71 / 0.54, 100 0.53 / 0.40, 128 0.44 / 0.40; float32 32 0.36 / 0.44, 50 0.42 / 0.28, 64
#: 0.51 / 0.53, 100 0.56 / 0.35.
VECTORS_MIN_FEATURES_IN_CACHE = 48


# A threaded fit passes the width of a compiled kernel variant, a tuple of n items, into numba's
# parallel region, which takes tuples of up to NUMBA_PARFOR_MAX_TUPLE_SIZE items (100 unless
# set): without this, C-order X of 101 to 128 features failed to compile on two threads.
numba.config.PARFOR_MAX_TUPLE_SIZE = max(numba.config.PARFOR_MAX_TUPLE_SIZE, VECTORS_MAX_FEATURES)


def block_rows(m, n):
    """Rows per block for X of shape (m, n): fixed by the shape alone, so results never depend on
    threads. Blocks hold up to ``BLOCK_ELEMENTS`` elements but are cut smaller when that leaves
    fewer than ``MIN_BLOCKS``; always a multiple of the tile kernel's largest group of rows (16,
    float32)."""
    group = tiles.lanes(4)
    share = -(-m // MIN_BLOCKS)
    rows = min(BLOCK_ELEMENTS // n // group * group, -(-share // group) * group)
    return max(MIN_BLOCK_ROWS, rows)


def fixed_width(X):
    """Whether X is fitted by the fixed-width kernel, on its columns or on a Fortran-order copy."""
    if X.shape[1] > FIXED_WIDTH_MAX:
        return False
    return X.flags.f_contiguous or X.nbytes < COLUMN_COPY_MAX_BYTES


def by_row_vectors(X):
    """Whether C-order X (that the fixed-width kernel does not take) goes to the row-vector
    kernel: X with at least a vector's worth of features in a row, streaming from memory, or
    wide enough in the caches."""
    n = X.shape[1]
    if not X.flags.c_contiguous or fixed_width(X):
        return False
    if not tiles.lanes(X.itemsize) <= n <= VECTORS_MAX_FEATURES:
        return False
    return X.nbytes >= PREFETCH_MIN_BYTES or VECTORS_MIN_FEATURES_IN_CACHE <= n <= TILE_MAX_FEATURES


def tiled(X):
    """Whether C-order X that neither the fixed-width nor the row-vector kernel takes goes to
    the tile kernel."""
    n = X.shape[1]
    return (X.flags.c_contiguous and n <= TILE_MAX_FEATURES and not fixed_width(X)
            and not by_row_vectors(X))


def choose_kernel(X):
    """The block kernel that reads X and its prefetch distance: ``("fixed", None)``,
    ``("vectors", None)``, ``("tile", elements or None)``, ``("column", None)`` or
    ``("rows", None)``."""
    if fixed_width(X):
        kernel = "fixed"
    elif by_row_vectors(X):
        kernel = "vectors"
    elif tiled(X):
        kernel = "tile"
    else:
        kernel = "column" if _column_major(X) else "rows"
    return kernel, prefetch_distance(X, kernel)


def prefetch_distance(X, kernel):
    """How far ahead ``kernel`` prefetches X as ``fit_linear`` runs it, in elements, or None
    (not at all): only X beyond the caches, by the tile kernel, and by the row-vector kernel on
    the CPUs of ROW_VECTOR_PREFETCH_CPUS."""
    if X.nbytes < PREFETCH_MIN_BYTES:
        return None
    if kernel == "tile":
        return PREFETCH_BYTES // X.itemsize
    if kernel == "vectors" and compiled_cpu() in ROW_VECTOR_PREFETCH_CPUS:
        return ROW_VECTOR_PREFETCH_BYTES[X.itemsize] // X.itemsize
    return None


@functools.cache
def compiled_cpu():
    """The CPU that numba compiles for, by LLVM's name: ``NUMBA_CPU_NAME`` or the host's."""
    return numba.config.CPU_NAME or llvmlite.binding.get_host_cpu_name()


def thread_count(n_threads, shape):
    """How many threads fit X of ``shape``: ``n_threads``, or by default one for small X and
    numba's whole pool for large X; never more than the pool, nor than X has blocks (a thread
    without a block would only wait for the others)."""
    m, n = shape
    if n_threads is None:
        if m * n < PARALLEL_MIN_ELEMENTS:
            return 1  # at once: a small fit's whole call takes microseconds
        wanted = numba.config.NUMBA_NUM_THREADS
    elif isinstance(n_threads, (bool, np.bool_)) or not isinstance(n_threads, numbers.Integral):
        raise TypeError(f"n_threads must be a positive integer or None, got {n_threads!r}")
    elif n_threads < 1:
        raise ValueError(f"n_threads must be >= 1, got {n_threads!r}")
    else:
        wanted = int(n_threads)
    blocks = -(-m // block_rows(m, n))
    return max(1, min(wanted, numba.config.NUMBA_NUM_THREADS, blocks))


def _column_major(X):
    """Whether X is read a column at a time: its columns are contiguous and its rows are not."""
    return X.flags.f_contiguous and not X.flags.c_contiguous


def fit_linear(X, y, *, lr=0.01, max_iter=1000, tol=0.0, w0=None, b0=None, history=False,
               n_threads=None, solver="rows"):
    """Fit ``y ~ X w + b`` by batch gradient descent on ``J = 1/(2m) sum (X w + b - y)^2``.

    Each iteration is one compiled pass over the rows of ``X`` that fuses prediction, error and
    gradient, then the simultaneous update ``w -= lr dw, b -= lr db`` (both gradients from the
    same ``w, b``), as in the textbook loop; :func:`fastgd.reference.fit_linear` is that loop in
    plain numpy and gives the same answer.

    Parameters
    ----------
    X : array_like, shape (m, n)
        Real numbers. float32 is computed in float32, float64 in float64; ints, bools and
        other floats are converted to float64 (float16 to float32). Any memory order or
        stride, read-only and memory-mapped arrays are read in place, except that X with at
        most 16 features and under 16 MiB is copied to Fortran order (see Notes).
    y : array_like, shape (m,) or (m, k)
        Targets; converted to X's dtype if it differs.
    lr : float, default 0.01
        Learning rate, > 0.
    max_iter : int, default 1000
        Most updates to make, >= 0.
    tol : float, default 0.0
        Stop at the first iterate whose gradient norm ``sqrt(|dw|^2 + |db|^2)`` is ``<= tol``,
        checked before updating; ``0`` makes exactly ``max_iter`` updates.
    w0 : array_like, shape (n,) or (n, k), optional
        Starting weights (zeros by default); never modified.
    b0 : float or array_like of shape (k,), optional
        Starting bias (zero by default); never modified.
    history : bool, default False
        Record J before each update.
    n_threads : int, optional
        Threads to use, capped at numba's pool (``NUMBA_NUM_THREADS``) and at X's blocks of
        rows (X is cut into at least two blocks, of at most 2^14 elements). By default one
        thread for X under 2^13 elements, the whole pool above. The threads start once for the
        fit and meet once an iteration; the result is bit-for-bit the same whatever the number
        of threads. A process forked from one that ran numba's pool on GNU OpenMP (Linux),
        which numba cannot start again after a fork, fits on one thread.
    solver : {"rows", "gram"}, default "rows"
        ``"rows"``: the fused row kernel, one pass over X per iteration. ``"gram"``: one pass
        forms ``[X 1]^T [X 1]`` and ``[X 1]^T y`` (in float64), then each iteration costs
        O(n^2 k) whatever m is: the same trajectory (to rounding) and far faster when
        ``max_iter`` is large and n small. Its J comes from the same sums, so when J is tiny
        against ``mean(y^2)`` it carries cancellation error the row kernel does not.

    Returns
    -------
    LinearResult
        ``w``, ``b``, ``n_iter``, ``converged``, ``loss``, ``grad_norm``, ``history``.

    Raises
    ------
    TypeError, ValueError
        Bad arguments, before any update (NaN or infinity in X or y is found by the first pass).
    DivergenceError
        The loss stopped being finite or grew: ``lr`` is too large for this X. The error names
        the iteration and a stable learning rate, and carries the last good ``w, b``.

    Notes
    -----
    Partial sums are accumulated per block of rows and added in float64, in a fixed order.
    With at most 16 features, X is read by a kernel compiled for that number of features,
    which keeps its sums in registers and is vectorised across rows of contiguous columns:
    Fortran-order X is read in place, and any other X under 16 MiB is first copied to Fortran
    order (a copy that costs a few iterations). Other C-order X is read by a kernel compiled
    for its number of features: the row-vector kernel (a row at a time in vectors of 64
    bytes, with w and the gradient sums in registers) when X is over 16 MiB with 8 to 512
    features (16 to 512 in float32), or in the caches with 48 to 128; else, up to 128
    features, the tile kernel (a vector of rows at a time: 8 in float64, 16 in float32). Wider
    or strided X is read row by row, and Fortran-order X with more than 16 features a column
    at a time within each block.
    Memory used beyond X and y is that copy, O(n k (1 + m / block)) for the block sums, one
    block of errors per thread for Fortran-order X, and O(max_iter) for the history.

    Examples
    --------
    Seed 002's example: fitting y = 2x from three points.

    >>> import numpy as np, fastgd
    >>> res = fastgd.fit_linear(np.array([[1], [2], [3]]), np.array([2, 4, 6]))
    >>> round(float(res.w[0]), 8), round(res.b, 8)
    (1.90259238, 0.22143042)
    """
    if solver not in SOLVERS:
        raise ValueError(f"solver must be one of {', '.join(map(repr, SOLVERS))}, got {solver!r}")
    problem = linear_problem(X, y, lr=lr, max_iter=max_iter, tol=tol, w0=w0, b0=b0,
                             history=history, check_data=False)
    if solver == "gram":
        return _fit_gram(problem)
    X = problem.X
    return _fit_rows(problem, thread_count(n_threads, X.shape), *choose_kernel(X))


def _fit_rows(problem, threads, kernel, ahead=None):
    """The descent on ``threads`` threads with block kernel ``kernel`` (see ``choose_kernel``):
    the fixed-width kernel on X's columns (copied to Fortran order if need be), the row-vector
    kernel, the tile kernel, the column kernel, or the row kernel. The tile kernel prefetches
    ``ahead`` elements ahead (None: not at all); the others take None. A process that cannot
    start numba's pool (:func:`._pool.lost_in_fork`) runs on one thread: the same bits."""
    if lost_in_fork():
        threads = 1
    X, Y = problem.X, problem.Y
    rows = block_rows(*X.shape)
    width = tile = vectors = E = None
    if kernel == "fixed":
        if not X.flags.f_contiguous:
            if threads > 1 and X.nbytes >= TEAM_COPY_MIN_BYTES:
                with numba_threads(threads):
                    X = layout.fortran_copy(X, threads)
            else:
                X = layout.fortran_copy(X)
        width = (0,) * X.shape[1]  # its length types the compiled variant
    elif kernel == "tile":
        tile = (0,) * X.shape[1]
    elif kernel == "vectors":
        vectors = (0,) * X.shape[1]
    elif kernel == "column":
        # The column kernel forms a block's errors in E, one row per thread, with a line or two
        # clear between rows so that no two threads write to one cache line; with E None the
        # row kernel runs.
        E = np.empty((threads, rows + linear_rows.PADDING // X.itemsize), X.dtype)
    Wt = np.ascontiguousarray(problem.W0.T)
    b = problem.b0
    Wt_last, b_last = np.empty_like(Wt), np.empty_like(b)
    losses = np.empty(problem.max_iter if problem.history else 0)
    args = (X, Y, Wt, b, problem.lr, problem.max_iter, problem.tol, BLOWUP, rows, ahead, E,
            width, tile, vectors, losses, Wt_last, b_last)
    if threads == 1:
        status, n_iter, loss, grad_norm = linear_rows.descend(*args)
    else:
        with numba_threads(threads):
            status, n_iter, loss, grad_norm = linear_rows.descend_team(*args, threads)
    if status != linear_rows.OK:
        raise _failure(problem, status, n_iter, loss, Wt_last.T.copy(), b_last)
    return _result(problem, np.ascontiguousarray(Wt.T), b, n_iter, loss, grad_norm, losses)


def fit_by_kernel(X, y, kernel, ahead=None, *, threads=1, lr=0.01, max_iter=1000, history=False):
    """``fit_linear(X, y)`` by the block kernel named (see ``choose_kernel``) whatever X is, on
    ``threads`` threads: for the benchmarks and tests that set one kernel against another.

    Examples
    --------
    >>> import numpy as np
    >>> from fastgd.linear import fit_by_kernel
    >>> round(float(fit_by_kernel(np.array([[1.0], [2.0], [3.0]]), [2.0, 4.0, 6.0], "tile").w[0]), 8)
    1.90259238
    """
    # As fit_linear: NaN or infinity in X or y is found by the kernel's first pass, not by a read
    # of its own, which cost the timed kernels 0.05-0.12 of the floor on W6.
    problem = linear_problem(X, y, lr=lr, max_iter=max_iter, tol=0.0, w0=None, b0=None,
                             history=history, check_data=False)
    return _fit_rows(problem, threads, kernel, ahead)


def _fit_gram(problem):
    X, Y = problem.X, problem.Y
    n = X.shape[1]
    A, c, yy = linear_gram.gram_sums(X, Y)
    Theta = np.vstack([problem.W0, problem.b0[None, :]]).astype(np.float64)
    Theta_last = np.empty_like(Theta)
    losses = np.empty(problem.max_iter if problem.history else 0)
    status, n_iter, loss, grad_norm = linear_gram.descend_gram(
        A, c, yy, X.shape[0], Theta, problem.lr, problem.max_iter, problem.tol, BLOWUP, losses,
        Theta_last)
    if status != linear_rows.OK:
        last = Theta_last.astype(X.dtype)
        raise _failure(problem, status, n_iter, loss, last[:n], last[n])
    Theta = Theta.astype(X.dtype)
    return _result(problem, Theta[:n], Theta[n], n_iter, loss, grad_norm, losses)


def _failure(problem, status, n_iter, loss, W_last, b_last):
    """The error for a kernel that stopped early: NaN/inf in X or y if the very first pass was
    not finite (they are checked only then, saving a read), else a ``DivergenceError``."""
    if status == linear_rows.NONFINITE and n_iter == 0:
        problem.check_data()
    return linear_divergence(problem.X, problem.lr, n_iter, loss, *problem.output(W_last, b_last))


def _result(problem, W, b, n_iter, loss, grad_norm, losses):
    w, b = problem.output(W, b)
    return LinearResult(
        w=w,
        b=b,
        n_iter=int(n_iter),
        converged=bool(grad_norm <= problem.tol),
        loss=float(loss),
        grad_norm=float(grad_norm),
        history=losses[:n_iter].copy() if problem.history else None,
    )


def precompile(dtypes=("float64", "float32"), layouts=("C", "F", "strided"), read_only=(False, True),
               widths=range(1, FIXED_WIDTH_MAX + 1)):
    """Compile (or load from numba's cache) ``fit_linear``'s kernels for the shipped signatures.

    Useful before forking worker processes, or to take the compile time out of a first
    measured call. By default: float64 and float32; C-order, F-order and strided X, writable and
    read-only; 1-D and 2-D y; on one thread and on numba's pool for all of them. For each number
    of features in ``widths``, and for ``VECTORS_MAX_FEATURES + 1`` (the generic row and column
    kernels), it compiles the kernels that ``fit_linear`` picks for X of that width in the
    caches and beyond them: the fixed-width kernel (with the copy to Fortran order that C-order
    and strided X take, on one thread and on two), the row-vector, tile and row kernels (the
    tile kernel with and without prefetching, as large X gets it), and ``solver="gram"`` for
    writable C-order X. The row-vector and tile kernels are compiled per number of features (up
    to ``VECTORS_MAX_FEATURES`` and ``TILE_MAX_FEATURES``): name the widths a program uses. Each
    variant takes seconds to compile into a cold cache (tens of seconds for the widest
    row-vector variants); a warm cache loads them in milliseconds. Returns the number of fits
    run.

    Examples
    --------
    >>> import fastgd
    >>> fastgd.precompile(dtypes=["float64"], layouts=["C"], read_only=[False], widths=[20])
    14
    """
    count = 0
    for dtype, order, frozen in itertools.product(dtypes, layouts, read_only):
        for n in (VECTORS_MAX_FEATURES + 1, *widths):
            X = _layout(8, n, dtype, order, frozen, fill=1)
            large = _layout(PREFETCH_MIN_BYTES // (n * X.itemsize) + 1, n, dtype, order, frozen)
            kernels = {choose_kernel(X), choose_kernel(large)}  # (kernel, prefetch distance)
            for y in (np.ones(X.shape[0], dtype), np.ones((X.shape[0], 2), dtype)):
                # A fresh problem per fit: the solvers update its W0, b0 in place. X of ones
                # takes lr < 2 / (n + 1) to converge.
                problem = functools.partial(linear_problem, X, y, lr=1e-4, max_iter=1, tol=0.0,
                                            w0=None, b0=None, history=False)
                for threads, kernel in itertools.product((1, 2), kernels):
                    # 2: the team's variant, where the pool has 2 threads (X has one block,
                    # so the second thread only joins: the compiled code is the same)
                    _fit_rows(problem(), min(threads, numba.config.NUMBA_NUM_THREADS), *kernel)
                    count += 1
                if (order, frozen, n) == ("C", False, VECTORS_MAX_FEATURES + 1):
                    _fit_gram(problem())
                    count += 1
            team = numba.config.NUMBA_NUM_THREADS > 1 and not lost_in_fork()
            if order != "F" and n <= FIXED_WIDTH_MAX and team:
                with numba_threads(2):
                    layout.fortran_copy(X, 2)  # as the team copies X from TEAM_COPY_MIN_BYTES
    return count


def _layout(rows, n, dtype, layout, frozen, fill=None):
    """A (rows, n) X in ``layout``: "C", "F" or "strided" (every other row and column of a
    larger array); read-only if ``frozen``. Filled with ``fill``, or else left uninitialised,
    which costs no memory until it is read."""
    X = {"C": lambda: np.empty((rows, n), dtype),
         "F": lambda: np.empty((rows, n), dtype, order="F"),
         "strided": lambda: np.empty((2 * rows, 2 * n), dtype)[::2, ::2]}[layout]()
    if fill is not None:
        X[...] = fill
    if frozen:
        X = X.view()  # a read-only view keeps the layout
        X.flags.writeable = False
    return X
