"""The descent's drivers: a team of threads gives one thread's bits; a fit runs in chunks that
Ctrl-C, a callback and a progress bar act between; threads, forks and concurrent fits."""
import itertools
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import fastgd
from fastgd import _drive, _plan, _tuning
from fastgd._kernels.losses import make
from conftest import fit_by_kernel, labels_for, random_problem


@pytest.mark.parametrize("n_threads, shape, idle, expected", [
    (None, (100, 10), 2, 1),          # small X: one thread
    (None, (100_000, 10), 2, 2),      # large X on an idle machine: both cores
    (None, (100_000, 10), 1, 1),      # another process keeps a core busy: one thread
    (2, (64, 10), 2, 1),              # one block of rows: a second thread would only wait
    (2, (128, 10), 1, 1),             # one block: two would hold under 64 rows each
    (2, (160, 10), 1, 2),             # asked for: two blocks of 80 rows
    (8, (100_000, 10), 2, 2),         # never more than the cores
])
def test_thread_count(n_threads, shape, idle, expected, monkeypatch):
    monkeypatch.setattr(_plan, "idle_cores", lambda: idle)
    assert _plan.thread_count(n_threads, *shape, 1) == expected


def test_idle_cores_sees_a_busy_process():
    if not os.path.exists("/proc/loadavg") or len(os.sched_getaffinity(0)) < 2:
        pytest.skip("needs Linux and two cores")
    before = _plan.idle_cores()
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.5)
        during = min(_plan.idle_cores() for _ in range(20))
    finally:
        busy.kill()
        busy.wait()
    assert during <= before - 1 or during == 1


TEAM_CASES = [(kernel.name, loss) for kernel in _plan.KERNELS
              for loss in ("squared", "huber", "logistic") if kernel.computes(make(loss, 1.0))]


@pytest.mark.parametrize("kernel, loss", TEAM_CASES)
def test_a_team_gives_the_bits_of_one_thread(kernel, loss):
    X, y = random_problem(3000, 9 if kernel == "vectors" else 5)
    if loss == "logistic":
        y = labels_for(y)
    if kernel == "columns":
        X = np.asfortranarray(X)
    alone = fit_by_kernel(X, y, kernel, threads=1, max_iter=20, loss=loss, history=True)
    for threads in (2, 3, 5):
        team = fit_by_kernel(X, y, kernel, threads=threads, max_iter=20, loss=loss, history=True)
        assert team.w.tobytes() == alone.w.tobytes() and team.b == alone.b
        assert team.loss == alone.loss and team.history.tobytes() == alone.history.tobytes()


def test_a_team_stops_and_diverges_where_one_thread_does():
    X, y = random_problem(20_000, 12)
    for options in (dict(tol=1e-3, max_iter=10_000, lr=0.1), dict(max_iter=30, history=True)):
        one, two = (fastgd.fit_linear(X, y, n_threads=t, **options) for t in (1, 2))
        assert one.n_iter == two.n_iter and one.converged == two.converged
        assert two.w.tobytes() == one.w.tobytes()
    errors = []
    for threads in (1, 2):
        with pytest.raises(fastgd.DivergenceError) as caught:
            fastgd.fit_linear(X, y, lr=3.0, n_threads=threads)
        errors.append(caught.value)
    assert errors[0].iteration == errors[1].iteration
    assert errors[0].w.tobytes() == errors[1].w.tobytes()


def test_a_descent_called_past_the_dispatcher_gets_the_types_it_was_compiled_for(monkeypatch):
    # A plan's ``types`` keys the machine code a descent calls straight (``_drive._descent``):
    # two fits of one key with arguments of other numba types would read them wrongly. Every
    # call below is checked against the types its key was first compiled for.
    monkeypatch.setattr(_drive, "CHECK_TYPES", True)
    X, y = random_problem(160, 3)  # two blocks: a team can form
    frozen = X.copy()
    frozen.flags.writeable = False
    Y = np.stack([y, -y], axis=1)
    cases = [dict(), dict(X=np.asfortranarray(X)), dict(X=X[::2], y=y[::2]), dict(X=frozen),
             dict(X=X.astype(np.float32)), dict(y=Y), dict(loss="huber", delta=0.5),
             dict(loss="logistic", y=labels_for(y)), dict(sample_weight=np.arange(160.0)),
             dict(sample_weight=np.ones(160), loss="huber"), dict(standardize=True),
             dict(history=True, l1=0.01, l2=0.1), dict(callback=lambda info: False),
             dict(n_threads=2), dict(X=X[:50], y=y[:50]), dict(fit_intercept=False)]
    for _ in range(2):
        for case in cases:
            options = dict(dict(X=X, y=y, max_iter=5), **case)
            fastgd.fit_linear(options.pop("X"), options.pop("y"), **options)
    for kernel in ("rows", "columns", "fixed"):
        for dtype, rows in itertools.product((np.float64, np.float32), (160, 50)):  # 50: alone
            fit_by_kernel(np.asfortranarray(X[:rows], dtype), y[:rows].astype(dtype), kernel,
                          max_iter=5)
    assert _drive._descents  # the checks ran


