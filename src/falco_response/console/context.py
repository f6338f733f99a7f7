"""What every console page is given: the store, the operators' auth, and the engine built
from ``--config`` (for undo and the list of destructive action types), when there is one.
Its own module so the routes (``app``) and the pages (``pages``) both use it without
importing each other."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .auth import Auth
from .records import Tail


@dataclass
class Console:
    """What the pages need: the store, the auth, and (for undo and the list of destructive
    action types) the engine built from ``--config``, when there is one."""

    store: Any
    auth: Auth
    engine: Any = None
    approvals: Any = None
    tail: Tail = field(init=False)

    def __post_init__(self) -> None:
        self.tail = Tail(self.store)

    def destructive_types(self) -> list[str]:
        if self.engine is None:
            return []
        return sorted({a.type.name for r in self.engine.config.responses for a in r.actions
                       if a.type.destructive})
