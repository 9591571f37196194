"""Keep freed memory inside the process instead of handing it back to the OS after every batch.

A training step frees and re-allocates the same large activations every batch (the seed
model's first feature map alone is 27 MB at batch 64). glibc's default gives the top of the
heap back to the kernel each time, so every batch page-faults it in again: measured on the
seed model, a fifth to a quarter of the step's CPU time went to the kernel, and raising the
trim threshold made the step 1.5x faster on one thread (the figure PyTorch's CPU tuning
guides get from jemalloc or tcmalloc, with nothing to install). Kept for a whole run, freed
blocks crept up to +230 MB of peak RSS over 40 epochs, so the engine hands them back at the
end of every epoch.

Only from the main thread: a worker thread (the TUI's engine) allocates from a per-thread
arena whose defaults already keep these blocks (0.04 of the step in the kernel, not 0.2), and
there the raised thresholds made it slower (its heaps are created and deleted instead).
"""

from __future__ import annotations

import ctypes
import functools
import sys
import threading

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc <malloc.h>
KEEP_BYTES = 1 << 30  # how much freed memory may stay at the top of the heap between batches
HEAP_UP_TO = 32 << 20  # blocks up to this size come from the heap (a batch's activations); larger
# one-off buffers (evaluation batches) still get their own mapping and go back


@functools.cache
def _glibc():
    """glibc's malloc tuning functions, or None on other platforms and C libraries."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None)
        libc.mallopt.argtypes, libc.mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
        libc.malloc_trim.argtypes, libc.malloc_trim.restype = [ctypes.c_size_t], ctypes.c_int
    except (OSError, AttributeError):
        return None
    return libc


def _libc():
    """glibc, when called from the main thread (see the module's docstring); None otherwise."""
    return _glibc() if threading.current_thread() is threading.main_thread() else None


def keep_freed_memory() -> bool:
    """Raise glibc's mmap and trim thresholds for this process; False (no change) where that does not apply.

    Both are needed: setting either turns off glibc's self-tuning, and with the trim threshold
    alone every large tensor would be mmap-ed and unmapped on each batch instead.
    """
    libc = _libc()
    return bool(libc and libc.mallopt(M_MMAP_THRESHOLD, HEAP_UP_TO) and libc.mallopt(M_TRIM_THRESHOLD, KEEP_BYTES))


def release_freed_memory() -> None:
    """Hand what is free back to the OS, at the end of an epoch: peak memory stays what the work needs."""
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)
