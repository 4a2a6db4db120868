"""One Worker slot per GPU: parsing the devices option, slot names and paths, the Cycles expression."""

from __future__ import annotations

import logging
import threading

import pytest

from flamenco_pkg.worker.commands.blender import blender_argv
from flamenco_pkg.worker.commands.cycles_device import (DEVICE_TYPES, WARNING_PREFIX, check_device_type, device_args,
                                                        python_expr)
from flamenco_pkg.worker.config import ConfigError, load_config
from flamenco_pkg.worker.devices import AUTO, DevicesError, parse_devices, parse_nvidia_smi, plan_slots
from flamenco_pkg.worker.slotlog import OnlySlot, SlotTag, child_thread_name, slot_of, thread_name


@pytest.mark.parametrize("given, devices", [
    (None, []), ("", []), ("0,1", ["0", "1"]), (" 1, 0 ", ["1", "0"]), ("0 2", ["0", "2"]), ("3", ["3"]),
    (2, ["2"]), ([0, 1], ["0", "1"]), (["0", "01"], ["0", "1"]), ("auto", AUTO), (" AUTO ", AUTO),
])
def test_devices_option_forms(given, devices):
    assert parse_devices(given) == devices


@pytest.mark.parametrize("given, message", [
    ("0,0", "listed twice"), ([1, "1"], "listed twice"), ("gpu0", "not a device number"), ("-1", "not a device"),
    ([True], "not a device"), (True, "expected device numbers"), ({"a": 1}, "expected device numbers"),
    ("0,x", "'x'"),
])
def test_bad_devices_say_why(given, message):
    with pytest.raises(DevicesError, match=message):
        parse_devices(given)


def test_nvidia_smi_listing():
    out = ("GPU 0: NVIDIA GeForce RTX 4090 (UUID: GPU-5c0f1e0e-1111-2222-3333-444455556666)\n"
           "GPU 1: NVIDIA RTX A6000 (UUID: GPU-aaaaaaaa-1111-2222-3333-444455556666)\n"
           "  MIG 1g.10gb Device 0: (UUID: MIG-...)\n\n")
    assert parse_nvidia_smi(out) == ["0", "1"]
    assert parse_nvidia_smi("No devices were found\n") == []
    assert parse_nvidia_smi("") == []


def test_without_devices_the_single_slot_is_the_plain_worker(tmp_path):
    [plan] = plan_slots([], "render-07", tmp_path)
    assert (plan.label, plan.name, plan.home, plan.device) == ("", "render-07", tmp_path, None)
    assert plan.child_env("CUDA") == {} and plan.temp_dir is None and plan.log_file is None


def test_one_slot_per_device_with_its_own_name_files_and_environment(tmp_path):
    plans = plan_slots(["0", "1"], "render-07", tmp_path)
    assert [p.name for p in plans] == ["render-07-gpu0", "render-07-gpu1"]
    assert [p.label for p in plans] == ["gpu0", "gpu1"]
    assert [p.home for p in plans] == [tmp_path / "gpu0", tmp_path / "gpu1"]
    assert plans[1].temp_dir == tmp_path / "gpu1" / "tmp"
    assert plans[1].log_file == tmp_path / "gpu1" / "flamenco-worker.log"
    env = plans[1].child_env("CUDA")
    assert env == {"CUDA_VISIBLE_DEVICES": "1", "HIP_VISIBLE_DEVICES": "1", "TMPDIR": str(tmp_path / "gpu1" / "tmp"),
                   "TEMP": str(tmp_path / "gpu1" / "tmp"), "TMP": str(tmp_path / "gpu1" / "tmp")}
    assert plans[0].child_env("ONEAPI")["ONEAPI_DEVICE_SELECTOR"] == "level_zero:0"
    # Nothing two slots write may be the same path.
    paths = [p for plan in plans for p in (plan.home, plan.temp_dir, plan.log_file)]
    assert len(set(paths)) == len(paths)


@pytest.mark.parametrize("kind", DEVICE_TYPES)
def test_python_expr_enables_only_that_device_type_and_uses_the_gpu(kind):
    expr = python_expr(kind.lower())
    compile(expr, "<python-expr>", "exec")  # valid Python for Blender to run
    assert f'_flamenco_cycles_device("{kind}")' in expr
    assert "dev.use = dev.type == kind" in expr            # every other device (CPU too) off
    assert 'scene.cycles.device = "GPU" if found else "CPU"' in expr
    assert f"{WARNING_PREFIX} Blender found no %s device" in expr
    assert "except Exception" in expr                      # a missing backend never stops the render
    assert device_args(kind) == ["--python-expr", expr]


