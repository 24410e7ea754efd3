"""Session locks and session state for a session-enabled queue: one receiver per session at a time."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass


class SessionLockedError(Exception):
    """Another receiver holds the session (`com.microsoft:session-cannot-be-locked`)."""


class SessionLockLostError(Exception):
    """The caller does not hold the session lock any more (`com.microsoft:session-lock-lost`)."""


@dataclass
class _Session:
    state: bytes | None = None
    owner: Hashable | None = None
    locked_until: float = 0.0


class SessionTable:
    def __init__(self, lock_duration: float) -> None:
        self._lock_duration = lock_duration
        self._sessions: dict[str, _Session] = {}

    def lock(self, session_id: str, owner: Hashable, now: float) -> float:
        session = self._sessions.setdefault(session_id, _Session())
        if session.owner is not None and session.owner != owner and session.locked_until > now:
            raise SessionLockedError(session_id)
        session.owner, session.locked_until = owner, now + self._lock_duration
        return session.locked_until

    def is_locked(self, session_id: str, now: float) -> bool:
        session = self._sessions.get(session_id)
        return session is not None and session.owner is not None and session.locked_until > now

    def locked_until(self, session_id: str) -> float:
        return self._sessions[session_id].locked_until

    def holder(self, session_id: str) -> Hashable | None:
        session = self._sessions.get(session_id)
        return None if session is None else session.owner

    def renew(self, session_id: str, owner: Hashable, now: float) -> float:
        session = self._checked(session_id, owner, now)
        session.locked_until = now + self._lock_duration
        return session.locked_until

    def release(self, owner: Hashable) -> None:
        for session in self._sessions.values():
            if session.owner == owner:
                session.owner, session.locked_until = None, 0.0

    def get_state(self, session_id: str, owner: Hashable, now: float) -> bytes | None:
        return self._checked(session_id, owner, now).state

    def set_state(self, session_id: str, owner: Hashable, now: float, state: bytes | None) -> None:
        self._checked(session_id, owner, now).state = state

    def state_of(self, session_id: str) -> bytes | None:
        session = self._sessions.get(session_id)
        return None if session is None else session.state

    def expire(self, now: float) -> list[Hashable]:
        """Drop locks whose time ran out; returns their former owners."""
        lost: list[Hashable] = []
        for session in self._sessions.values():
            if session.owner is not None and session.locked_until <= now:
                lost.append(session.owner)
                session.owner, session.locked_until = None, 0.0
        return lost

    def _checked(self, session_id: str, owner: Hashable, now: float) -> _Session:
        session = self._sessions.get(session_id)
        if session is None or session.owner != owner or session.locked_until <= now:
            raise SessionLockLostError(session_id)
        return session
