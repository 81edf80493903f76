"""Configuration: config.yaml, then DASHHUB_<SECTION>__<KEY> environment overrides, validated."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

ENV_PREFIX = "DASHHUB_"
# Short aliases operators expect; each maps to a dotted key.
ENV_ALIASES = {
    "DASHHUB_DATABASE_URL": "database.url",
    "DASHHUB_SECRET_KEY": "server.secret_key",
}


class ConfigError(Exception):
    """A configuration value is missing or invalid; the message names the key."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)


class ServerConfig(_Section):
    host: str = "127.0.0.1"
    port: int = Field(8050, ge=1, le=65535)
    debug: bool = False
    secret_key: str = ""
    url_prefix: str = "/"
    https: bool = False
    max_request_mb: float = Field(10, gt=0, le=1024)
    session_hours: float = Field(8, gt=0, le=24 * 30)
    trusted_proxies: int = Field(0, ge=0, le=5)

    @field_validator("url_prefix")
    @classmethod
    def _slashes(cls, value: str) -> str:
        if not (value.startswith("/") and value.endswith("/")):
            raise ValueError("must start and end with '/', e.g. '/' or '/dashhub/'")
        return value


class DatabaseConfig(_Section):
    url: str = ""
    echo: bool = False
    pool_size: int = Field(5, ge=1, le=100)

    @field_validator("url")
    @classmethod
    def _known_backend(cls, value: str) -> str:
        if value and not value.startswith(("sqlite", "postgresql")):
            raise ValueError("must be empty (SQLite under paths.data_dir), sqlite:///… or postgresql://…")
        return value


class CacheConfig(_Section):
    type: Literal["filesystem", "redis", "simple", "null"] = "filesystem"
    dir: str = ""
    redis_url: str = "redis://127.0.0.1:6379/0"
    key_prefix: str = "dashhub:"
    default_timeout: int = Field(3600, ge=0)
    socket_timeout: float = Field(0.5, gt=0, le=30)


ROLES = ("viewer", "analyst", "hr", "admin")
Role = Literal["viewer", "analyst", "hr", "admin"]


class AuthConfig(_Section):
    login_rate_limit: str = "10 per minute"
    max_failed_logins: int = Field(5, ge=1, le=100)
    lockout_minutes: float = Field(15, ge=0, le=24 * 60)
    min_password_length: int = Field(12, ge=8, le=128)
    # dashboard key → roles that may open it; a dashboard not listed keeps its registry default
    permissions: dict[str, list[Role]] = Field(default_factory=dict)


class I18nConfig(_Section):
    default_locale: Literal["fr", "en"] = "fr"


class LoggingConfig(_Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    format: Literal["text", "json"] = "text"


class JobsConfig(_Section):
    backend: Literal["diskcache", "celery"] = "diskcache"
    dir: str = ""
    broker_url: str = "redis://127.0.0.1:6379/1"
    queue: str = Field("dashhub", pattern=r"^[A-Za-z0-9_.:-]{1,64}$")
    timeout_seconds: float = Field(600, gt=0, le=24 * 3600)
    keep_hours: float = Field(24, gt=0, le=24 * 30)


class PathsConfig(_Section):
    data_dir: str = "data"


class Settings(_Section):
    environment: Literal["production", "development"] = "production"
    server: ServerConfig = ServerConfig()
    database: DatabaseConfig = DatabaseConfig()
    cache: CacheConfig = CacheConfig()
    auth: AuthConfig = AuthConfig()
    i18n: I18nConfig = I18nConfig()
    logging: LoggingConfig = LoggingConfig()
    jobs: JobsConfig = JobsConfig()
    paths: PathsConfig = PathsConfig()

    @property
    def data_dir(self) -> Path:
        return Path(self.paths.data_dir).expanduser().resolve()

    @property
    def database_url(self) -> str:
        return self.database.url or f"sqlite:///{self.data_dir / 'dashhub.db'}"

    @property
    def cache_dir(self) -> Path:
        return Path(self.cache.dir).expanduser().resolve() if self.cache.dir else self.data_dir / "cache"

    @property
    def jobs_dir(self) -> Path:
        """Job results (diskcache) and the finished exports users download."""
        return Path(self.jobs.dir).expanduser().resolve() if self.jobs.dir else self.data_dir / "jobs"


def default_config_path() -> Path | None:
    """DASHHUB_CONFIG if set, else ./config.yaml if present, else None (built-in defaults)."""
    explicit = os.environ.get("DASHHUB_CONFIG")
    if explicit:
        return Path(explicit)
    local = Path("config.yaml")
    return local if local.is_file() else None


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read configuration file {path}: {exc.strerror}") from exc
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"configuration file {path} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"configuration file {path} must hold a mapping of sections")
    return data


def _env_overrides(environ: dict[str, str]) -> dict[str, str]:
    """Dotted key → raw value, from DASHHUB_<SECTION>__<KEY> and the aliases."""
    overrides: dict[str, str] = {}
    for name, value in environ.items():
        if name in ENV_ALIASES:
            overrides[ENV_ALIASES[name]] = value
        elif name.startswith(ENV_PREFIX) and "__" in name:
            parts = name[len(ENV_PREFIX) :].lower().split("__")
            overrides[".".join(parts)] = value
        elif name == "DASHHUB_ENVIRONMENT":
            overrides["environment"] = value
    return overrides


def _set_dotted(data: dict[str, Any], dotted: str, raw: str) -> None:
    *sections, key = dotted.split(".")
    node = data
    for section in sections:
        child = node.setdefault(section, {})
        if not isinstance(child, dict):
            raise ConfigError(f"environment override {dotted}: '{section}' is not a section")
        node = child
    # Scalars stay strings: pydantic's lax mode turns '5', 'true', '0.5' into the declared types.
    # Mappings and lists ({...}, [...]) are read as YAML (which includes JSON).
    node[key] = raw
    if raw.strip().startswith(("{", "[")):
        try:
            node[key] = yaml.safe_load(raw)
        except yaml.YAMLError as exc:
            raise ConfigError(f"environment override {dotted}: not valid YAML/JSON ({exc})") from None


def _describe(error: dict[str, Any]) -> str:
    key = ".".join(str(part) for part in error["loc"])
    given = error.get("input")
    if error["type"] == "extra_forbidden":
        return f"{key}: unknown key (check the spelling against config.yaml)"
    shown = "" if isinstance(given, dict) else f"; got {given!r}"
    return f"{key}: {error['msg']}{shown}"


def load_settings(path: Path | None = None, environ: dict[str, str] | None = None) -> Settings:
    """Read, override and validate the configuration; raise ConfigError naming each bad key."""
    environ = dict(os.environ if environ is None else environ)
    source = path if path is not None else default_config_path()
    data = _read_yaml(source) if source is not None else {}
    for dotted, raw in _env_overrides(environ).items():
        _set_dotted(data, dotted, raw)
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        lines = "\n".join(f"  - {_describe(err)}" for err in exc.errors())
        where = f" ({source})" if source else ""
        raise ConfigError(f"invalid configuration{where}:\n{lines}") from None
