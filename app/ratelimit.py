"""Sliding-window rate limits for anonymous endpoints (intake form, login). Pure: pass `now`.

Kept in process memory: enough for the single-process default. Behind several replicas
each replica counts on its own, so the effective limit is per replica.
"""

import math
from collections import deque
from dataclasses import dataclass, field


@dataclass
class RateLimiter:
    limit: int
    window_seconds: float = 60.0
    max_keys: int = 50_000
    _hits: dict[str, deque[float]] = field(default_factory=dict)

    def hit(self, key: str, now: float) -> int:
        """Record one attempt. Returns 0 if allowed, else seconds until the next is allowed."""
        window = self._hits.get(key)
        if window is None:
            if len(self._hits) >= self.max_keys:
                self._evict(now)
            window = self._hits[key] = deque()
        cutoff = now - self.window_seconds
        while window and window[0] <= cutoff:
            window.popleft()
        if len(window) >= self.limit:
            return max(1, math.ceil(window[0] + self.window_seconds - now))
        window.append(now)
        return 0

    def _evict(self, now: float) -> None:
        cutoff = now - self.window_seconds
        for key in [k for k, w in self._hits.items() if not w or w[-1] <= cutoff]:
            del self._hits[key]
        if len(self._hits) >= self.max_keys:  # still full of live keys: forget the oldest half
            for key in list(self._hits)[: self.max_keys // 2]:
                del self._hits[key]
