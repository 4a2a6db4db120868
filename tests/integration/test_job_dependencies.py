"""Job -> job dependencies with a real Manager and real Worker processes (issue 16).

A -> B -> C: each job's tasks append "start"/"end" lines to one file, so the
file shows the order in which the Workers really ran them. Two Workers are
idle throughout, so a task handed out too early would show up in it.
"""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

import pytest

from tests.e2e.harness import WorkerProcess, wait_for_job, write_job_type
from tests.integration.farm import ManagerProcess, wait_until

STEP_JOB = """
const JOB_TYPE = {
  label: "Dependency step",
  settings: [
    { key: "label", type: "string", required: true },
    { key: "trace", type: "string", required: true },
    { key: "fail_flag", type: "string", required: true },
  ],
};
function compileJob(job) {
  const s = job.settings;
  for (let i = 1; i <= 2; i++) {
    // A failing run stops at once, so no canceled run is left to write after a requeue.
    const script = `echo ${s.label}${i} start >> ${s.trace}; if [ -e ${s.fail_flag} ]; then exit 3; fi; ` +
      `sleep 0.3; echo ${s.label}${i} end >> ${s.trace}`;
    const task = author.Task(`${s.label}${i}`, "misc");
    task.addCommand(author.Command("exec", { exe: "/bin/sh", args: ["-c", script] }));
    job.addTask(task);
  }
}
"""

# A job type that makes its job wait for itself: the only way to close a
# cycle at submission (a new job's id is not known before).
SELF_JOB = """
const JOB_TYPE = { label: "Self dependent", settings: [] };
function compileJob(job) {
  job.dependsOn = job.dependsOn.concat([job.jobID]);
  const task = author.Task("t", "misc");
  task.addCommand(author.Command("echo", { message: "never" }));
  job.addTask(task);
}
"""


@pytest.fixture(scope="module")
def farm(tmp_path_factory):
    root = tmp_path_factory.mktemp("deps")
    # One failure fails a task (and so the two-task job A): no waiting for retries.
    manager = ManagerProcess(root / "manager", extra_config="task_fail_after_softfail_count: 1\n")
    write_job_type(manager.scripts, "dep_step", STEP_JOB)
    write_job_type(manager.scripts, "self_dependent", SELF_JOB)
    manager.start()
    workers = [WorkerProcess(root / f"w{i}", manager.url, name=f"deps-{i}") for i in range(2)]
    try:
        for worker in workers:
            worker.start()
        yield manager, manager.api(), workers, root
    finally:
        for worker in workers:
            worker.stop()
        manager.stop()


def submit(api, label: str, root: Path, depends_on: list[str] | None = None, **extra):
    body = {"name": label, "type": "dep-step", "priority": 50, "submitter_platform": "linux",
            "settings": {"label": label, "trace": str(root / "trace.txt"), "fail_flag": str(root / f"fail-{label}")},
            **extra}
    if depends_on is not None:
        body["depends_on"] = depends_on
    return api.post("/api/v3/jobs", json=body)


def trace(root: Path) -> list[str]:
    path = root / "trace.txt"
    return path.read_text().split("\n")[:-1] if path.exists() else []


def job(api, job_id: str) -> dict:
    return api.get(f"/api/v3/jobs/{job_id}").json()


def assert_ran_after(lines: list[str], first: str, then: str) -> None:
    """Every line of job `then` comes after the last "end" line of job `first`."""
    last_end = max(i for i, line in enumerate(lines) if line.startswith(first) and line.endswith(" end"))
    mine = [i for i, line in enumerate(lines) if line.startswith(then)]
    assert mine and min(mine) > last_end, lines


def job_count(api) -> int:
    return len(api.get("/api/v3/jobs").json()["jobs"])


