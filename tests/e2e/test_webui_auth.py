"""The web UI with auth on, in headless Chromium against a real Manager.

One Manager with `auth: {enabled: true}`; users are made with the Manager's
own CLI (`-add-user`, password on standard input; `-new-token`), as a
studio would. Artists submit over the API with their tokens; in the page
they log in, see jobs arrive live, cancel their own job, are refused
another artist's, and log out. A manager reads a job's history; an admin
manages users and tokens; a session that ends mid-way returns to the
login page.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator

import pytest

from tests.e2e.harness import program
from tests.e2e.test_webui_live import JOBS_ROWS, job_row, job_status_in_db, submit
from tests.e2e.webui_harness import browser, page, screenshot  # noqa: F401  (fixtures)
from tests.integration.farm import REPO, Api, ManagerProcess, wait_until

PASSWORDS = {"ada": "ada-secret-1", "bob": "bob-secret-2", "cy": "cy-secret-3", "root": "root-secret-4"}
ROLES = {"ada": "artist", "bob": "artist", "cy": "manager", "root": "admin"}


def manager_cli(farm: ManagerProcess, *args: str, stdin: str = "") -> str:
    """The Manager's own command line (the zipapp when fresh), in its folder, while it runs."""
    result = subprocess.run([*program("manager"), *args], cwd=farm.workdir,
                            input=stdin, capture_output=True, text=True, timeout=60,
                            env=dict(os.environ, PYTHONPATH=str(REPO)))
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def farm(tmp_path_factory) -> Iterator[ManagerProcess]:
    manager = ManagerProcess(tmp_path_factory.mktemp("webui-auth") / "manager",
                             extra_config="auth:\n  enabled: true\n").start()
    try:
        for name, password in PASSWORDS.items():
            manager_cli(manager, "-add-user", name, "-role", ROLES[name], stdin=password + "\n")
        yield manager
    finally:
        manager.stop()


@pytest.fixture(scope="module")
def as_user(farm: ManagerProcess):
    """An API client per user, with an API token made by the CLI."""
    clients: dict[str, Api] = {}

    def get(name: str) -> Api:
        if name not in clients:
            token = manager_cli(farm, "-new-token", name).strip().splitlines()[-1]
            api = farm.api()
            api.session.headers["Authorization"] = f"Bearer {token}"
            clients[name] = api
        return clients[name]

    return get


def log_in(page, farm: ManagerProcess, name: str, password: str | None = None, path: str = "/app/jobs") -> None:
    page.goto(farm.url + path)
    form = page.locator('form[data-form="login"]')
    form.wait_for()
    form.locator('input[name="username"]').fill(name)
    form.locator('input[name="password"]').fill(password or PASSWORDS[name])
    form.locator('[data-action="login"]').click()
    page.locator('[data-field="user"]').wait_for()
    # Only now does the page open its live connection (with the session cookie), and the Manager takes it.
    wait_until(lambda: page.evaluate("window.__flamencoSubscriptions().length > 0"),
               what="the Manager to confirm the live-update subscriptions")


def api_status_in_page(page, path: str) -> int:
    """What the API answers this page now (its cookies go along)."""
    return page.evaluate("async (p) => (await fetch(p)).status", path)


def test_login_page_says_what_went_wrong(farm, page):
    page.goto(farm.url + "/app/jobs")
    form = page.locator('form[data-form="login"]')
    form.wait_for()
    assert page.locator('[data-nav="jobs"]').count() == 0  # nothing of the app before a login
    assert api_status_in_page(page, "/api/v3/jobs") == 401
    form.locator('input[name="username"]').fill("ada")
    form.locator('input[name="password"]').fill("not-her-password")
    form.locator('[data-action="login"]').click()
    error = page.locator('[data-field="login-error"]')
    error.wait_for()
    assert error.inner_text() == "Wrong username or password."
    assert page.evaluate("window.__flamencoSubscriptions().length") == 0
    assert not page.errors, page.errors
    screenshot(page, "login-refused")


