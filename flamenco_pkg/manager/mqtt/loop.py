"""Starts the MQTT forwarder: always running, so enabling MQTT in the settings needs no restart."""

from __future__ import annotations

from typing import Any

import gevent

from .forwarder import MqttForwarder


def start(manager: Any) -> gevent.Greenlet:
    forwarder = MqttForwarder(manager.metrics, manager.config.mqtt.client)
    manager.broker.subscribe(forwarder.offer, name="the MQTT forwarder")
    manager.config_listeners.append(lambda _old, new: forwarder.configure(new.mqtt.client))
    manager.metrics.watch_mqtt_queue(lambda: len(forwarder.pending))
    return gevent.spawn(forwarder.run)