def test_chain_runs_in_order_and_a_failed_dependency_holds_its_dependents(farm):
    manager, api, workers, root = farm
    (root / "fail-A").write_text("fail")
    a = submit(api, "A", root).json()
    b_resp = submit(api, "B", root, depends_on=[a["id"]])
    assert b_resp.status_code == 200, b_resp.text
    b = b_resp.json()
    assert b["depends_on"] == [a["id"]]
    c = submit(api, "C", root, depends_on=[b["id"]]).json()

    b_now = job(api, b["id"])
    assert b_now["status"] == "queued" and b_now["activity"].startswith('Waiting for job "A"'), b_now
    assert b_now["dependents"] == [c["id"]] and b_now["depends_on"] == [a["id"]]
    assert job(api, a["id"])["dependents"] == [b["id"]]

    # A fails: B is paused, naming A; C keeps waiting for B.
    wait_for_job(api, a["id"], "failed", 60, workers)
    wait_until(lambda: job(api, b["id"])["status"] == "paused", deadline_s=10, what="B paused")
    b_now = job(api, b["id"])
    assert "dependency job \"A\"" in b_now["activity"] and "failed" in b_now["activity"], b_now
    c_now = job(api, c["id"])
    assert c_now["status"] == "queued" and c_now["activity"].startswith('Waiting for job "B"'), c_now
    assert not any(line[0] in "BC" for line in trace(root)), trace(root)

    # Deleting A or B alone would strand their dependents.
    refused = api.delete(f"/api/v3/jobs/{a['id']}")
    assert refused.status_code == 409 and b["id"] in refused.json()["message"], refused.text

    # Requeue A (it succeeds now): B waits again, then B and C run, each after the one before.
    (root / "fail-A").unlink()
    assert api.post(f"/api/v3/jobs/{a['id']}/setstatus",
                    json={"status": "requeueing", "reason": "fixed"}).status_code == 204
    wait_until(lambda: job(api, b["id"])["status"] in ("queued", "active", "completed"), deadline_s=10,
               what="B waiting again")
    wait_for_job(api, c["id"], "completed", 60, workers)
    assert job(api, a["id"])["status"] == "completed" and job(api, b["id"])["status"] == "completed"
    lines = trace(root)
    assert_ran_after(lines, "A", "B")
    assert_ran_after(lines, "B", "C")
    assert len([line for line in lines if line.endswith(" end")]) == 6, lines


def test_unknown_ids_and_cycles_are_refused_and_nothing_is_stored(farm):
    _manager, api, _workers, root = farm
    before = job_count(api)
    unknown = submit(api, "X", root, depends_on=["00000000-0000-4000-8000-000000000000"])
    assert unknown.status_code == 400, unknown.text
    assert unknown.json() == {"code": 400, "message": "depends_on names job(s) that do not exist: "
                                                      "00000000-0000-4000-8000-000000000000"}
    check = api.post("/api/v3/jobs/check", json={"name": "X", "type": "dep-step", "priority": 50,
                                                 "submitter_platform": "linux", "depends_on": ["nope"],
                                                 "settings": {"label": "X", "trace": "t", "fail_flag": "f"}})
    assert check.status_code == 400 and "nope" in check.json()["message"], check.text
    bad_type = submit(api, "X", root, depends_on="nope")
    assert bad_type.status_code == 400 and bad_type.json()["code"] == 400
    cycle = api.post("/api/v3/jobs", json={"name": "self", "type": "self-dependent", "priority": 50,
                                           "submitter_platform": "linux"})
    assert cycle.status_code == 400, cycle.text
    assert "dependency cycle" in cycle.json()["message"], cycle.text
    assert job_count(api) == before


def test_deleting_dependents_with_their_dependency_is_allowed(farm):
    _manager, api, _workers, root = farm
    paused = submit(api, "P", root, initial_status="paused").json()
    waiting = submit(api, "W", root, depends_on=[paused["id"]]).json()
    assert job(api, waiting["id"])["status"] == "queued"
    assert api.delete(f"/api/v3/jobs/{paused['id']}").status_code == 409
    assert api.delete(f"/api/v3/jobs/{waiting['id']}").status_code == 204  # marked: no longer counts
    assert api.delete(f"/api/v3/jobs/{paused['id']}").status_code == 204


def test_mass_delete_takes_whole_chains_only(farm):
    _manager, api, _workers, root = farm
    first = submit(api, "M1", root, initial_status="paused").json()
    created = first["created"]
    wait_until(lambda: time.time() - datetime.fromisoformat(created.replace("Z", "+00:00")).timestamp() > 1.1,
               deadline_s=5, what="a second to pass")
    later = submit(api, "M2", root, depends_on=[first["id"]]).json()
    # Everything up to the first job's second: the job that depends on it is left out, so no.
    refused = api.delete("/api/v3/jobs/mass-delete", json={"last_updated_max": created})
    assert refused.status_code == 409 and later["id"] in refused.json()["message"], refused.text
    assert "delete_requested_at" not in job(api, first["id"])  # nothing marked
    everything = api.delete("/api/v3/jobs/mass-delete", json={"last_updated_max": later["updated"]})
    assert everything.status_code == 204, everything.text
