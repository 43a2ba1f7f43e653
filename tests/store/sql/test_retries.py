"""Which errors :func:`mltrail.store.sql.retries.with_retries` runs again, and what it answers when it stops."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from sqlalchemy.exc import DBAPIError, OperationalError

from mltrail.errors import DEADLINE_EXCEEDED, TEMPORARILY_UNAVAILABLE, MltrailError
from mltrail.store.sql import retries


class _DriverError(Exception):
    def __init__(self, *args: object, sqlstate: str | None = None) -> None:
        super().__init__(*args)
        self.sqlstate = sqlstate


def _locked() -> DBAPIError:
    return OperationalError("UPDATE runs", {}, _DriverError("database is locked"))


def _lost(uncommitted: bool = False) -> DBAPIError:
    exc = OperationalError("COMMIT", {}, _DriverError("server closed the connection unexpectedly"))
    if uncommitted:
        retries.mark_uncommitted(exc)
    return exc


@pytest.fixture(autouse=True)
def _no_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(retries.time, "sleep", lambda _seconds: None)


def _failing(errors: list[BaseException]) -> tuple[Callable[[], str], list[int]]:
    calls: list[int] = []
    queue: Iterator[BaseException] = iter(errors)

    def fn() -> str:
        calls.append(1)
        error = next(queue, None)
        if error is not None:
            raise error
        return "done"

    return fn, calls


@pytest.mark.parametrize(
    ("orig", "expected"),
    [
        (_DriverError("database is locked"), True),
        (_DriverError("could not serialize access", sqlstate="40001"), True),
        (_DriverError("deadlock detected", sqlstate="40P01"), True),
        (_DriverError(1213, "Deadlock found"), True),
        (_DriverError("syntax error", sqlstate="42601"), False),
    ],
)
def test_is_transient(orig: Exception, expected: bool) -> None:
    assert retries.is_transient(OperationalError("x", {}, orig)) is expected
    assert not retries.is_transient(ValueError("database is locked"))


@pytest.mark.parametrize(
    ("orig", "expected"),
    [
        (_DriverError("terminating connection due to administrator command", sqlstate="57P01"), True),
        (_DriverError("connection failure", sqlstate="08006"), True),
        (_DriverError(2013, "Lost connection to MySQL server during query"), True),
        (_DriverError(1927, "Connection was killed"), True),
        (_DriverError("database is locked"), False),
        (None, False),
    ],
)
def test_is_disconnect_error(orig: Exception | None, expected: bool) -> None:
    assert retries.is_disconnect_error(orig) is expected


def test_lock_errors_are_retried_then_answer_503() -> None:
    fn, calls = _failing([_locked(), _locked()])
    assert retries.with_retries(fn) == "done" and len(calls) == 3
    fn, calls = _failing([_locked()] * 10)
    with pytest.raises(MltrailError) as info:
        retries.with_retries(fn, attempts=3)
    assert info.value.error_code == TEMPORARILY_UNAVAILABLE and len(calls) == 3


def test_a_connection_lost_before_commit_is_replayed() -> None:
    before = retries.retry_counts["disconnect"]
    fn, calls = _failing([_lost(uncommitted=True)])
    assert retries.with_retries(fn) == "done" and len(calls) == 2
    assert retries.retry_counts["disconnect"] == before + 1


def test_a_lost_commit_is_replayed_only_for_replayable_work() -> None:
    fn, calls = _failing([_lost()])
    assert retries.with_retries(fn, replayable=True) == "done" and len(calls) == 2
    fn, calls = _failing([_lost()])
    with pytest.raises(MltrailError) as info:
        retries.with_retries(fn)
    assert info.value.error_code == DEADLINE_EXCEEDED and len(calls) == 1


def test_reconnecting_stops_after_reconnect_seconds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(retries, "RECONNECT_SECONDS", 0.0)
    fn, calls = _failing([_lost(uncommitted=True)] * 5)
    with pytest.raises(MltrailError) as info:
        retries.with_retries(fn)
    assert info.value.error_code == TEMPORARILY_UNAVAILABLE and len(calls) == 1


def test_other_errors_are_raised_unchanged() -> None:
    error = OperationalError("x", {}, _DriverError("syntax error", sqlstate="42601"))
    fn, calls = _failing([error])
    with pytest.raises(OperationalError) as info:
        retries.with_retries(fn, replayable=True)
    assert info.value is error and len(calls) == 1
