"""Sign-in throttling by client address (password spraying across accounts).

Each account locks after ``auth.MAX_FAILURES`` failures in a row; that alone lets one
address try a few passwords against every account. This counts failed sign-ins per
client address over a sliding window and refuses further attempts from an address
over the limit (before any password is checked, and whatever the account), so it tells
an attacker nothing about accounts. The counts live in the serving process (one
``Throttle`` per app); with several workers each keeps its own.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import deque

ADDRESS_FAILURES = 20
ADDRESS_WINDOW = dt.timedelta(minutes=15)
MAX_ADDRESSES = 100_000  # bound memory: the oldest address is forgotten first


class Throttle:
    def __init__(
        self, limit: int = ADDRESS_FAILURES, window: dt.timedelta = ADDRESS_WINDOW
    ) -> None:
        self.limit = limit
        self.window = window
        self._failures: dict[str, deque[dt.datetime]] = {}
        self._lock = threading.Lock()

    def _recent(self, address: str, now: dt.datetime) -> deque[dt.datetime]:
        times = self._failures.get(address)
        if times is None:
            return deque()
        while times and times[0] <= now - self.window:
            times.popleft()
        return times

    def blocked(self, address: str, now: dt.datetime) -> bool:
        """True when the address has failed ``limit`` times within the window."""
        with self._lock:
            return len(self._recent(address, now)) >= self.limit

    def failed(self, address: str, now: dt.datetime) -> None:
        with self._lock:
            times = self._recent(address, now)
            times.append(now)
            self._failures[address] = times
            if len(self._failures) > MAX_ADDRESSES:
                self._failures.pop(next(iter(self._failures)))
