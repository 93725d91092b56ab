"""Small per-process caches of slow, slowly changing queries (segment list, organisation
tree, population summaries), shared by the server's worker threads.

Each key is computed by one thread at a time. When a value is missing, the other
threads asking for it wait for that one computation instead of running the same
query alongside it; when it is merely stale, they are served the stale value
while one thread refreshes it. Without this, the first requests after a start
(or after every expiry) each ran a full scan of the people index at once. At
1,000,000 people and 20 users that made the workbench's p99 over a second.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

T = TypeVar("T")


class TtlCache:
    """Values that live ``ttl`` seconds, computed at most once at a time per key."""

    def __init__(self, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self._clock = clock
        self._values: dict[Hashable, tuple[float, Any]] = {}
        self._locks: dict[Hashable, threading.Lock] = {}
        self._guard = threading.Lock()

    def get(self, key: Hashable, make: Callable[[], T]) -> T:
        hit = self._values.get(key)
        if hit is not None and self._clock() - hit[0] <= self.ttl:
            return hit[1]  # type: ignore[no-any-return]
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        # Missing: wait for the thread computing it. Stale: serve it while another refreshes.
        if not lock.acquire(blocking=hit is None):
            assert hit is not None
            return hit[1]  # type: ignore[no-any-return]
        try:
            hit = self._values.get(key)
            if hit is None or self._clock() - hit[0] > self.ttl:
                hit = (self._clock(), make())
                self._values[key] = hit
            return hit[1]
        finally:
            lock.release()

    def clear(self) -> None:
        self._values.clear()

    def __len__(self) -> int:
        return len(self._values)
