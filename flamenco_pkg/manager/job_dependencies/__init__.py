"""Job -> job dependencies: a job runs only once the jobs it depends on are completed.

`rules.py` holds the pure rules (ready? which dependency failed? would this
make a cycle? is this `depends_on` acceptable?); the SQL is in
`db/job_dependencies.py`; the status changes they cause go through the state
machine (`state_machine/rules.py: dependent_job_decision`, applied by
`state_machine/apply.py`).
"""
