"""The planner: which pass reads X, on how many threads, in which blocks.

``KERNELS`` is the one table of passes, in order of preference. A pass compiled per number of
features (``per_width``) is an optimisation, never a wait: it is taken only where its machine
code is already in memory or in numba's disk cache (``fastgd.precompile`` puts it there), or
where the fit's own work dwarfs a compile (said on stderr first). Otherwise a width-agnostic
pass runs at once: ``rows`` or ``columns``, compiled once per dtype, layout and loss.
"""
import ctypes
import functools
import os
from dataclasses import dataclass
from typing import NamedTuple

import llvmlite.binding
import numba
import numpy as np

from . import _tuning as tune
from ._config import ready, say
from ._kernels import drivers, passes
from ._kernels.layout import fortran_copy
from ._kernels.losses import Logistic, describe, kind as loss_kind
from ._kernels.tiles import lanes

#: A named tuple made past its own __new__, which is Python: plans, settings and outcomes are
#: made so, as a part of a small fit's call.
new_tuple = tuple.__new__

#: Element-updates (m n k max_iter) from which a fit compiles the per-width pass it lacks: some
#: 10 s of the width-agnostic pass, against a compile of 2 s that is then cached.
COMPILE_PAYS_ELEMENT_UPDATES = 3 * 10**10


def _fixed(X):
    n = X.shape[1]
    return n <= tune.FIXED_WIDTH_MAX and (X.flags.f_contiguous or X.nbytes < tune.COLUMN_COPY_MAX_BYTES)


def _row_vectors(X):
    n = X.shape[1]
    return (X.flags.c_contiguous and lanes(X.itemsize) <= n <= tune.VECTORS_MAX_FEATURES
            and (X.nbytes >= tune.PREFETCH_MIN_BYTES
                 or tune.VECTORS_MIN_FEATURES_IN_CACHE <= n <= tune.TILE_MAX_FEATURES))


def _tiles(X):
    return X.flags.c_contiguous and X.shape[1] <= tune.TILE_MAX_FEATURES


def _columns(X):
    return X.flags.f_contiguous and not X.flags.c_contiguous


@dataclass(frozen=True)
class Kernel:
    """One row of the table: a pass, the X it reads; ``computes(loss)``, whether it runs it."""

    name: str
    spec: type
    takes: object  # X -> bool
    per_width: bool

    def computes(self, loss):
        return passes.computes(self.spec, type(loss))


KERNELS = (
    Kernel("fixed", passes.FixedWidth, _fixed, per_width=True),
    Kernel("vectors", passes.RowVectors, _row_vectors, per_width=True),
    Kernel("tile", passes.Tiles, _tiles, per_width=True),
    Kernel("columns", passes.Columns, _columns, per_width=False),
    Kernel("rows", passes.Rows, lambda X: True, per_width=False),
)
BY_NAME = {kernel.name: kernel for kernel in KERNELS}


@functools.lru_cache(maxsize=1024)
def block_rows(m, n):
    """Rows per block for X of shape (m, n): :func:`._kernels.drivers.block_rows` run as Python
    (compiled, it would hold up a first fit on its own compile), memoised."""
    return int(drivers.block_rows.py_func(m, n))


@functools.cache
def compiled_cpu():
    """The CPU that numba compiles for, by LLVM's name: ``NUMBA_CPU_NAME`` or the host's."""
    return numba.config.CPU_NAME or llvmlite.binding.get_host_cpu_name()


def prefetch_distance(X, kernel, loss=None):
    """How far ahead (elements) ``kernel`` prefetches X for ``loss``, or None: only X beyond
    the caches."""
    if X.nbytes < tune.PREFETCH_MIN_BYTES:
        return None
    return streaming_distance(kernel, X.itemsize, loss)


def streaming_distance(kernel, itemsize, loss=None):
    """How far ahead (elements) ``kernel`` prefetches X that streams from memory for ``loss``
    (None: any loss but the logistic), or None where it does not prefetch."""
    if kernel == "tile":
        return tune.PREFETCH_BYTES // itemsize
    if kernel == "vectors" and compiled_cpu() in tune.ROW_VECTOR_PREFETCH_CPUS:
        if isinstance(loss, Logistic):
            return tune.LOGISTIC_PREFETCH_BYTES // itemsize
        return tune.ROW_VECTOR_PREFETCH_BYTES[itemsize] // itemsize
    return None


