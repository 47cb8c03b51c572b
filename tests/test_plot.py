"""fastgd.plot and the command line's --plot, rendered to PNG with matplotlib's Agg backend."""
import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

import fastgd  # noqa: E402
from fastgd import plot  # noqa: E402
from fastgd.cli import main  # noqa: E402

PNG = b"\x89PNG"


def test_loss_curve_is_the_history_on_a_log_scale():
    res = fastgd.fit_linear([[1.0], [2.0], [3.0]], [2.0, 4.0, 6.0], history=True)
    ax = plot.loss_curve(res)
    line = ax.get_lines()[0]
    np.testing.assert_array_equal(line.get_ydata(), res.history)
    assert ax.get_yscale() == "log" and ax.get_xlabel() == "update"
    with pytest.raises(ValueError, match="history=True"):
        plot.loss_curve(fastgd.fit_linear([[1.0], [2.0]], [1.0, 2.0]))


def test_path_on_the_contours_of_a_function_of_two_variables():
    res = fastgd.minimize("x**2 + 4*y**2", [2.0, 1.0], lr=0.1, path=True)
    ax = plot.path("x**2 + 4*y**2", res)
    walk = ax.get_lines()[-1]
    np.testing.assert_array_equal(walk.get_xdata(), res.path[:, 0])
    np.testing.assert_array_equal(walk.get_ydata(), res.path[:, 1])
    assert ax.collections  # the contours


def test_path_on_the_curve_of_a_function_of_one_variable():
    res = fastgd.minimize(lambda t: 2 * t, 3.0, lr=0.3, max_iter=4, tol=0, path=True)
    ax = plot.path(lambda t: t * t, res)
    np.testing.assert_array_equal(ax.get_lines()[-1].get_xdata(), res.path)  # 3, 1.2, 0.48, ...
    np.testing.assert_allclose(res.path, [3, 1.2, 0.48, 0.192, 0.0768], rtol=1e-15)
    with pytest.raises(ValueError, match="path=True"):
        plot.path(lambda t: t * t, fastgd.minimize(lambda t: 2 * t, 3.0))


@pytest.mark.parametrize("args", [
    ["minimize", "(1-x)**2 + 100*(y-x**2)**2", "--x0", "-1.2,1", "--lr", "0.001",
     "--max-iter", "3000"],
    ["maximize", "-x**2 + 2*x", "--x0", "5"],
    ["compare", "--rows", "200", "--features", "3", "--iters", "50"],
])
def test_the_command_line_draws_to_a_png(args, tmp_path, capsys):
    target = tmp_path / "picture.png"
    assert main(args + ["--plot", str(target)]) == 0
    assert target.read_bytes()[:4] == PNG and target.stat().st_size > 10_000
    assert f"plot: {target}" in capsys.readouterr().out
