"""A chat PythonModel written as models-from-code (so a ``mltrail models serve`` subprocess loads it): it answers
with the last message's content, in a chat.completion whose ``model`` field is its own (``"echo-source"``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

CHAT_CODE = """
from mltrail.models import set_model
from mltrail.pyfunc import PythonModel


class Echo(PythonModel):
    def predict(self, context, model_input, params=None):
        rows = model_input.to_dict("records") if hasattr(model_input, "to_dict") else [model_input]
        return [
            {
                "id": "chatcmpl-echo",
                "object": "chat.completion",
                "created": 0,
                "model": "echo-source",
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": row["messages"][-1]["content"]},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
            }
            for row in rows
        ]


set_model(Echo())
"""

EXAMPLE = {"messages": [{"role": "user", "content": "hello"}]}


def model_kwargs(root: Path) -> dict[str, Any]:
    """``python_model`` (the code file, written into ``root``) and ``signature`` for ``save_model``/``log_model``."""
    from mltrail.models import infer_signature

    code = root / "chat_echo_model.py"
    code.write_text(CHAT_CODE)
    return {"python_model": str(code), "signature": infer_signature(EXAMPLE, [{"object": "chat.completion"}])}
