"""A real Worker process with `-devices` against a real Manager: one registered Worker per GPU.

No GPU is needed: the slots' device selection is checked where it is made, in the
environment and command line of the programs they run (a stand-in `blender` records
its argv; tests/e2e/test_cycles_device.py runs the expression in Debian's Blender).
"""

from __future__ import annotations

import json
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from flamenco_pkg.worker.commands.cycles_device import python_expr
from tests.e2e.harness import WorkerProcess, task_log, wait_for_job, write_job_type
from tests.integration.farm import Api, ManagerProcess, wait_until

PAIR_JOB = """
const JOB_TYPE = { label: "GPU pair", settings: [ { key: "barrier", type: "string", required: true } ] };
function compileJob(job) {
  // Each task waits (with a deadline) until both tasks have started: both can only
  // complete if they ran at the same time, on two slots.
  const wait_for_both = 'touch "' + job.settings.barrier + '/started-$CUDA_VISIBLE_DEVICES"; ' +
    'for i in $(seq 600); do [ "$(ls "' + job.settings.barrier + '" | wc -l)" -ge 2 ] && exit 0; sleep 0.1; done; ' +
    'echo "the other task never started"; exit 1';
  for (const n of [1, 2]) {
    const task = author.Task("gpu-task-" + n, "misc");
    task.addCommand(author.Command("exec", { exe: "env", args: [] }));
    task.addCommand(author.Command("blender-render", { exe: "blender", exeArgs: "-b -y", argsBefore: [],
      blendfile: "/jobs/scene.blend", args: ["--render-output", "/out/######", "--render-frame", "" + n] }));
    task.addCommand(author.Command("exec", { exe: "bash", args: ["-c", wait_for_both] }));
    job.addTask(task);
  }
}
"""

FAKE_BLENDER = """#!{python}
import json, os, sys
if sys.argv[1:] == ["--version"]:
    print("Blender 9.9 (stand-in that records its command line)")
    sys.exit(0)
device = os.environ.get("CUDA_VISIBLE_DEVICES", "none")
with open(os.path.join({records!r}, "blender-" + device + ".json"), "w") as f:
    json.dump({{"argv": sys.argv[1:], "env": {{k: os.environ.get(k) for k in
               ("CUDA_VISIBLE_DEVICES", "HIP_VISIBLE_DEVICES", "TMPDIR")}}}}, f)
print("Fra:1 Mem:1M | Time:00:00.01")
"""

FAKE_NVIDIA_SMI = """#!/bin/sh
echo "GPU 0: NVIDIA GeForce RTX 4090 (UUID: GPU-00000000-1111-2222-3333-444455556666)"
echo "GPU 1: NVIDIA GeForce RTX 4090 (UUID: GPU-11111111-1111-2222-3333-444455556666)"
"""


@pytest.fixture(scope="module")
def manager(tmp_path_factory) -> Iterator[ManagerProcess]:
    proc = ManagerProcess(tmp_path_factory.mktemp("devices") / "manager")
    write_job_type(proc.scripts, "gpu_pair", PAIR_JOB)
    proc.start()
    try:
        yield proc
    finally:
        proc.stop()


