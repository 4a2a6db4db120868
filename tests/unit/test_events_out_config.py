"""Settings for MQTT and webhooks: broker URLs, webhook lists, masked secrets."""

from __future__ import annotations

import pytest

from flamenco_pkg.manager.config import (PASSWORD_MASK, ConfigError, config_from_dict, config_to_dict,
                                         load_config, redacted_config_dict, write_config)
from flamenco_pkg.manager.config.mqtt_broker import BrokerAddress, parse_broker
from flamenco_pkg.manager.config.setup_assistant import RESTART_KEYS
from flamenco_pkg.manager.mqtt.forwarder import topic_for


def test_broker_urls():
    assert parse_broker("tcp://mqtt.local:1883") == BrokerAddress("mqtt.local", 1883)
    assert parse_broker("mqtt.local") == BrokerAddress("mqtt.local", 1883)
    assert parse_broker("127.0.0.1:1999") == BrokerAddress("127.0.0.1", 1999)
    assert parse_broker("ssl://mqtt.local") == BrokerAddress("mqtt.local", 8883, tls=True)
    assert parse_broker("wss://mqtt.local/ws") == BrokerAddress("mqtt.local", 443, tls=True, transport="websockets",
                                                               path="/ws")
    assert str(parse_broker("tcp://[::1]:1883")) == "tcp://[::1]:1883"
    for bad in ("", "http://mqtt.local", "tcp://:1883", "tcp://host:99999", "tcp://host:port"):
        with pytest.raises(ValueError):
            parse_broker(bad)


def test_topics_as_upstream():
    assert topic_for("flamenco", "/jobs") == "flamenco/jobs"
    assert topic_for("flamenco/", "/jobs/abc") == "flamenco/jobs/abc"
    assert topic_for("studio/farm", "/lifecycle") == "studio/farm/lifecycle"


def test_mqtt_broker_checked_only_when_enabled():
    assert config_from_dict({"mqtt": {"client": {"enabled": False, "broker": "nonsense://"}}})
    with pytest.raises(ConfigError) as err:
        config_from_dict({"mqtt": {"client": {"enabled": True, "broker": "http://x"}}})
    assert "mqtt.client.broker" in str(err.value)
    with pytest.raises(ConfigError) as err:
        config_from_dict({"mqtt": {"client": {"topic_prefix": "farm/#"}}})
    assert "mqtt.client.topic_prefix" in str(err.value)


def test_mqtt_applies_without_a_restart():
    assert "mqtt" not in RESTART_KEYS


HOOKS = {"webhooks": [
    {"url": "https://chat.example/hooks/abc", "events": ["job-status", "worker-status"], "secret": "a-shared-secret"},
    {"url": "http://127.0.0.1:9000/farm", "events": ["job-status"]},
]}


def test_webhooks_load_save_and_mask(tmp_path):
    cfg = config_from_dict(HOOKS)
    assert [(h.url, h.events, h.secret) for h in cfg.webhooks] == [
        ("https://chat.example/hooks/abc", ["job-status", "worker-status"], "a-shared-secret"),
        ("http://127.0.0.1:9000/farm", ["job-status"], "")]
    path = tmp_path / "flamenco-manager.yaml"
    write_config(cfg, path)
    assert load_config(path).webhooks == cfg.webhooks
    shown = redacted_config_dict(cfg)
    assert shown["webhooks"][0]["secret"] == PASSWORD_MASK and shown["webhooks"][1]["secret"] == ""
    assert "a-shared-secret" not in str(shown)
    # A masked secret sent back keeps the stored one for that URL.
    again = config_from_dict(shown, previous=cfg)
    assert again.webhooks[0].secret == "a-shared-secret"
    shown["webhooks"][0]["url"] = "https://chat.example/hooks/other"
    with pytest.raises(ConfigError) as err:
        config_from_dict(shown, previous=cfg)
    assert "webhooks[0].secret" in str(err.value)
    assert config_to_dict(config_from_dict({}))["webhooks"] == []


@pytest.mark.parametrize("hooks, field", [
    ("https://x", "webhooks"),
    ([{"url": "ftp://x/y", "events": ["job-status"]}], "webhooks[0].url"),
    ([{"url": "https://", "events": ["job-status"]}], "webhooks[0].url"),
    ([{"url": "https://x/y", "events": ["task-status"]}], "webhooks[0].events"),
    ([{"url": "https://x/y", "events": "job-status"}], "webhooks[0].events"),
])
def test_bad_webhooks_name_the_field(hooks, field):
    with pytest.raises(ConfigError) as err:
        config_from_dict({"webhooks": hooks})
    assert f"{field}:" in str(err.value)
