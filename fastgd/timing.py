"""Timing helpers for the report and the CLI: best-of-N wall time of callables."""
import time


def _calls_filling(fn, min_seconds):
    """How many back-to-back calls of ``fn`` take at least ``min_seconds``."""
    number = 1
    while True:
        start = time.perf_counter()
        for _ in range(number):
            fn()
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds:
            return number
        number *= 2 if elapsed == 0 else max(2, min(10, int(min_seconds / elapsed) + 1))


def best_times(*fns, repeat=5, min_seconds=0.02):
    """Seconds one call of each of ``fns`` takes: the best of ``repeat`` rounds.

    Each round times every function in turn (enough calls to fill ``min_seconds``), so a burst
    of load on a shared machine slows all of them alike and their ratios hold.
    """
    for fn in fns:
        fn()  # warm: compile, caches, page faults
    numbers = [_calls_filling(fn, min_seconds) for fn in fns]
    best = [float("inf")] * len(fns)
    for _ in range(repeat):
        for index, (fn, number) in enumerate(zip(fns, numbers)):
            start = time.perf_counter()
            for _ in range(number):
                fn()
            best[index] = min(best[index], (time.perf_counter() - start) / number)
    return best


def best_time(fn, *, repeat=5, min_seconds=0.02):
    """Seconds one call of ``fn`` takes: the best of ``repeat`` runs of enough calls to fill
    ``min_seconds``."""
    return best_times(fn, repeat=repeat, min_seconds=min_seconds)[0]
