"""Every numba setting of fastgd, in one place: options, the disk cache and its safety.

``cache=True`` so a second process loads machine code instead of compiling; ``nogil=True`` so
fits run on several Python threads at once. Fast-math is restricted to flags that reorder or
fuse arithmetic (``reassoc`` lets LLVM vectorise reductions, ``contract`` forms FMAs) and never
includes ``nnan``/``ninf``: fastgd's divergence and NaN checks rely on IEEE semantics.
Reassociation is fixed at compile time, so the same input always gives the same bits.
"""
import hashlib
import os
import stat
import sys
import tempfile
import warnings

import numba
from numba.core.compiler_lock import global_compiler_lock
from numba.misc.appdirs import AppDirs

FASTMATH = frozenset({"nsz", "arcp", "contract", "afn", "reassoc"})

_KERNEL_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_kernels")


def _writable_dir(path):
    try:
        os.makedirs(path, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            return True
    except OSError:
        return False


def _private_dir(path):
    """``path`` as a folder that only this user can write (created 0700 if absent), or None
    where it exists but someone else owns it, others may write it, or it is a link."""
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    except OSError:
        return None
    info = os.lstat(path)
    mine = info.st_uid == os.getuid() and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
    return path if stat.S_ISDIR(info.st_mode) and mine else None


def _cache_dir():
    """Where numba caches fastgd's kernels: numba's own places (beside the source, else the
    user's cache folder), else a private per-user folder under the temporary directory. Returns
    ``(use_cache, folder fastgd set or None)``: with no safe folder, kernels are not cached on
    disk at all, rather than cached where another user could plant code."""
    if numba.config.CACHE_DIR:
        return True, None
    if _writable_dir(os.path.join(_KERNEL_DIR, "__pycache__")):
        return True, None
    if _writable_dir(AppDirs(appname="numba", appauthor=False).user_cache_dir):
        return True, None
    folder = _private_dir(os.path.join(tempfile.gettempdir(), f"fastgd-numba-cache-{os.getuid()}"))
    if folder is None:
        warnings.warn("fastgd: no private folder to cache compiled kernels in; they are "
                      "compiled in each process", RuntimeWarning, stacklevel=2)
        return False, None
    numba.config.CACHE_DIR = folder
    return True, folder


USE_CACHE, CACHE_DIR = _cache_dir()


def _sources_stamp():
    """A hash of every file that compiled kernels are made of: numba stamps a cache entry with
    its function's own file only, so an edit to a helper it inlines (a pass, a loss) would
    leave the old machine code in use, and two versions of fastgd would share it. The tuning
    constants are in it too: the kernels read some (block sizes) when they are compiled."""
    digest = hashlib.sha256()
    folder = os.path.dirname(os.path.abspath(__file__))
    paths = [os.path.join(_KERNEL_DIR, name) for name in os.listdir(_KERNEL_DIR)
             if name.endswith(".py")]
    for path in sorted(paths) + [os.path.join(folder, name) for name in ("_config.py",
                                                                         "_tuning.py")]:
        with open(path, "rb") as handle:
            digest.update(os.path.basename(path).encode() + b"\0" + handle.read())
    return digest.hexdigest()


SOURCES_STAMP = _sources_stamp()


def _recovering(cache):
    """Make ``cache`` (a dispatcher's numba cache) discard an entry it cannot load, with a
    warning, so the kernel is compiled again instead of failing in every process after."""
    load = cache.load_overload

    def load_overload(sig, target_context):
        try:
            return load(sig, target_context)
        except Exception as err:  # a truncated, garbled or foreign index or data file
            warnings.warn(f"fastgd: discarding a corrupt compiled-kernel cache entry "
                          f"({type(err).__name__}: {err}); compiling it again",
                          RuntimeWarning, stacklevel=2)
            cache.flush()
            return None

    cache.load_overload = load_overload


def jit(exact=False, **options):
    """``numba.njit`` with fastgd's options: cached, GIL released, restricted fast-math.

    ``exact=True`` compiles without fast-math, so every sum runs in the order written, in
    whatever function LLVM inlines it into (its flags travel with its instructions).
    """
    fastmath = set() if exact else set(FASTMATH)

    def decorate(fn):
        dispatcher = numba.njit(cache=USE_CACHE, nogil=True, fastmath=fastmath, **options)(fn)
        if USE_CACHE:
            dispatcher._cache._cache_file._source_stamp = SOURCES_STAMP
            _recovering(dispatcher._cache)
        return dispatcher

    return decorate


def ready(dispatcher, signature):
    """Whether ``dispatcher`` has machine code for the argument types ``signature`` in memory, or
    in the disk cache (then loaded now), without compiling anything."""
    if signature in dispatcher.overloads:
        return True
    if not USE_CACHE:
        return False
    with global_compiler_lock:
        result = dispatcher._cache.load_overload(signature, dispatcher.targetctx)
        if result is None:
            return False
        dispatcher._cache_hits[signature] += 1
        dispatcher.targetctx.insert_user_function(result.entry_point, result.fndesc,
                                                  [result.library])
        dispatcher.add_overload(result)
    return True


def interruptible(fn, *args):
    """``fn(*args)`` for a compiled ``fn``: a Ctrl-C that lands while numba converts its result
    to Python objects surfaces as SystemError caused by KeyboardInterrupt; it is raised as the
    KeyboardInterrupt it is."""
    try:
        return fn(*args)
    except SystemError as err:
        raise_interrupt(err)
        raise


def raise_interrupt(err):
    """Raise the KeyboardInterrupt that ``err``, a SystemError from compiled code, stands for,
    if it stands for one (``interruptible``)."""
    if isinstance(err.__cause__, KeyboardInterrupt):
        raise KeyboardInterrupt from None


def say(message):
    """One line on stderr, before a wait the user should know about (a long compile)."""
    print(f"fastgd: {message}", file=sys.stderr, flush=True)
