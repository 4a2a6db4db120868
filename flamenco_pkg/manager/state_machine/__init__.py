"""Job, task and worker status machines.

`rules.py` decides (pure functions, every deviation from upstream listed);
`apply.py` writes job and task decisions in the caller's transaction;
`workers.py` writes worker status requests; `startup.py` settles jobs left
in a `*-requested` status by a stopped Manager.
"""
