"""Manager events to an MQTT broker, as upstream Flamenco 3.5+ sends them.

Every event that Socket.IO carries, except task-log chunks, is published as
the same JSON to `<topic_prefix><room>` (e.g. `flamenco/jobs`), QoS 1, not
retained, by an MQTT v5 client (paho-mqtt 2).

Publishing never holds up the request that caused an event: the broker
subscriber only appends to a bounded queue (when full, the oldest event is
dropped and counted). One greenlet hands the queue to paho while connected,
at most MAX_INFLIGHT unacknowledged at a time, so the queue is the only place
events wait. paho's network loop runs in its own thread, which the Manager's
gevent monkey-patching turns into a greenlet whose sockets, select and sleeps
yield to the hub; paho reconnects with back-off. A settings change
(`PUT /configuration/file`, the web UI's settings page) replaces the client
at once.
"""

from __future__ import annotations

import copy
import json
import logging
import time
from collections import deque
from typing import Any

import gevent
import gevent.event
from paho.mqtt import client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion

from ..config import MQTTClientConfig
from ..config.mqtt_broker import BrokerAddress, parse_broker

log = logging.getLogger("flamenco.mqtt")

QUEUE_LIMIT = 1000  # events held while the broker is away (upstream holds 10)
MAX_INFLIGHT = 20  # published, not yet acknowledged
RECONNECT_MIN_S, RECONNECT_MAX_S = 1, 16
KEEPALIVE_S = 30
SHUTDOWN_FLUSH_S = 2.0
SKIPPED_EVENTS = frozenset({"/tasklog"})  # task-log chunks stay on Socket.IO, as upstream


def topic_for(prefix: str, room: str) -> str:
    """`flamenco` + `/jobs` -> `flamenco/jobs`; a trailing slash on the prefix is not doubled."""
    return prefix.rstrip("/") + room


