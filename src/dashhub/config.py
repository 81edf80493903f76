"""Configuration: config.yaml, then DASHHUB_<SECTION>__<KEY> environment overrides (pydantic-settings),
validated as a whole."""

from __future__ import annotations

import ipaddress
import json
import os
from collections.abc import Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)

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


ROLES = ("viewer", "analyst", "hr", "admin", "service")
Role = Literal["viewer", "analyst", "hr", "admin", "service"]


class AuthConfig(_Section):
    login_rate_limit: str = "10 per minute"
    max_failed_logins: int = Field(5, ge=1, le=100)
    lockout_minutes: float = Field(15, ge=0, le=24 * 60)
    # each further lock of the same address on the same account lasts twice as long, up to this
    max_lockout_hours: float = Field(24, gt=0, le=24 * 30)
    # failed logins on one account per hour, all addresses together, after which only addresses
    # that have not failed on it may still try (the ceiling against spread-out guessing)
    account_failures_per_hour: int = Field(50, ge=1, le=100_000)
    min_password_length: int = Field(12, ge=8, le=128)
    # dashboard key or permission (predict, metrics) → roles that have it; what is not listed
    # keeps its default (the registry)
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
    max_exports_per_user: int = Field(2, ge=1, le=100)
    max_exports: int = Field(4, ge=1, le=1000)
    max_export_disk_mb: int = Field(2048, ge=1, le=10 * 1024**2)


class DatasetsConfig(_Section):
    """« Vos données »: what one user may keep."""

    max_per_user: int = Field(50, ge=1, le=10_000)
    max_mb_per_user: int = Field(2048, ge=1, le=10 * 1024**2)


class ApiConfig(_Section):
    # Most instances one predict call may carry.
    max_instances: int = Field(1000, ge=1, le=100_000)
    # Largest request body the API reads, in KB (the server-wide limit is server.max_request_mb).
    max_body_kb: int = Field(4096, ge=1, le=1024 * 1024)
    # Calls per token, counted across every worker and host (Flask-Limiter notation).
    rate_limit: str = "1200 per minute"
    # The model /api/v1/predict serves; empty: the only model with a served version.
    default_model: str = Field("", pattern=r"^$|^[a-z0-9][a-z0-9_-]{0,63}$")


class MetricsConfig(_Section):
    # Addresses that may read /metrics without a token (Prometheus on the same host or network).
    allowed_networks: list[str] = Field(default_factory=lambda: ["127.0.0.1/32", "::1/128"])

    @field_validator("allowed_networks")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for network in value:
            ipaddress.ip_network(network, strict=False)  # ValueError names the bad one
        return value


class ThresholdsConfig(_Section):
    """The seed's alert thresholds."""

    accuracy: float = Field(0.90, gt=0, le=1)
    latency_ms: float = Field(100, gt=0, le=600_000)
    error_rate: float = Field(0.10, gt=0, le=1)
    memory_gb: float = Field(4, gt=0, le=100_000)
    cpu_percent: float = Field(80, gt=0, le=100)


class DriftConfig(_Section):
    # False-discovery rate of the per-feature tests (Benjamini–Hochberg).
    alpha: float = Field(0.05, gt=0, lt=1)
    # Fewer predictions than this in a window: no test.
    min_samples: int = Field(100, ge=10, le=1_000_000)
    # The most recent predictions of a window that are tested against the reference.
    sample_size: int = Field(2000, ge=10, le=1_000_000)
    # Share of drifted features from which the whole dataset has drifted.
    dataset_share: float = Field(0.3, gt=0, le=1)
    # The window of the drift alert, in minutes.
    alert_window_minutes: float = Field(240, gt=0, le=30 * 24 * 60)


