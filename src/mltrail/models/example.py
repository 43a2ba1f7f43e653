"""Input examples: ``input_example.json`` and ``serving_input_example.json`` (MLflow format §3.4).

- DataFrame -> ``{"columns": [...], "data": [[...]]}`` (``type: dataframe``, ``pandas_orient: split``;
  ``columns`` left out for a default 0..n-1 column index), served as ``{"dataframe_split": ...}``;
- ndarray (or dict of ndarrays) -> nested lists (``type: ndarray``), served as ``{"inputs": ...}``;
- dict, list, scalar -> as is (``type: json_object``), served as ``{"inputs": ...}``, except unified LLM dicts
  (with ``messages``, ``prompt`` or ``input``) which are served as they are;
- ``(data, params)`` tuples -> ``{"inputs": data, "params": params}`` with ``saved_input_example_info.params``
  ``'true'``, and ``"params"`` in the serving example;
- MLflow's example objects: its ``_Example`` (data and params), pydantic models (``model_dump()``) and its LLM
  dataclasses such as ``ChatCompletionRequest`` (``to_dict()``) are saved as the data they hold.
NaN becomes null, bytes become base64 strings, datetimes ISO strings.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
from copy import deepcopy
from typing import TYPE_CHECKING, Any

from mltrail import errors

if TYPE_CHECKING:
    from mltrail.models.model import Model

EXAMPLE_FILENAME = "input_example.json"
SERVING_INPUT_FILENAME = "serving_input_example.json"
_UNIFIED_LLM_KEYS = ("messages", "prompt", "input")


class _Encoder(json.JSONEncoder):
    """JSON for numpy scalars and arrays, pandas timestamps, bytes and datetimes."""

    def default(self, o: Any) -> Any:
        import numpy as np

        if isinstance(o, np.ndarray):
            return o.tolist()
        if isinstance(o, np.generic):
            return o.item()
        if isinstance(o, (bytes, bytearray)):
            return base64.b64encode(o).decode("ascii")
        if isinstance(o, (dt.datetime, dt.date)) or hasattr(o, "isoformat"):
            return o.isoformat()
        return super().default(o)


def _ndarray_json(array: Any) -> Any:
    import numpy as np

    if np.issubdtype(array.dtype, np.number):
        return np.where(np.isnan(array), None, array).tolist()
    return array.tolist()


def _dataframe_json(frame: Any) -> dict[str, Any]:
    result = frame.astype(object).where(frame.notnull(), None).to_dict(orient="split")
    del result["index"]
    if list(frame.columns) == list(range(len(frame.columns))):
        del result["columns"]
    return result


def _plain(example: Any) -> Any:
    """The data of an example given as an object: MLflow's ``_Example`` (its data and params), a pydantic model
    (``model_dump()``, as MLflow does), or one of MLflow's LLM dataclasses (``to_dict()``); anything else as is."""
    if hasattr(example, "_inference_data") and hasattr(example, "json_input_example"):  # mlflow.models.utils._Example
        params = getattr(example, "_inference_params", None)
        return example._inference_data if params is None else (example._inference_data, params)
    if type(example).__module__.split(".")[0] in ("numpy", "pandas", "scipy", "builtins", "datetime"):
        return example
    dump = getattr(example, "model_dump", None)
    if callable(dump):
        return dump()
    to_dict = getattr(example, "to_dict", None)
    if callable(to_dict) and hasattr(example, "__dataclass_fields__"):
        return to_dict()
    return example


def split_params(example: Any) -> tuple[Any, dict[str, Any] | None]:
    """``(data, params)`` for a ``(data, params)`` tuple, else ``(example, None)``."""
    if isinstance(example, tuple) and len(example) == 2 and isinstance(example[1], dict):
        return example[0], example[1]
    return example, None


