"""MQTT: Manager events to a broker as upstream Flamenco 3.5+ sends them (issue 13).

`forwarder.py` holds the bounded queue and the paho client; `loop.py` wires it
to the event broker and the settings.
"""
