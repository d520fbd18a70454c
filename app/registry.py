"""The one way a domain plugs into another: a typed, ordered list filled by `app/wiring.py`.

An extension point (ticket hooks, rank context, view extras, panels, periodic jobs, outbox
handlers, event listeners, on-call resolvers) is a `Hooks[T]` owned by the domain that
calls it. Nothing registers itself on import: `app/wiring.py` adds every entry, in the
order they run, so reading that one file tells you what runs and when.
"""

from collections.abc import Iterator
from typing import Generic, TypeVar

T = TypeVar("T")


class Hooks(Generic[T]):
    """Entries of one type, kept in the order they were added; adding one twice is a no-op."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._entries: list[T] = []

    def add(self, entry: T) -> T:
        if entry not in self._entries:
            self._entries.append(entry)
        return entry

    def remove(self, entry: T) -> None:
        self._entries.remove(entry)

    def __iter__(self) -> Iterator[T]:
        return iter(list(self._entries))

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, entry: object) -> bool:
        return entry in self._entries

    def __repr__(self) -> str:
        return f"Hooks({self.name!r}, {len(self._entries)} entries)"
