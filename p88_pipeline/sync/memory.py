"""A run's memory: large blocks go back to the operating system as soon as they are freed.

Every page read allocates and frees a few blocks of one to two megabytes (the response body and
its decoded text). glibc serves the first from mmap and returns it on free, then raises its
dynamic mmap threshold past that size: later bodies come from the heap, which keeps the freed
space, so a run's peak memory becomes the heap's high-water mark instead of one page's working
set (measured: +3 MiB on a partner with full 2,500-record pages). A fixed threshold (which also
turns the dynamic one off) keeps every block above it on mmap. The cost is one mmap/munmap pair
per such block: a few per page read.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools

M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter number (malloc.h)
LARGE_BLOCK_BYTES = 128 * 1024  # glibc's own starting threshold


@functools.cache
def return_large_blocks() -> bool:
    """Once per process; False where the C library is not glibc (nothing to tune there)."""
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        mallopt = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, LARGE_BLOCK_BYTES))