def _ahead(kernel, X, streaming, loss):
    return (streaming_distance(kernel, X.itemsize, loss) if streaming
            else prefetch_distance(X, kernel, loss))


def make_spec(kernel, X, threads, block_rows, streaming=False, loss=None):
    """The pass spec of ``kernel`` for X (a Fortran-order X for ``fixed``) read in blocks of
    ``block_rows`` rows, and ``loss`` (which sets how far the row vectors prefetch);
    ``streaming``: the variant for X that streams from memory, whatever X's size."""
    n = X.shape[1]
    if kernel == "fixed":
        return passes.FixedWidth((0,) * n)  # the tuple's length types the compiled variant
    if kernel == "vectors":
        # Rows read as whole lines cost the core more work (their permutes), which a team's
        # second thread may share: only a fit on one thread reads them so.
        return passes.RowVectors((0,) * n, _ahead(kernel, X, streaming, loss), threads == 1)
    if kernel == "tile":
        return passes.Tiles((0,) * n, _ahead(kernel, X, streaming, loss))
    if kernel == "columns":
        # A block's errors, one row per thread, a line or two clear between rows.
        return passes.Columns(np.empty((threads, block_rows + drivers.PADDING // X.itemsize),
                                       X.dtype))
    return passes.Rows()


_ready = {}


def _flags(array):
    """What sets an array's numba type beside its dtype and rank: memory order, writability."""
    return _layout(array), array.flags.writeable, array.flags.aligned


def descent_types(kernel, X, Y, loss, alone, x_flags=None, streaming=False):
    """What sets the numba types of a descent's arguments (``drivers.descend``): ``kernel``'s
    pass over X (of flags ``x_flags`` where given) against Y for ``loss``, ``alone`` or not;
    ``streaming`` as ``make_spec`` takes it. A key: equal keys, equal types."""
    return (kernel, X.shape[1] if BY_NAME[kernel].per_width else None, X.dtype,
            x_flags or _flags(X), Y.dtype, _flags(Y), loss_kind(loss),
            _ahead(kernel, X, streaming, loss) is None, alone)


def _available(kernel, X, Y, loss, compiling=False, alone=False):
    """Whether ``kernel``'s variant for X, Y and ``loss`` (``alone``: its variant of one
    thread, one block and one output) is compiled or cached (memoised on what sets its numba
    types); ``compiling=True`` records that it is about to be."""
    fortran_copy = kernel == "fixed" and not X.flags.f_contiguous
    key = descent_types(kernel, X, Y, loss, alone, ("F", True, True) if fortran_copy else None)
    if compiling:
        _ready[key] = True
    if key not in _ready:
        if fortran_copy:  # the pass reads X's Fortran-order copy: writable, same dtype and width
            x_type = numba.typeof(np.empty((min(X.shape[0], 2), X.shape[1]), X.dtype, order="F"))
        else:
            x_type = numba.typeof(X)
        spec = make_spec(kernel, X, 1, block_rows(*X.shape))
        args = example_arguments(X[:1], Y[:1], spec, loss, alone)
        signature = tuple(numba.typeof(arg) for arg in args)
        signature = signature[:2] + (x_type, numba.typeof(Y)) + signature[4:]
        _ready[key] = ready(drivers.descend, signature)
    return _ready[key]


def example_arguments(X, Y, spec, loss, alone=False):
    """Arguments of ``drivers.descend`` with the types a fit of X, Y, ``spec`` and ``loss`` uses
    (``alone``: in the variant of one thread, one block and one output)."""
    k, n = Y.shape[1], X.shape[1]
    settings = drivers.Settings(0.1, 1, 0.0, 2.0, 0.0, 0.0, 0.5, 64, np.empty(0), np.empty(0),
                                True)
    slots = ((None, None, None) if alone else
             (np.zeros((1, 1, k, n), X.dtype), np.zeros((1, 1, k)), np.zeros((1, 1))))
    return (0, 1, X, Y, np.zeros((k, n), X.dtype), np.zeros(k, X.dtype), spec, loss, settings,
            *slots, None if alone else np.zeros(1, np.int64), np.zeros(3, np.int64), np.zeros(3),
            np.zeros((k, n)), np.zeros(k), np.zeros((0, 2)))


def forget_availability():
    """Forget what ``_available``, ``choose`` and ``plan`` learnt (after ``precompile``
    compiled more)."""
    _ready.clear()
    _chosen.clear()
    _plans.clear()


def cores():
    """The cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def idle_cores():
    """Cores not busy with other runnable threads right now (Linux: ``/proc/loadavg``'s count of
    runnable threads, which includes the reader), or every core this process may use."""
    usable = cores()
    try:
        with open("/proc/loadavg") as handle:
            running = int(handle.read().split()[3].split("/")[0])
    except (OSError, ValueError, IndexError):
        return usable
    return max(1, min(usable, usable - (running - 1)))


def thread_count(n_threads, m, n, k):
    """Threads for X of (m, n): ``n_threads``, or by default one for small X and the idle
    cores for large X; never more than the cores, nor than X has blocks."""
    blocks = -(-m // block_rows(m, n))
    if n_threads is None:
        if m * n * k < tune.PARALLEL_MIN_ELEMENTS:
            return 1
        n_threads = idle_cores()
    return max(1, min(n_threads, blocks, cores()))


class Plan(NamedTuple):
    """What the driver runs: the pass ``spec`` of ``kernel`` over ``X`` (the caller's, a
    writable alias of it, or its Fortran-order copy) against ``Y`` (the caller's or a writable
    alias), on ``threads`` threads, in blocks of ``block_rows`` rows; ``alone``: in the
    descent's variant for one thread, one block and one output, which keeps its state in
    registers; ``types``: what sets the types of the descent's arguments (``descent_types``).
    Made by ``plan`` only, so ``types`` always matches the rest. (A named tuple: a small fit
    builds one a call.)"""

    kernel: str
    spec: object
    X: np.ndarray
    Y: np.ndarray
    threads: int
    block_rows: int
    alone: bool
    types: tuple


def plan(X, Y, loss, max_iter, n_threads, kernel=None, *, alone=True, streaming=False):
    """The plan for a fit of X against Y with ``loss``. ``kernel`` forces a row of the table
    (for tests and benchmarks that set one pass against another); it must suit X and loss.
    ``alone=False`` keeps a fit that could run alone (``Plan.alone``) on the team's variant;
    ``streaming`` takes the pass's variant for X streaming from memory (``make_spec``)."""
    m, n = X.shape
    k = Y.shape[1]
    key = None
    if (kernel is None and (n_threads == 1 or n_threads is None and m * n * k < tune.PARALLEL_MIN_ELEMENTS)
            and m * n * k * max_iter < COMPILE_PAYS_ELEMENT_UPDATES):
        # one thread and no compile to weigh: the plan is a function of the arguments' types
        key = (X.shape, X.dtype, X.flags.num, k, Y.dtype, Y.flags.num, loss_kind(loss), alone,
               streaming)
        known = _plans.get(key)
        if known is not None:
            return _of(*known, X, Y)
    given = X, Y
    threads = thread_count(n_threads, m, n, k)
    X, Y = writable_alias(X), writable_alias(Y)
    # a forced kernel is compiled as needed, alone too
    kernel, alone_ready = (kernel, True) if kernel else choice(X, Y, loss, max_iter)
    X = _read_by(kernel, X, threads)
    if not BY_NAME[kernel].per_width and not _available(kernel, X, Y, loss):
        _available(kernel, X, Y, loss, compiling=True)
        say(f"compiling the {kernel} kernel for {X.dtype} X in {_order(X)} order, {Y.dtype} y, "
            f"{describe(loss)} loss (a few seconds, once: it is cached)")
    rows = block_rows(m, n)
    alone = (alone and alone_ready and kernel == "fixed" and threads == 1 and m <= rows
             and k == 1)
    made = Plan(kernel, make_spec(kernel, X, threads, rows, streaming, loss), X, Y, threads,
                rows, alone, descent_types(kernel, X, Y, loss, alone, streaming=streaming))
    if key is not None:
        if len(_plans) >= MEMO_PLANS:
            _plans.clear()
        # The flags in the key (writable, Fortran order) say whether X and Y are read as given.
        _plans[key] = made._replace(X=None, Y=None), X is given[0] and Y is given[1]
    return made


#: Plans remembered (``plan``) before the memo starts again: a program fits a few shapes.
MEMO_PLANS = 1024
_plans = {}


def _read_by(kernel, X, threads):
    """X as ``kernel``'s pass reads it: the fixed-width pass reads a Fortran-order copy of X
    that is not in Fortran order already."""
    if kernel == "fixed" and not X.flags.f_contiguous:
        return fortran_copy(X, min(threads, 2) if X.nbytes >= (1 << 20) else 1)
    return X


def _of(known, as_given, X, Y):
    """The remembered plan ``known`` for this X and Y, read as given where ``as_given`` (the
    columns pass's scratch made anew)."""
    kernel, spec = known.kernel, known.spec
    if not as_given:
        X, Y = _read_by(kernel, writable_alias(X), 1), writable_alias(Y)
    if kernel == "columns":
        spec = make_spec(kernel, X, 1, known.block_rows)
    return new_tuple(Plan, (kernel, spec, X, Y, known.threads, known.block_rows, known.alone,
                            known.types))


def _layout(array):
    return "C" if array.flags.c_contiguous else "F" if array.flags.f_contiguous else "A"


def _order(X):
    return {"C": "C", "F": "Fortran", "A": "strided"}[_layout(X)]


def writable_alias(array):
    """``array`` itself, or for a read-only one a writable view of the same memory (no copy;
    a copy up to ``_tuning.ALIAS_MIN_BYTES``, which is cheaper): the kernels never write X or
    y, and one compiled variant then serves both."""
    if array.flags.writeable or array.size == 0:
        return array
    if array.nbytes <= tune.ALIAS_MIN_BYTES:
        return array.copy(order="K")
    low = sum(s * (d - 1) for s, d in zip(array.strides, array.shape) if s < 0)
    high = sum(s * (d - 1) for s, d in zip(array.strides, array.shape) if s > 0) + array.itemsize
    buffer = (ctypes.c_char * (high - low)).from_address(array.ctypes.data + low)
    buffer.owner = array  # the memory lives as long as the alias does
    return np.ndarray(array.shape, array.dtype, buffer=buffer, offset=-low, strides=array.strides)


def choose(X, Y, loss, max_iter, in_place=False):
    """The first row of ``KERNELS`` that reads X and computes ``loss`` and, if per-width, is
    compiled already or worth compiling now. ``in_place=True`` passes over the ``fixed`` pass
    where it would read a copy of X (a chunk read once per call)."""
    return choice(X, Y, loss, max_iter, in_place)[0]


def choice(X, Y, loss, max_iter, in_place=False):
    """``(choose's kernel, whether its descent's variant alone is compiled)``."""
    if X.size * Y.shape[1] * max_iter < COMPILE_PAYS_ELEMENT_UPDATES:  # the usual case: memoised
        key = (X.shape[1], X.dtype, _flags(X), X.nbytes >= tune.COLUMN_COPY_MAX_BYTES,
               Y.dtype, _flags(Y), type(loss), in_place)
        if key not in _chosen:
            _chosen[key] = _choice(X, Y, loss, max_iter, in_place)
        return _chosen[key]
    return _choice(X, Y, loss, max_iter, in_place)


_chosen = {}


def _choice(X, Y, loss, max_iter, in_place):
    kernel = _choose(X, Y, loss, max_iter, in_place)
    return kernel, kernel == "fixed" and _available(kernel, X, Y, loss, alone=True)


def _choose(X, Y, loss, max_iter, in_place):
    for kernel in KERNELS:
        if not kernel.takes(X) or not kernel.computes(loss):
            continue
        if in_place and kernel.name == "fixed" and not X.flags.f_contiguous:
            continue
        if not kernel.per_width or _available(kernel.name, X, Y, loss):
            return kernel.name
        if X.size * Y.shape[1] * max_iter >= COMPILE_PAYS_ELEMENT_UPDATES:
            say(f"compiling the {kernel.name} kernel for {X.shape[1]} features, {X.dtype} "
                "(a few seconds, once: it is cached for later processes)")
            _available(kernel.name, X, Y, loss, compiling=True)
            return kernel.name
    raise AssertionError("the rows pass takes every X")  # unreachable: rows takes every X
