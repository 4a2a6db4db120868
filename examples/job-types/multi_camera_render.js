// SPDX-License-Identifier: GPL-3.0-or-later
//
// Multi-Camera Render: render the same frame range once through each of
// several cameras, each camera into its own folder, and make a preview video
// per camera as soon as that camera's frames are done.
//
// A worked example for docs/user-guide/job-types.md. To use it, copy this file
// into the Manager's `scripts/` folder (beside flamenco-manager.pyz), then press
// "Refresh from Manager" in Blender: it appears as "Multi-Camera Render".

const JOB_TYPE = {
  label: "Multi-Camera Render",
  description: "Render the frame range through each camera, into a folder per camera, with a video per camera",
  settings: [
    // Chosen by the artist in Blender.
    {
      key: "frames",
      type: "string",
      required: true,
      eval: "f'{C.scene.frame_start}-{C.scene.frame_end}'",
      evalInfo: { showLinkButton: true, description: "Scene frame range" },
      description: "Frames to render through every camera, like '1-100' or '1-10, 50'",
    },
    {
      key: "cameras",
      type: "string",
      required: true,
      eval: "', '.join(sorted(o.name for o in C.scene.objects if o.type == 'CAMERA'))",
      evalInfo: { showLinkButton: true, description: "Every camera in the scene" },
      description: "Names of the cameras to render through, separated by commas",
    },
    {
      key: "chunk_size",
      type: "int32",
      default: 10,
      propargs: { min: 1 },
      description: "Frames per render task",
      visible: "submission",
    },
    {
      key: "render_output_root",
      type: "string",
      subtype: "dir_path",
      required: true,
      visible: "submission",
      description: "Folder on the shared storage; the job adds <job name>/<time>/<camera>/ to it",
    },

    // Filled in by the add-on from the blend file.
    { key: "blendfile", type: "string", required: true, visible: "web", description: "Blend file to render" },
    { key: "scene", type: "string", required: true, eval: "C.scene.name", visible: "web" },
    { key: "format", type: "string", required: true, eval: "C.scene.render.image_settings.file_format", visible: "web" },
    { key: "image_file_extension", type: "string", required: true, eval: "C.scene.render.file_extension", visible: "hidden" },
    { key: "fps", type: "float", eval: "C.scene.render.fps / C.scene.render.fps_base", visible: "hidden" },
    { key: "has_previews", type: "bool", eval: "C.scene.render.image_settings.use_preview", visible: "hidden" },

    // Written by compileJob, so the web UI shows where the frames went.
    { key: "render_output_path", type: "string", subtype: "dir_path", editable: false, visible: "web" },
  ],
};

const MOVIE_FORMATS = ["FFMPEG", "AVI_RAW", "AVI_JPEG"];
const EXR_FORMATS = ["EXR", "MULTILAYER", "OPEN_EXR", "OPEN_EXR_MULTILAYER"];

function compileJob(job) {
  const settings = job.settings;
  if (MOVIE_FORMATS.includes(settings.format)) {
    throw `Multi-Camera Render writes images, not "${settings.format}"; choose an image format in Blender`;
  }
  const cameras = cameraList(settings.cameras);

  // <root>/<job name>/<time>/ ; each camera gets a folder below it.
  const outputDir = path.join(settings.render_output_root, folderName(job.name), formatTimestampLocal(job.created));
  settings.render_output_path = outputDir;

  const chunks = frameChunker(settings.frames, settings.chunk_size);
  for (const camera of cameras) {
    const cameraDir = path.join(outputDir, folderName(camera));
    const renders = chunks.map((chunk) => renderTask(settings, camera, chunk, cameraDir));
    renders.forEach((task) => job.addTask(task));

    const video = videoTask(settings, camera, cameraDir);
    if (video) {
      renders.forEach((task) => video.addDependency(task));
      job.addTask(video);
    }
  }
}

// "Cam A, Cam B" -> ["Cam A", "Cam B"]; empty or repeated names are the artist's mistake, said plainly.
function cameraList(text) {
  const names = String(text || "").split(",").map((name) => name.trim()).filter((name) => name);
  if (names.length === 0) {
    throw "no cameras to render: fill in 'cameras' with one or more camera names";
  }
  const seen = new Set();
  for (const name of names) {
    if (seen.has(name)) throw `camera "${name}" is listed twice`;
    seen.add(name);
  }
  return names;
}

// Something every file system accepts as one folder name.
function folderName(text) {
  return String(text).replace(/[^A-Za-z0-9._-]+/g, "_").replace(/^[._]+/, "") || "unnamed";
}

// Blender runs `--python-expr` after `--scene`, before rendering: switch the
// camera there. JSON text is also a valid Python string literal.
function cameraExpr(camera) {
  return (
    "import bpy; s = bpy.context.scene; " +
    `s.camera = bpy.data.objects[${JSON.stringify(camera)}]; ` +
    "r = s.render; r.use_file_extension = True; r.use_overwrite = False; r.use_placeholder = False"
  );
}

function renderTask(settings, camera, chunk, cameraDir) {
  const task = author.Task(`render-${camera}-${chunk}`, "blender");
  task.addCommand(author.Command("blender-render", {
    exe: "{blender}",
    exeArgs: "{blenderArgs}",
    argsBefore: [],
    blendfile: settings.blendfile,
    args: [
      "--scene", settings.scene,
      "--python-expr", cameraExpr(camera),
      "--render-output", path.join(cameraDir, "######"),
      "--render-format", settings.format,
      "--render-frame", chunk.replaceAll("-", ".."),
    ],
  }, frameCount(chunk)));
  return task;
}

function videoTask(settings, camera, cameraDir) {
  const isExr = EXR_FORMATS.includes(settings.format);
  if ((isExr && !settings.has_previews) || !settings.fps) {
    return null; // FFmpeg cannot read these frames, or the frame rate is unknown
  }
  const extension = isExr ? ".jpg" : settings.image_file_extension;
  const task = author.Task(`video-${camera}`, "ffmpeg");
  task.addCommand(author.Command("frames-to-video", {
    exe: "ffmpeg",
    fps: settings.fps,
    inputGlob: path.join(cameraDir, `*${extension}`),
    outputFile: path.join(cameraDir, `${folderName(camera)}.mp4`),
    args: ["-c:v", "h264", "-crf", "20", "-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2", "-pix_fmt", "yuv420p",
           "-r", settings.fps, "-y"],
  }));
  return task;
}
