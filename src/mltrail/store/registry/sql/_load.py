"""Rows -> registry entities, loading a page's tags, aliases and latest versions in one extra query.

The page loaders run one prebuilt ``UNION ALL`` statement per chunk of model ids (one chunk for any page a
search can return): every branch selects the same columns, and the first (``kind``) says what a row is. The
statements are built once at import with expanding bind parameters, so a call only binds the ids.
"""

from __future__ import annotations

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

#: Largest IN list sent in one statement (SQLite allows 32766 variables; a statement binds up to three lists).
CHUNK = 5000

_STATUS = {s.value: s for s in ModelVersionStatus}

# Row kinds of the page statements.
_MODEL_TAG, _ALIAS, _LATEST, _VERSION_TAG = 0, 1, 2, 3

mv = model_versions
_ids = sa.bindparam("ids", expanding=True)
_numbers = sa.bindparam("numbers", expanding=True)


def _kind(value: int) -> sa.ColumnElement[Any]:
    return sa.literal_column(str(value), sa.Integer).label("kind")


#: The version columns a latest-version row carries (after kind, rm_id, version, key, value).
_VERSION_DETAIL = (
    mv.c.creation_time,
    mv.c.last_updated_time,
    mv.c.description,
    mv.c.user_id,
    mv.c.current_stage,
    mv.c.source,
    mv.c.run_id,
    mv.c.run_link,
    mv.c.status,
    mv.c.status_message,
    mv.c.model_id,
)
_NO_DETAIL = (sa.null(),) * len(_VERSION_DETAIL)


def _pairs(table: sa.Table, key: str, value: Any, kind: int, version: Any) -> sa.Select[Any]:
    """``(kind, rm_id, version, key, value, NULL...)`` rows of a tag or alias table for the bound ids."""
    return sa.select(_kind(kind), table.c.rm_id, version, table.c[key], value, *_NO_DETAIL).where(
        table.c.rm_id.in_(_ids)
    )


def _newest() -> sa.Subquery:
    """``(rm_id, version)`` of the newest version in each stage of the bound models."""
    return (
        sa.select(mv.c.rm_id, sa.func.max(mv.c.version).label("version"))
        .where(mv.c.rm_id.in_(_ids))
        .group_by(mv.c.rm_id, mv.c.current_stage)
        .subquery()
    )


def _models_statement() -> sa.CompoundSelect[Any]:
    t = model_version_tags
    newest, newest_tagged = _newest(), _newest()
    latest = sa.select(_kind(_LATEST), mv.c.rm_id, mv.c.version, sa.null(), sa.null(), *_VERSION_DETAIL).join(
        newest, sa.and_(mv.c.rm_id == newest.c.rm_id, mv.c.version == newest.c.version)
    )
    latest_tags = sa.select(_kind(_VERSION_TAG), t.c.rm_id, t.c.version, t.c.key, t.c.value, *_NO_DETAIL).join(
        newest_tagged, sa.and_(t.c.rm_id == newest_tagged.c.rm_id, t.c.version == newest_tagged.c.version)
    )
    rmt, a = registered_model_tags, registered_model_aliases
    return sa.union_all(
        latest,
        latest_tags,
        _pairs(rmt, "key", rmt.c.value, _MODEL_TAG, sa.null()),
        _pairs(a, "alias", sa.null(), _ALIAS, a.c.version),
    )


def _versions_statement(narrow: bool) -> sa.CompoundSelect[Any]:
    t, a = model_version_tags, registered_model_aliases
    tags = sa.select(_kind(_VERSION_TAG), t.c.rm_id, t.c.version, t.c.key, t.c.value).where(t.c.rm_id.in_(_ids))
    if narrow:  # reads (about) the wanted versions only
        tags = tags.where(t.c.version.in_(_numbers))
    aliases = sa.select(_kind(_ALIAS), a.c.rm_id, a.c.version, a.c.alias, sa.null()).where(a.c.rm_id.in_(_ids))
    return sa.union_all(tags, aliases)


#: Tags, aliases, latest versions and their tags of the bound models (``ids``).
_LOAD_MODELS = _models_statement()
#: Version tags (of versions numbered ``numbers``) and aliases of the bound models (``ids``).
_LOAD_VERSIONS_NARROW = _versions_statement(narrow=True)
_LOAD_VERSIONS = _versions_statement(narrow=False)

_newest_only = _newest()
#: Full rows of the newest version in each stage of the bound models, by model and version.
_LATEST_ROWS = (
    sa.select(mv)
    .join(_newest_only, sa.and_(mv.c.rm_id == _newest_only.c.rm_id, mv.c.version == _newest_only.c.version))
    .order_by(mv.c.rm_id, mv.c.version)
)


