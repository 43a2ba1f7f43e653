"""The scoring core shared by the server, the batcher and ``mltrail models predict``: parse, predict, encode.

A :class:`Scorer` wraps one loaded model (anything with ``predict(data[, params])``, normally a
:class:`mltrail.pyfunc.PyFuncModel`). Its methods are synchronous and raise
:class:`~mltrail.errors.MltrailError` with MLflow's serving messages; the ASGI app runs them in worker threads.
"""

from __future__ import annotations

import inspect
import logging
from typing import Any

from mltrail.errors import MltrailError
from mltrail.serving.encode import predictions_to_json
from mltrail.serving.errors import UNEXPECTED_MODEL_ERROR, serving_error, shorten, with_serving_fields
from mltrail.serving.formats import ParsedInput, parse_body
from mltrail.serving.schema import ServingSchema, serving_schema_of

logger = logging.getLogger("mltrail.serving")


def _accepts_params(predict: Any) -> bool:
    try:
        parameters = inspect.signature(predict).parameters
    except (TypeError, ValueError):
        return True
    return "params" in parameters or any(p.kind is p.VAR_KEYWORD for p in parameters.values())


def _call(function: Any, *args: Any, **kwargs: Any) -> Any:
    return function(*args, **kwargs)


#: The ``object`` of the responses whose ``model`` field the server sets to the served model's name.
LLM_OBJECTS = frozenset({"chat.completion", "chat.completion.chunk", "text_completion"})


def with_model_name(predictions: Any, name: str) -> Any:
    """``predictions`` with the ``model`` field of every chat/completions object in it (the object itself, or the
    items of a list) set to ``name``; anything else is returned as it is."""
    if isinstance(predictions, dict):
        return {**predictions, "model": name} if predictions.get("object") in LLM_OBJECTS else predictions
    if isinstance(predictions, list) and predictions and isinstance(predictions[0], dict):
        return [
            {**item, "model": name} if isinstance(item, dict) and item.get("object") in LLM_OBJECTS else item
            for item in predictions
        ]
    return predictions


class Scorer:
    """Scores requests against one model.

    Args:
        model: the loaded model; ``model.metadata.signature`` (when present) drives parsing.
        schema: the serving schema; read from the model when omitted.
        response_model: for a language model, the name put in the ``model`` field of its chat/completions
            objects (the name the server shows everywhere); None leaves the model's answers as they are.
    """

    def __init__(self, model: Any, schema: ServingSchema | None = None, response_model: str | None = None) -> None:
        self.model = model
        self.schema = schema if schema is not None else serving_schema_of(model)
        self.response_model = response_model
        self._predict = model.predict
        self._takes_params = _accepts_params(self._predict)

    def parse(self, body: bytes, mime: str) -> ParsedInput:
        """Parse a request body of a served content type (see :mod:`mltrail.serving.formats`)."""
        return parse_body(body, mime, self.schema)

    def predict(self, data: Any, params: dict[str, Any] | None = None, owned: bool = False) -> Any:
        """Call the model, turning failures into MLflow's serving errors.

        ``owned``: the caller built ``data`` and holds it nowhere else (a parsed request), so the model may get it
        as it is rather than a copy (see :func:`mltrail.models.enforce.call_with_own_input`).

        Raises:
            MltrailError: the model's own error (e.g. schema enforcement) prefixed with "Failed to predict
                data ...", or BAD_REQUEST "Encountered an unexpected error while evaluating the model..."
                with ``stack_trace`` for any other exception.
        """
        if owned:
            from mltrail.models.enforce import call_with_own_input as call  # pandas: imported once a model runs
        else:
            call = _call
        try:
            if self._takes_params:
                result = call(self._predict, data, params=params)
            else:
                if params:
                    logger.warning("The model's predict takes no params; ignoring params %s", list(params))
                result = call(self._predict, data)
        except MltrailError as exc:
            shown = shorten(str(data))
            message = f"Failed to predict data '{shown}'. \nError: {exc.message}"
            error = MltrailError(message, exc.error_code, **exc.details)
            raise with_serving_fields(error) from exc
        except Exception as exc:
            raise serving_error(
                f"{UNEXPECTED_MODEL_ERROR} Error: {shorten(f'{type(exc).__name__}: {exc}', 500)}", stack_trace=True
            ) from exc
        return result if self.response_model is None else with_model_name(result, self.response_model)

    @staticmethod
    def encode(predictions: Any, unwrapped: bool = False) -> bytes:
        """The JSON response body for ``predictions``."""
        try:
            return predictions_to_json(predictions, unwrapped)
        except (TypeError, ValueError) as exc:
            raise serving_error(
                f"The model's output of type {type(predictions).__name__} cannot be written as JSON: {exc}",
                "INTERNAL_ERROR",
            ) from exc

    def score_parsed(self, parsed: ParsedInput) -> bytes:
        """Predict and encode an already parsed request."""
        return self.encode(self.predict(parsed.data, parsed.params, owned=parsed.is_frame), parsed.unified_llm)

    def score(self, body: bytes, mime: str) -> bytes:
        """Parse, predict and encode one request."""
        return self.score_parsed(self.parse(body, mime))
