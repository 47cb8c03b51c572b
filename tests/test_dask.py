"""``fastgd.dask.fit_linear``: the one-machine fit, on dask's threaded scheduler and on a real
``distributed.LocalCluster`` of two worker processes that the tests start and stop."""
import warnings

import numpy as np
import pytest

import fastgd

dask = pytest.importorskip("dask")
da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")
import fastgd.dask as fd  # noqa: E402  (after the skip: it needs dask)

REL = 1e-10


def problem(m=997, n=6, k=None, seed=0, labels=False):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((m, n)) * np.linspace(0.5, 2.0, n) + 0.3
    w = rng.standard_normal((n,) if k is None else (n, k))
    y = X @ w + 0.5 + 0.1 * rng.standard_normal((m,) if k is None else (m, k))
    return X, (y > 0.5).astype(float) if labels else y


def chunked(X, y, rows=150):
    """X and y as dask arrays of ``rows``-row chunks (the last one shorter)."""
    return da.from_array(X, chunks=(rows, -1)), da.from_array(y, chunks=(rows,) + (-1,) * (y.ndim - 1))


def close(a, b, rel=REL):
    scale = max(np.max(np.abs(a.w)), np.max(np.abs(a.b)))
    assert np.max(np.abs(np.asarray(a.w) - b.w)) <= rel * scale
    assert np.max(np.abs(np.asarray(a.b) - b.b)) <= rel * scale
    assert a.n_iter == b.n_iter
    assert a.loss == pytest.approx(b.loss, rel=rel)
    assert a.grad_norm == pytest.approx(b.grad_norm, rel=1e-8, abs=1e-12)


CASES = [
    dict(),
    dict(loss="huber", delta=0.5, max_iter=300),
    dict(l2=0.05, l1=0.02, max_iter=300),
    dict(lr="auto", tol=1e-9, max_iter=10_000),
    dict(standardize=True, lr="auto", tol=1e-9, max_iter=10_000),
    dict(w0=np.full(6, 0.1), b0=0.2, max_iter=50, history=True),
]


@pytest.mark.parametrize("options", CASES, ids=lambda o: ",".join(o) or "default")
def test_equals_one_machine_on_threads(options):
    X, y = problem()
    Xd, yd = chunked(X, y)
    expected = fastgd.fit_linear(X, y, **options)
    got = fd.fit_linear(Xd, yd, **options)
    close(got, expected)
    assert got.lr == pytest.approx(expected.lr, rel=1e-12)
    if options.get("history"):
        np.testing.assert_allclose(got.history, expected.history, rtol=REL)
        np.testing.assert_allclose(got.grad_history, expected.grad_history, rtol=1e-8)


def test_logistic_and_outputs():
    X, y = problem(labels=True)
    options = dict(loss="logistic", lr="auto", max_iter=400, l2=0.01)
    close(fd.fit_linear(*chunked(X, y), **options), fastgd.fit_linear(X, y, **options))
    X, Y = problem(k=3)
    res = fd.fit_linear(*chunked(X, Y), max_iter=200)
    assert res.w.shape == (6, 3) and res.b.shape == (3,)
    close(res, fastgd.fit_linear(X, Y, max_iter=200))


def test_bits_repeat_for_a_chunking_and_one_chunk_is_fit_linear():
    X, y = problem()
    first = fd.fit_linear(*chunked(X, y), max_iter=200, loss="huber")
    again = fd.fit_linear(*chunked(X, y), max_iter=200, loss="huber")
    assert np.array_equal(first.w, again.w) and first.b == again.b
    # One chunk: the same blocks added in the same order as fit_linear's own.
    whole = fd.fit_linear(*chunked(X, y, rows=len(X)), max_iter=200, loss="huber")
    alone = fastgd.fit_linear(X, y, max_iter=200, loss="huber")
    assert np.array_equal(whole.w, alone.w) and whole.b == alone.b


def test_fortran_order_chunks_of_many_features():
    # Such chunks go to the columns pass, whose scratch must hold a block of the whole X's
    # rows (the blocks are X's), not of the chunk's: a chunk's own are fewer.
    X, y = problem(m=6000, n=20)
    Xd = da.from_array(X, chunks=(1000, -1)).map_blocks(np.asfortranarray)
    assert Xd.to_delayed()[0, 0].compute().flags.f_contiguous
    expected = fastgd.fit_linear(X, y, max_iter=100)
    close(fd.fit_linear(Xd, da.from_array(y, chunks=1000), max_iter=100), expected)


def test_numpy_input_and_gram_solver():
    X, y = problem(m=3000)
    close(fd.fit_linear(X, y, max_iter=100), fastgd.fit_linear(X, y, max_iter=100))
    options = dict(solver="gram", lr="auto", tol=1e-10, max_iter=100_000)
    got = fd.fit_linear(*chunked(X, y), **options)
    expected = fastgd.fit_linear(X, y, **options)
    close(got, expected, rel=1e-9)
    assert got.converged