class MonitoringConfig(_Section):
    # Logged predictions older than this are deleted (their rollups stay).
    retention_days: float = Field(30, gt=0, le=3650)
    # How often the host scheduler prunes them, in minutes.
    prune_every_minutes: float = Field(60, gt=0, le=24 * 60)
    # How often the host scheduler brings the rollups and the alerts up to date, in seconds.
    refresh_every_seconds: float = Field(15, gt=0, le=3600)
    # How often it samples CPU and memory, in seconds; samples are kept resource_keep_days.
    resources_every_seconds: float = Field(15, gt=0, le=3600)
    resource_keep_days: float = Field(30, gt=0, le=3650)
    # The page's automatic refresh, in seconds (0: none).
    page_refresh_seconds: int = Field(30, ge=0, le=3600)
    # The page's default period: 24h, 7d or 30d.
    default_period: Literal["24h", "7d", "30d"] = "24h"
    thresholds: ThresholdsConfig = ThresholdsConfig()
    # An alert fires when its indicator, computed over the last alert_window_minutes, stays past
    # its threshold for alert_hold_minutes; it clears once back inside by alert_hysteresis (a
    # share of the threshold) for as long.
    alert_window_minutes: float = Field(60, gt=0, le=24 * 60)
    alert_hold_minutes: float = Field(5, ge=0, le=24 * 60)
    alert_hysteresis: float = Field(0.05, ge=0, lt=1)
    # Calls a window needs before its latency and error rate are judged.
    min_calls: int = Field(30, ge=1, le=1_000_000)
    # The accuracy's window (labels are fewer than calls), and the labels it needs to be judged.
    accuracy_window_minutes: float = Field(1440, gt=0, le=30 * 24 * 60)
    min_labelled: int = Field(100, ge=1, le=1_000_000)
    drift: DriftConfig = DriftConfig()
    # Fired and cleared alerts are POSTed here as JSON (empty: not sent); tries per delivery,
    # and seconds to wait for an answer. Undelivered ones are sent again at the next tick.
    webhook_url: str = ""
    webhook_attempts: int = Field(3, ge=1, le=10)
    webhook_timeout_seconds: float = Field(5, gt=0, le=60)

    @field_validator("webhook_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("must be empty or an http:// or https:// URL")
        return value


class MlConfig(_Section):
    # Longest a training (explorer job or deployment) may run before it is stopped, in seconds;
    # jobs.timeout_seconds bounds it too.
    training_seconds: float = Field(120, gt=0, le=3600)


class HrConfig(_Section):
    # Heatmap cells (age band × experience band) with fewer employees are hidden: a mean of one or
    # two people is noise, and tells their satisfaction.
    min_cell_count: int = Field(5, ge=1, le=1000)


class LoadingConfig(_Section):
    # `dashhub load` refuses a file (and changes nothing) when more of its rows are rejected than
    # this: a count ("10") or a share of the file's rows ("1%"). `--max-rejected` overrides it.
    max_rejected: str = Field("1%", pattern=r"^\s*\d+(\.\d+)?\s*%?\s*$")


class PathsConfig(_Section):
    data_dir: str = "data"


# The environment load_settings reads (os.environ unless a caller hands over another mapping).
_ENVIRON: ContextVar[Mapping[str, str] | None] = ContextVar("dashhub_environ", default=None)


class _Environment(EnvSettingsSource):
    """DASHHUB_<SECTION>__<KEY> overrides, read from the mapping load_settings was given."""

    def _load_env_vars(self) -> Mapping[str, str | None]:
        environ = _ENVIRON.get()
        return {name.lower(): value for name, value in (os.environ if environ is None else environ).items()}


class _Aliases(PydanticBaseSettingsSource):
    """The short names operators expect (DASHHUB_DATABASE_URL, DASHHUB_SECRET_KEY)."""

    def get_field_value(self, field, field_name):  # every value comes from __call__
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        environ = _ENVIRON.get()
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for name, dotted in ENV_ALIASES.items():
            if name in environ:
                section, key = dotted.split(".")
                values.setdefault(section, {})[key] = environ[name]
        return values


class Settings(BaseSettings):
    """The whole configuration: config.yaml (passed in as values), under the environment."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        extra="forbid",
        validate_default=True,
    )

    @classmethod
    def settings_customise_sources(cls, settings_cls, init_settings, env_settings, **_other_sources):
        # Highest first: DASHHUB_<SECTION>__<KEY>, then the aliases, then the file's values.
        return _Environment(settings_cls), _Aliases(settings_cls), init_settings

    environment: Literal["production", "development"] = "production"
    server: ServerConfig = ServerConfig()
    database: DatabaseConfig = DatabaseConfig()
    cache: CacheConfig = CacheConfig()
    auth: AuthConfig = AuthConfig()
    i18n: I18nConfig = I18nConfig()
    logging: LoggingConfig = LoggingConfig()
    jobs: JobsConfig = JobsConfig()
    ml: MlConfig = MlConfig()
    hr: HrConfig = HrConfig()
    loading: LoadingConfig = LoadingConfig()
    datasets: DatasetsConfig = DatasetsConfig()
    api: ApiConfig = ApiConfig()
    metrics: MetricsConfig = MetricsConfig()
    monitoring: MonitoringConfig = MonitoringConfig()
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


def _describe(error: dict[str, Any]) -> str:
    key = ".".join(str(part) for part in error["loc"])
    given = error.get("input")
    if error["type"] == "extra_forbidden":
        return f"{key}: unknown key (check the spelling against config.yaml)"
    shown = "" if isinstance(given, dict) else f"; got {given!r}"
    return f"{key}: {error['msg']}{shown}"


def load_settings(path: Path | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Read, override and validate the configuration; raise ConfigError naming each bad key."""
    source = path if path is not None else default_config_path()
    data = _read_yaml(source) if source is not None else {}
    token = _ENVIRON.set(dict(os.environ if environ is None else environ))
    try:
        return Settings(**data)
    except ValidationError as exc:
        lines = "\n".join(f"  - {_describe(err)}" for err in exc.errors())
        where = f" ({source})" if source else ""
        raise ConfigError(f"invalid configuration{where}:\n{lines}") from None
    except SettingsError:  # an override that should hold a mapping or list is not JSON
        raise ConfigError(_unparsable_overrides(_ENVIRON.get() or {})) from None
    finally:
        _ENVIRON.reset(token)


def _unparsable_overrides(environ: Mapping[str, str]) -> str:
    """Which DASHHUB_<SECTION>__<KEY> overrides of a mapping or list are not valid JSON."""
    bad = []
    for name, value in environ.items():
        if not (name.startswith(ENV_PREFIX) and "__" in name):
            continue
        try:
            json.loads(value)
        except ValueError:
            if value.strip().startswith(("{", "[")):
                key = ".".join(name[len(ENV_PREFIX) :].lower().split("__"))
                bad.append(f"  - {key} ({name}): not valid JSON; got {value!r}")
    listed = "\n".join(bad) or "  - an override of a mapping or list is not valid JSON"
    return f"invalid environment override:\n{listed}"
