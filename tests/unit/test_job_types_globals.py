"""The JS host API (prelude.js) seen from a job-type script: §2 of job-types.md."""

from __future__ import annotations

import datetime as dt
import json
import re
import time

import pytest

from flamenco_pkg.manager.job_types.engine import Sandbox, SandboxLimits, ScriptFailure
from flamenco_pkg.manager.job_types.loader import ScriptFile

LIMITS = SandboxLimits(time_limit_s=2.0, memory_limit_bytes=64 * 2**20)
CREATED = dt.datetime(2006, 1, 2, 15, 4, 5).astimezone()


def run_js(body: str, *, settings: dict | None = None, modules: dict | None = None,
           created: dt.datetime = CREATED, metadata: dict | None = None) -> dict:
    """Run `body` (a function body) inside compileJob; returns the compile output."""
    source = (
        'const JOB_TYPE = {label: "T", settings: []};\n'
        "function compileJob(job) {\n"
        "  const result = (function () {\n" + body + "\n  })();\n"
        "  if (result !== undefined) job.settings.result = result;\n"
        "}\n"
    )
    with Sandbox(ScriptFile("t", "t.js", "test", source), LIMITS, modules) as sandbox:
        sandbox.run_script()
        rows: list = []
        commands: list = []
        output = sandbox.compile({
            "name": "job", "priority": 50, "jobType": "t", "settings": settings or {},
            "metadata": metadata or {}, "createdMs": int(created.timestamp() * 1000),
            "jobID": "job-id", "workerTagUUID": "", "shamanCheckoutID": "",
        }, lambda columns, more_commands: (rows.extend(rows_of(columns)), commands.extend(more_commands)))
    output["tasks"] = [task_as_added(row, text) for row, text in zip(rows, commands)]
    return output


def rows_of(columns: list) -> list:
    """The prelude's task columns as rows [uuid, name, type, priority, steps, [dependency uuid, ...]]."""
    uuids, names, types, numbers, dependencies = columns
    priorities, steps, counts = numbers[0::3], numbers[1::3], numbers[2::3]
    starts = [sum(counts[:i]) for i in range(len(counts))]
    return [[uuid, name, task_type, priority, step, dependencies[start:start + n]]
            for uuid, name, task_type, priority, step, start, n in zip(uuids, names, types, priorities, steps,
                                                                       starts, counts)]


def task_as_added(row: list, commands_json: str) -> dict:
    """A stored task row in the shape the script gave job.addTask()."""
    uuid, name, task_type, priority, _steps, dependencies = row
    commands = [{"name": c["name"], "parameters": c["parameters"], "totalStepCount": c["total_step_count"]}
                for c in json.loads(commands_json)]
    return {"uUID": uuid, "name": name, "type": task_type, "priority": priority,
            "commands": commands, "dependencies": dependencies}


def js(expression: str, **kwargs) -> object:
    """Evaluate one JS expression in a job-type sandbox."""
    return run_js(f"return {expression};", **kwargs)["settings"]["result"]


def js_error(statement: str) -> list:
    """[typeof thrown, String(thrown)] for a statement that must throw."""
    return js(f"(() => {{ try {{ {statement}; }} catch (e) {{ return [typeof e, String(e)]; }} return 'no error'; }})()")


# -- frame ranges (§2.1) -----------------------------------------------------

@pytest.mark.parametrize("frames, size, expected", [
    ("1..10,20..25,40,3..8", 4, ["1-4", "5-8", "9,10,20,21", "22-25", "40"]),
    ("0-12,34-56,78-90", 20, ["0-12,34-40", "41-56,78-81", "82-90"]),
    (" 1  .. 10,\t20..25\n,40 ", 100, ["1-10,20-25,40"]),
    ("1-10", 3, ["1-3", "4-6", "7-9", "10"]),
    ("1-5,8", 2, ["1,2", "3,4", "5,8"]),
    ("5,3,5,4", 10, ["3-5"]),
    ("+5", 2.9, ["5"]),
    ("1-3", "2", ["1,2", "3"]),
])
def test_frame_chunker(frames, size, expected):
    assert js(f"frameChunker({json.dumps(frames)}, {json.dumps(size)})") == expected


