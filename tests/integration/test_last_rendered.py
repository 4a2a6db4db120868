"""Last-rendered previews and `/job-files/`, over real HTTP, Socket.IO and Pillow (issue 3, item 4)."""

from __future__ import annotations

import base64
import http.client
import io
import json
import os
import threading

import pytest
from PIL import Image

from tests.integration.farm import ManagerProcess, ScriptedWorker, wait_until
from tests.integration.live import LiveClient

SIZES = {"last-rendered.jpg": (1920, 1080), "last-rendered-small.jpg": (600, 338),
         "last-rendered-tiny.jpg": (200, 112)}


def image_bytes(size: tuple[int, int], fmt: str = "PNG", mode: str = "RGB") -> bytes:
    image = Image.linear_gradient("L").resize(size).convert(mode)
    out = io.BytesIO()
    image.save(out, fmt, compress_level=1) if fmt == "PNG" else image.save(out, fmt)
    return out.getvalue()


def submit_job(api) -> tuple[str, str]:
    resp = api.post("/api/v3/jobs", json={"name": "preview", "type": "echo-sleep-test", "priority": 50,
                                          "submitter_platform": "linux", "settings": {"message": "m"}})
    assert resp.status_code == 200, resp.text
    job_id = resp.json()["id"]
    task_id = api.get(f"/api/v3/jobs/{job_id}/tasks").json()["tasks"][0]["id"]
    return job_id, task_id


def post_image(worker: ScriptedWorker, task_id: str, data: bytes, content_type: str = "image/png"):
    return worker.api.post(f"/api/v3/worker/task/{task_id}/output-produced", data=data,
                           headers={"Content-Type": content_type})


