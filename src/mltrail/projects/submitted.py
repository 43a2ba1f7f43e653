"""A launched project run: wait for it, ask its status, cancel it.

:class:`LocalSubmittedRun` owns the child process (started in its own process group, so cancel reaches
everything it started). Two threads copy the child's stdout and stderr as they arrive to this process's
streams and to log files; when the child exits the logs are logged as the run's artifacts
(``project_logs/stdout.txt`` and ``project_logs/stderr.txt``) and the run is ended FINISHED (exit status 0),
FAILED (any other) or KILLED (cancelled), unless the project's code already ended it, as MLflow does.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import IO, TYPE_CHECKING

from mltrail.entities import RunStatus

if TYPE_CHECKING:
    from mltrail.tracking.client import MltrailClient

LOG_ARTIFACT_DIR = "project_logs"
CANCEL_GRACE_S = 5.0
PUMP_DRAIN_S = 10.0
_CHUNK = 1 << 14


class SubmittedRun(ABC):
    """A project run that has been launched (MLflow's ``SubmittedRun``)."""

    @property
    @abstractmethod
    def run_id(self) -> str:
        """The tracking run's id."""

    @abstractmethod
    def wait(self) -> bool:
        """Block until the run ends; True when it FINISHED."""

    @abstractmethod
    def get_status(self) -> str:
        """``RUNNING``, ``FINISHED``, ``FAILED`` or ``KILLED``."""

    @abstractmethod
    def cancel(self) -> None:
        """Stop the run (and what it started) and mark it KILLED; waits until it has stopped."""


class LocalSubmittedRun(SubmittedRun):
    """A run whose command is a child process of this one.

    Args:
        run_id: the tracking run.
        process: the child, started with piped stdout/stderr in a new session.
        client: the client to end the run and log artifacts with.
        echo: copy the child's output to this process's stdout/stderr as it arrives.
        on_exit: called once after the run has been ended (e.g. to remove a fetched checkout).
    """

    def __init__(
        self,
        run_id: str,
        process: subprocess.Popen[bytes],
        client: MltrailClient,
        echo: bool = True,
        on_exit: Callable[[], None] | None = None,
    ) -> None:
        self._run_id = run_id
        self.process = process
        self._client = client
        self._on_exit = on_exit
        self._cancelled = False
        self._status: str | None = None
        self._done = threading.Event()
        self._finish_lock = threading.Lock()
        self._log_dir = Path(tempfile.mkdtemp(prefix="mltrail-project-logs-"))
        self._pumps = [
            _pump(process.stdout, self._log_dir / "stdout.txt", sys.stdout if echo else None),
            _pump(process.stderr, self._log_dir / "stderr.txt", sys.stderr if echo else None),
        ]
        self._watcher = threading.Thread(target=self._watch, name=f"mltrail-project-{run_id[:8]}", daemon=True)
        self._watcher.start()

    @property
    def run_id(self) -> str:
        return self._run_id

    @property
    def returncode(self) -> int | None:
        """The child's exit status, None while it runs."""
        return self.process.poll()

    def wait(self) -> bool:
        self._done.wait()
        return self._status == RunStatus.FINISHED.value

    def get_status(self) -> str:
        if self._status is not None:
            return self._status
        if self.process.poll() is None:
            return RunStatus.RUNNING.value
        self._done.wait()
        return self._status or RunStatus.FAILED.value

    def cancel(self) -> None:
        self._cancelled = True
        if self.process.poll() is None:
            _signal_group(self.process, signal.SIGTERM)
            try:
                self.process.wait(CANCEL_GRACE_S)
            except subprocess.TimeoutExpired:
                _signal_group(self.process, signal.SIGKILL)
        self._done.wait()

    def _watch(self) -> None:
        code = self.process.wait()
        for pump in self._pumps:  # a background grandchild may hold the pipe open: do not wait for it forever
            pump.join(timeout=PUMP_DRAIN_S)
        status = RunStatus.FINISHED if code == 0 else RunStatus.FAILED
        if self._cancelled:
            status = RunStatus.KILLED
        try:
            self._finish(status)
        finally:
            self._done.set()

    def _finish(self, status: RunStatus) -> None:
        with self._finish_lock:
            try:
                for name in ("stdout.txt", "stderr.txt"):
                    self._client.log_artifact(self._run_id, self._log_dir / name, LOG_ARTIFACT_DIR)
            except Exception as exc:  # logs are a courtesy: the run's status matters more
                print(f"mltrail: could not keep the project's logs: {exc}", file=sys.stderr)
            final = status
            with contextlib.suppress(Exception):
                current = self._client.get_run(self._run_id).info.status
                if current != RunStatus.RUNNING and not self._cancelled:
                    final = current  # the project's code ended the run itself
            if final == status:
                self._client.set_terminated(self._run_id, status)
            self._status = final.value
            shutil.rmtree(self._log_dir, ignore_errors=True)
            if self._on_exit is not None:
                with contextlib.suppress(Exception):
                    self._on_exit()


def _signal_group(process: subprocess.Popen[bytes], sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if hasattr(os, "killpg"):
            os.killpg(process.pid, sig)
        else:  # pragma: no cover - Windows
            process.send_signal(sig)


def _pump(source: IO[bytes] | None, log_file: Path, echo: IO[str] | None) -> threading.Thread:
    """Copy ``source`` to ``log_file`` and ``echo`` (as it arrives) on a thread; returns the started thread."""

    def copy() -> None:
        with open(log_file, "wb") as out:
            if source is None:
                return
            sink = getattr(echo, "buffer", None) if echo is not None else None
            fd = source.fileno()
            while True:
                chunk = os.read(fd, _CHUNK)
                if not chunk:
                    break
                out.write(chunk)
                out.flush()
                if echo is not None:
                    with contextlib.suppress(Exception):
                        if sink is not None:
                            echo.flush()
                            sink.write(chunk)
                            sink.flush()
                        else:  # a text-only stream (e.g. pytest's capture)
                            echo.write(chunk.decode(errors="replace"))
                            echo.flush()
            source.close()

    thread = threading.Thread(target=copy, daemon=True)
    thread.start()
    return thread
