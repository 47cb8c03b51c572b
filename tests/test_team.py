"""Fits on a team of threads: how many threads a fit gets, and a team that ends, stops and
records as one thread does, even when numba runs the team's loop on fewer threads."""
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import fastgd
from fastgd import linear
from fastgd._pool import numba_threads
from fastgd.linear import fit_by_kernel, thread_count
from conftest import random_problem


@pytest.mark.parametrize("n_threads, shape, expected", [
    (None, (100, 10), 1),        # small X: one thread
    (None, (10_000, 10), 2),     # 2^13 elements or more: the pool
    (2, (64, 10), 1),            # one block of rows: a second thread would only wait
    (2, (128, 10), 2),           # two blocks of 64 rows
    (10_000, (1_000_000, 20), 2),  # never more than the pool
])
def test_thread_count(n_threads, shape, expected, monkeypatch):
    monkeypatch.setattr(linear.numba.config, "NUMBA_NUM_THREADS", 2)
    assert thread_count(n_threads, shape) == expected


def test_blocks_are_cut_by_the_shape_alone():
    assert linear.block_rows(1_000, 10) == 512  # two blocks, whole groups of 16 rows
    assert linear.block_rows(100, 10) == 64
    assert linear.block_rows(1_000_000, 10) == 1632  # 2^14 elements
    assert linear.block_rows(1_000_000, 200) == 80  # 16384 // 200, down to 16 rows


@pytest.mark.parametrize("kernel", ["fixed", "vectors", "tile", "column", "rows"])
def test_a_team_run_on_one_thread_gives_the_bits_of_one_thread(kernel, monkeypatch):
    # numba may run a parallel loop's iterations one after another (a pool of one thread here):
    # the first thread to join must not wait for the second, which starts only when it ends.
    X, y = random_problem(3000, 9 if kernel == "vectors" else 5)  # a vector's worth, or not
    if kernel == "column":
        X = np.asfortranarray(X)
    alone = fit_by_kernel(X, y, kernel, threads=1, max_iter=20)
    one_thread_pool = numba_threads(1)
    monkeypatch.setattr(linear, "numba_threads", lambda count: one_thread_pool)
    team = fit_by_kernel(X, y, kernel, threads=2, max_iter=20)
    assert team.w.tobytes() == alone.w.tobytes() and team.b == alone.b
    assert team.loss == alone.loss


def test_a_team_stops_where_one_thread_does():
    X, y = random_problem(20_000, 12)
    for options in (dict(tol=1e-3, max_iter=10_000, lr=0.1), dict(max_iter=30, history=True)):
        one, two = (fastgd.fit_linear(X, y, n_threads=t, **options) for t in (1, 2))
        assert one.n_iter == two.n_iter and one.converged == two.converged
        assert two.w.tobytes() == one.w.tobytes()
        if options.get("history"):
            np.testing.assert_array_equal(two.history, one.history)
    assert one.n_iter == 30


def test_a_team_reports_divergence_with_the_last_good_state():
    X, y = random_problem(20_000, 12)
    errors = []
    for threads in (1, 2):
        with pytest.raises(fastgd.DivergenceError) as caught:
            fastgd.fit_linear(X, y, lr=5.0, max_iter=100, n_threads=threads)
        errors.append(caught.value)
    one, two = errors
    assert two.iteration == one.iteration > 0
    assert two.w.tobytes() == one.w.tobytes() and two.b == one.b


def test_more_features_than_numba_passes_into_a_parallel_region_by_default():
    # A threaded fit passes a tuple of n items into numba's parallel region, which took at
    # most 100 unless told otherwise: 120 features failed to compile on two threads.
    X, y = random_problem(1000, 120)
    one, two = (fastgd.fit_linear(X, y, max_iter=3, n_threads=t) for t in (1, 2))
    assert two.w.tobytes() == one.w.tobytes() and two.b == one.b


@pytest.mark.parametrize("threads", [1, 2])
def test_the_kernel_order_floor_reads_every_element_once_a_pass(threads):
    from fastgd._kernels.floor import column_read_passes_team

    X = np.asfortranarray(np.arange(1000.0).reshape(100, 10))  # sums exactly in any order
    with numba_threads(min(threads, linear.numba.config.NUMBA_NUM_THREADS)):
        total = column_read_passes_team(X, 16, 3, threads, (0,) * 10)
    assert total == 3 * X.sum()


ONE_THREAD_FITS = textwrap.dedent("""
    import numba, numpy as np, fastgd
    rng = np.random.default_rng(0)
    # Over 1 MiB in C order (copied to Fortran order, which a team shares), in the caches by
    # row vectors, and streamed from memory by row vectors.
    for shape in [(30_000, 10), (1_000, 60), (30_000, 80)]:
        X = rng.standard_normal(shape)
        fastgd.fit_linear(X, X.sum(axis=1), max_iter=3, n_threads=1)
    try:
        print(numba.threading_layer())
    except ValueError:  # "Threading layer is not initialized."
        print("no pool")
""")


def test_a_one_thread_fit_never_starts_numbas_pool():
    out = subprocess.run([sys.executable, "-c", ONE_THREAD_FITS], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "no pool"


CONCURRENT_FITS = textwrap.dedent("""
    import threading, numba, numpy as np, fastgd
    rng = np.random.default_rng(0)
    # Two blocks or more and over 1 MiB in C order: a team, and the team's copy to Fortran order.
    X = rng.standard_normal((20_000, 10))
    y = X.sum(axis=1)
    fits = []

    def fit():
        for _ in range(4):
            fits.append(fastgd.fit_linear(X, y, max_iter=20, n_threads=2).w.tobytes())

    threads = [threading.Thread(target=fit) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(numba.threading_layer(), len(fits), len(set(fits)))
""")


def test_fits_on_threads_from_several_python_threads_under_workqueue():
    # numba's workqueue layer ends the process when two Python threads start parallel loops at
    # once; fastgd then takes the pool one fit at a time.
    if linear.numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("numba's pool has one thread")
    env = dict(os.environ, NUMBA_THREADING_LAYER="workqueue")
    out = subprocess.run([sys.executable, "-c", CONCURRENT_FITS], env=env, capture_output=True,
                         text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["workqueue", "12", "1"]


FORKED_FIT = textwrap.dedent("""
    import multiprocessing, numpy as np, fastgd
    X = np.random.default_rng(0).standard_normal((20_000, 10))
    y = X.sum(axis=1)
    parent = fastgd.fit_linear(X, y, max_iter=20, n_threads=2).w.tobytes()

    def child(queue):
        queue.put(fastgd.fit_linear(X, y, max_iter=20, n_threads=2).w.tobytes())

    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    process = context.Process(target=child, args=(queue,))
    process.start()
    bits = queue.get(timeout=120)
    process.join(60)
    print(process.exitcode, bits == parent)
""")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fork is Linux's start method")
def test_a_process_forked_after_a_team_fit_still_fits():
    # With numba's OpenMP layer on Linux (GNU OpenMP), a child forked after the parent started
    # the pool is ended by numba if it starts the pool again: fastgd fits it on one thread.
    out = subprocess.run([sys.executable, "-c", FORKED_FIT], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["0", "True"], out.stderr