def _chunks(values: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


def model_version(row: Row[Any], name: str, tags: dict[str, str], aliases: dict[str, str]) -> ModelVersion:
    """One version from a ``model_versions`` row; ``aliases`` are the model's (those naming this version are kept)."""
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
    ) = row[:14]
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
        tuple([a for a, v in aliases.items() if v == version]) if aliases else (),
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
    numbers = sorted({pair[1] for pair in wanted})
    narrow = len(numbers) <= CHUNK
    tags: dict[tuple[int, int], dict[str, str]] = {}
    named: dict[tuple[int, int], list[str]] = {}  # (rm_id, version) -> the aliases naming it, in stored order
    for chunk in _chunks(rm_ids):
        if narrow:
            result = conn.execute(_LOAD_VERSIONS_NARROW, {"ids": list(chunk), "numbers": numbers})
        else:
            result = conn.execute(_LOAD_VERSIONS, {"ids": list(chunk)})
        for kind, rm_id, number, key, value in result.all():
            pair = (rm_id, number)
            if kind == _ALIAS:
                target: dict[Any, Any] = named
                value = key
            elif pair in wanted:
                target = tags
            else:
                continue
            found = target.get(pair)
            if found is None:
                target[pair] = [value] if kind == _ALIAS else {key: value}
            elif kind == _ALIAS:
                found.append(value)
            else:
                found[key] = value
    status = _STATUS
    out = []
    for r in rows:
        rm_id, number, created, updated, description, user_id, stage, source, _, run_id, run_link = r[:11]
        pair = (rm_id, number)
        aliases = named.get(pair)
        out.append(
            ModelVersion(
                names[rm_id] if names else r[14],
                str(number),
                created,
                updated,
                description,
                user_id,
                stage,
                source,
                run_id,
                status[r[11]],
                r[12],
                tags.get(pair) or {},
                run_link,
                tuple(aliases) if aliases else (),
                r[13],
            )
        )
    return out


def latest_version_rows(conn: Connection, rm_ids: Sequence[int]) -> list[Row[Any]]:
    """The newest version in each stage of each of these models (full ``model_versions`` rows)."""
    out: list[Row[Any]] = []
    for chunk in _chunks(list(rm_ids)):
        out.extend(conn.execute(_LATEST_ROWS, {"ids": list(chunk)}).all())
    return out


def load_registered_models(conn: Connection, rows: Sequence[Row[Any]]) -> list[RegisteredModel]:
    """Registered models for rows of ``registered_models``: tags, aliases and latest versions in one query."""
    if not rows:
        return []
    names = {r.rm_id: r.name for r in rows}
    tags: dict[int, dict[str, str]] = {}
    aliases: dict[int, dict[str, str]] = {}
    vtags: dict[tuple[int, int], dict[str, str]] = {}
    latest_rows: list[Row[Any]] = []
    for chunk in _chunks(list(names)):
        for r in conn.execute(_LOAD_MODELS, {"ids": list(chunk)}).all():
            kind = r[0]
            if kind == _LATEST:
                latest_rows.append(r)
                continue
            if kind == _VERSION_TAG:
                owner: Any = (r[1], r[2])
                target = vtags
            elif kind == _MODEL_TAG:
                owner, target = r[1], tags
            else:
                owner, target = r[1], aliases
            by_key = target.get(owner)
            if by_key is None:
                by_key = target[owner] = {}
            by_key[r[3]] = str(r[2]) if kind == _ALIAS else r[4]
    latest: dict[int, list[ModelVersion]] = {}
    status = _STATUS
    latest_rows.sort(key=lambda r: (r[1], r[2]))
    for r in latest_rows:
        (_, rm_id, number, _, _, created, updated, description, user_id, stage, source, run_id, run_link) = r[:13]
        version = str(number)
        rm_aliases = aliases.get(rm_id)
        entity = ModelVersion(
            names[rm_id],
            version,
            created,
            updated,
            description,
            user_id,
            stage,
            source,
            run_id,
            status[r[13]],
            r[14],
            vtags.get((rm_id, number)) or {},
            run_link,
            tuple([a for a, v in rm_aliases.items() if v == version]) if rm_aliases else (),
            r[15],
        )
        versions = latest.get(rm_id)
        if versions is None:
            latest[rm_id] = [entity]
        else:
            versions.append(entity)
    return [
        RegisteredModel(
            r.name,
            r.creation_time,
            r.last_updated_time,
            r.description,
            r.user_id,
            tuple(latest.get(r.rm_id, ())),
            tags.get(r.rm_id) or {},
            aliases.get(r.rm_id) or {},
            r.deployment_job_id,
        )
        for r in rows
    ]
