"""Worker sleep schedules: `schedule.py` (pure: verdicts and next checks in
the Manager's local time), `scheduler.py` (applies a schedule to a Worker),
`loop.py` (the periodic check)."""