@pytest.mark.parametrize("frames, size, message", [
    ("", 1, 'GoError: invalid range "": empty range'),
    ("   ", 1, 'GoError: invalid range "": empty range'),
    ("1-10", 0, "GoError: invalid chunk size, must be positive number: 0"),
    ("1-10", 0.5, "GoError: invalid chunk size, must be positive number: 0"),
    ("1-10", -3, "GoError: invalid chunk size, must be positive number: -3"),
    ("1 10", 1, 'GoError: invalid range "1 10":  1 10 (strconv.ParseInt: parsing "1 10": invalid syntax)'),
    ("1,,2", 1, 'GoError: invalid range "1,,2":   (strconv.ParseInt: parsing "": invalid syntax)'),
    ("-5", 1, 'GoError: invalid range "-5":  -5 (strconv.ParseInt: parsing "": invalid syntax)'),
    ("5-1", 1, 'GoError: invalid range "5-1": empty range'),
    ("1-2-3", 1, 'GoError: invalid range "1-2-3": 1-2-3'),
    ("1..3,x", 1, 'GoError: invalid range "1-3,x":  x (strconv.ParseInt: parsing "x": invalid syntax)'),
    ("99999999999999999999", 1, 'GoError: invalid range "99999999999999999999":  99999999999999999999 '
                                '(strconv.ParseInt: parsing "99999999999999999999": value out of range)'),
])
def test_frame_chunker_errors(frames, size, message):
    assert js_error(f"frameChunker({json.dumps(frames)}, {json.dumps(size)})") == ["object", message]


def test_frame_chunker_undefined_arguments_are_zero_values():
    assert js_error("frameChunker()") == ["object", 'GoError: invalid range "": empty range']
    assert js_error('frameChunker("1-3")') == ["object", "GoError: invalid chunk size, must be positive number: 0"]


def test_frame_count():
    assert js('[frameCount("1-10"), frameCount("5-1"), frameCount(" 3 , 4"), frameCount("1..3,2,7")]') == [10, 0, 2, 4]
    assert js_error('frameCount("")') == [
        "object", 'GoError: invalid range "":   (strconv.ParseInt: parsing "": invalid syntax)']


def test_frame_chunker_errors_are_catchable_go_errors():
    assert js('(() => { try { frameChunker("", 1) } catch (e) { return [e instanceof Error, e.name, e.message] } })()') == [
        True, "GoError", 'invalid range "": empty range']


# -- shellSplit --------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("a  b\tc\r\nd", ["a", "b", "c", "d"]),
    ('"a b" c\\ d', ["a b", "c d"]),
    ("x '' y", ["x", "", "y"]),
    ("'a\\nb'", ["a\\nb"]),
    ('"\\a\\"b"', ['a"b']),
    ("\\q", ["q"]),
    ("a #comment here\nb", ["a", "b"]),
    ("#only a comment", []),
    ("a#b", ["a#b"]),
    ('pre"quoted part"post', ["prequoted partpost"]),
    ("--flag=1 -P 'my script.py'", ["--flag=1", "-P", "my script.py"]),
    ("", []),
    ("   ", []),
])
def test_shell_split(text, expected):
    assert js(f"shellSplit({json.dumps(text)})") == expected


def test_shell_split_undefined_and_errors():
    assert js("shellSplit(undefined)") == []
    assert js("shellSplit(42)") == ["42"]
    assert js_error('shellSplit("\\"open")') == ["string", "EOF found when expecting closing quote"]
    assert js_error("shellSplit(\"'open\")") == ["string", "EOF found when expecting closing quote"]
    assert js_error('shellSplit("trailing\\\\")') == ["string", "EOF found after escape character"]
    assert js_error('shellSplit("\\"esc\\\\")') == ["string", "EOF found after escape character"]


# -- path module ---------------------------------------------------------------

