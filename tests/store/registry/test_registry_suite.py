"""The shared registry-store suite, written against the :class:`RegistryStore` interface only.

:class:`RegistryStoreSuite` needs two fixtures: ``registry_store`` (a store on an empty backend) and
``registry_tracking_store`` (a tracking store on the same backend, for logged models). ``conftest.py`` here
provides them for SQLite, PostgreSQL and MySQL; ``tests/server/test_rest_registry_suite.py`` runs the same suite
through the REST store against a live server.
"""

from __future__ import annotations

import json
import threading
import time

import pytest

from mltrail.entities import ModelVersionTag, RegisteredModelTag
from mltrail.errors import INVALID_PARAMETER_VALUE, RESOURCE_ALREADY_EXISTS, RESOURCE_DOES_NOT_EXIST
from mltrail.store.registry.base import RegistryStore
from mltrail.store.tracking.base import TrackingStore
from tests.store.tracking.test_store_suite import expect

PROMPT = "mlflow.prompt.is_prompt"


def _versions(store: RegistryStore, name: str, count: int, **kwargs: object) -> list[str]:
    return [store.create_model_version(name, f"s3://bucket/{name}/{i}", **kwargs).version for i in range(count)]  # type: ignore[arg-type]


class RegistryStoreSuite:
    """Every test here runs against every :class:`RegistryStore` implementation."""

    # ----------------------------------------------------------------------------- registered models
    def test_create_and_get(self, registry_store: RegistryStore) -> None:
        model = registry_store.create_registered_model("m1", [RegisteredModelTag("team", "risk")], "first")
        assert model.name == "m1" and model.tags == {"team": "risk"} and model.description == "first"
        assert model.creation_timestamp > 0
        got = registry_store.get_registered_model("m1")
        assert got.name == "m1" and got.tags == {"team": "risk"} and got.latest_versions == ()

    def test_duplicate_and_bad_names(self, registry_store: RegistryStore) -> None:
        registry_store.create_registered_model("dup")
        with expect(RESOURCE_ALREADY_EXISTS, r"already exists"):
            registry_store.create_registered_model("dup")
        for bad in ("a/b", "a:b", ""):
            with expect(INVALID_PARAMETER_VALUE):
                registry_store.create_registered_model(bad)
        with expect(RESOURCE_DOES_NOT_EXIST, r"Registered Model with name=nope not found"):
            registry_store.get_registered_model("nope")

    def test_rename_update_delete(self, registry_store: RegistryStore) -> None:
        registry_store.create_registered_model("old")
        _versions(registry_store, "old", 2)
        registry_store.set_registered_model_alias("old", "champion", "2")
        renamed = registry_store.rename_registered_model("old", "new")
        assert renamed.name == "new" and renamed.aliases == {"champion": "2"}
        assert registry_store.get_model_version("new", "1").name == "new"
        with expect(RESOURCE_DOES_NOT_EXIST):
            registry_store.get_registered_model("old")
        registry_store.create_registered_model("other")
        with expect(RESOURCE_ALREADY_EXISTS):
            registry_store.rename_registered_model("new", "other")
        updated = registry_store.update_registered_model("new", "described")
        assert updated.description == "described"
        registry_store.delete_registered_model("new")
        with expect(RESOURCE_DOES_NOT_EXIST):
            registry_store.get_model_version("new", "1")
        assert registry_store.search_model_versions("name = 'new'") == []

    def test_registered_model_tags(self, registry_store: RegistryStore) -> None:
        registry_store.create_registered_model("t")
        registry_store.set_registered_model_tag("t", RegisteredModelTag("k", "v1"))
        registry_store.set_registered_model_tag("t", RegisteredModelTag("k", "v2"))
        assert registry_store.get_registered_model("t").tags == {"k": "v2"}
        registry_store.delete_registered_model_tag("t", "k")
        registry_store.delete_registered_model_tag("t", "k")  # a missing tag is fine
        assert registry_store.get_registered_model("t").tags == {}
        with expect(INVALID_PARAMETER_VALUE, "exceeds the maximum length"):
            registry_store.set_registered_model_tag("t", RegisteredModelTag("k", "x" * 100_001))
        with expect(RESOURCE_DOES_NOT_EXIST):
            registry_store.set_registered_model_tag("missing", RegisteredModelTag("k", "v"))

    # -------------------------------------------------------------------------------- model versions
    def test_versions_are_numbered_per_model_and_never_reused(self, registry_store: RegistryStore) -> None:
        registry_store.create_registered_model("a")
        registry_store.create_registered_model("b")
        assert _versions(registry_store, "a", 3) == ["1", "2", "3"]
        assert _versions(registry_store, "b", 1) == ["1"]
        registry_store.delete_model_version("a", "3")
        with expect(RESOURCE_DOES_NOT_EXIST, r"Model Version \(name=a, version=3\) not found"):
            registry_store.get_model_version("a", "3")
        assert _versions(registry_store, "a", 1) == ["4"]
        with expect(RESOURCE_DOES_NOT_EXIST):
            registry_store.create_model_version("missing", "s3://x")

    def test_version_fields_tags_and_update(self, registry_store: RegistryStore) -> None:
        registry_store.create_registered_model("f")
        mv = registry_store.create_model_version(
            "f", "s3://b/f", run_id=None, tags=[ModelVersionTag("k", "v")], run_link="http://x", description="d"
        )
        assert (mv.version, mv.current_stage, mv.status.value, mv.source) == ("1", "None", "READY", "s3://b/f")
        assert mv.tags == {"k": "v"} and mv.description == "d" and mv.run_link == "http://x"
        registry_store.set_model_version_tag("f", "1", ModelVersionTag("k2", "v2"))
        registry_store.delete_model_version_tag("f", "1", "k")
        assert registry_store.get_model_version("f", 1).tags == {"k2": "v2"}
        assert registry_store.update_model_version("f", "1", "new").description == "new"
        assert registry_store.get_model_version_download_uri("f", "1") == "s3://b/f"
        with expect(INVALID_PARAMETER_VALUE, "must be an integer"):
            registry_store.get_model_version("f", "abc")

    def test_create_from_logged_model(
        self, registry_store: RegistryStore, registry_tracking_store: TrackingStore
    ) -> None:
        exp = registry_tracking_store.create_experiment("exp")
        run = registry_tracking_store.create_run(exp, "u", 0, [], "r")
        logged = registry_tracking_store.create_logged_model(exp, "model", run.info.run_id)
        registry_store.create_registered_model("lm")
        mv = registry_store.create_model_version("lm", f"models:/{logged.model_id}", model_id=logged.model_id)
        assert mv.run_id == run.info.run_id and mv.model_id == logged.model_id
        assert registry_store.get_model_version_download_uri("lm", mv.version) == logged.artifact_location
        registry_store.create_model_version("lm", f"models:/{logged.model_id}", model_id=logged.model_id)
        tag = registry_tracking_store.get_logged_model(logged.model_id).tags["mlflow.modelVersions"]
        assert json.loads(tag) == [{"name": "lm", "version": 1}, {"name": "lm", "version": 2}]

    def test_copy_model_version(self, registry_store: RegistryStore) -> None:
        registry_store.create_registered_model("src")
        src = registry_store.create_model_version("src", "s3://b/src", tags=[ModelVersionTag("k", "v")])
        copy = registry_store.copy_model_version(src, "dst")
        assert (copy.name, copy.version, copy.source, copy.tags) == ("dst", "1", "models:/src/1", {"k": "v"})
        assert registry_store.get_model_version_download_uri("dst", "1") == "s3://b/src"

    # ---------------------------------------------------------------------------------- stages, latest
    def test_stages_and_latest_versions(self, registry_store: RegistryStore) -> None:
        registry_store.create_registered_model("s")
        _versions(registry_store, "s", 4)
        registry_store.transition_model_version_stage("s", "1", "production")
        mv = registry_store.transition_model_version_stage("s", "2", "Production", archive_existing_versions=True)
        assert mv.current_stage == "Production"
        assert registry_store.get_model_version("s", "1").current_stage == "Archived"
        registry_store.transition_model_version_stage("s", "3", "staging")
        latest = {v.current_stage: v.version for v in registry_store.get_latest_versions("s")}
        assert latest == {"Archived": "1", "Production": "2", "Staging": "3", "None": "4"}
        assert [v.version for v in registry_store.get_latest_versions("s", ["Production"])] == ["2"]
        assert len(registry_store.get_registered_model("s").latest_versions) == 4
        with expect(INVALID_PARAMETER_VALUE, "Invalid Model Version stage"):
            registry_store.transition_model_version_stage("s", "1", "bogus")
        with expect(INVALID_PARAMETER_VALUE, "not an Active stage"):
            registry_store.transition_model_version_stage("s", "1", "Archived", archive_existing_versions=True)

    # ------------------------------------------------------------------------------------------ aliases
    def test_aliases(self, registry_store: RegistryStore) -> None:
        registry_store.create_registered_model("al")
        _versions(registry_store, "al", 3)
        registry_store.set_registered_model_alias("al", "champion", "1")
        registry_store.set_registered_model_alias("al", "champion", "2")
        registry_store.set_registered_model_alias("al", "challenger", "3")
        champ = registry_store.get_model_version_by_alias("al", "champion")
        assert champ.version == "2" and champ.aliases == ("champion",)
        assert registry_store.get_model_version_by_alias("al", "latest").version == "3"
        assert registry_store.get_registered_model("al").aliases == {"champion": "2", "challenger": "3"}
        for reserved in ("latest", "LATEST", "v1", "V12"):
            with expect(INVALID_PARAMETER_VALUE, "reserved"):
                registry_store.set_registered_model_alias("al", reserved, "1")
        for bad in ("a b", "a.b", "x" * 256):
            with expect(INVALID_PARAMETER_VALUE):
                registry_store.set_registered_model_alias("al", bad, "1")
        with expect(RESOURCE_DOES_NOT_EXIST):
            registry_store.set_registered_model_alias("al", "ghost", "9")
        registry_store.delete_model_version("al", "3")
        assert registry_store.get_registered_model("al").aliases == {"champion": "2"}
        registry_store.delete_registered_model_alias("al", "champion")
        with expect(INVALID_PARAMETER_VALUE, "alias champion not found"):
            registry_store.get_model_version_by_alias("al", "champion")

    # ------------------------------------------------------------------------------------------- search
    def test_search_registered_models_filter_order_paging(self, registry_store: RegistryStore) -> None:
        for i in range(7):
            registry_store.create_registered_model(f"model-{i}", [RegisteredModelTag("parity", str(i % 2))])
        registry_store.create_registered_model("Other")
        registry_store.create_registered_model("prompt-1", [RegisteredModelTag(PROMPT, "true")])
        names = [m.name for m in registry_store.search_registered_models(max_results=100)]
        assert names == ["Other", *[f"model-{i}" for i in range(7)], "prompt-1"]
        found = registry_store.search_registered_models("name LIKE 'model-%' AND tags.parity = '1'")
        assert [m.name for m in found] == ["model-1", "model-3", "model-5"]
        assert [m.name for m in registry_store.search_registered_models("name ILIKE 'other'")] == ["Other"]
        assert [m.name for m in registry_store.search_registered_models("name IN ('model-2', 'Other')")] == [
            "Other",
            "model-2",
        ]
        desc = registry_store.search_registered_models("name LIKE 'model-%'", order_by=["name DESC"])
        assert desc[0].name == "model-6"
        seen, token = [], None
        while True:
            page = registry_store.search_registered_models("name LIKE 'model-%'", 3, None, token)
            seen += [m.name for m in page]
            token = page.token
            if not token:
                break
        assert seen == [f"model-{i}" for i in range(7)]
        with expect(INVALID_PARAMETER_VALUE):
            registry_store.search_registered_models(max_results=1001)
        with expect(INVALID_PARAMETER_VALUE):
            registry_store.search_registered_models("run_id = 'x'")
        with expect(INVALID_PARAMETER_VALUE):
            registry_store.search_registered_models(page_token="garbage!")

    def test_prompt_filter_treats_missing_tag_as_false(self, registry_store: RegistryStore) -> None:
        registry_store.create_registered_model("plain")
        registry_store.create_registered_model("flagged-false", [RegisteredModelTag(PROMPT, "false")])
        registry_store.create_registered_model("prompt", [RegisteredModelTag(PROMPT, "true")])
        not_prompt = registry_store.search_registered_models(f"tags.`{PROMPT}` != 'true'")
        assert [m.name for m in not_prompt] == ["flagged-false", "plain"]
        is_false = registry_store.search_registered_models(f"tag.`{PROMPT}` = 'false'")
        assert [m.name for m in is_false] == ["flagged-false", "plain"]
        assert [m.name for m in registry_store.search_registered_models(f"tags.`{PROMPT}` = 'true'")] == ["prompt"]

    def test_search_model_versions(self, registry_store: RegistryStore) -> None:
        registry_store.create_registered_model("x")
        registry_store.create_registered_model("y")
        for i in range(4):
            registry_store.create_model_version("x", f"s3://b/x/{i}", tags=[ModelVersionTag("i", str(i))])
        time.sleep(0.01)  # a later millisecond than every version of x
        registry_store.create_model_version("y", "s3://b/y/0")
        default = registry_store.search_model_versions()
        assert (default[0].name, default[0].version) == ("y", "1")  # newest update first
        by_name = registry_store.search_model_versions("name = 'x'", order_by=["version_number ASC"])
        assert [v.version for v in by_name] == ["1", "2", "3", "4"]
        assert [v.version for v in registry_store.search_model_versions("name = 'x' AND version_number > 2")] == [
            "4",
            "3",
        ]
        assert [v.version for v in registry_store.search_model_versions("version_number = '2' AND name='x'")] == ["2"]
        assert [v.version for v in registry_store.search_model_versions("tags.i = '1'")] == ["2"]
        assert [v.name for v in registry_store.search_model_versions("source_path = 's3://b/y/0'")] == ["y"]
        assert registry_store.search_model_versions(f"name = 'x' AND tags.`{PROMPT}` != 'true'") != []
        page = registry_store.search_model_versions("name = 'x'", 3, ["version_number DESC"])
        assert [v.version for v in page] == ["4", "3", "2"] and page.token
        rest = registry_store.search_model_versions("name = 'x'", 3, ["version_number DESC"], page.token)
        assert [v.version for v in rest] == ["1"] and rest.token is None
        with expect(INVALID_PARAMETER_VALUE):
            registry_store.search_model_versions("name = 'x'", max_results=200_001)

    def test_concurrent_version_creation(self, registry_store: RegistryStore) -> None:
        registry_store.create_registered_model("c")
        versions: list[str] = []
        lock = threading.Lock()

        def create() -> None:
            for _ in range(5):
                v = registry_store.create_model_version("c", "s3://b/c").version
                with lock:
                    versions.append(v)

        threads = [threading.Thread(target=create) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(int(v) for v in versions) == list(range(1, 21))

    # ----------------------------------------------------------------------------------------- webhooks
    def test_webhook_crud(self, registry_store: RegistryStore) -> None:
        hook = registry_store.create_webhook("h", "http://127.0.0.1:9/x", ["model_version.created"], "s3cret", "d")
        assert hook.active and hook.events == ("model_version.created",)
        assert [w.webhook_id for w in registry_store.list_webhooks()] == [hook.webhook_id]
        updated = registry_store.update_webhook(hook.webhook_id, active=False, events=["model_version_tag.set"])
        assert not updated.active and updated.events == ("model_version_tag.set",)
        assert registry_store.list_webhook_deliveries(hook.webhook_id) == []
        with expect(INVALID_PARAMETER_VALUE):
            registry_store.create_webhook("bad", "ftp://x", ["model_version.created"])
        with expect(INVALID_PARAMETER_VALUE):
            registry_store.create_webhook("bad", "http://x", ["nope"])
        registry_store.delete_webhook(hook.webhook_id)
        with expect(RESOURCE_DOES_NOT_EXIST):
            registry_store.get_webhook(hook.webhook_id)


class TestSqlRegistryStore(RegistryStoreSuite):
    """The suite on SQLite, PostgreSQL and MariaDB."""


@pytest.mark.parametrize("registry_db_uri", ["sqlite"], indirect=True)
def test_schema_matches_migrations(registry_store: RegistryStore) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from mltrail.store.registry.sql import migrations
    from mltrail.store.registry.sql.tables import metadata

    with registry_store.engine.connect() as conn:  # type: ignore[attr-defined]
        context = MigrationContext.configure(conn, opts={"version_table": migrations.VERSION_TABLE})
        names = set(metadata.tables)
        diffs = [
            d
            for d in compare_metadata(context, metadata)
            if not (isinstance(d, tuple) and d[0] == "remove_table" and d[1].name not in names)
            and not (isinstance(d, tuple) and d[0] == "remove_index" and d[1].table.name not in names)
            and not (isinstance(d, list) and d and d[0][0] == "modify_type")
        ]
    assert diffs == []
