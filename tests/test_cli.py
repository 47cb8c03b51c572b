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
    for label in ("time", "speedup", "final loss", "max |dw|", "|db|"):
        assert label in out
    losses = next(line for line in out.splitlines() if line.strip().startswith("final loss")).split()[2:]
    assert float(losses[0]) == pytest.approx(float(losses[1]), rel=1e-12)


@pytest.mark.parametrize("threads", ["1", "2"])
def test_compare_times_a_kernel_already_loaded(monkeypatch, capsys, threads):
    # The timed fit must not pay for loading or compiling the kernel variant it runs: the
    # warm-up takes the same X, on the same threads.
    from fastgd import cli
    from fastgd._kernels import linear_rows

    def variants():
        return len(linear_rows.descend.overloads) + len(linear_rows.descend_team.overloads)

    timed = cli._timed
    loaded = []

    def checked(fn):
        before = variants()
        result = timed(fn)
        loaded.append(variants() - before)
        return result

    monkeypatch.setattr(cli, "_timed", checked)
    assert main(["compare", "--rows", "20000", "--features", "3", "--iters", "5",
                 "--threads", threads]) == 0
    assert loaded == [0, 0]  # fastgd's fit, then the reference's
    capsys.readouterr()


def test_compare_float32(capsys):
    assert main(["compare", "--rows", "300", "--features", "2", "--iters", "5", "--dtype", "float32"]) == 0
    assert "float32" in capsys.readouterr().out


@pytest.mark.parametrize("suffix", [".npy", ".csv", ".npz"])
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
    (["compare", "--data", "table.txt"], "must be a .npy, .npz or .csv"),
])
def test_bad_arguments_one_line_error(args, message):
    out = run(*args)
    assert out.returncode == 1
    assert message in out.stderr
    assert "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1


def test_bad_target_column(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,b\n1,2\n2,3\n")
    out = run("compare", "--data", str(path), "--target", "z")
    assert out.returncode == 1 and "--target 'z' is not a column of the data; columns are a, b" in out.stderr


def test_usage_errors_exit_2_without_traceback():
    out = run("compare", "--rows", "many")
    assert out.returncode == 2 and "invalid int value" in out.stderr and "Traceback" not in out.stderr
    assert run("frobnicate").returncode == 2


@pytest.mark.parametrize("command", [[], ["compare"], ["demo"]])
def test_help(command):
    out = run(*command, "--help")
    assert out.returncode == 0 and "usage: fastgd" in out.stdout


def test_bench_report_runs(capsys):
    from fastgd.bench import main as bench_main
    bench_main(["W1", "W2", "--repeat", "1", "--no-targets"])
    lines = capsys.readouterr().out.splitlines()
    assert "reference/fast" in lines[2] and "floor/fast" in lines[2]
    assert lines[4].startswith("W1 seed") and lines[5].startswith("W2 small")
    # W1 agrees with the reference to an ulp of its w (about 0.55) after 1000 updates: the
    # kernel's sums (FMAs, in its order) and numpy's dot products round differently.
    assert float(lines[4].split()[-1]) <= 2.3e-16
    assert "reference/jitted grad" in lines[9] and lines[11].startswith("theta2")
    assert float(lines[12].split()[-1]) < 1e-15  # quad100 agrees with the seed loop
