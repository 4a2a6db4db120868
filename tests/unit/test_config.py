import logging
import os
import stat
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from flamenco_pkg.manager import config as config_mod
from flamenco_pkg.manager.config import (PASSWORD_MASK, Config, ConfigError, Variable, VariableValue, config_from_dict, config_to_dict, effective_storage_path, listen_host_port, load_config, manager_platform, redacted_config_dict, resolve_local_storage_path, write_config)

LOGGER = "flamenco.config"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "flamenco-manager.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def load_text(tmp_path: Path, text: str) -> Config:
    return load_config(write(tmp_path, text))


def error_for(tmp_path: Path, text: str) -> ConfigError:
    with pytest.raises(ConfigError) as exc:
        load_text(tmp_path, text)
    return exc.value


# --- defaults -----------------------------------------------------------------


def test_defaults_match_upstream():
    cfg = Config()
    assert cfg.meta.version == 3
    assert cfg.manager_name == "Flamenco"
    assert cfg.database == "flamenco-manager.sqlite"
    assert cfg.database_check_period == timedelta(minutes=10)
    assert cfg.listen == ":8080"
    assert cfg.autodiscoverable is True
    assert cfg.local_manager_storage_path == "./flamenco-manager-storage"
    assert cfg.shared_storage_path == ""
    assert cfg.shaman.enabled is (manager_platform() != "windows")
    assert cfg.shaman.garbage_collect.period == timedelta(hours=24)
    assert cfg.shaman.garbage_collect.max_age == timedelta(hours=744)
    assert cfg.task_timeout == timedelta(minutes=10)
    assert cfg.worker_timeout == timedelta(minutes=1)
    assert cfg.blocklist_threshold == 3
    assert cfg.task_fail_after_softfail_count == 3
    client = cfg.mqtt.client
    assert (client.enabled, client.broker, client.client_id, client.topic_prefix) == (False, "", "flamenco", "flamenco")
    assert (client.username, client.password) == ("", "")
    assert set(cfg.variables) == {"blender", "blenderArgs"}
    blender = {v.platforms: v.value for v in cfg.variables["blender"].values}
    assert blender == {("linux",): "blender", ("windows",): "blender.exe", ("darwin",): "blender"}
    assert [(v.platforms, v.value) for v in cfg.variables["blenderArgs"].values] == [(("all",), "-b -y")]


def test_defaults_are_not_shared_between_instances():
    a, b = Config(), Config()
    a.variables["blender"].values.clear()
    a.shaman.garbage_collect.period = timedelta(0)
    assert b.variables["blender"].values
    assert b.shaman.garbage_collect.period == timedelta(hours=24)


def test_missing_file_gives_defaults_and_first_run(tmp_path):
    cfg = load_config(tmp_path / "nope.yaml")
    assert cfg == Config()
    assert cfg.is_first_run


def test_empty_file_gives_defaults(tmp_path):
    cfg = load_text(tmp_path, "# nothing here\n")
    assert cfg == Config()


# --- loading ------------------------------------------------------------------

UPSTREAM_STYLE = """\
# Written by Go Flamenco
_meta:
  version: 3
manager_name: Render Farm
database: flamenco-manager.sqlite
database_check_period: 10m0s
listen: :8081
autodiscoverable: false
local_manager_storage_path: ./flamenco-manager-storage
shared_storage_path: /media/shared/flamenco
shaman:
  enabled: true
  garbageCollect:
    period: 24h0m0s
    maxAge: 744h0m0s
task_timeout: 10m0s
worker_timeout: 1m0s
blocklist_threshold: 5
task_fail_after_softfail_count: 2
mqtt:
  client:
    enabled: true
    broker: tcp://localhost:1883
    clientID: farm
    topic_prefix: flamenco
    username: user
    password: secret
variables:
  blender:
    values:
    - platform: linux
      value: /opt/blender/blender
    - platform: windows
      value: C:\\Program Files\\Blender\\blender.exe
  my_storage:
    is_twoway: true
    values:
    - platform: linux
      value: /media/shared/flamenco
    - platforms: [windows]
      value: F:\\flamenco
    - audience: users
      platform: darwin
      value: /Volumes/shared/flamenco
"""


