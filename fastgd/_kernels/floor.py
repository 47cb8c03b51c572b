"""The speed floor of a fused kernel: one vectorised read pass over X per iteration."""
from .._config import jit


@jit()
def read_passes(flat, passes):
    """Sum every element of the 1-D ``flat`` once per pass; return the total (so it is kept)."""
    total = 0.0
    for _ in range(passes):
        partial = flat.dtype.type(0)
        for i in range(flat.size):
            partial += flat[i]
        total += partial
    return total
