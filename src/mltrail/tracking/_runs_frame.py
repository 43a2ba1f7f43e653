"""``search_runs`` results as a pandas DataFrame, in MLflow's column layout."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from mltrail.entities import Run

if TYPE_CHECKING:
    import pandas

INFO_COLUMNS = ("run_id", "experiment_id", "status", "artifact_uri", "start_time", "end_time")


def runs_to_dataframe(runs: Sequence[Run]) -> pandas.DataFrame:
    """One row per run: ``run_id, experiment_id, status, artifact_uri, start_time, end_time``, then
    ``metrics.<key>`` (NaN when absent), ``params.<key>`` and ``tags.<key>`` (None when absent).

    Times are timezone-aware UTC datetimes (NaT when unset), as MLflow returns them.
    """
    import numpy as np
    import pandas as pd

    n = len(runs)
    data: dict[str, Any] = {
        "run_id": [r.info.run_id for r in runs],
        "experiment_id": [r.info.experiment_id for r in runs],
        "status": [str(r.info.status) for r in runs],
        "artifact_uri": [r.info.artifact_uri for r in runs],
        "start_time": pd.to_datetime(
            pd.Series([r.info.start_time for r in runs], dtype="float64"), unit="ms", utc=True
        ),
        "end_time": pd.to_datetime(pd.Series([r.info.end_time for r in runs], dtype="float64"), unit="ms", utc=True),
    }
    metrics: dict[str, list[float]] = {}
    params: dict[str, list[str | None]] = {}
    tags: dict[str, list[str | None]] = {}
    for i, run in enumerate(runs):
        for key, value in run.data.metrics.items():
            metrics.setdefault(key, [np.nan] * n)[i] = value
        for key, value in run.data.params.items():
            params.setdefault(key, [None] * n)[i] = value
        for key, value in run.data.tags.items():
            tags.setdefault(key, [None] * n)[i] = value
    for prefix, columns in (("metrics.", metrics), ("params.", params), ("tags.", tags)):
        for key in sorted(columns):
            data[prefix + key] = columns[key]
    frame = pd.DataFrame(data)
    if n == 0:
        frame = pd.DataFrame({c: [] for c in INFO_COLUMNS})
    return frame
