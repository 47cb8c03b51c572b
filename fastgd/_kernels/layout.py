"""``fortran_copy``: X copied to Fortran order, for the fixed-width kernel.

``np.asfortranarray`` of a C-order X walks the output a column at a time and reads X with a
stride of a row: 0.79 ns an element on W4 (100 000 x 10 float64). Reading X a row at a time and
writing one element into each of the ``n <= 16`` columns (write streams, which the caches merge
into lines) takes 0.25-0.35 on a Zen 4, 0.28-0.37 on a Zen 5 into fresh memory. ``TILE_ROWS``
rows at a time, each column getting a whole line at once, is no slower there (0.27-0.40) and a
little faster into memory already touched (0.25-0.38 against 0.29-0.42, five interleaved
rounds). Two threads, each copying half the rows, take 0.19-0.20.
"""
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from .._config import jit

#: Rows copied together: 8 float64 (16 float32 in two steps) fill a column's 64-byte line.
TILE_ROWS = 8


@jit()
def _copy_rows(X, out, start, stop):
    """Rows ``start .. stop`` of ``X`` into ``out``, ``TILE_ROWS`` rows at a time."""
    n = X.shape[1]
    # Unsigned row numbers: numba wraps negative indices around, and LLVM cannot prove a
    # signed row number that starts at an argument non-negative.
    start, stop, tile = np.uint64(start), np.uint64(stop), np.uint64(TILE_ROWS)
    tiled = start + (stop - start) // tile * tile
    for i in range(start, tiled, tile):
        for f in range(n):
            for t in range(tile):
                out[i + t, f] = X[i + t, f]
    for i in range(tiled, stop):
        for f in range(n):
            out[i, f] = X[i, f]


def fortran_copy(X, threads=1):
    """A Fortran-order copy of the 2-D ``X``, the same values bit for bit, made by ``threads``
    threads (one: this thread alone), each copying a run of rows.

    Examples
    --------
    >>> import numpy as np
    >>> from fastgd._kernels.layout import fortran_copy
    >>> F = fortran_copy(np.arange(6.0).reshape(3, 2))
    >>> F.flags.f_contiguous, F.tolist()
    (True, [[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]])
    """
    out = np.empty(X.shape, X.dtype, order="F")
    m = X.shape[0]
    if threads == 1:
        _copy_rows(X, out, 0, m)
        return out
    with ThreadPoolExecutor(threads - 1) as helpers:
        parts = [helpers.submit(_copy_rows, X, out, t * m // threads, (t + 1) * m // threads)
                 for t in range(1, threads)]
        _copy_rows(X, out, 0, m // threads)
        for part in parts:
            part.result()
    return out
