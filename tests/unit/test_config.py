"""Configuration: file defaults, environment overrides, and messages that name the bad key."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from dashhub.cli import main
from dashhub.config import ConfigError, Settings, load_settings

ROOT = Path(__file__).resolve().parents[2]


def test_config_yaml_holds_exactly_the_built_in_defaults(tmp_path):
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    from_file = load_settings(ROOT / "config.yaml", environ={})
    assert from_file == load_settings(empty, environ={})
    assert isinstance(from_file, Settings)


def test_every_key_of_config_yaml_is_commented():
    lines = (ROOT / "config.yaml").read_text().splitlines()
    for number, line in enumerate(lines):
        stripped = line.strip()
        if not stripped or stripped.startswith("#") or stripped.startswith("- "):
            continue  # a list item belongs to the key above it
        if stripped.endswith(":") and not line.startswith(" "):
            continue  # a section
        assert lines[number - 1].strip().startswith("#"), f"config.yaml line {number + 1} has no comment"


def test_environment_overrides_use_section_and_key():
    settings = load_settings(
        ROOT / "config.yaml",
        environ={
            "DASHHUB_CACHE__TYPE": "redis",
            "DASHHUB_SERVER__PORT": "9000",
            "DASHHUB_SERVER__DEBUG": "true",
            "DASHHUB_DATABASE_URL": "postgresql://u@h/db",
            "DASHHUB_SECRET_KEY": "12345",
        },
    )
    assert settings.cache.type == "redis"
    assert settings.server.port == 9000
    assert settings.server.debug is True
    assert settings.database_url == "postgresql://u@h/db"
    assert settings.server.secret_key == "12345"


def test_bad_value_names_the_key_and_the_accepted_values():
    with pytest.raises(ConfigError) as caught:
        load_settings(ROOT / "config.yaml", environ={"DASHHUB_CACHE__TYPE": "memcache"})
    message = str(caught.value)
    assert "cache.type" in message
    assert "'filesystem', 'redis', 'simple' or 'null'" in message
    assert "memcache" in message


def test_unknown_key_is_refused(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({"cache": {"typ": "redis"}}))
    with pytest.raises(ConfigError, match=r"cache\.typ: unknown key"):
        load_settings(path, environ={})


def test_out_of_range_port_is_refused():
    with pytest.raises(ConfigError, match=r"server\.port"):
        load_settings(ROOT / "config.yaml", environ={"DASHHUB_SERVER__PORT": "70000"})


def test_malformed_yaml_is_reported_with_the_file(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("cache: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_settings(path, environ={})


def test_check_config_cli_exits_with_the_message(monkeypatch):
    monkeypatch.setenv("DASHHUB_CACHE__TYPE", "memcache")
    result = CliRunner().invoke(main, ["--config", str(ROOT / "config.yaml"), "check-config"])
    assert result.exit_code == 2
    assert "cache.type" in result.output


STRONG_SECRET = "s3cret-" + "x" * 40


def _check(monkeypatch, tmp_path, **env):
    monkeypatch.setenv("DASHHUB_PATHS__DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DASHHUB_SECRET_KEY", STRONG_SECRET)
    monkeypatch.delenv("DASHHUB_ADMIN_PASSWORD", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return CliRunner().invoke(main, ["--config", str(ROOT / "config.yaml"), "check-config"])


def test_check_config_cli_accepts_the_defaults(monkeypatch, tmp_path):
    result = _check(monkeypatch, tmp_path)
    assert result.exit_code == 0, result.output
    assert "Configuration is valid; the database and the cache answer." in result.output
    assert not (tmp_path / "data" / "dashhub.db").exists(), "checking creates no database (init does)"


@pytest.mark.parametrize(
    ("env", "said"),
    [
        ({"DASHHUB_SERVER__DEBUG": "true"}, "server.debug is true"),
        ({"DASHHUB_SECRET_KEY": "short"}, "server.secret_key is empty, a default or shorter"),
        (
            {"DASHHUB_DATABASE__URL": "postgresql+psycopg://nobody@127.0.0.1:1/nothing"},
            "database.url: the database does not answer",
        ),
        (
            {"DASHHUB_CACHE__TYPE": "redis", "DASHHUB_CACHE__REDIS_URL": "redis://127.0.0.1:1/0"},
            "cache.redis_url: Redis does not answer",
        ),
    ],
)
def test_check_config_runs_every_check_serve_runs(monkeypatch, tmp_path, env, said):
    """It used to say « Configuration is valid » (0) on settings `serve` then refused."""
    result = _check(monkeypatch, tmp_path, **env)
    assert result.exit_code == 1, result.output
    assert said in result.output and "Configuration is valid" not in result.output
    assert "Traceback" not in result.output


def test_check_config_says_when_the_data_folder_cannot_be_made(monkeypatch, tmp_path):
    (tmp_path / "a-file").write_text("")
    monkeypatch.setenv("DASHHUB_SECRET_KEY", STRONG_SECRET)
    monkeypatch.setenv("DASHHUB_PATHS__DATA_DIR", str(tmp_path / "a-file" / "data"))
    result = CliRunner().invoke(main, ["--config", str(ROOT / "config.yaml"), "check-config"])
    assert result.exit_code == 1 and "is not a folder" in result.output, result.output


def test_the_section_form_wins_over_the_short_alias_and_the_file(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({"database": {"url": "sqlite:///from-file.db"}, "server": {"port": 7000}}))
    aliases_only = load_settings(path, environ={"DASHHUB_DATABASE_URL": "postgresql://alias/db"})
    assert aliases_only.database_url == "postgresql://alias/db"
    assert aliases_only.server.port == 7000  # the file's value where nothing overrides it
    both = load_settings(
        path,
        environ={"DASHHUB_DATABASE_URL": "postgresql://alias/db", "DASHHUB_DATABASE__URL": "sqlite:///x.db"},
    )
    assert both.database_url == "sqlite:///x.db"


def test_mapping_overrides_are_json_and_a_bad_one_names_the_key():
    settings = load_settings(
        ROOT / "config.yaml", environ={"DASHHUB_AUTH__PERMISSIONS": '{"sales": ["admin", "analyst"]}'}
    )
    assert settings.auth.permissions == {"sales": ["admin", "analyst"]}
    with pytest.raises(ConfigError, match="permissions"):
        load_settings(ROOT / "config.yaml", environ={"DASHHUB_AUTH__PERMISSIONS": "{sales: [admin"})
    with pytest.raises(ConfigError, match=r"auth\.permissions\.sales\.0"):
        load_settings(ROOT / "config.yaml", environ={"DASHHUB_AUTH__PERMISSIONS": '{"sales": ["root"]}'})


def test_an_unknown_override_key_is_refused_and_other_variables_are_ignored():
    with pytest.raises(ConfigError, match=r"cache\.typ: unknown key"):
        load_settings(ROOT / "config.yaml", environ={"DASHHUB_CACHE__TYP": "redis"})
    settings = load_settings(
        ROOT / "config.yaml",
        environ={"DASHHUB_ADMIN_PASSWORD": "x", "DASHHUB_CONFIG": "y", "DASHHUB_ENVIRONMENT": "development"},
    )
    assert settings.environment == "development"