def test_load_upstream_style_file(tmp_path):
    cfg = load_text(tmp_path, UPSTREAM_STYLE)
    assert cfg.manager_name == "Render Farm"
    assert cfg.listen == ":8081"
    assert cfg.autodiscoverable is False
    assert cfg.shared_storage_path == "/media/shared/flamenco"
    assert cfg.is_first_run is False
    assert cfg.blocklist_threshold == 5
    assert cfg.task_fail_after_softfail_count == 2
    assert cfg.database_check_period == timedelta(minutes=10)
    assert cfg.shaman.garbage_collect.max_age == timedelta(hours=744)
    assert cfg.mqtt.client.client_id == "farm"
    assert cfg.mqtt.client.password == "secret"
    # redefined `blender` replaces the default one entirely; blenderArgs survives
    blender = cfg.variables["blender"]
    assert [(v.platforms, v.value) for v in blender.values] == [
        (("linux",), "/opt/blender/blender"),
        (("windows",), "C:\\Program Files\\Blender\\blender.exe"),
    ]
    assert cfg.variables["blenderArgs"].values[0].value == "-b -y"
    storage = cfg.variables["my_storage"]
    assert storage.is_twoway
    assert storage.values[2] == VariableValue("/Volumes/shared/flamenco", ("darwin",), "users")
    assert storage.values[0].audience == "all"


def test_partial_file_keeps_other_defaults(tmp_path):
    cfg = load_text(tmp_path, "_meta: {version: 3}\nshaman:\n  garbageCollect:\n    period: 1h\n")
    assert cfg.shaman.garbage_collect.period == timedelta(hours=1)
    assert cfg.shaman.garbage_collect.max_age == timedelta(hours=744)
    assert cfg.shaman.enabled is Config().shaman.enabled
    assert cfg.task_timeout == timedelta(minutes=10)
    assert set(cfg.variables) == {"blender", "blenderArgs"}


def test_duration_zero_as_number(tmp_path):
    cfg = load_text(tmp_path, "_meta: {version: 3}\ndatabase_check_period: 0\n")
    assert cfg.database_check_period == timedelta(0)


