"""The planner's tuning constants, in one place. The measurements behind each are in
``docs/performance.md`` (section "Why the planner's constants are what they are")."""

#: Rows of a block hold about this many elements, so a block stays in the L2 cache.
BLOCK_ELEMENTS = 1 << 14
#: Blocks X is cut into at the least, where it has the rows, so two threads can share small X.
MIN_BLOCKS = 2
#: Fewest rows in a block.
MIN_BLOCK_ROWS = 64
#: Rows of a block are a multiple of this: the tile kernel's largest group (16 float32 rows).
BLOCK_ROW_MULTIPLE = 16

#: Elements of X below which one thread is fastest: a team meets once an iteration.
PARALLEL_MIN_ELEMENTS = 1 << 16
#: X from this size streams from memory: the tile kernel prefetches it, the caches cannot hold it.
PREFETCH_MIN_BYTES = 1 << 24
#: How far ahead of its rows the tile kernel prefetches.
PREFETCH_BYTES = 1 << 13
#: CPUs (LLVM's names) on which the row-vector kernel prefetches X from memory, and how far
#: ahead by item size: cores that read memory faster than their reorder window reaches.
ROW_VECTOR_PREFETCH_CPUS = frozenset({"znver3", "znver5"})
ROW_VECTOR_PREFETCH_BYTES = {4: 1 << 14, 8: 1 << 13}
#: How far ahead the row-vector kernel prefetches X for the logistic loss, whose steps of eight
#: rows run their exp and log1p between lines.
LOGISTIC_PREFETCH_BYTES = 1 << 14

#: A read-only X or y up to this size is copied, not read through a writable alias of it.
ALIAS_MIN_BYTES = 1 << 12

#: Most features of the fixed-width kernel (its sums stay in registers up to here).
FIXED_WIDTH_MAX = 16
#: Non-Fortran X the fixed-width kernel takes is copied to Fortran order below this size.
COLUMN_COPY_MAX_BYTES = PREFETCH_MIN_BYTES
#: Most features of the tile kernel (unrolled over them).
TILE_MAX_FEATURES = 128
#: Most features of the row-vector kernel (unrolled over the row's vectors).
VECTORS_MAX_FEATURES = 512
#: C-order X in the caches goes to the row-vector kernel from this width to TILE_MAX_FEATURES.
VECTORS_MIN_FEATURES_IN_CACHE = 48

#: Seconds a chunk of a compiled descent aims to run before it returns to Python, where Ctrl-C,
#: a callback and a progress bar act.
CHUNK_SECONDS = 0.05
#: Updates of the first chunk, per element of X: a guess at 0.25 ns an element-iteration that
#: later chunks replace with the measured rate.
FIRST_CHUNK_ELEMENT_UPDATES = 1 << 26
#: Most updates between two callbacks.
CALLBACK_UPDATES = 1000
#: Seconds a formula's descent runs as Python before its gradient is compiled (about a second's
#: compile, paid only by runs long enough to gain from it).
COMPILE_AFTER_SECONDS = 0.5
#: A fit expected to take longer than this shows a progress bar when asked to.
PROGRESS_SECONDS = 1.0