@pytest.mark.parametrize("parts, expected", [
    (["C:\\d\\", "x"], "C:/d//x"),
    ([], ""),
    ([""], ""),
    (["", ""], ""),
    (["", "", "a", "", "b", ""], "a/b"),
    (["/", "file-at-root"], "/file-at-root"),
    (["C:", "file-at-root"], "C:/file-at-root"),
    (["a/./b/", "../c//d/"], "a/c/d"),
    (["/..", "x"], "/x"),
    (["..", "x"], "../x"),
    (["\\\\SERVER", "mount", "file.txt"], "//SERVER/mount/file.txt"),
    (["R:\\render\\out", "*.png"], "R:/render/out/*.png"),
])
def test_path_join(parts, expected):
    args = ", ".join(json.dumps(p) for p in parts)
    assert js(f"path.join({args})") == expected


def test_path_join_undefined_parts_are_dropped():
    assert js('path.join("a", undefined, null, "b")') == "a/b"


@pytest.mark.parametrize("value, expected", [
    ("", "."),
    ("justafile.txt", "."),
    ("/", "/"),
    ("/file-at-root", "/"),
    ("C:\\f.blend", "C:"),
    ("/a/b/", "/a/b"),
    ("//srv/s/f", "//srv/s"),
    ("/Mixed path\\with/slash.txt", "/Mixed path/with"),
    ("\\\\SERVER\\share\\dir\\f.blend", "//SERVER/share/dir"),
    ("/a//b", "/a/"),
])
def test_path_dirname(value, expected):
    assert js(f"path.dirname({json.dumps(value)})") == expected


@pytest.mark.parametrize("value, expected", [
    ("", "."),
    ("///", "/"),
    ("/a/b/", "b"),
    ("C:\\x\\y.blend", "y.blend"),
    ("plain", "plain"),
])
def test_path_basename(value, expected):
    assert js(f"path.basename({json.dumps(value)})") == expected


def test_path_basename_undefined_gives_dot():
    # Single Image Render (website script) relies on this.
    assert js("path.basename(undefined)") == "."


@pytest.mark.parametrize("value, expected", [
    ("a.flamenco.blend", "a.flamenco"),
    (".hidden", ""),
    ("", ""),
    ("stem.tar.gz", "stem.tar"),
    ("C:\\path\\to/mixed/file.txt", "file"),
    ("noext", "noext"),
])
def test_path_stem(value, expected):
    assert js(f"path.stem({json.dumps(value)})") == expected


# -- author module -------------------------------------------------------------

UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def test_author_task_defaults():
    name, type_, priority, uuid, commands, deps = js(
        '(() => { const t = author.Task("  render ", "\\tblender "); '
        "return [t.name, t.type, t.priority, t.uUID, t.commands, t.dependencies]; })()")
    assert (name, type_, priority, commands, deps) == ("render", "blender", 50, [], [])
    assert UUID4.match(uuid)


def test_author_task_uuids_are_unique_across_sandboxes():
    uuids = js('Array.from({length: 50}, () => author.Task("a", "b").uUID)')
    uuids += js('Array.from({length: 50}, () => author.Task("a", "b").uUID)')
    assert len(set(uuids)) == 100


@pytest.mark.parametrize("call, message", [
    ('author.Task(" ", "x")', "GoError: author.Task(name, type): name is required"),
    ("author.Task()", "GoError: author.Task(name, type): name is required"),
    ('author.Task("x")', "GoError: author.Task(name, type): type is required"),
    ('author.Task("x", "  ")', "GoError: author.Task(name, type): type is required"),
])
def test_author_task_required_arguments(call, message):
    assert js_error(call) == ["object", message]


def test_author_command():
    assert js('author.Command("echo", {message: "hi", n: 2.0, f: 1.5, u: undefined, nested: {a: [1, null]}})') == {
        "name": "echo",
        "parameters": {"message": "hi", "n": 2, "f": 1.5, "u": None, "nested": {"a": [1, None]}},
        "totalStepCount": 0,
    }
    assert js('author.Command("x", {}, 7).totalStepCount') == 7
    assert js('author.Command(undefined, undefined, "3.9")') == {"name": "", "parameters": {}, "totalStepCount": 3}


def test_author_command_exports_parameters_at_creation():
    assert js('(() => { const p = {a: 1}; const c = author.Command("x", p); p.a = 2; return c.parameters.a; })()') == 1


