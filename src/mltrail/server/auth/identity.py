"""Who is calling: the :class:`Caller` of the request being handled."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Caller:
    """An authenticated user, as a request sees them.

    ``via`` says how they signed in: ``"basic"`` (username and password), ``"token"`` (a personal access token)
    or ``"session"`` (the web UI's cookie).
    """

    user_id: int
    username: str
    is_admin: bool
    via: str = "basic"

    def to_dict(self) -> dict[str, object]:
        """MLflow's ``users/current`` user shape."""
        return {"id": self.user_id, "username": self.username, "is_admin": self.is_admin}


_current: ContextVar[Caller | None] = ContextVar("mltrail_caller", default=None)


def current_caller() -> Caller | None:
    """The caller of the request this code runs for (None with auth off or on a public route).

    Handlers run in a worker thread; the route sets this before handing over, and the context travels with it.
    """
    return _current.get()


def set_current_caller(caller: Caller | None) -> None:
    """Record the caller for the rest of this request's context."""
    _current.set(caller)