def executable(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    path.chmod(0o755)
    return path


def workers_named(api: Api, prefix: str) -> dict[str, dict]:
    return {w["name"]: w for w in api.get("/api/v3/worker-mgt/workers").json()["workers"]
            if w["name"].startswith(prefix)}


def test_two_gpu_slots_register_run_tasks_at_once_on_their_own_device_and_sign_off(api, tmp_path):
    records = tmp_path / "records"
    records.mkdir()
    bin_dir = tmp_path / "bin"
    executable(bin_dir / "blender", FAKE_BLENDER.format(python=sys.executable, records=str(records)))
    worker = WorkerProcess(tmp_path / "w", api.base_url, name="gpuhost", args=["-devices", "0,1"],
                           env_extra={"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"})
    names = {"gpuhost-gpu0": "0", "gpuhost-gpu1": "1"}
    try:
        worker.start()
        wait_until(lambda: {n: w["status"] for n, w in workers_named(api, "gpuhost").items()}
                   == {n: "awake" for n in names}, deadline_s=30, interval_s=0.2, what="both slots awake")
        for n, device in names.items():  # each its own registration, in its own folder
            creds = yaml.safe_load((worker.home / f"gpu{device}" / "flamenco-worker-credentials.yaml").read_text())
            assert creds["worker_id"] == workers_named(api, "gpuhost")[n]["id"]
        assert not (worker.home / "flamenco-worker-credentials.yaml").exists()

        barrier = tmp_path / "barrier"
        barrier.mkdir()
        resp = api.post("/api/v3/jobs", json={"name": "pair", "type": "gpu-pair", "priority": 50,
                                              "submitter_platform": "linux", "settings": {"barrier": str(barrier)}})
        assert resp.status_code == 200, resp.text
        job_id = resp.json()["id"]
        wait_for_job(api, job_id, "completed", deadline_s=60, logs=[worker])
        # Both got past the barrier: each task was running while the other had started.
        assert sorted(p.name for p in barrier.iterdir()) == ["started-0", "started-1"]

        for task in api.get(f"/api/v3/jobs/{job_id}/tasks").json()["tasks"]:
            detail = api.get(f"/api/v3/tasks/{task['id']}").json()
            device = names[detail["worker"]["name"]]
            other = "1" if device == "0" else "0"
            log = task_log(api, task["id"])
            assert f"CUDA_VISIBLE_DEVICES={device}\n" in log and f"HIP_VISIBLE_DEVICES={device}\n" in log
            assert f"CUDA_VISIBLE_DEVICES={other}" not in log
            assert f"TMPDIR={worker.home / f'gpu{device}' / 'tmp'}\n" in log
        tasks_by_worker = {api.get(f"/api/v3/tasks/{t['id']}").json()["worker"]["name"]
                           for t in api.get(f"/api/v3/jobs/{job_id}/tasks").json()["tasks"]}
        assert tasks_by_worker == set(names)

        for device, other in (("0", "1"), ("1", "0")):  # the command line each slot ran Blender with
            rec = json.loads((records / f"blender-{device}.json").read_text())
            argv = rec["argv"]
            blend = argv.index("/jobs/scene.blend")
            assert argv[:blend] == ["-b", "-y"]
            assert argv[blend + 1:blend + 3] == ["--python-expr", python_expr("CUDA")]
            assert argv[blend + 3] == "--render-output" and argv[-2:][0] == "--render-frame"
            assert rec["env"] == {"CUDA_VISIBLE_DEVICES": device, "HIP_VISIBLE_DEVICES": device,
                                  "TMPDIR": str(worker.home / f"gpu{device}" / "tmp")}
            slot_log = (worker.home / f"gpu{device}" / "flamenco-worker.log").read_text()
            assert f"[gpu{device}] " in slot_log and f"[gpu{other}] " not in slot_log
        assert "[gpu0] " in worker.log_text() and "[gpu1] " in worker.log_text()

        worker.proc.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=25) == 1
        assert {n: w["status"] for n, w in workers_named(api, "gpuhost").items()} == {n: "offline" for n in names}
        assert "Traceback" not in worker.log_text()
    finally:
        worker.stop()


def test_devices_auto_uses_nvidia_smi(api, tmp_path):
    bin_dir = tmp_path / "bin"
    executable(bin_dir / "nvidia-smi", FAKE_NVIDIA_SMI)
    worker = WorkerProcess(tmp_path / "w", api.base_url, name="autohost", args=["-devices", "auto"],
                           env_extra={"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"})
    result = worker.run("-flush", timeout=60)  # sign on (registering), deliver the queue, sign off
    assert result.returncode == 0, result.stderr
    assert "found NVIDIA GPUs 0, 1" in result.stderr
    listed = workers_named(api, "autohost")
    assert sorted(listed) == ["autohost-gpu0", "autohost-gpu1"]
    assert {w["status"] for w in listed.values()} == {"offline"}


def test_devices_auto_without_nvidia_gpus_says_so(tmp_path):
    empty_bin = tmp_path / "bin"
    empty_bin.mkdir()
    worker = WorkerProcess(tmp_path / "w", "http://127.0.0.1:9/", name="nogpu", args=["-devices", "auto"],
                           env_extra={"PATH": str(empty_bin)})
    result = worker.run(timeout=60)
    assert result.returncode == 1
    assert "no NVIDIA GPU found: nvidia-smi is not on the PATH" in result.stderr
    assert "Traceback" not in result.stderr
    bad = WorkerProcess(tmp_path / "w", "http://127.0.0.1:9/", name="nogpu", args=["-devices", "0,0"]).run(timeout=60)
    assert bad.returncode == 1 and "-devices: device 0 is listed twice" in bad.stderr
