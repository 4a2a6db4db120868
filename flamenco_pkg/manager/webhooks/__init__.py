"""Webhooks: signed JSON POSTs about job and worker status changes (issue 13).

`messages.py` says what is sent (pure), `outbox.py` queues deliveries in the
status change's own transaction, `loop.py` sends them and retries for a day.
"""