def test_add_command_and_dependency_reject_non_objects():
    assert js_error('author.Task("a", "b").addCommand(undefined)')[1].startswith("TypeError: task.addCommand")
    assert js_error('author.Task("a", "b").addDependency(null)')[1].startswith("TypeError: task.addDependency")
    assert js_error('author.Task("a", "b").addCommand(5)')[1].startswith("TypeError: task.addCommand")


def test_job_add_task_takes_a_snapshot():
    output = run_js(
        'const a = author.Task("a", "misc");\n'
        'a.addCommand(author.Command("echo", {message: "one"}));\n'
        "job.addTask(a);\n"
        'a.name = "renamed"; a.priority = 99;\n'
        'a.addCommand(author.Command("echo", {message: "two"}));\n'
        'const b = author.Task("b", "misc"); b.addDependency(a); b.priority = "7.8";\n'
        "job.addTask(b);\n"
        "return job.tasks.length;"
    )
    first, second = output["tasks"]
    assert (first["name"], first["priority"], len(first["commands"])) == ("a", 50, 1)
    assert second["dependencies"] == [first["uUID"]]
    assert second["priority"] == 7
    assert output["settings"]["result"] == 2


def test_tasks_made_in_a_loop_each_keep_what_they_were_given():
    """The prelude reuses the texts of the task before (names, parameters, commands); never a stale one."""
    values = [1, 1, 2, "1", "-0", 0, 1.5, True, False, None, 'a"b', "NaN", "Infinity", "undefined"]
    js_values = ", ".join(v if v in ("-0", "NaN", "Infinity", "undefined") else json.dumps(v) for v in values)
    output = run_js(f"""
      const values = [{js_values}];
      const reused = author.Command("render", {{frame: 1, path: "/x"}});
      for (let i = 0; i < 70; i++) {{
        const t = author.Task(i % 3 ? " sleep " : "sleep", i % 4 ? "misc" : 7);
        const v = values[i % values.length];
        if (i % 5 === 0) {{ reused.parameters.frame = v; t.addCommand(reused); }}
        else if (i % 5 === 1) t.addCommand(author.Command("sleep", {{duration: v}}));
        else if (i % 5 === 2) t.addCommand(author.Command("sleep", i % 2 ? {{other: v, duration: 1}} : {{duration: 1, other: v}}));
        else if (i % 5 === 3) {{ t.addCommand(author.Command("sleep", {{duration: v}})); t.addCommand(author.Command("sleep", {{duration: v}})); }}
        job.addTask(t);
      }}""")

    def exported(value):
        return {"-0": 0, "NaN": None, "Infinity": None, "undefined": None}.get(value, value) \
            if isinstance(value, str) else value

    expected = []
    for i in range(70):
        v = exported(values[i % len(values)])
        commands = [
            [{"name": "render", "parameters": {"frame": v, "path": "/x"}, "totalStepCount": 0}],
            [{"name": "sleep", "parameters": {"duration": v}, "totalStepCount": 0}],
            [{"name": "sleep", "parameters": {"other": v, "duration": 1} if i % 2 else {"duration": 1, "other": v},
              "totalStepCount": 0}],
            [{"name": "sleep", "parameters": {"duration": v}, "totalStepCount": 0}] * 2,
            [],
        ][i % 5]
        expected.append(("sleep", "misc" if i % 4 else "7", json.dumps(commands)))
    # json.dumps tells true from 1 and keeps the key order.
    assert [(t["name"], t["type"], json.dumps(t["commands"])) for t in output["tasks"]] == expected


def test_job_add_task_rejects_non_tasks():
    assert js_error("job.addTask(undefined)")[1].startswith("TypeError: job.addTask")


# -- formatTimestampLocal --------------------------------------------------------

def test_format_timestamp_local_uses_manager_local_time(monkeypatch):
    monkeypatch.setenv("TZ", "America/Sao_Paulo")
    time.tzset()
    try:
        # 2006-01-02 17:04:05 UTC is 15:04:05 in São Paulo (UTC-2 in January 2006).
        created = dt.datetime(2006, 1, 2, 17, 4, 5, tzinfo=dt.timezone.utc)
        assert js("formatTimestampLocal(job.created)", created=created) == "2006-01-02_150405"
        assert js('formatTimestampLocal("2006-01-02T17:04:05Z")') == "2006-01-02_150405"
        assert js("formatTimestampLocal(new Date(2020, 11, 31, 23, 59, 58))") == "2020-12-31_235958"
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def test_format_timestamp_local_type_errors():
    assert js_error("formatTimestampLocal(42)")[1].startswith("TypeError")
    assert js_error('formatTimestampLocal("not a date")')[1].startswith("TypeError")


