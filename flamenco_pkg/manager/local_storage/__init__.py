"""The Manager's local storage folder: safe paths inside it (`paths.py`),
which request paths are acceptable (`path_rules.py`), per-task log files
(`task_logs.py`)."""