def test_missing_meta_is_tolerated_with_a_warning(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        cfg = load_text(tmp_path, "manager_name: X\n")
    assert cfg.manager_name == "X"
    assert "_meta.version is missing" in caplog.text


def test_platform_and_platforms_are_merged(tmp_path):
    cfg = load_text(
        tmp_path,
        "variables:\n  x:\n    values:\n    - platform: Linux\n      platforms: [darwin, linux]\n      value: v\n",
    )
    assert cfg.variables["x"].values == [VariableValue("v", ("linux", "darwin"), "all")]


def test_value_without_platform_is_ignored_with_warning(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        cfg = load_text(
            tmp_path,
            "variables:\n  x:\n    values:\n    - value: lonely\n    - platform: all\n      value: ok\n",
        )
    assert [v.value for v in cfg.variables["x"].values] == ["ok"]
    assert "variables.x.values[0] has no platform" in caplog.text


def test_unknown_keys_warn_but_do_not_fail(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        cfg = load_text(
            tmp_path,
            "_meta: {version: 3}\nfancy: 1\nshaman:\n  color: red\nvariables:\n  x:\n    direction: twoway\n    values: []\n",
        )
    assert cfg.manager_name == "Flamenco"
    assert "fancy" in caplog.text
    assert "shaman.color" in caplog.text
    assert "variables.x.direction" in caplog.text


def test_configured_jobs_variable_is_dropped(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        cfg = load_text(tmp_path, "variables:\n  jobs:\n    values:\n    - platform: all\n      value: /x\n")
    assert "jobs" not in cfg.variables
    assert "'jobs' is ignored" in caplog.text


def test_shared_storage_made_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = load_text(tmp_path, "shared_storage_path: shared\n")
    assert cfg.shared_storage_path == os.path.join(str(tmp_path), "shared")


def test_database_is_trimmed(tmp_path):
    assert load_text(tmp_path, "database: '  db.sqlite  '\n").database == "db.sqlite"


# --- errors -------------------------------------------------------------------


def test_bad_duration_message(tmp_path):
    path = write(tmp_path, "_meta: {version: 3}\ntask_timeout: ten minutes\n")
    with pytest.raises(ConfigError) as exc:
        load_config(path)
    assert str(exc.value) == f'{path}: task_timeout: "ten minutes" is not a duration like 10m or 1h30m'
    assert exc.value.field == "task_timeout"


def test_bad_duration_without_unit(tmp_path):
    err = error_for(tmp_path, "worker_timeout: 60\n")
    assert "worker_timeout: 60 is not a duration" in str(err)


def test_nested_duration_names_full_path(tmp_path):
    err = error_for(tmp_path, "shaman:\n  garbageCollect:\n    maxAge: forever\n")
    assert err.field == "shaman.garbageCollect.maxAge"


def test_yaml_syntax_error_has_line_number(tmp_path):
    err = error_for(tmp_path, "_meta:\n  version: 3\nlisten: :8080\n  manager_name: x: y\n")
    assert "line 4" in str(err)
    assert "YAML syntax error" in str(err)
    assert str(err).startswith(str(tmp_path / "flamenco-manager.yaml"))


def test_top_level_must_be_mapping(tmp_path):
    err = error_for(tmp_path, "- a\n- b\n")
    assert "mapping" in str(err)


@pytest.mark.parametrize(
    "text, field, fragment",
    [
        ("manager_name: [a, b]\n", "manager_name", "expected text, got a list"),
        ("autodiscoverable: sure\n", "autodiscoverable", '"sure" is not true or false'),
        ("blocklist_threshold: three\n", "blocklist_threshold", '"three" is not a whole number'),
        ("blocklist_threshold: true\n", "blocklist_threshold", "is not a whole number"),
        ("shaman: yes\n", "shaman", "expected a mapping"),
        ("variables:\n  x:\n    values: v\n", "variables.x.values", "expected a list"),
        ("variables:\n  x:\n    is_twoway: maybe\n", "variables.x.is_twoway", "not true or false"),
    ],
)
def test_wrong_types(tmp_path, text, field, fragment):
    err = error_for(tmp_path, text)
    assert err.field == field
    assert fragment in str(err)


def test_wrong_version(tmp_path):
    err = error_for(tmp_path, "_meta:\n  version: 2\n")
    assert err.field == "_meta.version"
    assert "version 3" in str(err) and "version 2" in str(err)


def test_empty_database(tmp_path):
    err = error_for(tmp_path, "database: '   '\n")
    assert err.field == "database"


@pytest.mark.parametrize("name", ["blocklist_threshold", "task_fail_after_softfail_count"])
@pytest.mark.parametrize("value", [-1, 0])
def test_thresholds_below_one_are_refused(tmp_path, name, value):
    err = error_for(tmp_path, f"{name}: {value}\n")
    assert err.field == name
    assert f"{value} is not allowed: use 1 or more" in str(err)


def test_negative_duration(tmp_path):
    err = error_for(tmp_path, "task_timeout: -5m\n")
    assert err.field == "task_timeout"


# Durations that time something: 0 (or less) would break the farm.
@pytest.mark.parametrize("text, field", [
    ("task_timeout: 0\n", "task_timeout"),
    ("worker_timeout: 0s\n", "worker_timeout"),
    ("timeout_check_interval: 0\n", "timeout_check_interval"),
    ("sleep_check_interval: -1s\n", "sleep_check_interval"),
    ("shaman:\n  garbageCollect:\n    maxAge: 0\n", "shaman.garbageCollect.maxAge"),
])
def test_durations_must_be_positive(tmp_path, text, field):
    err = error_for(tmp_path, text)
    assert err.field == field
    assert "is not allowed: use a positive duration" in str(err)


# Durations where 0 means "off": 0 is fine, below is not.
@pytest.mark.parametrize("text, field, attr", [
    ("database_check_period: 0\n", "database_check_period", lambda c: c.database_check_period),
    ("shaman:\n  garbageCollect:\n    period: 0s\n", "shaman.garbageCollect.period",
     lambda c: c.shaman.garbage_collect.period),
])
def test_durations_where_zero_turns_off(tmp_path, text, field, attr):
    assert attr(load_text(tmp_path, text)) == timedelta(0)
    err = error_for(tmp_path, text.replace(": 0", ": -1m"))
    assert err.field == field and "use 0 (" in str(err)


def test_every_duration_field_has_a_rule():
    """A new duration setting must be added to the rules, or it is not validated."""
    def durations(obj, where=""):
        for f in config_mod.fields(obj):
            key = config_mod._key(f)
            value = getattr(obj, f.name)
            if config_mod.is_dataclass(value):
                yield from durations(value, f"{where}{key}.")
            elif isinstance(value, timedelta):
                yield where + key
    assert set(durations(Config())) == {rule[0] for rule in config_mod._DURATIONS}


def test_trusted_proxies_and_allowed_origins(tmp_path):
    cfg = load_text(tmp_path, "trusted_proxies: [127.0.0.1, '10.0.0.0/8', '::1']\n"
                              "allowed_origins: ['https://Farm.Example', 'http://192.168.0.5:8080']\n")
    assert cfg.trusted_proxies == ["127.0.0.1", "10.0.0.0/8", "::1"]
    assert cfg.allowed_origins == ["https://farm.example", "http://192.168.0.5:8080"]
    assert Config().trusted_proxies == [] and Config().allowed_origins == []
    assert error_for(tmp_path, "trusted_proxies: [proxy.lan]\n").field == "trusted_proxies[0]"
    assert error_for(tmp_path, "trusted_proxies: 127.0.0.1\n").field == "trusted_proxies"
    for bad in ["farm.example", "https://farm.example/app", "*", "ftp://x"]:
        assert error_for(tmp_path, f"allowed_origins: ['{bad}']\n").field == "allowed_origins[0]", bad


def test_enabled_mqtt_warns_that_nothing_publishes(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        load_text(tmp_path, "mqtt:\n  client:\n    enabled: true\n    broker: tcp://localhost:1883\n")
    assert "does not publish to MQTT" in caplog.text


@pytest.mark.parametrize("listen", ["8080", "'localhost'", ":http", ":99999", "'::1:8080'", "a b:80"])
def test_bad_listen(tmp_path, listen):
    err = error_for(tmp_path, f"listen: {listen}\n")
    assert err.field == "listen"
    assert "is not an address like :8080" in str(err)


def test_bad_audience(tmp_path):
    err = error_for(
        tmp_path,
        "variables:\n  x:\n    values:\n    - platform: linux\n      audience: everyone\n      value: v\n",
    )
    assert err.field == "variables.x.values[0].audience"
    assert '"everyone" is not one of all, workers, users' in str(err)


def test_unreadable_path_is_an_error(tmp_path):
    (tmp_path / "dir.yaml").mkdir()
    with pytest.raises(ConfigError) as exc:
        load_config(tmp_path / "dir.yaml")
    assert "cannot read" in str(exc.value)


# --- writing / dicts ----------------------------------------------------------


def test_write_and_read_back(tmp_path):
    cfg = load_text(tmp_path, UPSTREAM_STYLE)
    out = tmp_path / "out.yaml"
    write_config(cfg, out)
    assert load_config(out) == cfg
    assert not (tmp_path / "out.yaml~").exists()
    text = out.read_text(encoding="utf-8")
    assert text.startswith("#")
    data = yaml.safe_load(text)
    assert data["task_timeout"] == "10m"
    assert data["shaman"]["garbageCollect"] == {"period": "24h", "maxAge": "744h"}
    assert data["mqtt"]["client"]["clientID"] == "farm"
    assert data["_meta"] == {"version": 3}
    assert data["variables"]["my_storage"]["is_twoway"] is True
    assert data["variables"]["my_storage"]["values"][1] == {"audience": "all", "platform": "windows", "value": "F:\\flamenco"}
    assert "is_twoway" not in data["variables"]["blender"]
    assert "jobs" not in data["variables"]


def test_write_replaces_existing_file(tmp_path):
    path = write(tmp_path, "manager_name: old\n")
    cfg = load_config(path)
    cfg.manager_name = "new"
    write_config(cfg, path)
    assert load_config(path).manager_name == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["flamenco-manager.yaml"]


@pytest.mark.skipif(sys.platform.startswith("win"), reason="POSIX permissions")
def test_written_file_is_private(tmp_path):
    path = tmp_path / "c.yaml"
    write_config(Config(), path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_default_config_written_and_loaded(tmp_path):
    path = tmp_path / "c.yaml"
    write_config(Config(), path)
    assert load_config(path) == Config()


def test_multi_platform_value_written_as_platforms():
    cfg = Config()
    cfg.variables["x"] = Variable(values=[VariableValue("v", ("linux", "darwin"))])
    assert config_to_dict(cfg)["variables"]["x"] == {
        "values": [{"audience": "all", "platforms": ["linux", "darwin"], "value": "v"}]
    }


def test_dict_round_trip(tmp_path):
    cfg = load_text(tmp_path, UPSTREAM_STYLE)
    data = config_to_dict(cfg)
    assert list(data)[:3] == ["_meta", "manager_name", "database"]
    assert data["worker_timeout"] == "1m"
    assert config_from_dict(data) == cfg


def test_config_from_dict_validates_like_the_file():
    with pytest.raises(ConfigError) as exc:
        config_from_dict({"_meta": {"version": 3}, "task_timeout": "ten minutes"}, source="PUT body")
    assert str(exc.value) == 'PUT body: task_timeout: "ten minutes" is not a duration like 10m or 1h30m'


def test_config_from_dict_over_defaults():
    cfg = config_from_dict({"_meta": {"version": 3}, "manager_name": "abc"})
    assert cfg.manager_name == "abc"
    assert cfg.listen == ":8080"
    assert "blender" in cfg.variables


def test_config_from_dict_accepts_integral_floats():
    assert config_from_dict({"blocklist_threshold": 4.0}).blocklist_threshold == 4


def test_redacted_dict_masks_password():
    cfg = Config()
    cfg.mqtt.client.password = "hunter2"
    assert redacted_config_dict(cfg)["mqtt"]["client"]["password"] == PASSWORD_MASK
    assert config_to_dict(cfg, hide_secrets=True)["mqtt"]["client"]["password"] == PASSWORD_MASK
    assert config_to_dict(cfg)["mqtt"]["client"]["password"] == "hunter2"
    # an unset password stays visibly unset
    assert redacted_config_dict(Config())["mqtt"]["client"]["password"] == ""


def test_masked_password_round_trip_keeps_secret():
    cfg = Config()
    cfg.mqtt.client.password = "hunter2"
    echoed = redacted_config_dict(cfg)
    echoed["manager_name"] = "changed"
    new = config_from_dict(echoed, previous=cfg)
    assert new.mqtt.client.password == "hunter2"
    assert new.manager_name == "changed"


def test_dict_is_a_copy():
    cfg = Config()
    data = config_to_dict(cfg)
    data["variables"]["blender"]["values"].clear()
    assert cfg.variables["blender"].values


# --- helpers ------------------------------------------------------------------


@pytest.mark.parametrize(
    "listen, expected",
    [
        (":8080", ("0.0.0.0", 8080)),
        ("0.0.0.0:80", ("0.0.0.0", 80)),
        ("localhost:8080", ("localhost", 8080)),
        ("192.168.1.5:8080", ("192.168.1.5", 8080)),
        ("[::1]:8080", ("::1", 8080)),
        (":0", ("0.0.0.0", 0)),
    ],
)
def test_listen_host_port(listen, expected):
    cfg = Config()
    cfg.listen = listen
    assert listen_host_port(cfg) == expected
    assert listen_host_port(listen) == expected


def test_listen_host_port_rejects_garbage():
    with pytest.raises(ValueError):
        listen_host_port("8080")


def test_resolve_local_storage_path(tmp_path):
    cfg = Config()
    assert resolve_local_storage_path(cfg, tmp_path) == tmp_path / "flamenco-manager-storage"
    cfg.local_manager_storage_path = str(tmp_path / "abs")
    assert resolve_local_storage_path(cfg, Path("/elsewhere")) == tmp_path / "abs"
    cfg.local_manager_storage_path = "../up"
    assert resolve_local_storage_path(cfg, tmp_path / "bin") == tmp_path / "up"


@pytest.mark.parametrize(
    "sys_platform, expected",
    [("linux", "linux"), ("win32", "windows"), ("darwin", "darwin"), ("freebsd14", "freebsd")],
)
def test_manager_platform(monkeypatch, sys_platform, expected):
    monkeypatch.setattr(config_mod.sys, "platform", sys_platform)
    assert manager_platform() == expected


def test_effective_storage_path():
    cfg = Config()
    assert effective_storage_path(cfg, "linux") == ""
    cfg.shared_storage_path = "/media/shared/flamenco/"
    cfg.shaman.enabled = True
    assert effective_storage_path(cfg, "linux") == "/media/shared/flamenco/jobs"
    cfg.shaman.enabled = False
    assert effective_storage_path(cfg, "linux") == "/media/shared/flamenco/"
    cfg.shaman.enabled = True
    cfg.shared_storage_path = "S:\\storage"
    assert effective_storage_path(cfg, "windows") == "S:\\storage\\jobs"