def test_artist_sees_jobs_live_cancels_its_own_is_refused_another_and_logs_out(farm, as_user, page):
    ada_api, bob_api = as_user("ada"), as_user("bob")
    log_in(page, farm, "ada")
    assert page.locator('[data-field="user"]').inner_text().split() == ["ada", "artist"]
    assert page.locator('[data-nav="settings"]').count() == 0 and page.locator('[data-nav="users"]').count() == 0
    page.evaluate("window.__noReload = true")

    # Jobs submitted over the API appear without a reload.
    mine = submit(ada_api, "ada-shot")
    theirs = submit(bob_api, "bob-shot")
    assert ada_api.get(f"/api/v3/jobs/{mine['id']}").json()["submitted_by"] == "ada"
    job_row(page, "ada-shot").wait_for()
    job_row(page, "bob-shot").wait_for()

    # Bob's job: nothing to click, and the page says why.
    job_row(page, "bob-shot").click()
    details = page.locator(f'.job-details[data-job="{theirs["id"]}"]')
    details.wait_for()
    wait_until(lambda: details.locator('[data-field="job-not-allowed"]').count() == 1,
               what="the explanation on bob's job")
    assert "Submitted by bob" in details.locator('[data-field="job-not-allowed"]').inner_text()
    assert details.locator('[data-action="job-cancel"]').is_disabled()

    # Her own job: cancel it.
    job_row(page, "ada-shot").click()
    details = page.locator(f'.job-details[data-job="{mine["id"]}"]')
    details.wait_for()
    details.locator('[data-action="job-cancel"]').click()
    wait_until(lambda: job_status_in_db(farm.db_path, mine["id"]) == "canceled", what="ada's job to be canceled")
    wait_until(lambda: details.locator('[data-field="job-status"]').inner_text() == "canceled",
               what="the details to show the cancellation")

    # Both selected, pause asked: the Manager refuses bob's job and the page shows its words.
    job_row(page, "bob-shot").click(modifiers=["Control"])
    wait_until(lambda: page.locator(JOBS_ROWS + ".selected").count() == 2, what="two selected jobs")
    page.locator('.col-jobs [data-action="job-pause"]').click()
    refusal = page.locator('.col-jobs [data-field="job-refused"]')
    refusal.wait_for()
    assert refusal.inner_text().startswith("Refused by the Manager: bob-shot: ")
    assert job_status_in_db(farm.db_path, theirs["id"]) == "queued"
    assert "queued" in job_row(page, "bob-shot").locator('[data-col="status"]').inner_text()
    screenshot(page, "artist-refused")

    # Log out: the login page again, and the API refuses this browser now.
    page.locator('[data-action="logout"]').click()
    page.locator('form[data-form="login"]').wait_for()
    assert page.locator('[data-field="user"]').count() == 0
    assert api_status_in_page(page, "/api/v3/jobs") == 401
    assert page.evaluate("window.__noReload === true"), "the page reloaded"
    assert not page.errors, page.errors


def test_manager_reads_who_canceled_a_job(farm, as_user, page):
    job = submit(as_user("ada"), "history-shot")
    resp = as_user("ada").post(f"/api/v3/jobs/{job['id']}/setstatus", json={"status": "cancel-requested", "reason": "t"})
    assert resp.status_code == 204, resp.text
    log_in(page, farm, "cy", path=f"/app/jobs/{job['id']}")
    details = page.locator(f'.job-details[data-job="{job["id"]}"]')
    details.locator('[data-tab="history"]').click()
    entries = details.locator('[data-field="history-entry"]')
    wait_until(lambda: entries.count() >= 2, what="the job's history")
    lines = entries.all_inner_texts()
    assert lines[0].startswith("canceled by ada, ") and lines[-1].startswith("submitted by ada, "), lines
    assert not page.errors, page.errors
    screenshot(page, "job-history")


def test_admin_manages_users_and_a_lost_session_returns_to_login(farm, browser, page):
    log_in(page, farm, "root")
    page.locator('[data-nav="users"]').click()
    page.locator('tr[data-user="ada"]').wait_for()
    page.fill('input[name="new-username"]', "dee")
    page.select_option('select[name="new-role"]', "viewer")
    page.fill('input[name="new-password"]', "dee-secret-5")
    page.locator('[data-action="user-add"]').click()
    row = page.locator('tr[data-user="dee"]')
    row.wait_for()
    assert row.locator('[data-field="role"]').inner_text() == "viewer"

    # A token, shown once, that works at once, until it is revoked.
    row.locator('[data-action="token-create"]').click()
    token = page.locator('[data-field="token-value"]').inner_text().strip()
    api = farm.api()
    me = api.get("/api/v3/auth/me", headers={"Authorization": f"Bearer {token}"}, check=False)  # ours: not in upstream's spec
    assert (me.status_code, me.json()["username"], me.json()["role"]) == (200, "dee", "viewer")
    row.locator('[data-action="token-revoke"]').click()
    row.locator('[data-action="token-revoke-confirm"]').click()
    wait_until(lambda: row.locator(".token").count() == 0, what="the revoked token to leave the list")
    assert api.get("/api/v3/auth/me", headers={"Authorization": f"Bearer {token}"}, check=False).status_code == 401
    screenshot(page, "users")

    # Dee logs in elsewhere: a viewer gets no buttons to act with.
    other = browser.new_context(viewport={"width": 1600, "height": 900})
    try:
        dee = other.new_page()
        dee.set_default_timeout(15_000)
        log_in(dee, farm, "dee", "dee-secret-5", path="/app/workers")
        assert dee.locator('[data-action="worker-apply"]').count() == 0
        # The admin removes dee: dee's next request is refused and the page asks for a login again.
        row.locator('[data-action="user-remove"]').click()
        row.locator('[data-action="user-remove-confirm"]').click()
        wait_until(lambda: page.locator('tr[data-user="dee"]').count() == 0, what="dee to leave the list")
        dee.locator('[data-nav="tags"]').click()
        dee.locator('[data-field="session-expired"]').wait_for()
        assert dee.locator('form[data-form="login"]').is_visible()
    finally:
        other.close()
    assert not page.errors, page.errors
