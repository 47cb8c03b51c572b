"""Runs a compiled descent (``_kernels.drivers.descend``) in chunks, on one thread or a team.

A chunk aims at ``CHUNK_SECONDS``: between chunks Python runs, so Ctrl-C raises
``KeyboardInterrupt`` within a chunk's time, a callback sees the iterate, and a progress bar
moves. A team is made of Python threads, each running one member of the same compiled,
GIL-free function; the calling thread is member 0. Nothing here reads X.
"""
import math
import os
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import NamedTuple

import numba
import numpy as np

from . import _tuning as tune
from ._config import interruptible, raise_interrupt
from ._kernels import drivers, sync
from ._kernels.drivers import CONTINUE, GAP, PADDING
from ._plan import new_tuple

_executor = None
_executor_lock = threading.Lock()


#: Most helper threads at once, over all fits: far more than any fit takes (its threads are
#: capped at the cores), so fits on several Python threads at once never queue a member behind
#: another fit's (whose members would then wait for it). Threads start as needed and are reused.
MAX_HELPERS = 8 * (os.cpu_count() or 2) + 8


def _team_executor():
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=MAX_HELPERS, thread_name_prefix="fastgd")
        return _executor


def _forget_executor_in_child():
    # A forked child has only the thread that forked: the parent's workers are not there.
    global _executor, _executor_lock
    _executor, _executor_lock = None, threading.Lock()


os.register_at_fork(after_in_child=_forget_executor_in_child)


def _apart(shape, dtype, threads):
    """A zeroed array, with ``PADDING`` bytes clear on either side when other threads write
    beside it: one thread's own."""
    if threads == 1:
        return np.zeros(shape, dtype)
    size = math.prod(shape)
    room = PADDING // np.dtype(dtype).itemsize
    return np.zeros(size + 2 * room, dtype)[room:room + size].reshape(shape)


@contextmanager
def interrupts_after():
    """Hold a Ctrl-C that arrives inside the block until it ends, then raise it: a team whose
    member 0 stopped between launching its helpers and running its own share would leave them
    waiting at the meeting for ever (and the interpreter waiting for them at exit). Only the
    main thread receives Ctrl-C, and only Python's own handler is replaced."""
    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGINT) is not signal.default_int_handler):
        yield
        return
    held = []
    previous = signal.signal(signal.SIGINT, lambda number, frame: held.append(number))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if held:
        raise KeyboardInterrupt


def on_team(threads, member):
    """``member(0)`` on this thread and ``member(1 .. threads-1)`` on helper threads, all to
    their end; returns ``member(0)``'s result. A Ctrl-C waits for the whole team
    (``interrupts_after``)."""
    if threads == 1:
        return interruptible(member, 0)
    with interrupts_after():
        helpers = [_team_executor().submit(member, index) for index in range(1, threads)]
        result = interruptible(member, 0)
        for helper in helpers:
            helper.result()
    return result


#: What a one-thread descent gets for the team's flags (it never meets anyone, so never
#: reads or writes them) and for a history it does not keep (empty): shared, never written.
_NO_TEAM = np.zeros(sync.DONE + sync.LINE * 2, np.int64)
_NO_HISTORY = np.empty((0, 2))
#: A descent's ``state`` before its first iterate: no blow-up ceiling yet, J and norm unknown.
_START = np.array([np.inf, np.nan, np.nan])


class Outcome(NamedTuple):
    """How a descent ended: ``status`` (a ``drivers`` code, ``OK`` when a callback stopped it),
    updates made, J and gradient norm at the last iterate tested, J and the gradient norm
    before each update (or None)."""

    status: int
    n_iter: int
    loss: float
    grad_norm: float
    history: object
    grad_history: object

    @classmethod
    def recorded(cls, status, n_iter, loss, grad_norm, rows):
        """The outcome with ``rows`` (one an update: J, gradient norm; or None) as its
        histories."""
        if rows is None:
            return cls(status, n_iter, loss, grad_norm, None, None)
        return cls(status, n_iter, loss, grad_norm, rows[:, 0].copy(), rows[:, 1].copy())


@dataclass(frozen=True)
class Info:
    """What a callback receives: the iterate's number (updates made), J and gradient norm."""

    iteration: int
    loss: float
    grad_norm: float


class _Progress:
    """A progress bar over updates (tqdm when installed), shown once the fit is expected to
    take more than ``PROGRESS_SECONDS``."""

    def __init__(self, total):
        self.total, self.bar, self.done = total, None, 0

    def advance(self, done, seconds_per_update):
        if self.bar is None and self.total * seconds_per_update > tune.PROGRESS_SECONDS:
            try:
                from tqdm.auto import tqdm
            except ImportError:
                tqdm = None
            self.bar = tqdm(total=self.total, unit="it", desc="fastgd") if tqdm else _TextBar(
                self.total)
            self.bar.update(self.done)
        if self.bar is not None:
            self.bar.update(done - self.done)
        self.done = done

    def close(self):
        if self.bar is not None:
            self.bar.close()


class _TextBar:
    """tqdm's ``update``/``close`` on stderr, for where tqdm is not installed."""

    def __init__(self, total):
        self.total, self.n = total, 0

    def update(self, count):
        import sys
        self.n += count
        print(f"\rfastgd: {self.n}/{self.total} updates", end="", file=sys.stderr, flush=True)

    def close(self):
        import sys
        print(file=sys.stderr, flush=True)


#: Where ``drivers.descend`` takes the history's rows.
HISTORY = 17