class MqttForwarder:
    """The bounded queue, the paho client of the current settings, and the greenlet between them."""

    def __init__(self, metrics: Any, settings: MQTTClientConfig) -> None:
        self.metrics = metrics
        self.settings = copy.deepcopy(settings)
        self.pending: deque[tuple[str, dict[str, Any]]] = deque()
        self.inflight: set[int] = set()
        self.connected = False
        self.wake = gevent.event.Event()
        self.reconfigure = gevent.event.Event()
        self._unreachable_logged = False
        self._full_logged = False

    # -- called from any greenlet; never blocks --

    @staticmethod
    def wants(event: str) -> bool:
        """Which live-update events go to MQTT (for the broker, and checked again in `offer`)."""
        return event not in SKIPPED_EVENTS

    def offer(self, event: str, room: str, payload: dict[str, Any]) -> None:
        """Broker subscriber: queue the event for the broker, dropping the oldest when full."""
        if not self.wants(event) or not self.settings.enabled:
            return
        if len(self.pending) >= QUEUE_LIMIT:
            self.pending.popleft()
            self.metrics.mqtt_dropped.inc()
            if not self._full_logged:
                log.warning("MQTT: %d events are waiting for the broker; dropping the oldest from now on",
                            QUEUE_LIMIT)
                self._full_logged = True
        self.pending.append((room, payload))
        self.wake.set()

    def configure(self, settings: MQTTClientConfig) -> None:
        """New settings: the running client is replaced (or stopped) at once."""
        if settings != self.settings:
            self.settings = copy.deepcopy(settings)
            self.reconfigure.set()
            self.wake.set()

    # -- the forwarding greenlet --

    def run(self) -> None:
        while True:
            self.reconfigure.clear()
            settings = self.settings
            if not settings.enabled:
                self.pending.clear()
                self.reconfigure.wait()
                continue
            try:
                client = self._start_client(settings, parse_broker(settings.broker))
            except Exception as exc:  # noqa: BLE001 — e.g. TLS set-up; the settings must change first
                log.error("MQTT: cannot use broker %r: %s; fix the MQTT settings to try again", settings.broker, exc)
                self.reconfigure.wait()
                continue
            try:
                self._pump(client, settings.topic_prefix)
            except gevent.GreenletExit:
                self._flush(client, settings.topic_prefix)  # e.g. manager-shutdown
                raise
            except Exception:  # noqa: BLE001 — forwarding must outlive a bad moment
                log.exception("MQTT: forwarding failed; starting a new client")
                gevent.sleep(RECONNECT_MIN_S)
            finally:
                self._stop_client(client)

    def _pump(self, client: paho.Client, prefix: str) -> None:
        while not self.reconfigure.is_set():
            self.wake.clear()
            self._send_some(client, prefix)
            self.wake.wait(timeout=30)

    def _send_some(self, client: paho.Client, prefix: str) -> None:
        while self.connected and self.pending and len(self.inflight) < MAX_INFLIGHT:
            room, payload = self.pending[0]
            info = client.publish(topic_for(prefix, room), json.dumps(payload), qos=1, retain=False)
            if info.rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
                return  # the connection just went; on_connect wakes us again
            self.pending.popleft()
            self.inflight.add(info.mid)
        if len(self.pending) < QUEUE_LIMIT // 2:
            self._full_logged = False

    def _flush(self, client: paho.Client, prefix: str) -> None:
        deadline = time.monotonic() + SHUTDOWN_FLUSH_S
        while self.connected and (self.pending or self.inflight) and time.monotonic() < deadline:
            self._send_some(client, prefix)
            gevent.sleep(0.02)

    def _start_client(self, settings: MQTTClientConfig, address: BrokerAddress) -> paho.Client:
        client = paho.Client(CallbackAPIVersion.VERSION2, client_id=settings.client_id,
                             protocol=MQTTProtocolVersion.MQTTv5, transport=address.transport)
        if address.transport == "websockets":
            client.ws_set_options(path=address.path)
        if address.tls:
            client.tls_set()
        if settings.username:
            client.username_pw_set(settings.username, settings.password or None)
        client.reconnect_delay_set(RECONNECT_MIN_S, RECONNECT_MAX_S)
        client.max_inflight_messages_set(MAX_INFLIGHT)
        client.on_connect = lambda _c, _u, _f, reason, _p: self._on_connect(address, reason)
        client.on_connect_fail = lambda _c, _u: self._on_connect_fail(address)
        client.on_disconnect = lambda _c, _u, _f, reason, _p: self._on_disconnect(address, reason)
        client.on_publish = lambda _c, _u, mid, _r, _p: self._on_publish(mid)
        self._unreachable_logged = False
        log.info("MQTT: publishing events to %s under %r as client %r", address, settings.topic_prefix,
                 settings.client_id)
        client.connect_async(address.host, address.port, keepalive=KEEPALIVE_S)
        client.loop_start()
        return client

    def _stop_client(self, client: paho.Client) -> None:
        client.disconnect()
        client.loop_stop()
        self.connected = False
        self.inflight.clear()
        self.metrics.mqtt_connected.set(0)

    # -- paho callbacks (in paho's network greenlet) --

    def _on_connect(self, address: BrokerAddress, reason: Any) -> None:
        if reason.is_failure:
            log.error("MQTT: broker %s refused the connection: %s", address, reason)
            return
        log.info("MQTT: connected to %s", address)
        self.connected = True
        self._unreachable_logged = False
        self.metrics.mqtt_connected.set(1)
        self.wake.set()

    def _on_connect_fail(self, address: BrokerAddress) -> None:
        if not self._unreachable_logged:
            log.warning("MQTT: cannot reach broker %s; retrying with back-off, up to %d s apart",
                        address, RECONNECT_MAX_S)
            self._unreachable_logged = True

    def _on_disconnect(self, address: BrokerAddress, reason: Any) -> None:
        if self.connected and not self.reconfigure.is_set():
            log.warning("MQTT: lost the connection to %s (%s); reconnecting", address, reason)
        self.connected = False
        self.metrics.mqtt_connected.set(0)

    def _on_publish(self, mid: int) -> None:
        if mid in self.inflight:
            self.inflight.discard(mid)
            self.metrics.mqtt_published.inc()
        self.wake.set()

