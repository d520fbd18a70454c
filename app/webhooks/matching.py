"""Which subscriptions want which event kinds: pure rules, no I/O."""

import re
from collections.abc import Iterable

_KIND = r"[a-z][a-z0-9_]*"
_PATTERN_RE = re.compile(rf"^(\*|{_KIND}(\.{_KIND})*(\.\*)?)$")


def valid_pattern(pattern: str) -> bool:
    return len(pattern) <= 64 and bool(_PATTERN_RE.match(pattern))


def matches(patterns: Iterable[str], kind: str) -> bool:
    """`*` takes everything, `ticket.*` every kind under `ticket.`, anything else is exact."""
    for pattern in patterns:
        if pattern == "*" or pattern == kind:
            return True
        if pattern.endswith(".*") and kind.startswith(pattern[:-1]):
            return True
    return False
