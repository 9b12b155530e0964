"""What the benchmark scripts share: the median wall time of a call."""

from __future__ import annotations

import statistics
import time


def median_time(fn, repeats: int, *, warm_up: bool = False) -> float:
    """The median of `repeats` timed calls of fn(); `warm_up`: one untimed call first (caches, compiled patterns)."""
    if warm_up:
        fn()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)
