"""``mltrail models list|describe|register|versions|alias|stage|webhooks`` (the registry commands)."""

from __future__ import annotations

import json
from pathlib import Path

import click
from click.testing import CliRunner

from mltrail.cli.registry import attach
from mltrail.store.registry.sql.store import SqlRegistryStore
from mltrail.store.tracking.sql.store import SqlTrackingStore


def _group() -> click.Group:
    @click.group()
    def models() -> None:
        """Test group."""

    return attach(models)


def test_registry_commands(tmp_path: Path, clean_fluent_state: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'cli.db'}"
    tracking = SqlTrackingStore(uri, str(tmp_path / "artifacts"))
    run = tracking.create_run("0", "u", 0, [], "r")
    logged = tracking.create_logged_model("0", "model", run.info.run_id)
    SqlRegistryStore(uri)
    runner, cli = CliRunner(), _group()
    opts = ["--tracking-uri", uri]

    result = runner.invoke(cli, ["register", f"models:/{logged.model_id}", "fraud", "--tag", "k=v", *opts])
    assert result.exit_code == 0, result.output
    assert "Registered version 1 of 'fraud'" in result.output
    runner.invoke(cli, ["register", f"models:/{logged.model_id}", "fraud", *opts])
    listed = json.loads(runner.invoke(cli, ["list", "--json", *opts]).output)
    assert [m["name"] for m in listed] == ["fraud"]
    assert "fraud" in runner.invoke(cli, ["list", *opts]).output
    result = runner.invoke(cli, ["alias", "fraud", "champion", "2", *opts])
    assert result.exit_code == 0 and "fraud@champion -> version 2" in result.output
    result = runner.invoke(cli, ["stage", "fraud", "1", "production", "--json", *opts])
    assert json.loads(result.output)["current_stage"] == "Production"
    versions = json.loads(runner.invoke(cli, ["versions", "fraud", "--json", *opts]).output)
    assert [v["version"] for v in versions] == ["2", "1"] and versions[0]["aliases"] == ["champion"]
    described = runner.invoke(cli, ["describe", "fraud", *opts]).output
    assert "champion=2" in described and "Production" in described
    result = runner.invoke(cli, ["webhooks", "create", "h", "http://127.0.0.1:9/x", "--event", "*", "--json", *opts])
    hook_id = json.loads(result.output)["webhook_id"]
    assert hook_id in runner.invoke(cli, ["webhooks", "list", *opts]).output
    assert runner.invoke(cli, ["webhooks", "deliveries", hook_id, *opts]).exit_code == 0
    assert runner.invoke(cli, ["webhooks", "delete", hook_id, *opts]).exit_code == 0
    result = runner.invoke(cli, ["alias", "fraud", "champion", "--delete", *opts])
    assert result.exit_code == 0
    assert runner.invoke(cli, ["describe", "missing", *opts]).exit_code != 0