def test_chunks_give_the_bits_of_one_run(monkeypatch):
    # A chunk ends after the stop test of an iterate, its update pending for the next: the
    # result and history are those of one uninterrupted run, on one thread or two.
    X, y = random_problem(2000, 6)
    whole = [fastgd.fit_linear(X, y, max_iter=97, history=True, n_threads=t) for t in (1, 2)]
    monkeypatch.setattr(_tuning, "FIRST_CHUNK_ELEMENT_UPDATES", 1)
    monkeypatch.setattr(_tuning, "CHUNK_SECONDS", 1e-9)  # every chunk one update long
    for threads, reference in zip((1, 2), whole):
        chunked = fastgd.fit_linear(X, y, max_iter=97, history=True, n_threads=threads)
        assert chunked.w.tobytes() == reference.w.tobytes() and chunked.n_iter == 97
        assert chunked.history.tobytes() == reference.history.tobytes()
        assert chunked.loss == reference.loss and chunked.grad_norm == reference.grad_norm


def test_history_grows_as_the_fit_goes():
    X, y = random_problem(200, 3)
    fit = fastgd.fit_linear(X, y, history=True, max_iter=10**12, tol=1e-3, lr=0.1)
    assert fit.converged and len(fit.history) == fit.n_iter < 10_000


def test_callback_sees_every_chunk_and_can_stop_the_fit():
    X, y = random_problem(500, 4)
    seen = []
    fastgd.fit_linear(X, y, max_iter=3500, callback=seen.append)
    iterations = [info.iteration for info in seen]
    assert iterations[-1] == 3500 and all(b - a <= 1000 for a, b in zip([0] + iterations, iterations))
    reference = fastgd.fit_linear(X, y, max_iter=3500, history=True)
    for info in seen[:-1]:
        assert info.loss == reference.history[info.iteration]

    stop_at = []

    def stop(info):
        stop_at.append(info.iteration)
        return info.iteration >= 2000

    fit = fastgd.fit_linear(X, y, max_iter=10_000, callback=stop)
    assert fit.n_iter == stop_at[-1] == 2000  # a normal result, as many updates as done
    same = fastgd.fit_linear(X, y, max_iter=2000)
    assert fit.w.tobytes() == same.w.tobytes() and fit.loss == same.loss


def test_progress_bar_shows_on_a_long_fit(capsys, monkeypatch):
    monkeypatch.setattr(_tuning, "FIRST_CHUNK_ELEMENT_UPDATES", 900)  # chunks of 1 update on
    monkeypatch.setattr(_tuning, "CHUNK_SECONDS", 1e-9)
    monkeypatch.setattr(_tuning, "PROGRESS_SECONDS", 0.0)
    X, y = random_problem(300, 3)
    fastgd.fit_linear(X, y, max_iter=500, progress=True)
    assert "500" in capsys.readouterr().err
    monkeypatch.setattr(_tuning, "PROGRESS_SECONDS", 1e9)
    fastgd.fit_linear(X, y, max_iter=500, progress=True)
    assert capsys.readouterr().err == ""


#: What a terminal's program starts with, whatever the test runner's process holds (an ignored
#: or blocked SIGINT is inherited by a child, and would leave it running).
SIGINT_AS_IN_A_TERMINAL = textwrap.dedent("""
    import signal
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
""")