def raw_request(manager: ManagerProcess, method: str, path: str, auth: tuple[str, str] | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    """A bodiless request with the path sent byte for byte (requests would normalise `..`)."""
    conn = http.client.HTTPConnection("127.0.0.1", manager.port, timeout=10)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        if auth:
            conn.putheader("Authorization", "Basic " + base64.b64encode(":".join(auth).encode()).decode())
        for name, value in (headers or {}).items():
            conn.putheader(name, value)
        conn.endheaders()
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def raw_get(manager: ManagerProcess, path: str) -> tuple[int, bytes]:
    return raw_request(manager, "GET", path)


@pytest.fixture
def worker(manager) -> ScriptedWorker:
    w = ScriptedWorker(manager.url)
    w.register()
    return w


def test_preview_becomes_three_thumbnails_served_from_job_files(manager, api, worker):
    job_id, task_id = submit_job(api)
    assert api.get(f"/api/v3/jobs/{job_id}/last-rendered").status_code == 204
    assert api.get("/api/v3/jobs/last-rendered").status_code == 204
    live = LiveClient(manager.url)
    try:
        live.subscribe("job", job_id)
        resp = post_image(worker, task_id, image_bytes((3000, 1000)))
        assert resp.status_code == 202, resp.text
        event = live.wait_for("/last-rendered", lambda p: p["job_id"] == job_id)
        live.check_schemas()
    finally:
        live.close()

    expected_base = f"/job-files/job-{job_id[:4]}/{job_id}"
    assert event["thumbnail"] == {"base": expected_base, "suffixes": list(SIZES)}
    info = api.get(f"/api/v3/jobs/{job_id}/last-rendered").json()
    assert info == event["thumbnail"]
    assert api.get("/api/v3/jobs/last-rendered").json() == info

    # 3000x1000 fitted (shrink only, aspect kept) into each box, each from the previous one.
    expected = {"last-rendered.jpg": (1920, 640), "last-rendered-small.jpg": (600, 200),
                "last-rendered-tiny.jpg": (200, 67)}
    for suffix, size in expected.items():
        resp = api.get(f"{info['base']}/{suffix}")
        assert resp.status_code == 200 and resp.headers["Content-Type"] == "image/jpeg"
        image = Image.open(io.BytesIO(resp.content))
        assert (image.format, image.size) == ("JPEG", size)
        assert image.size[0] <= SIZES[suffix][0] and image.size[1] <= SIZES[suffix][1]


def test_small_jpeg_is_not_enlarged_and_global_info_follows_latest_job(manager, api, worker):
    first_job, first_task = submit_job(api)
    second_job, second_task = submit_job(api)
    assert post_image(worker, first_task, image_bytes((640, 480))).status_code == 202
    wait_until(lambda: api.get("/api/v3/jobs/last-rendered").status_code == 200, what="first preview")
    assert api.get("/api/v3/jobs/last-rendered").json()["base"].endswith(first_job)

    assert post_image(worker, second_task, image_bytes((150, 100), "JPEG"), "image/jpeg").status_code == 202
    wait_until(lambda: api.get("/api/v3/jobs/last-rendered").json()["base"].endswith(second_job),
               what="global last-rendered to move to the second job")
    base = f"/job-files/job-{second_job[:4]}/{second_job}"
    sizes = {s: Image.open(io.BytesIO(api.get(f"{base}/{s}").content)).size for s in SIZES}
    assert sizes == {"last-rendered.jpg": (150, 100), "last-rendered-small.jpg": (150, 100),
                     "last-rendered-tiny.jpg": (150, 100)}
    # The first job keeps its own thumbnails.
    assert api.get(f"/api/v3/jobs/{first_job}/last-rendered").status_code == 200


def test_upload_refusals(manager, api, worker):
    job_id, task_id = submit_job(api)
    url = f"/api/v3/worker/task/{task_id}/output-produced"

    status, body = raw_request(manager, "POST", url, auth=worker.api.auth,
                               headers={"Content-Type": "image/png"})  # no Content-Length at all
    assert status == 411 and json.loads(body)["code"] == 411
    empty = post_image(worker, task_id, b"")
    assert empty.status_code == 411

    too_big = post_image(worker, task_id, b"\0" * (25 * 1024 * 1024 + 1))
    assert too_big.status_code == 413 and "25 MiB" in too_big.json()["message"]

    unknown = post_image(worker, "7a0ca9bc-8e4f-4f4b-9d3c-0c9e0b5e3a11", image_bytes((10, 10)))
    assert unknown.status_code == 404 and unknown.json() == "Task does not exist"

    gif = post_image(worker, task_id, image_bytes((10, 10), "GIF"), "image/gif")
    assert gif.status_code == 400

    no_auth = worker.api.post(url, data=image_bytes((10, 10)), headers={"Content-Type": "image/png"},
                              auth=None)
    assert no_auth.status_code == 403

    # Bytes that claim to be a PNG are accepted, then dropped: no thumbnail appears.
    assert post_image(worker, task_id, b"not an image at all").status_code == 202
    good_job, good_task = submit_job(api)
    assert post_image(worker, good_task, image_bytes((64, 64))).status_code == 202
    wait_until(lambda: api.get(f"/api/v3/jobs/{good_job}/last-rendered").status_code == 200,
               what="the valid image after the broken one")
    assert api.get(f"/api/v3/jobs/{job_id}/last-rendered").status_code == 204
    assert "cannot be used" in manager.log_text()


def test_full_queue_answers_429(manager, api, worker):
    _job_id, task_id = submit_job(api)
    heavy = image_bytes((4096, 4096))  # takes Pillow a good fraction of a second
    codes: list[int] = []
    lock = threading.Lock()

    def send() -> None:
        code = post_image(worker, task_id, heavy).status_code
        with lock:
            codes.append(code)

    threads = [threading.Thread(target=send) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert set(codes) == {202, 429}, codes
    assert codes.count(202) <= 4 + 2  # a queue of 3 plus the one in the works (+ slack for timing)


def test_job_files_serves_logs_and_refuses_escapes(manager, api, worker, tmp_path):
    job_id, task_id = submit_job(api)
    worker.state_changed(worker.sign_on())
    task = worker.ask_task().json()
    assert worker.update(task["uuid"], log="hello from the worker\n").status_code == 204
    log_url = api.get(f"/api/v3/tasks/{task['uuid']}/log").json()["url"]
    resp = api.get(log_url)
    assert resp.status_code == 200 and "hello from the worker" in resp.text
    assert resp.headers["Content-Type"].startswith("text/plain")

    # Something worth stealing beside the storage folder, and a symlink inside it pointing out.
    (manager.workdir / "secret.txt").write_text("top secret")
    os.symlink(manager.workdir, manager.storage / "outside")
    os.symlink(manager.workdir / "secret.txt", manager.storage / f"job-{job_id[:4]}" / "leak.txt")
    attacks = [
        "/job-files/../secret.txt",
        "/job-files/job-xxxx/../../secret.txt",
        "/job-files/%2e%2e/secret.txt",
        "/job-files/%2E%2E%2Fsecret.txt",
        "/job-files/%252e%252e/secret.txt",
        "/job-files/..%5csecret.txt",
        "/job-files/..\\secret.txt",
        "/job-files//etc/passwd",
        "/job-files/%2fetc%2fpasswd",
        f"/job-files/{manager.workdir}/secret.txt",
        "/job-files/C:/secret.txt",
        "/job-files/./outside/secret.txt",
        "/job-files/outside/secret.txt",
        f"/job-files/job-{job_id[:4]}/leak.txt",
        "/job-files/%00secret.txt",
    ]
    for path in attacks:
        status, body = raw_get(manager, path)
        assert 400 <= status < 500, (path, status, body)
        assert b"top secret" not in body and b"root:" not in body, path
    assert raw_get(manager, "/job-files/outside/secret.txt")[0] == 403  # symlink out: refused
    assert raw_get(manager, f"/job-files/job-{job_id[:4]}/{job_id}/nothing.txt")[0] == 404
    assert raw_get(manager, f"/job-files/job-{job_id[:4]}/{job_id}")[0] == 404  # no listings
