"""Starts the MQTT forwarder: always running, so enabling MQTT in the settings needs no restart."""

from __future__ import annotations

from typing import Any

import gevent

from ..events.broker import EventBroker
from .forwarder import MqttForwarder

SETTLE_S = 5.0  # at most this long a settings change waits for the events before it


def start(manager: Any) -> gevent.Greenlet:
    forwarder = MqttForwarder(manager.metrics, manager.config.mqtt.client)
    manager.config_listeners.append(wire(manager.broker, forwarder))
    manager.metrics.watch_mqtt_queue(lambda: len(forwarder.pending))
    return gevent.spawn(forwarder.run)


def wire(broker: EventBroker, forwarder: MqttForwarder) -> Any:
    """Subscribe the forwarder; returns the settings listener.

    Events reach the forwarder a moment after their commit, so a settings
    change first lets the events committed before it through: an event that
    happened while MQTT was off is never published because MQTT is on by the
    time it arrives, and one from before a prefix change keeps the old prefix.
    """
    outbox = broker.subscribe(forwarder.offer, name="the MQTT forwarder", wants=forwarder.wants)

    def settings_changed(_old: Any, new: Any) -> None:
        outbox.idle.wait(timeout=SETTLE_S)
        forwarder.configure(new.mqtt.client)

    return settings_changed
