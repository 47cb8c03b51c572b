"""Timing helpers for the report and the CLI: best-of-N wall time of a callable."""
import time


def best_time(fn, *, repeat=5, min_seconds=0.02):
    """Seconds one call of ``fn`` takes: the best of ``repeat`` runs of enough calls to fill ``min_seconds``."""
    fn()  # warm: compile, caches, page faults
    number = 1
    while True:
        start = time.perf_counter()
        for _ in range(number):
            fn()
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds:
            break
        number *= 2 if elapsed == 0 else max(2, min(10, int(min_seconds / elapsed) + 1))
    best = elapsed
    for _ in range(repeat - 1):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, time.perf_counter() - start)
    return best / number
