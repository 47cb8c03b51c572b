"""The ``fastgd`` command line, as a user runs it."""
import subprocess
import sys

import numpy as np
import pytest

from fastgd.cli import main


def run(*args):
    return subprocess.run([sys.executable, "-m", "fastgd", *args], capture_output=True, text=True)


def test_demo_prints_seed_002_through_both_paths(capsys):
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "reference  w = 1.90259238  b = 0.22143042" in out
    assert "fastgd     w = 1.90259238  b = 0.22143042" in out


def test_compare_random_problem(capsys):
    assert main(["compare", "--rows", "500", "--features", "3", "--iters", "50"]) == 0
    out = capsys.readouterr().out
    assert "random 500 x 3 float64" in out
    for label in ("time", "speedup", "final loss", "max |w - w_ref|", "|b - b_ref|"):
        assert label in out
    losses = next(line for line in out.splitlines() if line.strip().startswith("final loss")).split()[2:]
    assert float(losses[0]) == pytest.approx(float(losses[1]), rel=1e-12)


@pytest.mark.parametrize("threads", ["1", "2"])
def test_compare_times_a_kernel_already_loaded(monkeypatch, capsys, threads):
    # The timed fit must not pay for loading or compiling the kernel variant it runs: the
    # warm-up takes the same X, on the same threads.
    from fastgd import cli
    from fastgd._kernels import drivers

    best = cli._best
    loaded = []

    def checked(fn):
        before = len(drivers.descend.overloads)
        result = best(fn)
        loaded.append(len(drivers.descend.overloads) - before)
        return result

    monkeypatch.setattr(cli, "_best", checked)
    assert main(["compare", "--rows", "20000", "--features", "3", "--iters", "5",
                 "--threads", threads]) == 0
    assert loaded == [0, 0]  # fastgd's fit, then the reference's
    capsys.readouterr()


def test_compare_runs_the_library_defaults_and_says_how_it_timed(capsys):
    assert main(["compare", "--rows", "500", "--features", "3"]) == 0
    out = capsys.readouterr().out
    assert "lr=0.01, max_iter=1000, tol=0" in out
    assert "time (best)" in out and "runs timed" in out
    iterations = next(line for line in out.splitlines() if "iterations" in line).split()
    assert iterations[1:] == ["1000", "1000"]
    assert main(["compare", "--rows", "500", "--features", "3", "--lr", "auto", "--tol", "1e-8",
                 "--iters", "100000"]) == 0
    out = capsys.readouterr().out
    assert "converged        yes        yes" in " ".join([""] + out.split("\n")) or \
        next(line for line in out.splitlines() if "converged" in line).split()[1:] == ["yes", "yes"]


def test_compare_refuses_a_size_that_does_not_fit_before_allocating():
    out = run("compare", "--rows", "1000000000", "--features", "1000")
    assert out.returncode == 1 and "needs about" in out.stderr and "GiB" in out.stderr


def test_compare_float32(capsys):
    assert main(["compare", "--rows", "300", "--features", "2", "--iters", "5", "--dtype", "float32"]) == 0
    assert "float32" in capsys.readouterr().out


@pytest.mark.parametrize("suffix", [".npy", ".csv", ".npz", ".parquet"])
def test_compare_loads_data(tmp_path, capsys, suffix):
    rng = np.random.default_rng(3)
    table = np.c_[rng.standard_normal((40, 2)), np.arange(40.0) / 40]
    path = tmp_path / f"data{suffix}"
    if suffix == ".npy":
        np.save(path, table)
        target = ["--target", "1"]
    elif suffix == ".csv":
        path.write_text("a,b,c\n" + "\n".join(",".join(map(str, row)) for row in table))
        target = ["--target", "b"]
    elif suffix == ".parquet":
        pyarrow = pytest.importorskip("pyarrow")
        import pyarrow.parquet
        pyarrow.parquet.write_table(pyarrow.table({"a": table[:, 0], "b": table[:, 1],
                                                   "c": (table[:, 2] * 40).astype(np.int64)}),
                                    path)
        target = ["--target", "c"]
    else:
        np.savez(path, X=table[:, :2], y=table[:, 2])
        target = []
    assert main(["compare", "--data", str(path), "--iters", "20", *target]) == 0
    assert "40 rows, 2 features" in capsys.readouterr().out


def test_csv_without_header_uses_last_column(tmp_path, capsys):
    path = tmp_path / "plain.csv"
    path.write_text("1,2\n2,4\n3,6\n")
    assert main(["compare", "--data", str(path)]) == 0
    assert "3 rows, 1 features" in capsys.readouterr().out


@pytest.mark.parametrize("args,message", [
    (["compare", "--lr", "-1"], "lr must be a finite number > 0"),
    (["compare", "--rows", "0"], "--rows must be >= 1"),
    (["compare", "--lr", "50", "--rows", "100"], "diverged at iteration"),
    (["compare", "--data", "missing.npy"], "No such file"),
    (["compare", "--data", "table.txt"], "must be a .npy, .npz, .csv or .parquet"),
])
def test_bad_arguments_one_line_error(args, message):
    out = run(*args)
    assert out.returncode == 1
    assert message in out.stderr
    assert "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1


def test_parquet_text_columns_are_named(tmp_path):
    pyarrow = pytest.importorskip("pyarrow")
    import pyarrow.parquet
    path = tmp_path / "t.parquet"
    pyarrow.parquet.write_table(pyarrow.table({"x": [1.0, 2.0], "city": ["a", "b"]}), path)
    out = run("compare", "--data", str(path))
    assert out.returncode == 1 and "column 'city'" in out.stderr and "not numbers" in out.stderr


def test_bad_target_column(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,b\n1,2\n2,3\n")
    out = run("compare", "--data", str(path), "--target", "z")
    assert out.returncode == 1 and "--target 'z' is not a column of the data; columns are a, b" in out.stderr


def test_usage_errors_exit_2_without_traceback():
    out = run("compare", "--rows", "many")
    assert out.returncode == 2 and "invalid int value" in out.stderr and "Traceback" not in out.stderr
    out = run("compare", "--lr", "fast")
    assert out.returncode == 2 and "invalid lr value: 'fast'" in out.stderr
    assert run("frobnicate").returncode == 2


@pytest.mark.parametrize("command", [[], ["compare"], ["demo"]])
def test_help(command):
    out = run(*command, "--help")
    assert out.returncode == 0 and "usage: fastgd" in out.stdout


def test_compare_many_runs_both_ways_with_the_same_bits(capsys):
    assert main(["compare", "--many", "30", "--iters", "50"]) == 0
    out = capsys.readouterr().out
    assert "problems: 30 of 50 x 3 float64" in out
    assert "loop of fit_linear" in out and "fit_linear_many" in out
    assert next(line for line in out.splitlines() if "same bits" in line).split()[-1] == "yes"