INTERRUPTED = SIGINT_AS_IN_A_TERMINAL + textwrap.dedent("""
    import sys, time, numpy as np, fastgd
    X = np.random.default_rng(0).standard_normal((200_000, 20)); y = X.sum(axis=1)
    Xc, yc = X.copy(), y.copy()
    threads = None if sys.argv[1] == "default" else int(sys.argv[1])
    fastgd.fit_linear(X, y, max_iter=1, n_threads=threads)
    # The long fit below would compile the per-width passes first (its work pays for them):
    # ready them now, so that the interrupt lands in a running fit, not in LLVM.
    fastgd.precompile(dtypes=["float64"], layouts=["C"], read_only=[False], widths=[20])
    print("ready", flush=True)
    try:
        fastgd.fit_linear(X, y, max_iter=10**9, lr=1e-6, n_threads=threads)
    except KeyboardInterrupt:
        print("interrupted", np.array_equal(X, Xc) and np.array_equal(y, yc), time.time(),
              flush=True)
""")


def interrupted(code, *args):
    """Run ``code`` until it prints "ready", send it SIGINT a second later; return what it
    printed after, and when the signal was sent (the child is killed if it runs on)."""
    process = subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE,
                               text=True)
    try:
        assert process.stdout.readline().strip() == "ready"
        time.sleep(1.0)
        sent = time.time()
        process.send_signal(signal.SIGINT)
        return process.communicate(timeout=30)[0], sent
    finally:
        process.kill()
        process.wait()


@pytest.mark.parametrize("threads", ["1", "default"])  # default: the idle cores, 2 when idle
def test_ctrl_c_stops_a_fit_within_a_second(threads):
    out, sent = interrupted(INTERRUPTED, threads)
    word, untouched, caught = out.split()
    assert (word, untouched) == ("interrupted", "True")
    assert float(caught) - sent < 1.0  # the interrupt raised, not the process's exit


def test_ctrl_c_stops_a_compiled_minimize_within_a_second():
    code = SIGINT_AS_IN_A_TERMINAL + textwrap.dedent("""
        import numba, fastgd
        grad = numba.njit(lambda x: 1e-9 * x)
        fastgd.minimize(grad, 1.0, max_iter=1)
        print("ready", flush=True)
        try:
            fastgd.minimize(grad, 1.0, tol=0.0, max_iter=10**12, lr=1e-3)
        except KeyboardInterrupt:
            import time
            print("interrupted", time.time(), flush=True)
    """)
    out, sent = interrupted(code)
    word, caught = out.split()
    assert word == "interrupted" and float(caught) - sent < 1.0


CONCURRENT_FITS = textwrap.dedent("""
    import threading, numpy as np, fastgd
    X = np.random.default_rng(0).standard_normal((20_000, 10)); y = X.sum(axis=1)
    fits = []

    def fit():
        for _ in range(4):
            fits.append(fastgd.fit_linear(X, y, max_iter=20, n_threads=2).w.tobytes())

    threads = [threading.Thread(target=fit) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(len(fits), len(set(fits)))
""")


def test_team_fits_from_several_python_threads_at_once():
    out = subprocess.run([sys.executable, "-c", CONCURRENT_FITS], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["12", "1"]


FORKED_FIT = textwrap.dedent("""
    import multiprocessing, threading, numpy as np, fastgd
    X = np.random.default_rng(0).standard_normal((20_000, 10)); y = X.sum(axis=1)
    parent = fastgd.fit_linear(X, y, max_iter=20, n_threads=2).w.tobytes()
    # A fork taken while another thread is in a team fit.
    busy = threading.Thread(target=lambda: fastgd.fit_linear(X, y, max_iter=3000, n_threads=2))
    busy.start()

    def child(queue):
        queue.put(fastgd.fit_linear(X, y, max_iter=20, n_threads=2).w.tobytes())

    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    process = context.Process(target=child, args=(queue,))
    process.start()
    bits = queue.get(timeout=120)
    process.join(60)
    busy.join()
    print(process.exitcode, bits == parent)
""")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fork is Linux's start method")
@pytest.mark.parametrize("layer", ["workqueue", "default"])
def test_a_process_forked_during_a_team_fit_still_fits(layer):
    # Under numba's workqueue layer a child forked while another thread ran a threaded fit on
    # numba's pool hung forever on the lock it inherited held; fastgd's teams are Python
    # threads, and the child drops the parent's executor.
    env = dict(os.environ, NUMBA_THREADING_LAYER=layer)
    out = subprocess.run([sys.executable, "-c", FORKED_FIT], capture_output=True, text=True,
                         timeout=300, env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["0", "True"], out.stderr