WEIGHTED = [
    dict(),
    dict(loss="huber", delta=0.5, l1=0.02, max_iter=300),
    dict(lr="auto", tol=1e-9, max_iter=10_000),
    dict(standardize=True, lr="auto", tol=1e-9, max_iter=10_000),
]


def weights_for(m, seed=1):
    weights = np.random.default_rng(seed).uniform(0.0, 3.0, m)
    weights[::7] = 0.0  # rows left out, and a chunk's first row among them
    return weights


@pytest.mark.parametrize("options", WEIGHTED, ids=lambda o: ",".join(o) or "default")
def test_sample_weight_equals_one_machine(options):
    X, y = problem()
    weights = weights_for(len(X))
    expected = fastgd.fit_linear(X, y, sample_weight=weights, **options)
    Xd, yd = chunked(X, y)
    got = fd.fit_linear(Xd, yd, sample_weight=da.from_array(weights, chunks=150), **options)
    close(got, expected)
    assert got.lr == pytest.approx(expected.lr, rel=1e-12)
    # numpy weights are cut as X's rows are: the same tasks, the same bits
    again = fd.fit_linear(Xd, yd, sample_weight=weights, **options)
    assert np.array_equal(got.w, again.w) and got.b == again.b


def test_sample_weight_logistic_and_wide_x():
    X, y = problem(labels=True)
    weights = weights_for(len(X))
    options = dict(loss="logistic", lr="auto", max_iter=300, sample_weight=weights)
    close(fd.fit_linear(*chunked(X, y), **options), fastgd.fit_linear(X, y, **options))
    # X wider than its Gram matrix is formed for: lr="auto" by weighted power iteration
    X, y = problem(m=200, n=2100)
    weights = weights_for(len(X))
    got = fd.fit_linear(*chunked(X, y, rows=64), sample_weight=weights, lr="auto", max_iter=5)
    expected = fastgd.fit_linear(X, y, sample_weight=weights, lr="auto", max_iter=5)
    assert got.lr == pytest.approx(expected.lr, rel=1e-5)


def test_sample_weight_errors_before_the_fit():
    X, y = problem()
    Xd, yd = chunked(X, y)
    weights = weights_for(len(X))
    bad = weights.copy()
    bad[400] = -1.0
    with pytest.raises(ValueError, match=r"sample_weight must be >= 0, got -1.0 at index 400"):
        fd.fit_linear(Xd, yd, sample_weight=da.from_array(bad, chunks=150))
    bad[400] = np.nan
    with pytest.raises(ValueError, match=r"sample_weight must be finite, got NaN at index \(400,\)"):
        fd.fit_linear(Xd, yd, sample_weight=bad)
    with pytest.raises(ValueError, match="sample_weight is zero for every row"):
        fd.fit_linear(Xd, yd, sample_weight=np.zeros(len(X)))
    with pytest.raises(ValueError, match=r"sample_weight must have shape \(997,\)"):
        fd.fit_linear(Xd, yd, sample_weight=weights[:-1])
    with pytest.raises(ValueError, match=r"sample_weight's chunks .*sample_weight.rechunk"):
        fd.fit_linear(Xd, yd, sample_weight=da.from_array(weights, chunks=100))
    with pytest.raises(ValueError, match="solver='gram' fits unweighted rows"):
        fd.fit_linear(Xd, yd, sample_weight=weights, solver="gram")


def test_callback_stops_and_warning():
    X, y = problem()
    seen = []
    res = fd.fit_linear(*chunked(X, y), callback=lambda info: seen.append(info) or info.iteration == 5)
    assert res.n_iter == 5 and [info.iteration for info in seen] == list(range(6))
    with pytest.warns(fastgd.ConvergenceWarning, match="max_iter=3"):
        fd.fit_linear(*chunked(X, y), tol=1e-12, max_iter=3)


def test_errors_before_any_work():
    X, y = problem()
    Xd, yd = chunked(X, y)
    with pytest.raises(ValueError, match=r"chunked along its columns .*X.rechunk\(\{1: -1\}\)"):
        fd.fit_linear(Xd.rechunk((150, 3)), yd)
    with pytest.raises(ValueError, match=r"y's row chunks .* differ from X's .*y.rechunk"):
        fd.fit_linear(Xd, yd.rechunk(100))
    masked = Xd[Xd[:, 0] > 0]
    with pytest.raises(ValueError, match=r"unknown chunk sizes.*compute_chunk_sizes"):
        fd.fit_linear(masked, masked[:, 1])
    with pytest.raises(ValueError, match="one row per row of X"):
        fd.fit_linear(Xd, yd[:-1])
    with pytest.raises(ValueError, match="solver='gram' fits squared loss"):
        fd.fit_linear(Xd, yd, solver="gram", loss="huber")
    with pytest.raises(ValueError, match="lr must be"):
        fd.fit_linear(Xd, yd, lr=-1)
    with pytest.raises(TypeError, match="persist must be True or False"):
        fd.fit_linear(Xd, yd, persist="yes")


