"""How much memory the bench's process holds, without tracing every allocation.

tracemalloc sees exactly what Python allocates, but it hooks every allocation: the bot runs
about three times slower under it, which made the memory groups the bulk of the bench. The
bench reads the level instead from the allocators themselves, after a full collection:

- Python's own allocator (pymalloc, for objects up to 512 bytes): its bytes in allocated
  blocks, as `sys._debugmallocstats` reports them;
- the C allocator (glibc's malloc, for everything larger, and for C libraries: SQLite's page
  cache, OpenSSL, the drivers): its bytes in use, from `mallinfo2`.

pymalloc takes its arenas from the system directly (mmap), not from malloc, so the two do not
overlap. Unlike tracemalloc this counts what C libraries keep (SQLite's page cache grows to
its bound, `cache_size`, per connection) and nothing of tracemalloc's own bookkeeping. Where
either is not available (not CPython, not glibc), or with `wegwijzer bench --traced`, the
level is tracemalloc's and the groups are traced (`traced()` says which).
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import os
import re
import sys
import tempfile
import tracemalloc
from collections.abc import Callable, Iterator
from typing import cast


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",
            "keepcost",
        )
    ]


def _mallinfo2() -> Callable[[], _MallInfo2] | None:
    """glibc's `mallinfo2` (2.33 and later), or None."""
    try:
        function = ctypes.CDLL(None).mallinfo2
    except (OSError, AttributeError):
        return None
    function.restype = _MallInfo2
    function.argtypes = []
    return cast(Callable[[], _MallInfo2], function)


_MALLINFO2 = _mallinfo2()
_ALLOCATED = re.compile(rb"# bytes in allocated blocks\s*=\s*([\d,]+)")


def _pymalloc_bytes() -> int | None:
    """pymalloc's bytes in allocated blocks (it prints them to the C stderr only)."""
    if not hasattr(sys, "_debugmallocstats"):
        return None
    with tempfile.TemporaryFile() as captured:
        sys.stderr.flush()
        saved = os.dup(2)
        os.dup2(captured.fileno(), 2)
        try:
            sys._debugmallocstats()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        captured.seek(0)
        found = _ALLOCATED.search(captured.read())
    return int(found.group(1).replace(b",", b"")) if found else None


# `wegwijzer bench --traced`: tracemalloc all the same, to compare the two measures.
_TRACING_ASKED = False


def trace(asked: bool = True) -> None:
    """Measure with tracemalloc even where the allocators can be read."""
    global _TRACING_ASKED
    _TRACING_ASKED = asked


def traced() -> bool:
    """Whether the level is tracemalloc's: asked for, or no allocator statistics to read."""
    return _TRACING_ASKED or _MALLINFO2 is None or _pymalloc_bytes() is None


def level() -> int:
    """Bytes held by the process's allocators now, after a full collection."""
    gc.collect()
    if tracemalloc.is_tracing():
        return tracemalloc.get_traced_memory()[0]
    assert _MALLINFO2 is not None
    info = _MALLINFO2()
    python = _pymalloc_bytes()
    assert python is not None
    return python + info.uordblks + info.hblkhd


@contextlib.contextmanager
def measuring() -> Iterator[None]:
    """Around the measured groups: traces them where the allocators cannot be read."""
    if not traced():
        yield
        return
    tracemalloc.start(1)
    try:
        yield
    finally:
        tracemalloc.stop()


def slope(people: list[int], levels: list[int]) -> float:
    """Bytes per person: the least-squares line through (people served so far, level)."""
    n = len(people)
    mean_x, mean_y = sum(people) / n, sum(levels) / n
    spread = sum((x - mean_x) ** 2 for x in people)
    return sum((x - mean_x) * (y - mean_y) for x, y in zip(people, levels, strict=True)) / spread
