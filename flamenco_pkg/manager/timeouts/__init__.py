"""Timeouts: active tasks untouched past `task_timeout` fail, Workers silent
past `worker_timeout` go to `error` (`checks.py`); `loop.py` runs the checks."""
