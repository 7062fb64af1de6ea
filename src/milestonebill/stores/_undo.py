"""An undo log for the in-memory store's units of work.  Private.

While a unit of work is open, every change to the state notes what it
replaced; rolling back replays the notes newest first.  So a rollback (and
a savepoint's) costs what the unit changed, and opening a unit costs
nothing -- where copying the whole state per unit of work made the store
quadratic in the size of a firm.
"""

from __future__ import annotations

from typing import Any, Protocol

__all__ = ["MISSING", "LoggedDict", "UndoLog", "undo"]

#: The old value of a key that was not there.
MISSING: Any = object()

#: What each change replaced: (the dict, or ``None`` for a field of the state; the
#: key or field name; the old value or :data:`MISSING`).
UndoLog = list[tuple[Any, Any, Any]]


class _Owner(Protocol):
    undo: UndoLog | None


class LoggedDict(dict[Any, Any]):
    """A dict that notes how to undo each change in its owner's ``undo`` log while
    one is open (``None``: no unit of work, nothing noted)."""

    __slots__ = ("owner",)

    def __init__(self, owner: _Owner) -> None:
        super().__init__()
        self.owner = owner

    def _note(self, key: Any) -> None:
        log = self.owner.undo
        if log is not None:
            log.append((self, key, dict.get(self, key, MISSING)))

    def __setitem__(self, key: Any, value: Any) -> None:
        self._note(key)
        dict.__setitem__(self, key, value)

    def __delitem__(self, key: Any) -> None:
        self._note(key)
        dict.__delitem__(self, key)

    def setdefault(self, key: Any, default: Any = None) -> Any:
        """``dict.setdefault``, noted when it adds ``key``."""
        if key not in self:
            self._note(key)
        return dict.setdefault(self, key, default)

    def pop(self, key: Any, *default: Any) -> Any:
        """``dict.pop``, noted when ``key`` was there."""
        if key in self:
            self._note(key)
        return dict.pop(self, key, *default)

    def _refused(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("a logged dict is changed key by key")

    update = popitem = clear = __ior__ = _refused


def undo(owner: object, log: UndoLog, at: int) -> None:
    """Undo the changes noted in ``log`` from position ``at`` on, newest first,
    and drop their notes (a field of ``owner`` is set back with ``setattr``)."""
    for target, key, old in reversed(log[at:]):
        if target is None:
            setattr(owner, key, old)
        elif old is MISSING:
            dict.pop(target, key, None)
        else:
            dict.__setitem__(target, key, old)
    del log[at:]
