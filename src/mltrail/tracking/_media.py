"""Turning in-memory objects into artifact files: images, figures, tables, dicts.

numpy, PIL, matplotlib, plotly, pandas and yaml are imported only inside the functions that need them.
"""

from __future__ import annotations

import json
import math
import re
import warnings
from collections.abc import Callable, Mapping
from typing import Any

from mltrail import errors
from mltrail.errors import MltrailError

#: Longest side of the ``.webp`` preview logged next to each image, as MLflow does.
COMPRESSED_IMAGE_SIZE = 256
IMAGE_KEY_PATTERN = re.compile(r"^[a-zA-Z0-9_\-./ ]+$")
_TABLE_FORBIDDEN = ('"', "'", ",", ":", "[", "]", "{", "}")


# ------------------------------------------------------------------------------------------------ images
def is_pil_image(obj: Any) -> bool:
    """Whether ``obj`` looks like a PIL image (has ``save``, ``resize`` and ``size``) without importing PIL."""
    return callable(getattr(obj, "save", None)) and callable(getattr(obj, "resize", None)) and hasattr(obj, "size")


def to_pil_image(image: Any) -> Any:
    """Convert a numpy array (or anything with ``to_pil``) to a PIL image; PIL images pass through.

    Arrays follow MLflow's rules: bool, integers in [0, 255] or floats in [0, 1] (other floats are min/max
    rescaled with a warning); shapes H x W, H x W x 1, H x W x 3 (RGB) or H x W x 4 (RGBA).

    Raises:
        TypeError: for an unsupported object or dtype.
        ValueError: for a bad shape or integers out of range.
    """
    if callable(getattr(image, "to_pil", None)):
        return image.to_pil()
    if type(image).__module__ == "numpy" and type(image).__name__ == "ndarray":
        return _array_to_pil(image)
    if is_pil_image(image) and type(image).__module__.startswith("PIL"):
        return image
    raise TypeError(
        f"Unsupported image object type: {type(image)}. `image` must be a numpy.ndarray or a PIL.Image.Image."
    )


def _array_to_pil(array: Any) -> Any:
    import numpy as np
    from PIL import Image

    if array.dtype.kind not in "biuf":
        raise TypeError(f"Invalid array data type: '{array.dtype}'. Must be bool, integer or floating")
    if array.ndim not in (2, 3):
        raise ValueError(f"`image` must be a 2D or 3D array but got image shape: {array.shape}")
    if array.ndim == 3 and array.shape[2] not in (1, 3, 4):
        raise ValueError(f"Invalid channel length: {array.shape[2]}. Must be one of [1, 3, 4]")
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    is_int = array.dtype.kind in "iu"
    high = 255 if is_int else 1
    if array.size and (array.min() < 0 or array.max() > high):
        if is_int:
            raise ValueError(
                "Integer pixel values out of acceptable range [0, 255]. "
                f"Found minimum value {array.min()} and maximum value {array.max()}."
            )
        warnings.warn(
            f"Float pixel values out of acceptable range [0.0, 1.0]. Found minimum value {array.min()} and "
            f"maximum value {array.max()}. Rescaling values to [0.0, 1.0] with min/max scaler.",
            stacklevel=4,
        )
        span = array.max() - array.min()
        array = (array - array.min()) / (span if span else 1)
    if not is_int:
        array = array * 255
    return Image.fromarray(np.asarray(array).astype(np.uint8))


def compress_image(image: Any, max_size: int = COMPRESSED_IMAGE_SIZE) -> Any:
    """A copy of a PIL image scaled to fit in ``max_size`` x ``max_size``, keeping its aspect ratio."""
    width, height = image.size
    if width > height:
        new = (max_size, max(1, int(height * max_size / width)))
    else:
        new = (max(1, int(width * max_size / height)), max_size)
    return image.resize(new)


def stepped_image_paths(key: str, step: int, timestamp: int, uid: str) -> tuple[str, str]:
    """MLflow's artifact paths of a time-stepped image: full-size ``.png`` and compressed ``.webp``.

    Raises:
        ValueError: for a key with characters other than alphanumerics, ``_ - . /`` and space.
    """
    if not IMAGE_KEY_PATTERN.match(key):
        raise ValueError(
            "The `key` parameter may only contain alphanumerics, underscores (_), dashes (-), periods (.), "
            f"spaces ( ), and slashes (/). The provided key `{key}` contains invalid characters."
        )
    base = f"images/{key.replace('/', '~')}+step+{step}+timestamp+{timestamp}+{uid}"
    return f"{base}.png", f"{base}+compressed.webp"


# ----------------------------------------------------------------------------------------------- figures
def save_figure(figure: Any, path: str, save_kwargs: Mapping[str, Any] | None = None) -> None:
    """Save a matplotlib or plotly figure to ``path`` (format from the extension).

    Raises:
        TypeError: for another kind of object.
    """
    module = type(figure).__module__
    kwargs = dict(save_kwargs or {})
    if module.startswith("matplotlib"):
        figure.savefig(path, **kwargs)
    elif module.startswith("plotly"):
        if path.endswith(".html"):
            kwargs.setdefault("include_plotlyjs", "cdn")
            kwargs.setdefault("auto_open", False)
            figure.write_html(path, **kwargs)
        else:
            figure.write_image(path, **kwargs)
    else:
        raise TypeError(f"Unsupported figure object type: '{type(figure)}'")


