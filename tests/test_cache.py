"""Numba's on-disk cache: a second process loads machine code, and read-only installs work."""
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import fastgd

FIT_AND_REPORT = textwrap.dedent("""
    import numpy as np, fastgd
    from fastgd._kernels import drivers
    res = fastgd.fit_linear(np.array([[1.0], [2.0], [3.0]]), np.array([2.0, 4.0, 6.0]))
    assert abs(res.w[0] - 1.90259238) < 1e-8
    stats = drivers.descend.stats
    print("hits", sum(stats.cache_hits.values()), "misses", sum(stats.cache_misses.values()))
    import numba; print("cache-dir", numba.config.CACHE_DIR or "")
""")


def run_fit(package_parent, env_extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUMBA_CACHE_DIR")}
    env.update(env_extra, PYTHONPATH=str(package_parent))
    out = subprocess.run([sys.executable, "-c", FIT_AND_REPORT], env=env, capture_output=True,
                         text=True, cwd=package_parent)
    assert out.returncode == 0, out.stderr
    return out.stdout


def block(path):
    """Make ``path`` unusable as a folder, for root too: a read-only file stands in its place."""
    path.write_text("not a folder")
    path.chmod(0o444)


def read_only_copy(tmp_path):
    """A copy of the installed package that nothing can write into."""
    parent = tmp_path / "site"
    shutil.copytree(Path(fastgd.__file__).parent, parent / "fastgd",
                    ignore=shutil.ignore_patterns("__pycache__"))
    for folder in [parent / "fastgd", parent / "fastgd" / "_kernels"]:
        block(folder / "__pycache__")
    for path in [parent, *parent.rglob("*")]:
        path.chmod(0o555 if path.is_dir() else 0o444)
    return parent


@pytest.fixture
def restore_permissions(tmp_path):
    yield
    for path in tmp_path.rglob("*"):
        if path.is_dir():
            path.chmod(0o755)


def test_second_process_does_not_recompile(tmp_path):
    cache = tmp_path / "cache"
    run_fit(Path(fastgd.__file__).parent.parent, {"NUMBA_CACHE_DIR": str(cache)})
    second = run_fit(Path(fastgd.__file__).parent.parent, {"NUMBA_CACHE_DIR": str(cache)})
    assert "hits 1 misses 0" in second


def test_read_only_install_uses_the_user_cache(tmp_path, restore_permissions):
    parent = read_only_copy(tmp_path)
    env = {"XDG_CACHE_HOME": str(tmp_path / "user-cache")}
    first = run_fit(parent, env)
    assert "hits 0 misses 1" in first and "cache-dir \n" in first  # numba's own user cache
    assert "hits 1 misses 0" in run_fit(parent, env)
    assert any((tmp_path / "user-cache" / "numba").rglob("*.nbi"))


def test_read_only_install_and_user_cache_fall_back_to_tmp(tmp_path, restore_permissions):
    parent = read_only_copy(tmp_path)
    block(tmp_path / "user-cache")
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = {"XDG_CACHE_HOME": str(tmp_path / "user-cache"), "TMPDIR": str(scratch)}
    first = run_fit(parent, env)
    assert f"cache-dir {scratch}/fastgd-numba-cache-" in first
    assert "hits 0 misses 1" in first
    assert "hits 1 misses 0" in run_fit(parent, env)


def test_a_tmp_cache_folder_someone_else_made_is_never_used(tmp_path, restore_permissions):
    # Another local user could pre-create the fallback folder and plant an index there (code
    # that runs at the victim's next fit): fastgd then caches nothing rather than use it.
    parent = read_only_copy(tmp_path)
    block(tmp_path / "user-cache")
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    planted = scratch / f"fastgd-numba-cache-{os.getuid()}"
    planted.mkdir(mode=0o777)
    planted.chmod(0o777)  # writable by anyone
    env = {"XDG_CACHE_HOME": str(tmp_path / "user-cache"), "TMPDIR": str(scratch)}
    out = run_fit(parent, env)
    assert "hits 0 misses 1" in out and "cache-dir \n" in out
    assert not any(planted.iterdir())
    if os.getuid() == 0:  # a folder of the right mode that another user owns
        planted.chmod(0o700)
        os.chown(planted, 65534, 65534)
        assert "cache-dir \n" in run_fit(parent, env)


def test_a_corrupt_cache_entry_is_discarded_and_compiled_again(tmp_path):
    cache = tmp_path / "cache"
    package = Path(fastgd.__file__).parent.parent
    run_fit(package, {"NUMBA_CACHE_DIR": str(cache)})
    indexes = list(cache.rglob("*descend*.nbi"))
    assert indexes
    for index in indexes:
        index.write_bytes(b"garbage" + index.read_bytes()[:20])
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUMBA_CACHE_DIR")}
    env.update(NUMBA_CACHE_DIR=str(cache), PYTHONPATH=str(package))
    out = subprocess.run([sys.executable, "-c", FIT_AND_REPORT], env=env, capture_output=True,
                         text=True, cwd=package)
    assert out.returncode == 0, out.stderr
    assert "discarding a corrupt compiled-kernel cache entry" in out.stderr
    assert "hits 1 misses 0" in run_fit(package, {"NUMBA_CACHE_DIR": str(cache)})


def test_an_edit_to_any_kernel_file_compiles_again(tmp_path):
    # numba stamps a cache entry with its function's own file; fastgd stamps every kernel with
    # all of them, so a change to a pass or a loss (files the descent only inlines) is never
    # served the old machine code, and two versions of fastgd never share it.
    parent = tmp_path / "site"
    shutil.copytree(Path(fastgd.__file__).parent, parent / "fastgd",
                    ignore=shutil.ignore_patterns("__pycache__"))
    env = {"NUMBA_CACHE_DIR": str(tmp_path / "cache")}
    assert "hits 0 misses 1" in run_fit(parent, env)
    assert "hits 1 misses 0" in run_fit(parent, env)
    losses = parent / "fastgd" / "_kernels" / "losses.py"
    losses.write_text(losses.read_text() + "\n# an edit\n")
    assert "hits 0 misses 1" in run_fit(parent, env)