class InputExample:
    """An input example ready to be saved: its JSON, its serving JSON and its ``saved_input_example_info``.

    Args:
        example: the data, or a ``(data, params)`` tuple.

    Raises:
        MltrailError: INVALID_PARAMETER_VALUE for an unsupported kind of example.
    """

    def __init__(self, example: Any) -> None:
        data, params = split_params(_plain(deepcopy(example)))
        self.data = data
        self.params = params
        self.info: dict[str, Any] = {"artifact_path": EXAMPLE_FILENAME}
        if params:
            self.info["params"] = "true"
        stored, serving = self._encode(data)
        if params is not None:
            stored = {"inputs": stored, "params": params}
            if serving is not None:
                serving = {**serving, **params} if self._unified else {**serving, "params": params}
        self.json_input_example = json.dumps(stored, cls=_Encoder)
        self.json_serving_input = json.dumps(serving, cls=_Encoder, indent=2) if serving is not None else None
        if self.json_serving_input is not None:
            self.info["serving_input_path"] = SERVING_INPUT_FILENAME

    def _encode(self, data: Any) -> tuple[Any, Any]:
        self._unified = False
        module = type(data).__module__.split(".")[0]
        if module in ("numpy", "pandas"):
            import numpy as np
            import pandas as pd

            if isinstance(data, pd.DataFrame):
                stored = _dataframe_json(data)
                self.info.update({"type": "dataframe", "pandas_orient": "split" if "columns" in stored else "values"})
                return stored, {"dataframe_split": stored}
            if isinstance(data, pd.Series):
                return self._encode(data.to_frame())
            if isinstance(data, np.ndarray):
                self.info["type"] = "ndarray"
                stored = _ndarray_json(data)
                return stored, {"inputs": stored}
            if isinstance(data, np.generic):
                self.info["type"] = "json_object"
                return data.item(), {"inputs": data.item()}
        if hasattr(data, "tocsr") and hasattr(data, "indptr"):
            self.info["type"] = "sparse_matrix_csr" if data.format == "csr" else "sparse_matrix_csc"
            stored = {
                "data": _ndarray_json(data.data),
                "indices": data.indices.tolist(),
                "indptr": data.indptr.tolist(),
                "shape": list(data.shape),
            }
            return stored, {"inputs": data.toarray().tolist()}
        if isinstance(data, dict):
            arrays = [type(v).__name__ == "ndarray" for v in data.values()]
            if any(arrays):
                if not all(arrays):
                    raise errors.invalid(
                        "Mixed types in dictionary are not supported as input examples. "
                        "Found numpy arrays and other types."
                    )
                self.info["type"] = "ndarray"
                stored = {k: _ndarray_json(v) for k, v in data.items()}
                return stored, {"inputs": stored}
            self.info["type"] = "json_object"
            self._unified = any(k in data for k in _UNIFIED_LLM_KEYS)
            return data, data if self._unified else {"inputs": data}
        if isinstance(data, (list, str, bytes, int, float, bool, dt.datetime)):
            self.info["type"] = "json_object"
            return data, {"inputs": data}
        raise errors.invalid(
            "Expected one of the following types:\n- pandas.DataFrame\n- numpy.ndarray\n"
            "- dictionary of (name -> numpy.ndarray)\n- scipy.sparse.csr_matrix\n- scipy.sparse.csc_matrix\n"
            f"- dict\n- list\n- scalars\n- datetime.datetime\nbut got '{type(data)}'"
        )

    def save(self, directory: str) -> None:
        """Write the example files into ``directory``."""
        with open(os.path.join(directory, EXAMPLE_FILENAME), "w", encoding="utf-8") as out:
            out.write(self.json_input_example)
        if self.json_serving_input is not None:
            with open(os.path.join(directory, SERVING_INPUT_FILENAME), "w", encoding="utf-8") as out:
                out.write(self.json_serving_input)


def save_example(model: Model, example: Any, directory: str) -> InputExample | None:
    """Save ``example`` next to the model and record it in ``model.saved_input_example_info``.

    Returns:
        The :class:`InputExample`, or None when ``example`` is None.
    """
    if example is None:
        return None
    saved = example if isinstance(example, InputExample) else InputExample(example)
    saved.save(directory)
    model.saved_input_example_info = saved.info
    return saved


def convert_input_example_to_serving_input(example: Any) -> str | None:
    """The ``/invocations`` JSON body for ``example`` (None for None)."""
    return None if example is None else InputExample(example).json_serving_input


def load_input_example(model: Model, directory: str) -> Any:
    """Read a saved example back as DataFrame, ndarray or JSON value; None when the model has none.

    Raises:
        MltrailError: INVALID_PARAMETER_VALUE for an unknown example type.
    """
    info = model.saved_input_example_info
    if not info:
        return None
    with open(os.path.join(directory, info.get("artifact_path", EXAMPLE_FILENAME)), encoding="utf-8") as handle:
        stored = json.load(handle)
    if info.get("params"):
        stored = stored["inputs"]
    kind = info.get("type")
    if kind == "json_object":
        return stored
    if kind == "ndarray":
        import numpy as np

        if isinstance(stored, dict):
            return {k: np.array(v) for k, v in stored.items()}
        return np.array(stored)
    if kind == "dataframe":
        import pandas as pd

        return pd.DataFrame(stored["data"], columns=stored.get("columns"))
    if kind in ("sparse_matrix_csr", "sparse_matrix_csc"):
        from scipy import sparse

        build = sparse.csr_matrix if kind == "sparse_matrix_csr" else sparse.csc_matrix
        return build((stored["data"], stored["indices"], stored["indptr"]), shape=tuple(stored["shape"]))
    raise errors.invalid(
        "Malformed input example metadata. The 'type' field must be one of 'dataframe', 'ndarray', "
        "'sparse_matrix_csc', 'sparse_matrix_csr' or 'json_object'."
    )
