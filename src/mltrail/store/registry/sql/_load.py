"""Rows -> registry entities, loading tags, aliases and latest versions for a whole page in a few queries."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from mltrail.entities import ModelVersion, ModelVersionStatus, RegisteredModel
from mltrail.store.registry.sql.tables import (
    model_version_tags,
    model_versions,
    registered_model_aliases,
    registered_model_tags,
)

#: Largest IN list sent in one statement (SQLite allows 32766 variables).
CHUNK = 5000


def _chunks(values: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


def aliases_by_model(conn: Connection, rm_ids: Sequence[int]) -> dict[int, dict[str, str]]:
    """``rm_id -> {alias: version}`` for these models."""
    t = registered_model_aliases
    out: dict[int, dict[str, str]] = defaultdict(dict)
    for chunk in _chunks(list(rm_ids)):
        for r in conn.execute(sa.select(t.c.rm_id, t.c.alias, t.c.version).where(t.c.rm_id.in_(chunk))):
            out[r.rm_id][r.alias] = str(r.version)
    return out


def model_tags(conn: Connection, rm_ids: Sequence[int]) -> dict[int, dict[str, str]]:
    """``rm_id -> {key: value}`` for these models."""
    t = registered_model_tags
    out: dict[int, dict[str, str]] = defaultdict(dict)
    for chunk in _chunks(list(rm_ids)):
        for r in conn.execute(sa.select(t.c.rm_id, t.c.key, t.c.value).where(t.c.rm_id.in_(chunk))):
            out[r.rm_id][r.key] = r.value
    return out


def version_tags(
    conn: Connection, rm_ids: Sequence[int], wanted: set[tuple[int, int]]
) -> dict[tuple[int, int], dict[str, str]]:
    """``(rm_id, version) -> {key: value}`` for the ``wanted`` versions of these models."""
    t = model_version_tags
    out: dict[tuple[int, int], dict[str, str]] = defaultdict(dict)
    for chunk in _chunks(list(rm_ids)):
        numbers = sorted({pair[1] for pair in wanted})
        query = sa.select(t.c.rm_id, t.c.version, t.c.key, t.c.value).where(t.c.rm_id.in_(chunk))
        if len(numbers) <= CHUNK:  # narrows the rows read to (about) the wanted versions
            query = query.where(t.c.version.in_(numbers))
        for rm_id, version, key, value in conn.execute(query):
            pair = (rm_id, version)
            if pair in wanted:
                out[pair][key] = value
    return out


_STATUS = {s.value: s for s in ModelVersionStatus}


def model_version(row: Row[Any], name: str, tags: dict[str, str], aliases: dict[str, str]) -> ModelVersion:
    """One version from its row; ``aliases`` are the model's (those naming this version are kept)."""
    (
        _,
        number,
        created,
        updated,
        description,
        user_id,
        stage,
        source,
        _,
        run_id,
        run_link,
        status,
        message,
        model_id,
    ) = tuple(row)[:14]
    version = str(number)
    return ModelVersion(
        name,
        version,
        created,
        updated,
        description,
        user_id,
        stage,
        source,
        run_id,
        _STATUS[status],
        message,
        tags,
        run_link,
        tuple(a for a, v in aliases.items() if v == version) if aliases else (),
        model_id,
    )


def load_versions(
    conn: Connection, rows: Sequence[Row[Any]], names: dict[int, str] | None = None
) -> list[ModelVersion]:
    """Versions for rows of ``model_versions`` (with a ``name`` column unless ``names`` maps rm_id to name)."""
    if not rows:
        return []
    wanted = {(r[0], r[1]) for r in rows}
    rm_ids = sorted({pair[0] for pair in wanted})
    tags = version_tags(conn, rm_ids, wanted)
    aliases = aliases_by_model(conn, rm_ids)
    no_tags: dict[str, str] = {}
    return [
        model_version(r, names[r[0]] if names else r[14], tags.get((r[0], r[1])) or {}, aliases.get(r[0], no_tags))
        for r in rows
    ]


def latest_version_rows(conn: Connection, rm_ids: Sequence[int]) -> list[Row[Any]]:
    """The newest version in each stage of each of these models."""
    mv = model_versions
    out: list[Row[Any]] = []
    for chunk in _chunks(list(rm_ids)):
        newest = (
            sa.select(mv.c.rm_id, mv.c.current_stage, sa.func.max(mv.c.version).label("version"))
            .where(mv.c.rm_id.in_(chunk))
            .group_by(mv.c.rm_id, mv.c.current_stage)
            .subquery()
        )
        query = (
            sa.select(mv)
            .join(newest, sa.and_(mv.c.rm_id == newest.c.rm_id, mv.c.version == newest.c.version))
            .order_by(mv.c.rm_id, mv.c.version)
        )
        out.extend(conn.execute(query).all())
    return out


def load_registered_models(conn: Connection, rows: Sequence[Row[Any]]) -> list[RegisteredModel]:
    """Registered models for rows of ``registered_models``: tags, aliases and latest versions in four queries."""
    if not rows:
        return []
    rm_ids = [r.rm_id for r in rows]
    names = {r.rm_id: r.name for r in rows}
    tags = model_tags(conn, rm_ids)
    aliases = aliases_by_model(conn, rm_ids)
    latest_rows = latest_version_rows(conn, rm_ids)
    vtags = version_tags(conn, rm_ids, {(r.rm_id, r.version) for r in latest_rows}) if latest_rows else {}
    latest: dict[int, list[ModelVersion]] = defaultdict(list)
    for r in latest_rows:
        rm_aliases = aliases.get(r.rm_id, {})
        latest[r.rm_id].append(model_version(r, names[r.rm_id], vtags.get((r.rm_id, r.version), {}), rm_aliases))
    return [
        RegisteredModel(
            name=r.name,
            creation_timestamp=r.creation_time,
            last_updated_timestamp=r.last_updated_time,
            description=r.description,
            user_id=r.user_id,
            latest_versions=tuple(latest.get(r.rm_id, ())),
            tags=tags.get(r.rm_id, {}),
            aliases=aliases.get(r.rm_id, {}),
            deployment_job_id=r.deployment_job_id,
        )
        for r in rows
    ]