def test_python_expr_falls_back_to_the_cpu_when_blender_lacks_the_backend():
    """Run the expression against stand-ins for bpy: a Blender without the backend, and one with it."""
    import types

    class Prefs:
        def __init__(self, backends, devices):
            self.backends, self._devices, self.devices = backends, devices, []

        def __setattr__(self, key, value):
            if key == "compute_device_type" and value not in self.backends:
                raise TypeError(f'enum "{value}" not found')
            object.__setattr__(self, key, value)

        def refresh_devices(self):
            self.devices = self._devices

    def run(prefs):
        scene = types.SimpleNamespace(name="Scene", cycles=types.SimpleNamespace(device="GPU"))
        bpy = types.SimpleNamespace(
            context=types.SimpleNamespace(preferences=types.SimpleNamespace(
                addons={"cycles": types.SimpleNamespace(preferences=prefs)})),
            data=types.SimpleNamespace(scenes=[scene]))
        printed: list[str] = []
        code = python_expr("OPTIX").replace("import bpy\n", "")
        exec(code, {"bpy": bpy, "print": printed.append})  # noqa: S102 — the expression under test
        return scene.cycles.device, printed

    device, printed = run(Prefs(["NONE", "CUDA"], []))
    assert device == "CPU" and any(WARNING_PREFIX in line and "OPTIX" in line for line in printed)

    dev = lambda t, n: types.SimpleNamespace(type=t, name=n, use=True)  # noqa: E731
    devices = [dev("CPU", "cpu"), dev("CUDA", "RTX (CUDA)"), dev("OPTIX", "RTX (OptiX)")]
    device, printed = run(Prefs(["NONE", "CUDA", "OPTIX"], devices))
    assert device == "GPU" and [d.use for d in devices] == [False, False, True]
    assert printed == ["Flamenco: Cycles renders on OPTIX: RTX (OptiX)"]


def test_unknown_device_type_is_refused():
    assert check_device_type(" optix ") == "OPTIX"
    with pytest.raises(ValueError, match="CUDA, OPTIX, HIP, METAL, ONEAPI"):
        check_device_type("VULKAN")


def test_blender_argv_puts_the_device_selection_between_blend_file_and_render_args():
    params = {"exe": "blender", "exeArgs": "-b -y", "argsBefore": [], "blendfile": "/jobs/a.blend",
              "args": ["--render-output", "/out/####", "--render-frame", "1..3"]}
    argv = blender_argv(params, device_args=("--python-expr", "X"))
    assert argv == ["blender", "-b", "-y", "/jobs/a.blend", "--python-expr", "X", "--render-output", "/out/####",
                    "--render-frame", "1..3"]
    assert blender_argv(params) == [a for a in argv if a not in ("--python-expr", "X")]


def test_config_reads_devices_and_device_type(tmp_path):
    path = tmp_path / "flamenco-worker.yaml"
    path.write_text("devices: [0, 1]\ndevice_type: optix\n")
    cfg = load_config(path)
    assert (cfg.devices, cfg.device_type) == (["0", "1"], "OPTIX")
    path.write_text("devices: auto\n")
    assert load_config(path).devices == AUTO and load_config(path).device_type == "CUDA"
    assert load_config(tmp_path / "missing.yaml").devices == []


@pytest.mark.parametrize("text, field", [("devices: [0, 0]\n", "devices: device 0 is listed twice"),
                                         ("device_type: vulkan\n", "device_type"),
                                         ("device_type: [CUDA]\n", "device_type: expected text")])
def test_config_refuses_bad_devices(tmp_path, text, field):
    path = tmp_path / "flamenco-worker.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=field):
        load_config(path)


def test_threads_of_a_slot_keep_its_label_and_its_log_lines_say_so():
    assert slot_of("gpu1|worker-loop") == "gpu1" and slot_of("worker-loop") == ""
    assert thread_name("", "worker-loop") == "worker-loop"
    names: list[str] = []

    def inner() -> None:
        names.append(child_thread_name("may-i-run"))

    t = threading.Thread(target=inner, name=thread_name("gpu1", "worker-loop"))
    t.start()
    t.join()
    assert names == ["gpu1|may-i-run"]
    assert child_thread_name("upstream-buffer") == "upstream-buffer"  # main thread: no slot

    record = logging.LogRecord("flamenco.worker", logging.INFO, __file__, 1, "hello", None, None)
    record.threadName = "gpu1|may-i-run"
    assert SlotTag().filter(record) and record.slot == "[gpu1] "
    assert OnlySlot("gpu1").filter(record) and not OnlySlot("gpu0").filter(record)