# ------------------------------------------------------------------------------------------------ dicts
def dump_dict(dictionary: Any, artifact_file: str) -> str:
    """Serialise ``dictionary`` as YAML for ``.yaml``/``.yml`` files and as indented JSON otherwise."""
    if artifact_file.endswith((".yaml", ".yml")):
        import yaml

        return yaml.safe_dump(dictionary, default_flow_style=False, sort_keys=True)
    return json.dumps(dictionary, indent=2)


# ------------------------------------------------------------------------------------------------ tables
def check_table_file(artifact_file: str) -> None:
    """Check a table's artifact path as MLflow does.

    Raises:
        ValueError: for a forbidden character or an extension other than ``.json`` / ``.parquet``.
    """
    for char in _TABLE_FORBIDDEN:
        if char in artifact_file:
            raise ValueError(f"The artifact_file contains forbidden character: {char}")
    if not artifact_file.endswith((".json", ".parquet")):
        raise ValueError(
            f"Invalid artifact file path '{artifact_file}'. Please ensure the file you are trying to log as a "
            "table has a file name with either '.json' or '.parquet' extension."
        )


def is_dataframe(data: Any) -> bool:
    """Whether ``data`` is a pandas DataFrame (checked without importing pandas)."""
    return type(data).__name__ == "DataFrame" and type(data).__module__.startswith("pandas")


def table_from_data(data: Any, log_image: Callable[[Any], dict[str, str]]) -> dict[str, list[Any]]:
    """MLflow's table format ``{"columns": [...], "data": [[...], ...]}`` for a dict or a DataFrame.

    A dict of equal-length lists is one row per index; a dict of scalars is one row. Columns holding only
    images are logged through ``log_image`` and replaced by the reference it returns.

    Raises:
        MltrailError: INVALID_PARAMETER_VALUE for other data.
        ValueError: for a column mixing images and other values.
    """
    if is_dataframe(data):
        return _table_from_dataframe(data, log_image)
    if not isinstance(data, Mapping):
        raise errors.invalid("data must be a pandas.DataFrame or a dictionary")
    columns = [str(c) for c in data]
    values = [_as_column(v) for v in data.values()]
    if all(v is None for v in values):
        rows: list[list[Any]] = [list(data.values())]
    else:
        lengths = {len(v) for v in values if v is not None}
        if len(lengths) > 1:
            raise errors.invalid("All table columns must have the same length")
        n = lengths.pop()
        cols = [v if v is not None else [orig] * n for v, orig in zip(values, data.values(), strict=True)]
        rows = [list(r) for r in zip(*cols, strict=True)] if cols else []
    for index, name in enumerate(columns):
        column = [row[index] for row in rows]
        flags = [is_pil_image(x) for x in column]
        if any(flags) and not all(flags):
            raise ValueError(
                f"Column `{name}` contains a mix of images and non-images. "
                "Please ensure that all elements in the column are of the same type."
            )
        if column and all(flags):
            for row in rows:
                row[index] = log_image(row[index])
    return {"columns": columns, "data": [[_jsonable(x) for x in row] for row in rows]}


def _as_column(value: Any) -> list[Any] | None:
    if isinstance(value, (list, tuple)):
        return list(value)
    if type(value).__module__.split(".")[0] in ("numpy", "pandas") and hasattr(value, "tolist"):
        listed = value.tolist()
        return listed if isinstance(listed, list) else None
    return None


def _table_from_dataframe(df: Any, log_image: Callable[[Any], dict[str, str]]) -> dict[str, list[Any]]:
    df = df.copy()
    for column in [c for c in df.columns if df[c].dtype == object]:  # images only live in object columns
        flags = df[column].map(is_pil_image)
        if flags.any() and not flags.all():
            raise ValueError(
                f"Column `{column}` contains a mix of images and non-images. "
                "Please ensure that all elements in the column are of the same type."
            )
        if len(flags) and flags.all():
            df[column] = df[column].map(log_image)
    try:
        table = json.loads(df.to_json(orient="split", index=False, date_format="iso"))
    except Exception as exc:
        raise MltrailError(f"Failed to save the DataFrame as a table: it is not JSON serialisable ({exc})") from exc
    return {"columns": [str(c) for c in table["columns"]], "data": table["data"]}


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return _jsonable(value.item())
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "tolist"):
        return _jsonable(value.tolist())
    raise MltrailError(f"Failed to save the table: a value of type {type(value).__name__} is not JSON serialisable")


def merge_tables(existing: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, list[Any]]:
    """Append ``new``'s rows to ``existing``'s, over the union of their columns (missing cells are null)."""
    columns = list(existing.get("columns", []))
    columns += [c for c in new["columns"] if c not in columns]

    def rows_of(table: Mapping[str, Any]) -> list[list[Any]]:
        index = {c: i for i, c in enumerate(table.get("columns", []))}
        return [[row[index[c]] if c in index else None for c in columns] for row in table.get("data", [])]

    return {"columns": columns, "data": rows_of(existing) + rows_of(new)}


def write_table(table: Mapping[str, Any], path: str) -> None:
    """Write a table as ``.json`` (MLflow's split format) or ``.parquet`` (needs pandas and pyarrow)."""
    if path.endswith(".parquet"):
        import pandas as pd

        pd.DataFrame(table["data"], columns=table["columns"]).to_parquet(path, index=False)
        return
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"columns": table["columns"], "data": table["data"]}, f)


def read_table(path: str) -> dict[str, list[Any]]:
    """Read a table written by :func:`write_table` (or by MLflow)."""
    if path.endswith(".parquet"):
        import pandas as pd

        return json.loads(pd.read_parquet(path).to_json(orient="split", index=False, date_format="iso"))
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    return {"columns": data.get("columns", []), "data": data.get("data", [])}