# -- job object ----------------------------------------------------------------------

def test_job_object_members():
    result = js(
        "[job.name, job.priority, job.jobType, job.jobID, job.workerTagUUID, job.status, "
        "job.storage.shamanCheckoutID, job.created instanceof Date, job.tasks, "
        "'submitter_platform' in job, 'type_etag' in job]")
    assert result == ["job", 50, "t", "job-id", "", "under-construction", "", True, [], False, False]


def test_job_settings_are_live_and_returned():
    output = run_js(
        'job.settings.added = "x"; delete job.settings.gone; job.settings.fps = job.settings.fps * 2;\n'
        'return ["fps" in job.settings, Object.keys(job.settings).sort()];',
        settings={"gone": 1, "fps": 24.0, "ratio": 23.976},
    )
    assert output["settings"] == {"fps": 48, "ratio": 23.976, "added": "x",
                                  "result": [True, ["added", "fps", "ratio"]]}
    assert isinstance(output["settings"]["fps"], int)
    assert isinstance(output["settings"]["ratio"], float)


def test_job_metadata_values_are_strings():
    output = run_js("job.metadata.n = 5; job.metadata.u = undefined; return job.metadata.orig;",
                    metadata={"orig": "o"})
    assert output["metadata"] == {"orig": "o", "n": "5", "u": ""}
    assert output["settings"]["result"] == "o"


def test_submitted_float_integral_shows_as_int():
    assert js("[Number.isInteger(job.settings.fps), job.settings.fps]", settings={"fps": 24.0}) == [True, 24]


# -- misc globals ------------------------------------------------------------------------

def test_absent_globals():
    assert js("[typeof console, typeof setTimeout, typeof setInterval, typeof fs, typeof Buffer, "
              "typeof fetch, typeof queueMicrotask, typeof process.env]") == ["undefined"] * 8


def test_console_log_is_a_reference_error():
    assert js_error('console.log("x")')[1].startswith("ReferenceError")


def test_process_module(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    assert js("[process.platform, process.cwd()]") == ["linux", str(tmp_path)]


def test_builtin_modules_via_require():
    assert js('[require("path") === path, require("author") === author, require("process").platform]') == [
        True, True, "linux"]


def test_require_relative_and_node_modules():
    modules = {
        "lib/helper.js": 'const other = require("./other"); exports.twice = (x) => other.prefix + x + x;',
        "lib/other.json": '{"prefix": ">"}',
        "node_modules/thing/package.json": '{"main": "main.js"}',
        "node_modules/thing/main.js": 'module.exports = "thing:" + require("path").basename("/a/b.txt");',
        "pkg/index.js": "module.exports = 41 + 1;",
    }
    assert js('[require("./lib/helper").twice("ab"), require("thing"), require("./pkg"), '
              'require("./lib/helper.js") === require("./lib/helper")]', modules=modules) == [
        ">abab", "thing:b.txt", 42, True]
    assert js_error('require("./missing")') == ["object", "Error: Cannot find module './missing'"]


def test_print_and_alert_are_logged(caplog):
    caplog.set_level("INFO", logger="flamenco.jobtypes")
    assert js('print("hello", {a: 1}, 2) === undefined && alert("careful") === undefined') is True
    records = [(r.levelname, r.getMessage()) for r in caplog.records if r.name == "flamenco.jobtypes"]
    assert ("INFO", 'job type script t.js: hello {"a":1} 2') in records
    assert ("WARNING", "job type script t.js: careful") in records


def test_compile_job_error_text_has_location():
    with pytest.raises(ScriptFailure) as excinfo:
        run_js('\n  author.Task("", "x");')
    assert excinfo.value.message == (
        "GoError: author.Task(name, type): name is required at <anonymous> (t.js:5:10)")
