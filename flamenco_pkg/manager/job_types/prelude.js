// Host API for job-type scripts, written in plain JavaScript.
//
// Why JS and not Python callbacks: the QuickJS binding refuses calls into
// Python while a time limit is armed, and every sandbox runs with one. So the
// Manager passes all inputs in as JSON, this file implements the globals that
// Flamenco job-type scripts expect, and results go back out as JSON strings.
//
// Evaluating this file yields a function; the engine calls it once with the
// host data (platform, cwd, random seed, readable module files, ...). It
// installs the globals and returns the control function the engine uses.
(function installFlamencoHost(host) {
  "use strict";

  const G = globalThis;
  // The engine's way in, for handing out tasks while compileJob runs (see
  // engine.py); taken away from the global scope before any script runs.
  const hostCall = G.__flamencoHost;
  delete G.__flamencoHost;
  // Captured now, so a script that reassigns these cannot break the host side.
  const indirectEval = G.eval;
  const jsonStringify = JSON.stringify;
  const jsonParse = JSON.parse;
  const defineProperties = Object.defineProperties;
  const arrayJoin = Array.prototype.join;
  const isArray = Array.isArray;
  const NO_ITEMS = Object.freeze([]);

  // Non-ECMAScript extras that QuickJS offers but the reference engine does
  // not; scripts that rely on them would not be portable.
  for (const name of ["queueMicrotask", "performance", "btoa", "atob", "DOMException", "gc"]) {
    delete G[name];
  }

  // ------------------------------------------------------------------
  // Errors and argument conversion (mirrors the Go/goja boundary rules)
  // ------------------------------------------------------------------

  // Failures reported by "host" functions. String(e) reads "GoError: <text>".
  class GoError extends Error {}
  Object.defineProperty(GoError.prototype, "name", { value: "GoError" });

  // Throw `err` as if it came from the caller of `apiFunction`, so error
  // locations point into the job-type script rather than into this prelude.
  function raise(err, apiFunction) {
    if (typeof Error.captureStackTrace === "function") {
      Error.captureStackTrace(err, apiFunction);
    }
    throw err;
  }

  // Both start with the common case: in QuickJS every call of a built-in
  // costs more than a few comparisons.
  function asString(value) {
    if (typeof value === "string") return value;
    return value === undefined || value === null ? "" : String(value);
  }

  function asInt(value) {
    if (typeof value === "number" && (value | 0) === value) return value | 0; // `| 0` turns -0 into 0
    if (value === undefined || value === null) return 0;
    const n = Number(value);
    if (Number.isNaN(n)) return 0;
    if (!Number.isFinite(n)) return n > 0 ? Number.MAX_SAFE_INTEGER : -Number.MAX_SAFE_INTEGER;
    return Math.trunc(n) || 0; // `|| 0` turns -0 into 0
  }

  // Deep copy into plain JSON-able data. Integral numbers stay integral so the
  // Python side sees ints; undefined/null/functions become null.
  function exportReplacer(key, value) {
    if (value === undefined || typeof value === "function" || typeof value === "symbol") {
      return null;
    }
    return value;
  }
  function exportJSON(value) {
    const text = jsonStringify(value, exportReplacer);
    return text === undefined ? "null" : text;
  }
  function exportValue(value) {
    return jsonParse(exportJSON(value));
  }
  // The export of a plain object whose values are strings, booleans, null or
  // finite numbers, made without the JSON round trip (most command
  // parameters are like that); undefined when the object is anything else.
  const objectPrototype = Object.prototype;
  const getPrototypeOf = Object.getPrototypeOf;
  const objectKeys = Object.keys;
  const isFinite = Number.isFinite;
  function flatCopy(value) {
    if ("toJSON" in value) return undefined; // the caller checked the prototype
    const keys = objectKeys(value);
    const copy = {};
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i];
      const item = value[key];
      const kind = typeof item;
      if (key === "__proto__") return undefined; // an own "__proto__" key cannot be assigned
      if (kind === "number" ? item - item === 0 : kind === "string" || kind === "boolean" || item === null) {
        copy[key] = item === 0 ? 0 : item; // JSON has no -0
      } else {
        return undefined;
      }
    }
    return copy;
  }

  // Export for an API function; failures (cycles, BigInt) point at the caller.
  function exportOrRaise(value, what, apiFunction) {
    try {
      return exportValue(value);
    } catch (err) {
      raise(new TypeError(`${what}: ${err && err.message}`), apiFunction);
    }
  }

  // Go's strconv.Quote, close enough for error messages.
  function goQuote(text) {
    const named = { "\x07": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v", "\\": "\\\\", '"': '\\"' };
    let out = '"';
    for (const ch of text) {
      const code = ch.codePointAt(0);
      if (named[ch] !== undefined) out += named[ch];
      else if (code < 0x20 || code === 0x7f) out += "\\x" + code.toString(16).padStart(2, "0");
      else out += ch;
    }
    return out + '"';
  }

  // ------------------------------------------------------------------
  // print / alert: buffered, the engine logs them after the run
  // ------------------------------------------------------------------

  const MAX_MESSAGES = 500;
  const MAX_MESSAGE_LENGTH = 4000;
  const messages = [];
  let droppedMessages = 0;

  function describeForLog(value) {
    if (typeof value === "string") return value;
    try {
      const text = jsonStringify(value, exportReplacer);
      return text === undefined ? String(value) : text;
    } catch (err) {
      try { return String(value); } catch (err2) { return "[unprintable]"; }
    }
  }

  function logMessage(level, args) {
    if (messages.length >= MAX_MESSAGES) {
      droppedMessages++;
      return;
    }
    let text = Array.prototype.map.call(args, describeForLog).join(" ");
    if (text.length > MAX_MESSAGE_LENGTH) text = text.slice(0, MAX_MESSAGE_LENGTH) + "…";
    messages.push([level, text]);
  }

  function print() { logMessage("info", arguments); }
  function alert() { logMessage("warning", arguments); }

  // ------------------------------------------------------------------
  // Task UUIDs: a random prefix per sandbox and a counter (QuickJS has no crypto API)
  // ------------------------------------------------------------------

  // Version-4 format, unique, but not independently random: the first 74
  // bits are random per compile (seeded from os.urandom in Python), the last
  // group counts up from a random start. So a job's task UUIDs are in
  // increasing order, and storing 100k of them appends to the database's
  // UUID index instead of writing all over it. Collisions between jobs need
  // two equal 74-bit prefixes.
  const seed = host.seed.map((x) => x >>> 0);
  const hex = (value, width) => value.toString(16).padStart(width, "0");
  const uuidPrefix = hex(seed[0], 8) + "-" + hex(seed[1] >>> 16, 4) + "-" +
    hex(0x4000 | (seed[1] & 0x0fff), 4) + "-" + hex(0x8000 | (seed[2] & 0x3fff), 4) + "-";
  // 47 random bits leave room for 2^47 tasks before the 48-bit group would overflow.
  let uuidCounter = (seed[2] >>> 17) * 2 ** 32 + seed[3];
  // The last group as its upper 8 digits (the same for 65536 tasks in a row) and
  // its lower 4 from a table: a third of the cost of formatting all 12 each time.
  const HEX2 = [];
  for (let i = 0; i < 256; i++) HEX2.push(hex(i, 2));
  let uuidLow = 0x10000; // makes the first call compute uuidHigh
  let uuidHigh = "";

  function nextUUID() {
    uuidCounter++;
    uuidLow++;
    if (uuidLow > 0xffff) {
      uuidLow = uuidCounter % 0x10000;
      uuidHigh = uuidPrefix + hex((uuidCounter - uuidLow) / 0x10000, 8);
    }
    return uuidHigh + HEX2[uuidLow >> 8] + HEX2[uuidLow & 0xff];
  }

  // A task remembers the UUID it was made with under this key (invisible to
  // JSON and Object.keys): while task.uUID is still that one, its JSON text
  // is known without escaping it.
  const madeWithUUID = Symbol("uuid");
  function uuidJSON(task, uuid) {
    return task[madeWithUUID] === uuid ? '"' + uuid + '"' : jsonStringify(uuid);
  }

  // ------------------------------------------------------------------
  // author module: tasks and commands
  // ------------------------------------------------------------------

  function requireObject(value, what, apiFunction) {
    if (value === null || typeof value !== "object") {
      raise(new TypeError(`${what}: expected an object, got ${value === null ? "null" : typeof value}`), apiFunction);
    }
  }

  // Task methods behave like bound Go methods (`const add = task.addCommand;
  // add(cmd)` works) and are hidden from JSON.stringify/print. They are
  // getters on a shared prototype that bind on access, so a task and its
  // methods form no reference cycle: QuickJS frees a finished task by
  // reference counting instead of leaving 100k of them to its cycle collector.
  const taskPrototype = Object.create(Object.prototype, {
    addCommand: {
      get() {
        const task = this;
        return function addCommand(command) {
          if (command === null || typeof command !== "object") requireObject(command, "task.addCommand(command)", addCommand);
          // Appends a copy, like the reference implementation; the parameters
          // object itself is shared until the task is added to the job.
          const name = command.name, steps = command.totalStepCount;
          task.commands.push({ name: typeof name === "string" ? name : asString(name), parameters: command.parameters,
            totalStepCount: typeof steps === "number" && (steps | 0) === steps ? steps | 0 : asInt(steps) });
        };
      },
    },
    addDependency: {
      get() {
        const task = this;
        return function addDependency(dependency) {
          if (dependency === null || typeof dependency !== "object") {
            requireObject(dependency, "task.addDependency(task)", addDependency);
          }
          task.dependencies.push(dependency);
        };
      },
    },
  });

  // The last name and type a task was made with, and their trimmed forms:
  // loops make tasks with the same strings again and again.
  const lastTaskName = { given: "", trimmed: "" }, lastTaskType = { given: "", trimmed: "" };
  function trimmed(value, last) {
    if (typeof value !== "string") return asString(value).trim();
    last.given = value;
    last.trimmed = value.trim();
    return last.trimmed;
  }

  const author = Object.freeze({
    Task: function Task(name, type) {
      let taskName = lastTaskName.trimmed, taskType = lastTaskType.trimmed;
      if (name !== lastTaskName.given) taskName = trimmed(name, lastTaskName);
      if (type !== lastTaskType.given) taskType = trimmed(type, lastTaskType);
      if (taskName === "") raise(new GoError("author.Task(name, type): name is required"), Task);
      if (taskType === "") raise(new GoError("author.Task(name, type): type is required"), Task);
      const uuid = nextUUID();
      // A literal: QuickJS builds it faster than Object.create and assignments.
      return { __proto__: taskPrototype, [madeWithUUID]: uuid, uUID: uuid, name: taskName, type: taskType,
        priority: 50, commands: [], dependencies: [] };
    },
    Command: function Command(name, parameters, steps) {
      let params;
      if (parameters === undefined || parameters === null) {
        params = {};
      } else {
        // A plain object is no array: the common case skips the check.
        const plain = typeof parameters === "object" && getPrototypeOf(parameters) === objectPrototype;
        if (!plain && (typeof parameters !== "object" || Array.isArray(parameters))) {
          raise(new TypeError("author.Command(name, parameters): parameters must be an object"), Command);
        }
        // Exported at creation time, like the reference implementation.
        params = (plain && flatCopy(parameters)) ||
          exportOrRaise(parameters, "author.Command(name, parameters)", Command);
      }
      return { name: typeof name === "string" ? name : asString(name), parameters: params,
        totalStepCount: steps === undefined ? 0 : asInt(steps) };
    },
  });

  // ------------------------------------------------------------------
  // Frame ranges
  // ------------------------------------------------------------------

  const INT64_MAX = 9223372036854775807n;
  const INT64_MIN = -9223372036854775808n;

  class RangeParseError {
    constructor(message) { this.message = message; }
  }

  // strconv.ParseInt(strings.TrimSpace(s), 10, 64), returning a Number.
  function parseFrame(raw) {
    const s = raw.trim();
    if (!/^[+-]?[0-9]+$/.test(s)) {
      throw new RangeParseError(`strconv.ParseInt: parsing ${goQuote(s)}: invalid syntax`);
    }
    const big = BigInt(s);
    if (big > INT64_MAX || big < INT64_MIN) {
      throw new RangeParseError(`strconv.ParseInt: parsing ${goQuote(s)}: value out of range`);
    }
    return Number(big);
  }

  // Expand "1-3,7" (or "1..3,7") into sorted unique frame numbers.
  function explodeFrames(frameRange, apiFunction) {
    const normalised = frameRange.split("..").join("-");
    const frames = new Set();
    for (const part of normalised.split(",")) {
      const pieces = part.split("-");
      try {
        if (pieces.length === 1) {
          frames.add(parseFrame(pieces[0]));
        } else if (pieces.length === 2) {
          let first, last, failure;
          try { first = parseFrame(pieces[0]); } catch (err) { failure = err; }
          try { last = parseFrame(pieces[1]); } catch (err) { failure = failure || err; }
          if (failure) throw failure;
          for (let frame = first; frame <= last; frame++) frames.add(frame);
        } else {
          raise(new GoError(`invalid range "${normalised}": ${part}`), apiFunction);
        }
      } catch (err) {
        if (!(err instanceof RangeParseError)) throw err;
        raise(new GoError(`invalid range "${normalised}":  ${part} (${err.message})`), apiFunction);
      }
    }
    return Array.from(frames).sort((a, b) => a - b);
  }

  // Regular notation for consecutive frames: "1-4", "9,10", "40".
  function mergeFrames(frames) {
    const runs = [];
    let start = frames[0];
    let previous = frames[0];
    const flush = (from, to) => {
      if (from === to) runs.push(String(from));
      else if (from + 1 === to) runs.push(String(from), String(to));
      else runs.push(`${from}-${to}`);
    };
    for (const frame of frames.slice(1)) {
      if (frame > previous + 1) {
        flush(start, previous);
        start = frame;
      }
      previous = frame;
    }
    flush(start, previous);
    return runs.join(",");
  }

  function frameChunker(frameRange, chunkSize) {
    const trimmed = asString(frameRange).trim();
    if (trimmed === "") raise(new GoError(`invalid range "": empty range`), frameChunker);
    const size = asInt(chunkSize);
    if (size < 1) raise(new GoError(`invalid chunk size, must be positive number: ${size}`), frameChunker);
    const frames = explodeFrames(trimmed, frameChunker);
    if (frames.length === 0) raise(new GoError(`invalid range "${trimmed}": empty range`), frameChunker);
    const chunks = [];
    for (let i = 0; i < frames.length; i += size) {
      chunks.push(mergeFrames(frames.slice(i, i + size)));
    }
    return chunks;
  }

  function frameCount(frameRange) {
    return explodeFrames(asString(frameRange), frameCount).length;
  }

  // ------------------------------------------------------------------
  // Timestamps
  // ------------------------------------------------------------------

  function goZeroTime() {
    const d = new Date(0);
    d.setUTCFullYear(1, 0, 1);
    d.setUTCHours(0, 0, 0, 0);
    return d;
  }

  // "2006-01-02_150405" in the Manager's local time zone.
  function formatTimestampLocal(timestamp) {
    let date;
    if (timestamp === undefined || timestamp === null) date = goZeroTime();
    else if (timestamp instanceof Date) date = timestamp;
    else if (typeof timestamp === "string") date = new Date(timestamp);
    else raise(new TypeError(`formatTimestampLocal(timestamp): cannot use ${typeof timestamp} as a time`), formatTimestampLocal);
    if (Number.isNaN(date.getTime())) {
      raise(new TypeError(`formatTimestampLocal(timestamp): invalid time ${jsonStringify(String(timestamp))}`), formatTimestampLocal);
    }
    const pad = (n, width) => String(n).padStart(width, "0");
    return `${pad(date.getFullYear(), 4)}-${pad(date.getMonth() + 1, 2)}-${pad(date.getDate(), 2)}_` +
      `${pad(date.getHours(), 2)}${pad(date.getMinutes(), 2)}${pad(date.getSeconds(), 2)}`;
  }

  // ------------------------------------------------------------------
  // shellSplit: google/shlex rules
  // ------------------------------------------------------------------

  function shellSplit(text) {
    const input = asString(text);
    const isSpace = (ch) => ch === " " || ch === "\t" || ch === "\r" || ch === "\n";
    const words = [];
    let word = null; // null while between words
    let state = "start";
    for (const ch of input) {
      switch (state) {
        case "start":
          if (isSpace(ch)) break;
          if (ch === "#") { state = "comment"; break; }
          word = "";
          if (ch === '"') state = "double";
          else if (ch === "'") state = "single";
          else if (ch === "\\") state = "escape";
          else { word += ch; state = "word"; }
          break;
        case "word":
          if (isSpace(ch)) { words.push(word); word = null; state = "start"; }
          else if (ch === '"') state = "double";
          else if (ch === "'") state = "single";
          else if (ch === "\\") state = "escape";
          else word += ch;
          break;
        case "escape":
          word += ch;
          state = "word";
          break;
        case "double":
          if (ch === '"') state = "word";
          else if (ch === "\\") state = "doubleEscape";
          else word += ch;
          break;
        case "doubleEscape":
          word += ch;
          state = "double";
          break;
        case "single":
          if (ch === "'") state = "word";
          else word += ch;
          break;
        case "comment":
          if (ch === "\n") state = "start";
          break;
      }
    }
    switch (state) {
      case "word": words.push(word); break;
      case "escape":
      case "doubleEscape":
        throw "EOF found after escape character"; // a plain value, not an Error
      case "double":
      case "single":
        throw "EOF found when expecting closing quote";
    }
    return words;
  }

  // ------------------------------------------------------------------
  // path module: Go's path package, after turning backslashes into slashes
  // ------------------------------------------------------------------

  const toSlash = (p) => p.split("\\").join("/");

  function goClean(p) {
    if (p === "") return ".";
    const rooted = p.startsWith("/");
    const out = [];
    for (const element of p.split("/")) {
      if (element === "" || element === ".") continue;
      if (element === "..") {
        if (out.length > 0 && out[out.length - 1] !== "..") out.pop();
        else if (!rooted) out.push("..");
        continue;
      }
      out.push(element);
    }
    const joined = (rooted ? "/" : "") + out.join("/");
    return joined === "" ? "." : joined;
  }

  function goBase(p) {
    if (p === "") return ".";
    const stripped = p.replace(/\/+$/, "");
    if (stripped === "") return "/";
    return stripped.slice(stripped.lastIndexOf("/") + 1);
  }

  const path = Object.freeze({
    join(...parts) {
      const nonEmpty = parts.map(asString).filter((part) => part !== "");
      if (nonEmpty.length === 0) return "";
      return toSlash(goClean(nonEmpty.join("/")));
    },
    dirname(p) {
      const slashed = toSlash(asString(p));
      const cut = slashed.lastIndexOf("/");
      if (cut < 0) return ".";
      const dir = slashed.slice(0, cut + 1);
      return dir.length > 1 ? dir.slice(0, -1) : dir;
    },
    basename(p) {
      return goBase(toSlash(asString(p)));
    },
    stem(p) {
      const base = goBase(toSlash(asString(p)));
      const dot = base.lastIndexOf(".");
      return dot < 0 || base.includes("/") ? base : base.slice(0, dot);
    },
  });

  // ------------------------------------------------------------------
  // process module
  // ------------------------------------------------------------------

  const managerCwd = String(host.cwd);
  const process = Object.freeze({
    platform: String(host.platform),
    cwd() { return managerCwd; },
  });

  // ------------------------------------------------------------------
  // require: CommonJS over the module files the engine passed in
  // ------------------------------------------------------------------

  const builtinModules = { author, path, process };
  const moduleFiles = host.modules || {};
  const moduleCache = Object.create(null);

  const hasFile = (p) => Object.prototype.hasOwnProperty.call(moduleFiles, p);
  const dirOf = (p) => (p.includes("/") ? p.slice(0, p.lastIndexOf("/")) : "");

  // Normalise a module path relative to the scripts root ("" is the root).
  function rootRelative(p) {
    const cleaned = goClean("/" + p);
    return cleaned === "/" ? "" : cleaned.slice(1);
  }

  function resolveFile(p) {
    for (const candidate of [p, p + ".js", p + ".json"]) {
      if (candidate !== "" && hasFile(candidate)) return candidate;
    }
    return null;
  }

  function resolveDirectory(p) {
    const prefix = p === "" ? "" : p + "/";
    if (hasFile(prefix + "package.json")) {
      let main = null;
      try { main = jsonParse(moduleFiles[prefix + "package.json"]).main; } catch (err) { main = null; }
      if (typeof main === "string" && main !== "") {
        const target = rootRelative(prefix + main);
        const found = resolveFile(target) || resolveFile(target + "/index");
        if (found) return found;
      }
    }
    return resolveFile(prefix + "index");
  }

  function resolveModule(id, fromDir) {
    if (id.startsWith("./") || id.startsWith("../") || id === "." || id === ".." || id.startsWith("/")) {
      const target = rootRelative(id.startsWith("/") ? id : (fromDir === "" ? id : fromDir + "/" + id));
      return resolveFile(target) || resolveDirectory(target);
    }
    // Bare id: look in node_modules folders from here up to the root.
    let dir = fromDir;
    for (;;) {
      const base = rootRelative((dir === "" ? "" : dir + "/") + "node_modules/" + id);
      const found = resolveFile(base) || resolveDirectory(base);
      if (found) return found;
      if (dir === "") return null;
      dir = dirOf(dir);
    }
  }

  function makeRequire(fromDir) {
    return function require(id) {
      const moduleId = asString(id);
      if (Object.prototype.hasOwnProperty.call(builtinModules, moduleId)) {
        return builtinModules[moduleId];
      }
      const file = resolveModule(moduleId, fromDir);
      if (file === null) raise(new Error(`Cannot find module '${moduleId}'`), require);
      if (moduleCache[file]) return moduleCache[file].exports;
      const module = { id: file, filename: file, exports: {}, loaded: false };
      moduleCache[file] = module;
      try {
        if (file.endsWith(".json")) {
          module.exports = jsonParse(moduleFiles[file]);
        } else {
          const wrapper = new Function("exports", "require", "module", "__filename", "__dirname", moduleFiles[file]);
          wrapper.call(module.exports, module.exports, makeRequire(dirOf(file)), module, file, dirOf(file));
        }
      } catch (err) {
        delete moduleCache[file];
        throw err;
      }
      module.loaded = true;
      return module.exports;
    };
  }

  // ------------------------------------------------------------------
  // Install globals
  // ------------------------------------------------------------------

  const globals = {
    print, alert, author, path, process, frameChunker, frameCount,
    formatTimestampLocal, shellSplit, require: makeRequire(""),
  };
  for (const name of Object.keys(globals)) {
    Object.defineProperty(G, name, { value: globals[name], writable: true, configurable: true, enumerable: false });
  }

  // ------------------------------------------------------------------
  // Engine-facing control functions
  // ------------------------------------------------------------------

  // Look up a global binding by name, including top-level const/let, which
  // live in the global lexical scope and are not properties of globalThis.
  function lookupGlobal(name) {
    try {
      return { found: true, value: indirectEval(name) };
    } catch (err) {
      if (err instanceof ReferenceError) return { found: false };
      throw err;
    }
  }

  // QuickJS throws InternalError("out of memory"), or plain null when even
  // that error object could not be allocated. By the time the exception gets
  // here the memory is usually freed again, so it must be recognised by value.
  function isOutOfMemory(err) {
    return err === null || (err instanceof Error && err.name === "InternalError" && err.message === "out of memory");
  }

  function fail(message) {
    return jsonStringify({ ok: false, error: message });
  }

  // Text of a thrown value plus where it was thrown, when that is known.
  function describeThrown(thrown) {
    let text;
    try { text = String(thrown); } catch (err) { text = "[unprintable exception]"; }
    if (thrown instanceof Error && typeof thrown.stack === "string") {
      const frame = /^\s*at (\S+) \(<input>:(\d+):(\d+)\)/m.exec(thrown.stack);
      if (frame) {
        const line = Number(frame[2]);
        // Line 1 carries the engine's strict-mode prefix; report script columns.
        const column = line === 1 ? Math.max(1, Number(frame[3]) - host.prefixLength) : Number(frame[3]);
        text += ` at ${frame[1]} (${host.filename}:${line}:${column})`;
      }
    }
    return text;
  }

  const isPlainObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v);
  const present = (v) => v !== undefined && v !== null;

  // A JOB_TYPE that does not have the expected structure.
  class ShapeError extends Error {}

  // JOB_TYPE, coerced the way the reference Manager reads it.
  function normaliseJobType(raw) {
    const where = `script (${host.filename})`;
    const info = { label: asString(raw.label) };
    if (present(raw.description)) info.description = String(raw.description);
    if (!present(raw.settings)) {
      info.settings = null;
      return info;
    }
    if (!Array.isArray(raw.settings)) throw new ShapeError(`${where}: JOB_TYPE.settings must be an array`);
    info.settings = raw.settings.map((setting, index) => {
      if (!isPlainObject(setting)) throw new ShapeError(`${where}: JOB_TYPE.settings[${index}] must be an object`);
      const out = { key: asString(setting.key), type: asString(setting.type) };
      for (const field of ["subtype", "eval", "visible"]) {
        if (present(setting[field])) out[field] = String(setting[field]);
      }
      for (const field of ["required", "editable"]) {
        if (present(setting[field])) out[field] = !!setting[field];
      }
      for (const field of ["label", "description", "default"]) {
        if (setting[field] !== undefined) out[field] = exportValue(setting[field]);
        if (out[field] === null) delete out[field];
      }
      if (present(setting.choices)) {
        if (!Array.isArray(setting.choices)) throw new ShapeError(`${where}: setting "${out.key}": choices must be an array`);
        out.choices = setting.choices.map(asString);
      }
      if (present(setting.propargs)) {
        if (!isPlainObject(setting.propargs)) throw new ShapeError(`${where}: setting "${out.key}": propargs must be an object`);
        out.propargs = exportValue(setting.propargs);
      }
      if (present(setting.evalInfo)) {
        if (!isPlainObject(setting.evalInfo)) throw new ShapeError(`${where}: setting "${out.key}": evalInfo must be an object`);
        out.evalInfo = {
          showLinkButton: !!setting.evalInfo.showLinkButton,
          description: asString(setting.evalInfo.description),
        };
      }
      return out;
    });
    return info;
  }

  function jobTypeInfo() {
    const lookup = lookupGlobal("JOB_TYPE");
    if (!lookup.found || lookup.value === null || typeof lookup.value !== "object") {
      return fail(`script (${host.filename}) does not define a JOB_TYPE object`);
    }
    try {
      return jsonStringify({ ok: true, info: normaliseJobType(lookup.value) });
    } catch (err) {
      return fail(err instanceof ShapeError ? err.message : `script (${host.filename}): invalid JOB_TYPE: ${describeThrown(err)}`);
    }
  }

  // JSON text of a string; names, types and keys repeat, so their texts are kept.
  const quotedCache = new Map();
  function quoted(text) {
    let json = quotedCache.get(text);
    if (json === undefined) {
      json = jsonStringify(text);
      if (quotedCache.size < 10000) quotedCache.set(text, json);
    }
    return json;
  }

  // The last flat parameters written: their keys, values and text. The
  // next task's parameters mostly have the same keys and values, hence the
  // same text, which is then found without formatting anything.
  let lastKeys = NO_ITEMS, lastValues = NO_ITEMS, lastParametersJSON = "{}";
  let lastKey = "", lastKeyJSON = '""';
  // JSON of a value as exportJSON writes it. Plain objects of strings,
  // booleans, null and finite numbers (most command parameters) are written
  // here, which QuickJS does several times faster than JSON.stringify.
  function parametersJSON(value) {
    if (value !== null && typeof value === "object" && getPrototypeOf(value) === objectPrototype && !("toJSON" in value)) {
      const keys = objectKeys(value);
      const count = keys.length;
      if (count === lastKeys.length) {
        let same = 0;
        while (same < count && keys[same] === lastKeys[same] && value[keys[same]] === lastValues[same]) same++;
        if (same === count) return lastParametersJSON;
      }
      const values = [];
      let json = "{";
      for (let i = 0; i < count; i++) {
        const key = keys[i];
        const item = value[key];
        const kind = typeof item;
        let itemJSON;
        if (kind === "string") itemJSON = jsonStringify(item);
        else if (kind === "number" && item - item === 0) itemJSON = "" + item; // finite; what JSON writes, -0 too
        else if (kind === "boolean" || item === null) itemJSON = "" + item;
        else return exportJSON(value);
        if (key !== lastKey) { lastKey = key; lastKeyJSON = quoted(key); }
        json += (i ? "," : "") + lastKeyJSON + ":" + itemJSON;
        values[i] = item;
      }
      lastKeys = keys;
      lastValues = values;
      lastParametersJSON = json + "}";
      return lastParametersJSON;
    }
    return exportJSON(value);
  }

  // job.addTask() takes a snapshot in the form the engine stores: the JSON
  // texts of the task's fields, each in a column of its own (see rowsText),
  // and the JSON of its commands as the database keeps it. Exporting a
  // 100k-task job is then a few joins, and the engine never decodes the
  // commands. Duplicates and unknown dependencies are the
  // engine's to find: a Python dict does that far faster than a JS Map.
  // Written for the common task of one command and a dependency or two: no
  // arrays of its own, and the last texts made are reused while the same
  // strings come again (QuickJS compares equal strings fast, and formats
  // JSON slowly).
  let lastDependency = "", lastDependencyJSON = "";
  let lastCommandName = "", lastCommandNameJSON = "";
  let lastOnly = { parameters: "", name: "", steps: 0, json: "" }; // the last task's commands, if it had one
  let lastNumbers = { priority: 0, steps: 0, dependencies: 0, text: "0,0,0" };
  let lastName = "", lastNameJSON = "", lastType = "", lastTypeJSON = "";
  function addTaskRow(task, state, addTask) {
    let commands = task.commands;
    if (!isArray(commands)) commands = NO_ITEMS;
    let dependencies = task.dependencies;
    if (!isArray(dependencies)) dependencies = NO_ITEMS;
    let name = task.name;
    if (typeof name !== "string") name = asString(name);
    const count = commands.length;
    // The first command's name and step count in variables, further ones in arrays.
    let name0 = "", steps0 = 0;
    const names = count > 1 ? [] : null;
    const stepCounts = count > 1 ? [] : null;
    for (let i = 0; i < count; i++) {
      const c = commands[i];
      if (c === null || typeof c !== "object") raise(new TypeError("job.addTask(task): task.commands must hold commands"), addTask);
      let commandName = c.name, stepCount = c.totalStepCount;
      if (typeof commandName !== "string") commandName = asString(commandName);
      if (typeof stepCount !== "number" || (stepCount | 0) !== stepCount) stepCount = asInt(stepCount);
      if (i === 0) { name0 = commandName; steps0 = stepCount; }
      if (names !== null) { names[i] = commandName; stepCounts[i] = stepCount; }
    }
    let dependenciesJSON = "";
    for (let i = 0; i < dependencies.length; i++) {
      const d = dependencies[i];
      if (d === null || typeof d !== "object") raise(new TypeError("job.addTask(task): task.dependencies must hold tasks"), addTask);
      let uuid = d.uUID;
      if (typeof uuid !== "string") uuid = asString(uuid);
      if (uuid !== lastDependency) {
        lastDependencyJSON = uuidJSON(d, uuid) + ","; // see rowsText
        lastDependency = uuid;
      }
      dependenciesJSON += lastDependencyJSON;
    }
    let commandsJSON = "[";
    let steps = 0;
    for (let i = 0; i < count; i++) {
      const commandName = i === 0 ? name0 : names[i];
      const stepCount = i === 0 ? steps0 : stepCounts[i];
      let parameters;
      try {
        parameters = parametersJSON(commands[i].parameters);
      } catch (err) {
        raise(new TypeError(`job.addTask(task): ${err && err.message}`), addTask);
      }
      if (parameters === lastParametersJSON) {
        // an object's text, as most are
      } else if (parameters === "null") {
        parameters = "{}";
      } else if (parameters[0] !== "{" && state.badParameters === null) {
        state.badParameters = [name, commandName]; // reported after compileJob, like other unusable tasks
      }
      steps += stepCount > 1 ? stepCount : 1;
      if (count === 1 && parameters === lastOnly.parameters && commandName === lastOnly.name &&
          stepCount === lastOnly.steps) {
        commandsJSON = lastOnly.json; // the same single command as the task before
        break;
      }
      if (commandName !== lastCommandName) {
        lastCommandNameJSON = quoted(commandName);
        lastCommandName = commandName;
      }
      commandsJSON += (i ? ',{"name":' : '{"name":') + lastCommandNameJSON + ',"parameters":' + parameters +
        ',"total_step_count":' + stepCount + (i === count - 1 ? "}]" : "}");
      if (count === 1) lastOnly = { parameters, name: commandName, steps: stepCount, json: commandsJSON };
    }
    if (count === 0) commandsJSON = "[]";
    const index = state.uuids.length;
    let uuid = task.uUID;
    if (typeof uuid !== "string") uuid = asString(uuid);
    let type = task.type;
    if (typeof type !== "string") type = asString(type);
    if (name !== lastName) { lastName = name; lastNameJSON = quoted(name); }
    if (type !== lastType) { lastType = type; lastTypeJSON = quoted(type); }
    let priority = task.priority;
    if (typeof priority !== "number" || (priority | 0) !== priority) priority = asInt(priority);
    if (priority !== lastNumbers.priority || steps !== lastNumbers.steps ||
        dependencies.length !== lastNumbers.dependencies) {
      lastNumbers = { priority, steps, dependencies: dependencies.length,
        text: priority + "," + steps + "," + dependencies.length };
    }
    state.uuids[index] = task[madeWithUUID] === uuid ? '"' + uuid + '"' : jsonStringify(uuid); // see uuidJSON
    state.names[index] = lastNameJSON;
    state.types[index] = lastTypeJSON;
    state.numbers[index] = lastNumbers.text;
    state.dependencies[index] = dependenciesJSON;
    state.commands[index] = commandsJSON;
    if (state.streamEvery && index + 1 - state.sent >= state.streamEvery) sendRows(state);
  }

  function newState(streamEvery) {
    return { uuids: [], names: [], types: [], numbers: [], dependencies: [], commands: [], badParameters: null,
      streamEvery, sent: 0 };
  }

  // Tasks [from, to) as text: a JSON array of columns [uuids, names, types,
  // numbers (priority, stepsTotal and dependency count of each task in
  // turn), dependency uuids (all tasks' in a row)], then one line per task
  // with the JSON of its commands (JSON never holds a raw newline).
  // Columns, because Python decodes five long arrays far faster than 100k
  // short ones; a task's numbers are one text, mostly the last task's, as
  // joining numbers formats each of them. Joined, not concatenated:
  // QuickJS-ng concatenation can make a rope string, which the binding
  // cannot hand to Python.
  function rowsText(state, from, to) {
    const column = (name) => arrayJoin.call(state[name].slice(from, to), ",");
    // Each task's dependency texts end in a comma: joined, only the last one goes.
    const dependencies = arrayJoin.call(state.dependencies.slice(from, to), "");
    const columns = arrayJoin.call(["[[", column("uuids"), "],[", column("names"), "],[", column("types"), "],[",
      column("numbers"), "],[", dependencies.slice(0, -1), "]]"], "");
    return to > from ? arrayJoin.call([columns, arrayJoin.call(state.commands.slice(from, to), "\n")], "\n") : columns;
  }

  // Hand the rows added since the last time to the engine, which stores
  // them while the script goes on (only when the engine asked for it: it
  // must lift QuickJS's time limit for the call).
  function sendRows(state) {
    hostCall("rows", rowsText(state, state.sent, state.uuids.length));
    state.sent = state.uuids.length;
  }

  // A stored task back as the task object scripts see in `job.tasks`.
  function storedTask(state, index) {
    const commands = jsonParse(state.commands[index]).map(
      (c) => ({ name: c.name, parameters: c.parameters, totalStepCount: c.total_step_count }));
    return { uUID: jsonParse(state.uuids[index]), name: jsonParse(state.names[index]),
      type: jsonParse(state.types[index]), priority: jsonParse("[" + state.numbers[index] + "]")[0], commands,
      dependencies: jsonParse("[" + state.dependencies[index].slice(0, -1) + "]") };
  }

  function buildJob(input, state) {
    const metadataTarget = {};
    for (const key of Object.keys(input.metadata || {})) metadataTarget[key] = asString(input.metadata[key]);
    // Metadata is a string-to-string map; writes are coerced like Go would.
    const metadata = new Proxy(metadataTarget, {
      set(target, key, value) { target[key] = asString(value); return true; },
      defineProperty(target, key, descriptor) {
        return Reflect.defineProperty(target, key, Object.assign({}, descriptor, { value: asString(descriptor.value) }));
      },
    });

    const job = {
      name: input.name,
      priority: input.priority,
      jobType: input.jobType,
      settings: input.settings,
      metadata,
      created: new Date(input.createdMs),
      jobID: input.jobID,
      workerTagUUID: input.workerTagUUID,
      status: "under-construction",
      storage: { shamanCheckoutID: input.shamanCheckoutID },
      // Job ids this job waits for (our addition): starts as the submitted
      // depends_on; a script may replace or extend it.
      dependsOn: Array.isArray(input.dependsOn) ? input.dependsOn.slice() : [],
      addTask: function addTask(task) {
        if (task === null || typeof task !== "object") requireObject(task, "job.addTask(task)", addTask);
        addTaskRow(task, state, addTask);
      },
    };
    Object.defineProperty(job, "tasks", {
      enumerable: true,
      get() { return state.uuids.map((uuid, i) => storedTask(state, i)); },
    });
    Object.defineProperty(job, "addTask", { enumerable: false });
    return job;
  }

  // The compile result as text: a line of JSON {ok, settings, metadata,
  // badParameters}, then the rows not handed out yet (see rowsText).
  // With input.streamEvery, rows go to the engine in groups of that many
  // while compileJob runs.
  function compile(input) {
    const lookup = lookupGlobal("compileJob");
    if (!lookup.found || typeof lookup.value !== "function") {
      return fail(`script (${host.filename}) does not define a compileJob(job) function`);
    }
    const streamEvery = typeof hostCall === "function" && input.streamEvery > 0 ? input.streamEvery : 0;
    const state = newState(streamEvery);
    const job = buildJob(input, state);
    try {
      lookup.value.call(undefined, job);
    } catch (err) {
      if (isOutOfMemory(err)) return jsonStringify({ ok: false, outOfMemory: true, error: "out of memory" });
      return fail(describeThrown(err));
    }
    try {
      // Read back through `job`, in case the script replaced the objects.
      const metadata = {};
      for (const key of Object.keys(job.metadata || {})) metadata[key] = asString(job.metadata[key]);
      const dependsOn = job.dependsOn === undefined || job.dependsOn === null ? null : exportValue(job.dependsOn);
      const header = jsonStringify({ ok: true, settings: exportValue(job.settings), metadata,
        dependsOn, badParameters: state.badParameters });
      return arrayJoin.call([header, rowsText(state, state.sent, state.uuids.length)], "\n");
    } catch (err) {
      if (isOutOfMemory(err)) return jsonStringify({ ok: false, outOfMemory: true, error: "out of memory" });
      return fail(`the job could not be exported: ${describeThrown(err)}`);
    }
  }

  function drainMessages() {
    const out = jsonStringify({ messages, dropped: droppedMessages });
    messages.length = 0;
    droppedMessages = 0;
    return out;
  }

  // The engine cannot read object properties directly, so it gets a single
  // dispatcher function. Every call returns a JSON string.
  const operations = { jobTypeInfo, compile, drainMessages };
  return function control(operation, argument) {
    return operations[operation](argument);
  };
})