def test_advice_that_follows_the_data():
    X, y = problem()
    labels = (y > 0.5).astype(float)
    labels[700] = 2.0
    with pytest.raises(ValueError, match=r"labels 0 and 1 .* got 2.0 at index 700"):
        fd.fit_linear(*chunked(X, labels), loss="logistic")
    bad = X.copy()
    bad[612, 2] = np.nan
    for options in (dict(), dict(lr="auto"), dict(lr="auto", solver="gram")):
        with pytest.raises(ValueError, match=r"X must be finite, got NaN at index \(612, 2\)"):
            fd.fit_linear(*chunked(bad, y), **options)
    with pytest.raises(fastgd.DivergenceError) as caught:
        fd.fit_linear(*chunked(X, y), lr=5.0)
    one_machine = pytest.raises(fastgd.DivergenceError)
    with one_machine as expected:
        fastgd.fit_linear(X, y, lr=5.0)
    assert caught.value.stable_lr == pytest.approx(expected.value.stable_lr, rel=1e-12)
    assert caught.value.iteration == expected.value.iteration
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = fd.fit_linear(*chunked(X, y), lr=caught.value.stable_lr, tol=1e-8, max_iter=10**5)
    assert res.converged


@pytest.fixture(scope="module")
def client():
    """Two worker processes of one thread each, started and stopped here."""
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0") as cluster:
        with distributed.Client(cluster) as client:
            yield client


def test_equals_one_machine_on_a_cluster(client):
    X, y = problem(m=4000)
    Xd, yd = client.persist(list(chunked(X, y, rows=500)))
    weights = weights_for(len(X))
    for options in (dict(max_iter=40), dict(loss="huber", l1=0.01, lr="auto", max_iter=60),
                    dict(standardize=True, lr="auto", tol=1e-9, max_iter=10_000),
                    dict(sample_weight=weights, lr="auto", max_iter=60)):
        first = fd.fit_linear(Xd, yd, **options)
        close(first, fastgd.fit_linear(X, y, **options))
        again = fd.fit_linear(Xd, yd, **options)
        assert np.array_equal(first.w, again.w) and first.b == again.b


def test_gram_solver_reads_once_on_a_cluster(client):
    X, y = problem(m=4000)
    options = dict(solver="gram", lr="auto", tol=1e-10, max_iter=100_000)
    close(fd.fit_linear(*chunked(X, y, rows=500), **options), fastgd.fit_linear(X, y, **options),
          rel=1e-9)


def _rss_mib(dask_worker=None):
    import psutil
    return psutil.Process().memory_info().rss / 2**20


def test_out_of_core():
    """X of 640 MB, generated on the workers chunk by chunk, on two workers of 400 MiB each:
    no worker dies, and the fit equals the one-machine fit of the same numbers."""
    m, n = 4_000_000, 20
    X = da.random.default_rng(0).standard_normal((m, n), chunks=(100_000, n))
    y = X @ np.linspace(-1.0, 1.0, n) + 0.5
    # The same chunks' fit here first puts the pass's machine code in numba's disk cache, which
    # the workers load: compiling it would take more memory than they are given.
    fd.fit_linear(X[:200_000], y[:200_000], max_iter=1, persist=False)
    limit = 400 * 2**20
    assert X.nbytes > limit
    # A worker over its limit is stopped (and the test fails), never paused for ever.
    with dask.config.set({"distributed.worker.memory.pause": False}):
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                      dashboard_address=":0", memory_limit=limit) as cluster:
            with distributed.Client(cluster) as client:
                workers = set(client.scheduler_info()["workers"])
                res = fd.fit_linear(X, y, max_iter=2, persist=False)
                assert set(client.scheduler_info()["workers"]) == workers  # none died
                assert max(client.run(_rss_mib).values()) < limit / 2**20
    expected = fastgd.fit_linear(X.compute(scheduler="threads"), y.compute(scheduler="threads"),
                                 max_iter=2)
    close(res, expected)


def test_each_worker_reads_its_own_chunks(client):
    """Right after persisting (the chunks still computing), a round has a task per worker
    thread, each over chunks that worker holds: no chunk moves, none is read twice."""
    X = da.random.default_rng(1).standard_normal((80_000, 6), chunks=(10_000, 6))
    Xp, Yp, weights, vector_y = fd._chunked(X, X[:, 0] + 1.0, None)
    Xp, Yp = dask.persist(Xp, Yp)
    chunks = fd._Chunks(Xp, Yp, weights, vector_y)
    assert sorted(sum(chunks.groups, [])) == list(range(8))
    assert len(chunks.groups) == 2  # two workers of one thread
    holders = client.who_has([chunks.graph[x] for x, _, _ in chunks.keys])
    for group in chunks.groups:
        assert len({holders[chunks.keys[i][0]][0] for i in group}) == 1
