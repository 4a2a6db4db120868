"""The Blender add-on in Debian's real Blender, headless, against a real Manager.

Blender makes a small project (a scene linking a texture and a library
.blend), installs the built add-on zip into a throw-away user folder, and
submits the scene with `bpy.ops.flamenco.submit_job()`, as a studio script
would. Shaman on: only missing files are uploaded and the checkout holds
the pack; Shaman off: the pack is copied to shared storage. Then a real
Worker renders the submitted job.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.e2e.harness import E2EManager, WorkerProcess, program, wait_for_job
from tests.integration.farm import REPO, ManagerProcess
from tests.integration.shaman_client import ensure_addon_built

MAKE_PROJECT = r'''
import bpy, json, os, sys
args = json.loads(sys.argv[sys.argv.index("--") + 1])
root = args["project"]
os.makedirs(os.path.join(root, ".blender_project"), exist_ok=True)
for sub in ("textures", "libs", "shots"):
    os.makedirs(os.path.join(root, sub), exist_ok=True)

# A texture on disk.
image = bpy.data.images.new("wood", 8, 8)
image.pixels = [0.6, 0.4, 0.2, 1.0] * 64
image.filepath_raw = os.path.join(root, "textures", "wood.png")
image.file_format = "PNG"
image.save()

# A library .blend with one object.
mesh = bpy.data.meshes.new("LibMesh")
mesh.from_pydata([(0, 0, 0), (1, 0, 0), (0, 1, 0)], [], [(0, 1, 2)])
lib_obj = bpy.data.objects.new("LibTriangle", mesh)
bpy.data.libraries.write(os.path.join(root, "libs", "lib.blend"), {lib_obj, mesh})
bpy.data.objects.remove(lib_obj)

scene = bpy.context.scene
scene.name = "Shot010"
scene.render.engine = "CYCLES"
scene.cycles.device = "CPU"
scene.cycles.samples = 1
scene.cycles.use_denoising = False
scene.render.resolution_x = 32
scene.render.resolution_y = 18
scene.render.resolution_percentage = 100
scene.render.fps = 12
scene.render.fps_base = 1
scene.frame_start = 2
scene.frame_end = 4
scene.render.image_settings.file_format = "PNG"
blend = os.path.join(root, "shots", "scene.blend")
bpy.ops.wm.save_as_mainfile(filepath=blend)

# Link the library object, and use the texture in a material of the default cube.
with bpy.data.libraries.load("//../libs/lib.blend", link=True, relative=True) as (src, dst):
    dst.objects = ["LibTriangle"]
for obj in dst.objects:
    scene.collection.objects.link(obj)
material = bpy.data.materials.new("Wood")
material.use_nodes = True
tex = material.node_tree.nodes.new("ShaderNodeTexImage")
tex.image = bpy.data.images.load(os.path.join(root, "textures", "wood.png"))
bsdf = material.node_tree.nodes["Principled BSDF"]
material.node_tree.links.new(tex.outputs["Color"], bsdf.inputs["Base Color"])
bpy.data.objects["Cube"].data.materials.append(material)
bpy.ops.file.make_paths_relative()
bpy.ops.wm.save_as_mainfile(filepath=blend)
print("MADE", [lib.filepath for lib in bpy.data.libraries], [img.filepath for img in bpy.data.images])
'''

SUBMIT = r'''
import bpy, json, sys, traceback
args = json.loads(sys.argv[sys.argv.index("--") + 1])
out = {"submissions": []}
try:
    bpy.ops.preferences.addon_install(filepath=args["zip"])
    bpy.ops.preferences.addon_enable(module="flamenco")
    prefs = bpy.context.preferences.addons["flamenco"].preferences
    prefs.manager_token = args.get("token", "")
    prefs.manager_url = args["url"]
    out["ping"] = sorted(bpy.ops.flamenco.ping_manager())
    scene = bpy.context.scene
    scene.flamenco_job_name = args["job_name"]
    scene.flamenco_job_priority = 60
    scene.flamenco_job_type = "simple-blender-render"
    scene.flamenco_job_settings.render_output_root = args["render_root"]
    scene.flamenco_job_settings.chunk_size = 3  # one render task: one Blender start on the Worker
    if args.get("worker_tag"):
        scene.flamenco_worker_tag = args["worker_tag"]
    if args.get("depends_on"):  # "Start After": one of the jobs the refresh listed
        scene.flamenco_depends_on = args["depends_on"]
    out["frames_setting"] = scene.flamenco_job_settings.frames
    out["output_path_setting"] = scene.flamenco_job_settings.render_output_path
    # Save, as an artist does after setting up the panel. (Blender's first save of a session
    # writes one memory address differently from later saves, so without it the first
    # submission's .blend would differ from the second's.)
    bpy.ops.wm.save_mainfile()
    for i, paused in enumerate(args["submit_paused"]):
        if "submit_tokens" in args:
            prefs.manager_token = args["submit_tokens"][i]
        scene.flamenco_job_submit_as_paused = paused
        try:
            result = sorted(bpy.ops.flamenco.submit_job())
        except RuntimeError as exc:
            result = ["ERROR: " + str(exc)]
        from flamenco import state  # the add-on's runtime status, for scripts
        out["submissions"].append({"result": result, "job_id": state.status.last_job_id,
                                   "status": state.status.text})
except Exception:
    out["exception"] = traceback.format_exc()
with open(args["out"], "w") as f:
    json.dump(out, f)
'''


def run_blender(workdir: Path, script: str, args: dict, blend: Path | None = None) -> subprocess.CompletedProcess:
    """Headless Blender with a user folder of its own, so the add-on is installed only there."""
    workdir.mkdir(parents=True, exist_ok=True)
    script_path = workdir / "script.py"
    script_path.write_text(script, encoding="utf-8")
    env = dict(os.environ, BLENDER_USER_CONFIG=str(workdir / "config"),
               BLENDER_USER_SCRIPTS=str(workdir / "scripts"))
    command = ["blender", "-b", "--factory-startup"] + ([str(blend)] if blend else []) + [
        "--python-exit-code", "1", "--python", str(script_path), "--", json.dumps(args)]
    result = subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True, timeout=180)
    (workdir / "blender.log").write_text(result.stdout + result.stderr, encoding="utf-8")
    return result


@pytest.fixture(scope="module")
def addon_zip() -> Path:
    """The add-on as the Manager serves it; built here when `make` has not run."""
    return ensure_addon_built()


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    if not shutil.which("blender"):
        pytest.skip("needs Debian's blender (installed by .ci/run)")
    root = tmp_path_factory.mktemp("project")
    result = run_blender(root / "_make", MAKE_PROJECT, {"project": str(root)})
    blend = root / "shots" / "scene.blend"
    assert result.returncode == 0 and blend.exists(), result.stdout[-3000:] + result.stderr[-3000:]
    assert "//../libs/lib.blend" in result.stdout and "//../textures/wood.png" in result.stdout, result.stdout
    return root


def submit(manager: ManagerProcess, project: Path, addon_zip: Path, workdir: Path, *, paused: list[bool],
           job_name: str = "e2e shot", worker_tag: str = "", depends_on: str = "", token: str = "",
           submit_tokens: list[str] | None = None) -> dict:
    """Submit from Blender; `token` is set in the add-on preferences, `submit_tokens` per submission."""
    out = workdir / "result.json"
    args = {"zip": str(addon_zip), "url": manager.url, "job_name": job_name, "submit_paused": paused,
            "render_root": str(workdir / "render"), "out": str(out), "worker_tag": worker_tag,
            "depends_on": depends_on, "token": token}
    if submit_tokens is not None:
        args["submit_tokens"] = submit_tokens
    result = run_blender(workdir, SUBMIT, args, blend=project / "shots" / "scene.blend")
    assert out.exists() and result.returncode == 0, \
        f"Blender failed ({result.returncode}):\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    data = json.loads(out.read_text())
    assert "exception" not in data, data["exception"] + result.stdout[-3000:]
    data["log"] = result.stdout + result.stderr
    return data


def stored_blobs(manager: ManagerProcess) -> list[Path]:
    return sorted((manager.workdir / "shared" / "file-store" / "stored").rglob("*.blob"))


def uploads_logged(manager: ManagerProcess) -> int:
    return sum(" flamenco.shaman: stored " in line for line in manager.log_text().splitlines())


@pytest.fixture(scope="module")
def shaman_farm(tmp_path_factory, project, addon_zip):
    """A Manager with Shaman; the scene submitted twice from the same Blender session."""
    base = tmp_path_factory.mktemp("shaman-farm")
    manager = E2EManager(base / "manager").start()
    try:
        data = submit(manager, project, addon_zip, base / "blender", paused=[False, False])
        yield manager, data, base
    finally:
        manager.stop()


def test_submission_with_shaman(shaman_farm, project):
    manager, data, _base = shaman_farm
    api = manager.api()
    assert data["ping"] == ["FINISHED"]
    assert data["frames_setting"] == "2-4"  # filled in from the scene when the job type was chosen
    first, second = data["submissions"]
    assert first["result"] == ["FINISHED"], first
    assert second["result"] == ["FINISHED"], second

    job = api.get(f"/api/v3/jobs/{first['job_id']}").json()
    settings = job["settings"]
    assert job["name"] == "e2e shot" and job["type"] == "simple-blender-render" and job["priority"] == 60
    assert settings["frames"] == "2-4" and settings["fps"] == 12.0
    assert settings["format"] == "PNG" and settings["scene"] == "Shot010"
    assert settings["image_file_extension"] == ".png" and settings["chunk_size"] == 3
    checkout_id = job["storage"]["shaman_checkout_id"]
    assert checkout_id == "e2e shot"
    assert settings["blendfile"] == "{jobs}/e2e shot/shots/scene.flamenco.blend"

    # The checkout holds the pack, with the project's folder structure.
    checkout = manager.workdir / "shared" / "jobs" / checkout_id
    assert (checkout / "textures" / "wood.png").read_bytes() == (project / "textures" / "wood.png").read_bytes()
    assert (checkout / "libs" / "lib.blend").read_bytes() == (project / "libs" / "lib.blend").read_bytes()
    assert (checkout / "shots" / "scene.flamenco.blend").read_bytes()[:7] == b"BLENDER"
    assert (checkout / "textures" / "wood.png").is_symlink()
    assert not (project / "shots" / "scene.flamenco.blend").exists()  # the temporary copy is gone

    second_job = api.get(f"/api/v3/jobs/{second['job_id']}").json()
    assert second_job["storage"]["shaman_checkout_id"].startswith("e2e shot-")
    assert "4 of 4 files uploaded" in first["status"], first["status"]
    assert "0 of 4 files uploaded" in second["status"], second["status"]


def test_second_submission_uploads_nothing_new(shaman_farm):
    manager, _data, _base = shaman_farm
    # Four files uploaded for the first submission, none for the second.
    assert uploads_logged(manager) == 4
    assert len(stored_blobs(manager)) == 4


def test_submission_without_shaman_copies_to_shared_storage(tmp_path, project, addon_zip):
    manager = E2EManager(tmp_path / "manager", extra_config="shaman:\n  enabled: false\n").start()
    try:
        tag = manager.api().post("/api/v3/worker-mgt/tags", json={"name": "gpu"})
        assert tag.status_code == 200, tag.text
        bake = manager.api().post("/api/v3/jobs", json={
            "name": "bake", "type": "echo-sleep-test", "priority": 50, "submitter_platform": "linux",
            "settings": {"message": "bake"}, "initial_status": "paused"}).json()
        data = submit(manager, project, addon_zip, tmp_path / "blender", paused=[True], job_name="copy job",
                      worker_tag=tag.json()["id"], depends_on=bake["id"])
        (submission,) = data["submissions"]
        assert submission["result"] == ["FINISHED"], data["log"][-3000:]
        job = manager.api().get(f"/api/v3/jobs/{submission['job_id']}").json()
        assert job["status"] == "paused" and job["worker_tag"] == tag.json()["id"]
        assert job["depends_on"] == [bake["id"]]  # "Start After" reached the Manager
        assert manager.api().get(f"/api/v3/jobs/{bake['id']}").json()["dependents"] == [job["id"]]
        blendfile = Path(job["settings"]["blendfile"])
        shared = manager.workdir / "shared"
        pack = blendfile.parents[1]
        assert pack.parent == shared and pack.name.endswith("-copy job")
        assert blendfile == pack / "shots" / "scene.flamenco.blend" and blendfile.is_file()
        assert (pack / "textures" / "wood.png").read_bytes() == (project / "textures" / "wood.png").read_bytes()
        assert (pack / "libs" / "lib.blend").is_file() and not (pack / "libs" / "lib.blend").is_symlink()
        assert "storage" not in job or not job["storage"].get("shaman_checkout_id")
        assert not (shared / "file-store").exists()
    finally:
        manager.stop()


def test_worker_renders_the_submitted_job(shaman_farm, need_blender):
    manager, data, base = shaman_farm
    job_id = data["submissions"][0]["job_id"]
    worker = WorkerProcess(base / "worker", manager.url, name="addon-e2e")
    try:
        worker.start()
        wait_for_job(manager.api(), job_id, "completed", deadline_s=240, logs=[manager, worker])
    finally:
        worker.stop()
    # This job's own output folder (the second submission is a job of its own).
    output = Path(manager.api().get(f"/api/v3/jobs/{job_id}").json()["settings"]["render_output_path"]).parent
    assert output.parent.parent == base / "blender" / "render"  # {root}/{job name}/{timestamp}/
    assert sorted(f.name for f in output.glob("*.png")) == ["000002.png", "000003.png", "000004.png"]
    assert list(output.glob("*.mp4")), "the preview video is missing"


def manager_cli(manager: ManagerProcess, *args: str, stdin: str = "") -> str:
    """The Manager's own command line (the zipapp when fresh), in its folder."""
    result = subprocess.run([*program("manager"), *args], cwd=manager.workdir, input=stdin, capture_output=True,
                            text=True, timeout=60, env=dict(os.environ, PYTHONPATH=str(REPO)))
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_submission_with_a_token_when_auth_is_on(tmp_path, project, addon_zip):
    """Without a token the add-on says what to do; with an artist's token the job is that artist's."""
    manager = E2EManager(tmp_path / "manager", extra_config="auth:\n  enabled: true\n").start()
    try:
        manager_cli(manager, "-add-user", "ada", "-role", "artist", stdin="ada-secret-1\n")
        token = manager_cli(manager, "-new-token", "ada").strip().splitlines()[-1]
        data = submit(manager, project, addon_zip, tmp_path / "blender", paused=[True, True], job_name="token job",
                      token=token, submit_tokens=["", token])
        assert data["ping"] == ["FINISHED"], data["log"][-3000:]
        refused, accepted = data["submissions"]
        assert refused["result"][0].startswith("ERROR: "), refused
        assert "requires a login" in refused["result"][0] and "Manager Token" in refused["result"][0], refused
        assert not refused["job_id"]
        assert accepted["result"] == ["FINISHED"], data["log"][-3000:]
        api = manager.api()
        anonymous = api.get(f"/api/v3/jobs/{accepted['job_id']}", check=False)
        assert anonymous.status_code == 401
        job = api.get(f"/api/v3/jobs/{accepted['job_id']}", headers={"Authorization": f"Bearer {token}"}).json()
        assert job["submitted_by"] == "ada" and job["status"] == "paused"
        assert job["storage"]["shaman_checkout_id"]  # the files went through Shaman with the token too
    finally:
        manager.stop()