def run(plan, Wt, b, loss, settings, *, history=False, callback=None, progress=False):
    """Descend from ``Wt``, ``b`` by ``plan``; returns the ``Outcome``. ``Wt``, ``b`` end at
    the last iterate, or for a failed descent at the state before its last update."""
    X, Y, threads = plan.X, plan.Y, plan.threads
    m, n = X.shape
    k = Y.shape[1]
    if plan.alone:  # its block's slots are on the stack
        G = gb = values = None
    else:
        halves = 1 if threads == 1 else 2
        slots = -(-m // plan.block_rows) + GAP * (threads - 1)
        G = np.empty((halves, slots, k, n), X.dtype)
        gb = np.empty((halves, slots, k))
        values = np.empty((halves, slots))
    counters = np.zeros(3, np.int64)
    state = _START.copy()
    max_iter, elements = settings.max_iter, m * n * k
    if threads == 1:
        # ``flags`` None: the descent's variant that holds its state in registers
        arguments = [0, 1, X, Y, Wt, b, plan.spec, loss, settings, G, gb, values,
                     None if plan.alone else _NO_TEAM, counters, state, np.zeros((k, n)),
                     np.zeros(k), _NO_HISTORY]
        if (max_iter * elements <= tune.FIRST_CHUNK_ELEMENT_UPDATES
                and not (history or progress) and callback is None):
            # one call runs it all, with nothing to show between calls (most small fits)
            counters[drivers.STOP] = max_iter
            status = _descent(plan.types, arguments)
            return new_tuple(Outcome, (status, counters.item(drivers.UPDATES),
                                       state.item(drivers.LOSS), state.item(drivers.GRAD_NORM),
                                       None, None))

        def chunk(part):
            arguments[HISTORY] = part
            return _descent(plan.types, arguments)
    else:
        chunk = _team(plan, Wt, b, loss, settings, G, gb, values, counters, state)
    return _chunks(chunk, counters, state, max_iter, elements, history, callback, progress)


def _team(plan, Wt, b, loss, settings, G, gb, values, counters, state):
    """``run``'s chunk of a team: each member its own state and gradient, which all end every
    iteration with the same bits."""
    threads, (k, n) = plan.threads, Wt.shape
    flags = np.zeros(sync.DONE + sync.LINE * (threads + 1), np.int64)
    own = [(Wt, b)] + [(_apart(Wt.shape, Wt.dtype, threads), _apart(b.shape, b.dtype, threads))
                       for _ in range(1, threads)]
    for member_Wt, member_b in own[1:]:
        member_Wt[...], member_b[...] = Wt, b
    gradients = [(_apart((k, n), np.float64, threads), _apart((k,), np.float64, threads))
                 for _ in range(threads)]

    def member_call(member, part):
        member_Wt, member_b = own[member]
        dW, db = gradients[member]
        return _descent(plan.types, (member, threads, plan.X, plan.Y, member_Wt, member_b,
                                     plan.spec, loss, settings, G, gb, values, flags, counters,
                                     state, dW, db, part))

    return lambda part: on_team(threads, lambda member: member_call(member, part))


def _chunks(chunk, counters, state, max_iter, elements, history, callback, progress):
    """Run ``chunk(history_part)`` until the descent ends, each call aiming at
    ``CHUNK_SECONDS`` (the first at ``FIRST_CHUNK_ELEMENT_UPDATES``, of ``elements`` each);
    between calls a callback or progress bar acts. Returns the ``Outcome``."""
    size, parts, stopped = max(1, tune.FIRST_CHUNK_ELEMENT_UPDATES // elements), [], False
    bar = _Progress(max_iter) if progress else None
    while True:
        if callback is not None:
            size = min(size, tune.CALLBACK_UPDATES)
        done = counters.item(drivers.UPDATES)
        stop = counters[drivers.STOP] = min(done + size, max_iter)
        part = np.empty((stop - done, 2)) if history else _NO_HISTORY
        start = time.perf_counter()
        status = chunk(part)
        seconds = time.perf_counter() - start
        now = counters.item(drivers.UPDATES)
        if history:
            parts.append(part[:now - done])
        if seconds > 0 and now > done:
            size = max(1, int(tune.CHUNK_SECONDS * (now - done) / seconds))
        if bar is not None:
            bar.advance(now, seconds / max(1, now - done))
        if callback is not None:
            stopped = callback(Info(now, state.item(drivers.LOSS),
                                    state.item(drivers.GRAD_NORM))) is True
        if status != CONTINUE or stopped:
            break
    if bar is not None:
        bar.close()
    return Outcome.recorded(drivers.OK if stopped else status, now, state.item(drivers.LOSS),
                            state.item(drivers.GRAD_NORM),
                            np.concatenate(parts) if history else None)


#: The machine code of ``drivers.descend`` by ``Plan.types``, with its argument types, and
#: called past numba's dispatcher, which types every call's arguments afresh (the three
#: namedtuples among them most of its cost: docs/performance.md, "A small fit's call").
_descents = {}
#: Tests set this to check every call's arguments against the types the machine code takes.
CHECK_TYPES = False


def _descent(types, arguments):
    """``drivers.descend(*arguments)``, whose types ``types`` (``Plan.types``) sets: through
    the dispatcher (which compiles or loads what it lacks) the first time, then straight to
    the machine code it found. Interruptible, as ``_config.interruptible`` makes a call."""
    known = _descents.get(types)
    if known is None:
        status = interruptible(drivers.descend, *arguments)
        signature = tuple(numba.typeof(argument) for argument in arguments)
        compiled = drivers.descend.overloads.get(signature)
        if compiled is not None:
            _descents[types] = signature, compiled.entry_point
        return status
    if CHECK_TYPES:
        assert tuple(numba.typeof(argument) for argument in arguments) == known[0], types
    try:
        return known[1](*arguments)
    except SystemError as err:
        raise_interrupt(err)
        raise
