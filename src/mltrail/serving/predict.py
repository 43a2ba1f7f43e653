"""Offline scoring for ``mltrail models predict``: one input file through the same parsing as ``/invocations``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from mltrail import errors
from mltrail.serving.formats import CONTENT_TYPE_CSV, CONTENT_TYPE_JSON
from mltrail.serving.scoring import Scorer

_CONTENT_TYPES = {"json": CONTENT_TYPE_JSON, "csv": CONTENT_TYPE_CSV}


def predict_file(
    model: Any, input_path: str | None, output_path: str | None = None, content_type: str = "json"
) -> bytes:
    """Score the body in ``input_path`` (stdin when None) and write the JSON response to ``output_path`` (stdout).

    Args:
        model: a loaded model (see :class:`~mltrail.serving.scoring.Scorer`).
        input_path: a JSON body (as sent to ``/invocations``) or a CSV file.
        output_path: where to write ``{"predictions": ...}``; stdout when None.
        content_type: ``json`` or ``csv``.

    Returns:
        The response bytes.

    Raises:
        MltrailError: bad content type, unreadable file, bad input or a failing model (MLflow's messages).
    """
    mime = _CONTENT_TYPES.get(content_type.lower())
    if mime is None:
        raise errors.invalid(f"Unknown content type '{content_type}': use json or csv.")
    try:
        body = Path(input_path).read_bytes() if input_path else sys.stdin.buffer.read()
    except OSError as exc:
        raise errors.invalid(f"Cannot read {input_path}: {exc.strerror or exc}") from exc
    result = Scorer(model).score(body, mime)
    if output_path:
        Path(output_path).write_bytes(result)
    else:
        sys.stdout.buffer.write(result + b"\n")
        sys.stdout.flush()
    return result