PROBLEMS = r'''
import bpy, json, sys
args = json.loads(sys.argv[sys.argv.index("--") + 1])
out = {}


def attempt(name, call):
    try:
        out[name] = sorted(call())
    except RuntimeError as exc:  # how bpy.ops hands an operator's ERROR report to scripts
        out[name] = str(exc)


bpy.ops.preferences.addon_install(filepath=args["zip"])
bpy.ops.preferences.addon_enable(module="flamenco")
prefs = bpy.context.preferences.addons["flamenco"].preferences
prefs.manager_url = "http://127.0.0.1:9/"
attempt("unreachable", bpy.ops.flamenco.ping_manager)
prefs.manager_url = args["url"]
attempt("ping", bpy.ops.flamenco.ping_manager)
bpy.context.scene.flamenco_job_type = "simple-blender-render"
from flamenco import state, version
version.API_VERSION = "2.0"  # pretend this add-on is from another release
attempt("mismatch", bpy.ops.flamenco.submit_job)
out["mismatch_flag"] = state.status.version_mismatch
attempt("forced_but_unsaved", lambda: bpy.ops.flamenco.submit_job(ignore_version_mismatch=True))
with open(args["out"], "w") as f:
    json.dump(out, f)
'''


def test_problems_are_explained(shaman_farm, addon_zip, tmp_path):
    manager, _data, _base = shaman_farm
    out = tmp_path / "out.json"
    result = run_blender(tmp_path, PROBLEMS, {"zip": str(addon_zip), "url": manager.url, "out": str(out)})
    assert out.exists() and result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    data = json.loads(out.read_text())
    assert "Manager cannot be reached at http://127.0.0.1:9" in data["unreachable"]
    assert data["ping"] == ["FINISHED"]
    assert "Manager (3.9) and this add-on (2.0) version mismatch" in data["mismatch"]
    assert data["mismatch_flag"] is True
    assert "Please save your .blend file before submitting to Flamenco" in data["forced_but_unsaved"]
