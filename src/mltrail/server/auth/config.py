"""Auth settings: a TOML file or MLflow's ``basic_auth.ini``, then the environment.

The environment wins for the first admin (``MLTRAIL_AUTH_ADMIN_USERNAME``/``MLTRAIL_AUTH_ADMIN_PASSWORD``, or
MLflow's ``MLFLOW_AUTH_ADMIN_USERNAME``/``MLFLOW_AUTH_ADMIN_PASSWORD``) and the file path
(``MLTRAIL_AUTH_CONFIG`` or MLflow's ``MLFLOW_AUTH_CONFIG_PATH``).
"""

from __future__ import annotations

import configparser
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from mltrail import errors
from mltrail.entities.auth import READ, is_permission

#: MLflow's shipped admin credentials (before 3.17): a server must not start with them.
MLFLOW_DEFAULT_ADMIN = ("admin", "password1234")
#: MLflow ini keys that mean nothing here and are accepted so an MLflow file loads unchanged.
_MLFLOW_IGNORED_KEYS = frozenset(
    {
        "grant_default_workspace_access",
        "workspace_cache_max_size",
        "workspace_cache_ttl_seconds",
        "auth_cache_max_size",
        "auth_cache_ttl_seconds",
    }
)
_MLFLOW_DEFAULT_AUTH_FUNCTION = "mlflow.server.auth:authenticate_request_basic_auth"


@dataclass(frozen=True)
class AuthConfig:
    """Settings of the auth layer.

    Args:
        default_permission: what a user may do on a resource nobody granted them anything on.
        database_uri: the auth database; None keeps users in the tracking database.
        admin_username: the first admin, created at start-up when missing.
        admin_password: that admin's password (used only to create them).
        session_hours: how long a web UI sign-in lasts.
        credential_cache_seconds: how long a verified password, token or session is trusted without a lookup
            (a revoked token or changed password is refused at once by the process that made the change and
            within this time by other workers and replicas).
        permission_cache_seconds: how long a user's grants are cached the same way.
        login_max_failures: failed sign-ins per user and per address allowed in ``login_window_seconds``.
        login_window_seconds: the window of the failed sign-in limit.
        oidc: the ``[oidc]`` section (single sign-on), or None when off.
    """

    default_permission: str = READ
    database_uri: str | None = None
    admin_username: str | None = None
    admin_password: str | None = field(default=None, repr=False)
    session_hours: float = 12.0
    credential_cache_seconds: float = 30.0
    permission_cache_seconds: float = 10.0
    login_max_failures: int = 10
    login_window_seconds: float = 300.0
    oidc: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        if not is_permission(self.default_permission):
            raise errors.invalid(
                f"Auth config: default_permission must be READ, USE, EDIT, MANAGE or NO_PERMISSIONS, "
                f"not {self.default_permission!r}."
            )
        for name in ("session_hours", "credential_cache_seconds", "permission_cache_seconds", "login_window_seconds"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
                raise errors.invalid(f"Auth config: {name} must be a number >= 0, not {value!r}.")
        if not isinstance(self.login_max_failures, int) or self.login_max_failures < 1:
            raise errors.invalid(
                f"Auth config: login_max_failures must be an integer >= 1, not {self.login_max_failures!r}."
            )
        if (self.admin_username, self.admin_password) == MLFLOW_DEFAULT_ADMIN:
            raise errors.invalid(
                "Auth config: the admin password is MLflow's published default 'password1234'; choose another "
                "(MLTRAIL_AUTH_ADMIN_PASSWORD)."
            )


def _coerce(name: str, raw: str) -> Any:
    """An ini value as the type of the field ``name``."""
    if name in ("session_hours", "credential_cache_seconds", "permission_cache_seconds", "login_window_seconds"):
        try:
            return float(raw)
        except ValueError:
            raise errors.invalid(f"Auth config: {name} must be a number, not {raw!r}.") from None
    if name == "login_max_failures":
        try:
            return int(raw)
        except ValueError:
            raise errors.invalid(f"Auth config: {name} must be an integer, not {raw!r}.") from None
    return raw


def _from_ini(text: str, path: Path) -> dict[str, Any]:
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(text, source=str(path))
    except configparser.Error as exc:
        raise errors.invalid(f"Auth config {path}: {str(exc).splitlines()[0]}") from None
    section = "mltrail" if parser.has_section("mltrail") else "mlflow"
    if not parser.has_section(section):
        raise errors.invalid(f"Auth config {path}: no [mltrail] or [mlflow] section.")
    values: dict[str, Any] = {}
    for key, raw in parser.items(section):
        if key in _MLFLOW_IGNORED_KEYS:
            continue
        if key == "authorization_function":
            if raw.strip() != _MLFLOW_DEFAULT_AUTH_FUNCTION:
                raise errors.invalid(f"Auth config {path}: a custom authorization_function is not supported.")
            continue
        values[key] = _coerce(key, raw.strip())
    if parser.has_section("oidc"):
        values["oidc"] = dict(parser.items("oidc"))
    return values


def _from_toml(text: str, path: Path) -> dict[str, Any]:
    try:
        import tomllib
    except ImportError:  # Python 3.10
        raise errors.invalid(f"Auth config {path}: TOML needs Python 3.11 or later; use the ini format.") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise errors.invalid(f"Auth config {path}: {exc}") from None
    section = data.get("mltrail", data)
    if not isinstance(section, dict):
        raise errors.invalid(f"Auth config {path}: [mltrail] must be a table.")
    return dict(section)


def load_auth_config(path: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None) -> AuthConfig:
    """The auth settings from ``path`` (TOML, or an MLflow-style ini) and the environment.

    Raises:
        MltrailError: INVALID_PARAMETER_VALUE with one readable line for a missing or malformed file, an unknown
            key, a bad value, or MLflow's default admin password.
    """
    env = os.environ if env is None else env
    path = path or env.get("MLTRAIL_AUTH_CONFIG") or env.get("MLFLOW_AUTH_CONFIG_PATH")
    values: dict[str, Any] = {}
    if path:
        file = Path(path).expanduser()
        try:
            text = file.read_text(encoding="utf-8")
        except OSError as exc:
            raise errors.invalid(f"Auth config {file}: {exc.strerror or exc}") from None
        values = _from_toml(text, file) if file.suffix.lower() == ".toml" else _from_ini(text, file)
        known = {f.name for f in fields(AuthConfig)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise errors.invalid(f"Auth config {file}: unknown setting(s) {', '.join(unknown)}.")
    for key, names in (
        ("admin_username", ("MLTRAIL_AUTH_ADMIN_USERNAME", "MLFLOW_AUTH_ADMIN_USERNAME")),
        ("admin_password", ("MLTRAIL_AUTH_ADMIN_PASSWORD", "MLFLOW_AUTH_ADMIN_PASSWORD")),
    ):
        for name in names:
            if env.get(name):
                values[key] = env[name]
                break
    if values.get("admin_password") and not values.get("admin_username"):
        values["admin_username"] = "admin"  # MLflow's default admin name; its default password is refused
    try:
        return AuthConfig(**values)
    except TypeError as exc:
        raise errors.invalid(f"Auth config: {exc}") from None
