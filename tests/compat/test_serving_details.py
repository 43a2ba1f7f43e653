"""Serving a registered chat model that the official clients touch: the ``mlflow`` client sets the alias, ``mltrail
models serve --tracking-uri`` serves it, and the official ``openai`` client sees one name (``<name>/<version>``) on
every route. Also the message for an ``/invocations`` body without ``messages``."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.server.live import free_port
from tests.serving.chat_echo import model_kwargs
from tests.serving.live import models_serve

openai = pytest.importorskip("openai")


@pytest.fixture
def served_chat(client: Any, experiment_name: str, server_url: str, clean_fluent_state: Path) -> Iterator[str]:
    """Two versions of a chat model logged with mltrail, alias ``champion`` -> 1 set by the official client, served
    from ``models:/<name>@champion`` against the live server; yields ``(url, name)``."""
    import mltrail
    import mltrail.pyfunc

    name = f"echo-{uuid.uuid4().hex[:8]}"
    mltrail.set_tracking_uri(server_url)
    mltrail.set_experiment(experiment_name)
    with mltrail.start_run():
        for _ in range(2):
            mltrail.pyfunc.log_model(name="chat", **model_kwargs(clean_fluent_state), registered_model_name=name)
    client.set_registered_model_alias(name, "champion", "1")
    assert client.get_model_version_by_alias(name, "champion").version == "1"
    port = free_port()
    args = ["-m", f"models:/{name}@champion", "-p", str(port), "--tracking-uri", server_url]
    with models_serve(args, port, cwd=clean_fluent_state) as url:
        yield url, name


def test_openai_client_sees_registered_name_and_version(served_chat: tuple[str, str]) -> None:
    url, name = served_chat
    oa = openai.OpenAI(base_url=f"{url}/v1", api_key="unused")
    assert [m.id for m in oa.models.list()] == [f"{name}/1"]
    completion = oa.chat.completions.create(model=name, messages=[{"role": "user", "content": "Bonjour"}])
    assert completion.model == f"{name}/1"
    assert completion.choices[0].message.content == "Bonjour"
    [answer] = httpx.post(f"{url}/invocations", json={"messages": [{"role": "user", "content": "Hola"}]}).json()
    assert answer["model"] == f"{name}/1"  # the same name as /v1, not the model's own "echo-source"


def test_invocations_without_messages_names_the_field(served_chat: tuple[str, str]) -> None:
    url, _ = served_chat
    response = httpx.post(f"{url}/invocations", json={"max_tokens": 5})
    assert response.status_code == 400
    body = response.json()
    assert body["error_code"] == "BAD_REQUEST"
    assert body["message"].startswith("This chat model expects a 'messages' field")
    assert "['max_tokens']" in body["message"]
