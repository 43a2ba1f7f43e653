"""An HTTP client for MLflow-compatible servers: keep-alive, auth, retries with backoff, MLflow errors.

Errors in MLflow's JSON shape become :class:`MltrailError` with the same code; a bare status becomes the code
MLflow's client infers. Connection failures, 429 and 503 are retried for every call (the server did not act);
other 5xx and timeouts only for calls marked idempotent.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, BinaryIO

from mltrail import errors
from mltrail.errors import MltrailError, error_code_for_http_status

if TYPE_CHECKING:
    import httpx

USER_AGENT = "mltrail-python-client"
_ALWAYS_RETRY_STATUSES = frozenset({429, 503})
_IDEMPOTENT_RETRY_STATUSES = frozenset({408, 500, 502, 504})


def _env(*names: str) -> str | None:
    for name in names:
        value = os.environ.get(name)
        if value:
            return value
    return None


class HttpClient:
    """A thread-safe, keep-alive HTTP client bound to one server.

    Args:
        base_url: the server root, e.g. ``http://127.0.0.1:5000``.
        max_retries: retries after the first attempt (``MLTRAIL_HTTP_REQUEST_MAX_RETRIES``, default 7).
        backoff_factor: seconds for the first backoff, doubled each retry, capped at ``backoff_max``.
        timeout: seconds per request (``MLTRAIL_HTTP_REQUEST_TIMEOUT``, default 120).
    """

    def __init__(
        self,
        base_url: str,
        max_retries: int | None = None,
        backoff_factor: float = 0.1,
        backoff_max: float = 10.0,
        timeout: float | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.max_retries = (
            max_retries
            if max_retries is not None
            else int(_env("MLTRAIL_HTTP_REQUEST_MAX_RETRIES", "MLFLOW_HTTP_REQUEST_MAX_RETRIES") or 7)
        )
        self.backoff_factor = backoff_factor
        self.backoff_max = backoff_max
        self.timeout = (
            timeout
            if timeout is not None
            else float(_env("MLTRAIL_HTTP_REQUEST_TIMEOUT", "MLFLOW_HTTP_REQUEST_TIMEOUT") or 120)
        )
        self._local = threading.local()

    # httpx.Client is thread-safe, but one per thread keeps connection pools uncontended.
    @property
    def _client(self) -> httpx.Client:
        client = getattr(self._local, "client", None)
        if client is None:
            import httpx

            headers = {"User-Agent": USER_AGENT}
            auth: Any = None
            token = _env("MLTRAIL_TRACKING_TOKEN", "MLFLOW_TRACKING_TOKEN")
            user = _env("MLTRAIL_TRACKING_USERNAME", "MLFLOW_TRACKING_USERNAME")
            if token:
                headers["Authorization"] = f"Bearer {token}"
            elif user:
                auth = (user, _env("MLTRAIL_TRACKING_PASSWORD", "MLFLOW_TRACKING_PASSWORD") or "")
            insecure = (_env("MLTRAIL_TRACKING_INSECURE_TLS", "MLFLOW_TRACKING_INSECURE_TLS") or "").lower() == "true"
            client = httpx.Client(
                base_url=self.base_url,
                headers=headers,
                auth=auth,
                timeout=self.timeout,
                verify=not insecure,
                limits=httpx.Limits(max_keepalive_connections=8, keepalive_expiry=30),
            )
            self._local.client = client
        return client

    def _sleep_before_retry(self, attempt: int) -> None:
        delay = min(self.backoff_max, self.backoff_factor * (2**attempt))
        time.sleep(delay * (0.5 + random.random() / 2))

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
        content: bytes | BinaryIO | Iterator[bytes] | None = None,
        content_factory: Callable[[], BinaryIO] | None = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool = False,
        stream: bool = False,
        follow_redirects: bool = False,
    ) -> httpx.Response:
        """Send a request, retrying as described above; return the response of the last attempt.

        A streamed body that cannot be replayed (``content`` as a file or iterator) is sent once; pass
        ``content_factory`` (e.g. a function that reopens a file) to make it retryable. ``follow_redirects``
        follows redirects (a server's presigned download URLs); credentials are not sent to another origin.

        Raises:
            MltrailError: TEMPORARILY_UNAVAILABLE when the server cannot be reached after all retries.
        """
        import httpx

        retryable_body = content is None or isinstance(content, bytes) or content_factory is not None
        attempt = 0
        while True:
            opened = content_factory() if content_factory is not None else None
            if opened is not None:
                content = opened
            try:
                request = self._client.build_request(
                    method, path, json=json, params=params, content=content, headers=headers
                )
                response = self._client.send(request, stream=stream, follow_redirects=follow_redirects)
            except httpx.ConnectError as exc:
                if attempt >= self.max_retries or not retryable_body:
                    raise MltrailError(
                        f"Cannot reach the tracking server at {self.base_url}: {exc}", "TEMPORARILY_UNAVAILABLE"
                    ) from None
            except (httpx.TimeoutException, httpx.RemoteProtocolError, httpx.ReadError) as exc:
                if not idempotent or attempt >= self.max_retries or not retryable_body:
                    raise MltrailError(
                        f"Request {method} {path} to {self.base_url} failed: {type(exc).__name__}: {exc}",
                        "TEMPORARILY_UNAVAILABLE",
                    ) from None
            else:
                status = response.status_code
                retry = status in _ALWAYS_RETRY_STATUSES or (idempotent and status in _IDEMPOTENT_RETRY_STATUSES)
                if not retry or attempt >= self.max_retries or not retryable_body:
                    return response
                response.close()
            finally:
                if opened is not None:
                    opened.close()
            self._sleep_before_retry(attempt)
            attempt += 1

    def call(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None = None,
        idempotent: bool = False,
    ) -> dict[str, Any]:
        """Call a JSON endpoint: GET and DELETE-with-query send ``body`` as a query string, others as JSON.

        Returns:
            The decoded JSON object ({} for an empty body).

        Raises:
            MltrailError: the server's error, with its code.
        """
        if method == "GET":
            response = self.request(method, path, params=_query(body or {}), idempotent=True)
        else:
            response = self.request(method, path, json=body or {}, idempotent=idempotent)
        return decode_response(response)

    @contextmanager
    def stream(self, method: str, path: str, **kwargs: Any) -> Iterator[httpx.Response]:
        """A streamed response, closed on exit; non-2xx statuses raise :class:`MltrailError`."""
        response = self.request(method, path, stream=True, idempotent=True, **kwargs)
        try:
            if response.status_code >= 300:
                response.read()
                decode_response(response)
            yield response
        finally:
            response.close()

    def close(self) -> None:
        """Close this thread's connection pool."""
        client = getattr(self._local, "client", None)
        if client is not None:
            client.close()
            self._local.client = None


_shared: dict[str, HttpClient] = {}
_shared_lock = threading.Lock()


def shared_client(base_url: str) -> HttpClient:
    """One keep-alive :class:`HttpClient` per server root URL, shared by every store that talks to it."""
    base = base_url.rstrip("/")
    with _shared_lock:
        client = _shared.get(base)
        if client is None:
            client = _shared[base] = HttpClient(base)
        return client


def _query(body: Mapping[str, Any]) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for key, value in body.items():
        if value is None:
            continue
        values = value if isinstance(value, (list, tuple)) else [value]
        for item in values:
            pairs.append((key, ("true" if item else "false") if isinstance(item, bool) else str(item)))
    return pairs


def decode_response(response: httpx.Response) -> dict[str, Any]:
    """Decode a JSON response, raising :class:`MltrailError` for an error status.

    Raises:
        MltrailError: with the body's ``error_code`` when it is MLflow's error shape, else the code for the status.
    """
    status = response.status_code
    data: Any = None
    if response.content:
        try:
            data = response.json()
        except ValueError:
            data = None
    if status >= 300:
        if isinstance(data, dict) and "error_code" in data:
            raise MltrailError(data.get("message", ""), data["error_code"])
        text = response.text[:500] if response.content else ""
        raise MltrailError(
            f"API request to {response.request.url} failed with status {status}: {text}".rstrip(": "),
            error_code_for_http_status(status),
        )
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise errors.invalid(f"Unexpected response from {response.request.url}: {data!r}")
    return data


def drop_none(body: dict[str, Any]) -> dict[str, Any]:
    """A request body without its unset (None) fields, as MLflow's client leaves them out."""
    return {k: v for k, v in body.items() if v is not None}


def key_value_dicts(items: Sequence[Any] | None) -> list[dict[str, str]]:
    """Key/value entities (params, tags) as MLflow's repeated ``{"key", "value"}`` messages."""
    return [{"key": i.key, "value": i.value} for i in items or []]
