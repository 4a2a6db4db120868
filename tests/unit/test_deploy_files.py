"""The service files in deploy/ are well-formed and start the programs with flags they accept."""

from __future__ import annotations

import configparser
import plistlib
import re
import shlex
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path, PureWindowsPath

import pytest

from flamenco_pkg.manager.cli import parse_args as manager_args
from flamenco_pkg.worker.cli import parse_args as worker_args

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
RESTART_CODE = "47"
TASK_NS = {"t": "http://schemas.microsoft.com/windows/2004/02/mit/task"}


def unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # keys are case-sensitive in systemd
    parser.read(DEPLOY / "linux" / name, encoding="utf-8")
    return parser


def program_args(argv: list[str], pyz: str) -> list[str]:
    """The flags after the .pyz in a command line; fails when the .pyz is not started."""
    names = [PureWindowsPath(a).name if "\\" in a else Path(a).name for a in argv]
    assert pyz in names, argv
    return argv[names.index(pyz) + 1:]


@pytest.mark.parametrize("name, pyz, parse", [
    ("flamenco-manager.service", "flamenco-manager.pyz", manager_args),
    ("flamenco-worker.service", "flamenco-worker.pyz", worker_args),
])
def test_systemd_units_start_the_program_from_its_folder(name, pyz, parse):
    service = unit(name)["Service"]
    argv = shlex.split(service["ExecStart"])
    assert argv[0] == "/usr/bin/python3"
    assert Path(argv[1]).parent == Path(service["WorkingDirectory"])
    parse(program_args(argv, pyz))  # argparse exits on an unknown flag
    assert service["Restart"] == "on-failure"
    assert unit(name)["Install"]["WantedBy"] == "multi-user.target"


def test_worker_unit_restarts_on_the_managers_request():
    service = unit("flamenco-worker.service")["Service"]
    args = worker_args(program_args(shlex.split(service["ExecStart"]), "flamenco-worker.pyz"))
    assert str(args.restart_exit_code) == RESTART_CODE == service["RestartForceExitStatus"]


def test_backup_timer_runs_the_backup_script():
    service = unit("flamenco-backup.service")["Service"]
    argv = shlex.split(service["ExecStart"])
    assert Path(argv[1]).name == "flamenco-backup.py" and (DEPLOY / "flamenco-backup.py").is_file()
    assert unit("flamenco-backup.timer")["Timer"]["OnCalendar"]


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze is not installed")
def test_systemd_accepts_the_units():
    files = sorted(str(p) for p in (DEPLOY / "linux").iterdir())
    result = subprocess.run(["systemd-analyze", "verify", "--man=no", *files], capture_output=True, text=True,
                            timeout=60)
    # It only warns (exit 0) about unknown keys and bad values, so any output counts as a failure.
    complaints = [line for line in (result.stdout + result.stderr).splitlines() if "/deploy/linux/" in line
                  or any(Path(f).name in line for f in files)]
    assert result.returncode == 0 and not complaints, result.stdout + result.stderr


@pytest.mark.parametrize("name, pyz, parse", [
    ("org.flamenco.manager.plist", "flamenco-manager.pyz", manager_args),
    ("org.flamenco.worker.plist", "flamenco-worker.pyz", worker_args),
])
def test_launchd_plists(name, pyz, parse):
    with open(DEPLOY / "macos" / name, "rb") as f:
        plist = plistlib.load(f)
    assert plist["Label"] == Path(name).stem
    argv = plist["ProgramArguments"]
    assert Path(argv[1]).parent == Path(plist["WorkingDirectory"])
    args = parse(program_args(argv, pyz))
    assert plist["KeepAlive"] == {"SuccessfulExit": False} and plist["RunAtLoad"] is True
    if "worker" in name:
        assert str(args.restart_exit_code) == RESTART_CODE


@pytest.mark.parametrize("role", ["manager", "worker"])
def test_windows_task_starts_its_script_which_starts_the_program(role):
    task = ET.parse(DEPLOY / "windows" / f"flamenco-{role}-task.xml")
    command = PureWindowsPath(task.find(".//t:Exec/t:Command", TASK_NS).text)
    workdir = PureWindowsPath(task.find(".//t:Exec/t:WorkingDirectory", TASK_NS).text)
    assert command.parent == workdir and command.name == f"flamenco-{role}.cmd"
    assert task.find(".//t:BootTrigger", TASK_NS) is not None

    script = (DEPLOY / "windows" / command.name).read_bytes()
    assert b"\r\n" in script and b"\n" not in script.replace(b"\r\n", b""), "batch files need CRLF line endings"
    text = script.decode("ascii")
    run = next(line for line in text.splitlines() if f"flamenco-{role}.pyz" in line and line.startswith("py "))
    argv = shlex.split(run.split(">>")[0].replace("\\", "/"))
    parse = manager_args if role == "manager" else worker_args
    args = parse(program_args(argv, f"flamenco-{role}.pyz"))
    assert f"cd /d {workdir}" in text
    assert re.search(r"if %ERRORLEVEL% EQU 0 exit /b 0", text), "exit code 0 (sent offline) stays down"
    if role == "worker":
        assert str(args.restart_exit_code) == RESTART_CODE
