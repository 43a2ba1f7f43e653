"""What the schemathesis fuzz modules share: Hypothesis' home, the seeded-world hooks, the checks and settings.

Hypothesis keeps caches (constants, unicode data) in ``.hypothesis`` under the working directory, some of them
written while a module is collected: :func:`use_temporary_hypothesis_home` points it at a temporary folder
first, and the module's autouse fixture :func:`remove_hypothesis_home` removes it afterwards.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from typing import Any

import hypothesis
import hypothesis.configuration
import schemathesis
from hypothesis import HealthCheck
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

#: Examples per operation of the main fuzz module (``MLTRAIL_FUZZ_EXAMPLES``).
MAX_EXAMPLES = int(os.environ.get("MLTRAIL_FUZZ_EXAMPLES", "100"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def use_temporary_hypothesis_home(prefix: str) -> str:
    """Point Hypothesis' home at a new temporary folder; returns it."""
    home = tempfile.mkdtemp(prefix=prefix)
    hypothesis.configuration.set_hypothesis_home_dir(home)
    return home


def remove_hypothesis_home(home: str) -> Iterator[None]:
    """Generator body of a module fixture: restore Hypothesis' default home and remove ``home`` afterwards."""
    try:
        yield
    finally:
        hypothesis.configuration.set_hypothesis_home_dir(None)
        shutil.rmtree(home, ignore_errors=True)


def install_world_hooks(schema: Any, world: dict[str, Any]) -> None:
    """Make about half of the generated bodies, queries and path parameters name entities of ``world``."""

    def maybe_world(context: schemathesis.HookContext, container: Any) -> st.SearchStrategy[Any]:
        def apply(use_world: bool) -> Any:
            if use_world and world and isinstance(container, dict):
                return {key: world.get(key, value) for key, value in container.items()}
            return container

        return st.booleans().map(apply)

    for container in ("body", "query", "path_parameters"):
        schema.hook(f"flatmap_{container}")(maybe_world)


def fuzz_settings(max_examples: int) -> Callable[[Any], Any]:
    """Bounded and reproducible: derandomized, no example database, no deadline (the bound is the count)."""
    return hypothesis.settings(
        max_examples=max_examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )
