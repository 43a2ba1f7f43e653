"""Run inputs and outputs: datasets (one row per experiment, name and digest), and logged models used or made.

Both live in ``inputs`` as edges: ``DATASET -> RUN`` (with ``input_tags`` such as the context),
``RUN_INPUT -> MODEL_INPUT`` and ``RUN_OUTPUT -> MODEL_OUTPUT`` (with the step).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mltrail.entities import DATASET_CONTEXT_TAG, DatasetInput, DatasetSummary, LoggedModelInput, LoggedModelOutput
from mltrail.store.sql.dialect import Dialect
from mltrail.store.tracking.sql import _runs
from mltrail.store.tracking.sql.tables import datasets, input_tags, inputs

MAX_DATASET_SUMMARIES = 1000


def log_inputs(
    conn: Connection,
    dialect: Dialect,
    run_id: str,
    unique: dict[tuple[str, str], DatasetInput],
    models: Sequence[LoggedModelInput],
) -> None:
    """Record datasets (by (name, digest), validated) and models an active run used; repeats are skipped."""
    run = _runs.active_row(conn, run_id)
    if unique:
        _write_dataset_inputs(conn, run_id, run.experiment_id, unique)
    if models:
        dialect.insert_ignore(
            conn,
            inputs,
            [
                {
                    "input_uuid": uuid.uuid4().hex,
                    "source_type": "RUN_INPUT",
                    "source_id": run_id,
                    "destination_type": "MODEL_INPUT",
                    "destination_id": m.model_id,
                    "step": 0,
                }
                for m in {m.model_id: m for m in models}.values()
            ],
            "step",
        )


def _write_dataset_inputs(
    conn: Connection, run_id: str, experiment_id: int, unique: dict[tuple[str, str], DatasetInput]
) -> None:
    d = datasets
    names = sorted({k[0] for k in unique})
    known: dict[tuple[str, str], str] = {}
    query = sa.select(d.c.dataset_uuid, d.c.name, d.c.digest).where(
        d.c.experiment_id == experiment_id, d.c.name.in_(names)
    )
    for r in conn.execute(query):
        known[(r.name, r.digest)] = r.dataset_uuid
    new_datasets = []
    for key, item in unique.items():
        if key not in known:
            known[key] = uuid.uuid4().hex
            ds = item.dataset
            new_datasets.append(
                {
                    "dataset_uuid": known[key],
                    "experiment_id": experiment_id,
                    "name": ds.name,
                    "digest": ds.digest,
                    "dataset_source_type": ds.source_type,
                    "dataset_source": ds.source,
                    "dataset_schema": ds.schema,
                    "dataset_profile": ds.profile,
                }
            )
    if new_datasets:
        conn.execute(d.insert(), new_datasets)
    linked = set(
        conn.execute(
            sa.select(inputs.c.source_id).where(
                inputs.c.source_type == "DATASET",
                inputs.c.destination_type == "RUN",
                inputs.c.destination_id == run_id,
                inputs.c.source_id.in_(list(known.values())),
            )
        ).scalars()
    )
    edges, edge_tags = [], []
    for key, item in unique.items():
        if known[key] in linked:
            continue
        input_uuid = uuid.uuid4().hex
        edges.append(
            {
                "input_uuid": input_uuid,
                "source_type": "DATASET",
                "source_id": known[key],
                "destination_type": "RUN",
                "destination_id": run_id,
                "step": 0,
            }
        )
        edge_tags.extend(
            {"input_uuid": input_uuid, "name": k, "value": v} for k, v in {t.key: t.value for t in item.tags}.items()
        )
    if edges:
        conn.execute(inputs.insert(), edges)
    if edge_tags:
        conn.execute(input_tags.insert(), edge_tags)


def log_outputs(conn: Connection, dialect: Dialect, run_id: str, models: Sequence[LoggedModelOutput]) -> None:
    """Record logged models an active run produced (a repeat updates the step)."""
    _runs.active_row(conn, run_id)
    rows = [
        {
            "input_uuid": uuid.uuid4().hex,
            "source_type": "RUN_OUTPUT",
            "source_id": run_id,
            "destination_type": "MODEL_OUTPUT",
            "destination_id": m.model_id,
            "step": int(m.step),
        }
        for m in {m.model_id: m for m in models}.values()
    ]
    keys = ("source_type", "source_id", "destination_type", "destination_id")
    dialect.upsert(conn, inputs, rows, keys, ("step",))


def search_datasets(conn: Connection, experiment_ids: Sequence[int]) -> list[DatasetSummary]:
    """Distinct (experiment, name, digest, context) of datasets used by runs of these experiments."""
    if not experiment_ids:
        return []
    ctx = input_tags.alias("ctx")
    query = (
        sa.select(datasets.c.experiment_id, datasets.c.name, datasets.c.digest, ctx.c.value)
        .distinct()
        .select_from(
            datasets.join(inputs, inputs.c.source_id == datasets.c.dataset_uuid).outerjoin(
                ctx, sa.and_(ctx.c.input_uuid == inputs.c.input_uuid, ctx.c.name == DATASET_CONTEXT_TAG)
            )
        )
        .where(datasets.c.experiment_id.in_(list(experiment_ids)))
        .order_by(datasets.c.experiment_id, datasets.c.name, datasets.c.digest, ctx.c.value)
        .limit(MAX_DATASET_SUMMARIES)
    )
    return [DatasetSummary(str(r[0]), r[1], r[2], r[3]) for r in conn.execute(query)]
