// SPDX-License-Identifier: GPL-3.0-or-later
//
// Simple Blender Render: render a frame range in chunks, one Blender task per
// chunk, then (when the image format allows) assemble a preview video with
// FFmpeg once every chunk has finished.
//
// The JOB_TYPE data below is what the Blender add-on sees; its exact content
// determines the job type's etag, so keep it in sync with other Managers.

const JOB_TYPE = {
  label: "Simple Blender Render",
  description: "Render a sequence of frames, and create a preview video file",
  settings: [
    // Chosen by the artist.
    {
      key: "frames",
      type: "string",
      required: true,
      eval: "f'{C.scene.frame_start}-{C.scene.frame_end}'",
      evalInfo: { showLinkButton: true, description: "Scene frame range" },
      description: "Frame range to render. Examples: '47', '1-30', '3, 5-10, 47-327'",
    },
    {
      key: "chunk_size",
      type: "int32",
      default: 1,
      description: "Number of frames to render in one Blender render task",
      visible: "submission",
    },

    // The render output path is built from these two.
    {
      key: "render_output_root",
      type: "string",
      subtype: "dir_path",
      required: true,
      visible: "submission",
      description: "Base directory of where render output is stored. Will have some job-specific parts appended to it",
    },
    {
      key: "add_path_components",
      type: "int32",
      required: true,
      default: 0,
      propargs: { min: 0, max: 32 },
      visible: "submission",
      description: "Number of path components of the current blend file to use in the render output path",
    },
    {
      key: "render_output_path",
      type: "string",
      subtype: "file_path",
      editable: false,
      eval: "str(Path(abspath(settings.render_output_root), last_n_dir_parts(settings.add_path_components), jobname, '{timestamp}', '######'))",
      description: "Final file path of where render output will be saved",
    },

    // Filled in by the add-on from the blend file.
    { key: "blendfile", type: "string", required: true, description: "Path of the Blend file to render", visible: "web" },
    { key: "fps", type: "float", eval: "C.scene.render.fps / C.scene.render.fps_base", visible: "hidden" },
    { key: "format", type: "string", required: true, eval: "C.scene.render.image_settings.file_format", visible: "web" },
    {
      key: "image_file_extension",
      type: "string",
      required: true,
      eval: "C.scene.render.file_extension",
      visible: "hidden",
      description: "File extension used when rendering images",
    },
    {
      key: "has_previews",
      type: "bool",
      required: false,
      eval: "C.scene.render.image_settings.use_preview",
      visible: "hidden",
      description: "Whether Blender will render preview images.",
    },
    {
      key: "scene",
      type: "string",
      required: true,
      eval: "C.scene.name",
      visible: "web",
      description: "Name of the scene to render.",
    },
  ],
};

// Blender writes these as EXR; FFmpeg can only use them through the JPEG
// previews Blender saves next to them (when previews are enabled).
const EXR_FORMATS = ["EXR", "MULTILAYER", "OPEN_EXR", "OPEN_EXR_MULTILAYER"];

// Video output is out of scope: chunks would each write their own movie file.
const MOVIE_FORMATS = ["FFMPEG", "AVI_RAW", "AVI_JPEG"];

// Forces predictable output names and never re-uses half-written frames.
const RENDER_PYTHON_EXPR =
  "import bpy; r = bpy.context.scene.render; r.use_file_extension = True; " +
  "r.use_overwrite = False; r.use_placeholder = False";

function compileJob(job) {
  const settings = job.settings;
  print(`compiling "${job.name}" (${job.jobType})`);

  if (MOVIE_FORMATS.includes(settings.format)) {
    throw `This job type only renders images, and not "${settings.format}"`;
  }

  const outputPath = expandOutputPath(settings.render_output_path, job.created);
  // Store the expanded path, so the job shows where its frames really went.
  settings.render_output_path = outputPath;
  const outputDir = path.dirname(outputPath);

  const renderTasks = frameChunker(settings.frames, settings.chunk_size).map(
    (chunk) => renderTask(settings, chunk, outputDir, outputPath),
  );
  renderTasks.forEach((task) => job.addTask(task));

  const video = previewVideoTask(settings, outputDir);
  if (video) {
    renderTasks.forEach((task) => video.addDependency(task));
    job.addTask(video);
  }
}

// Replace `{timestamp}` with the job creation time; other `{...}` stay, so
// Manager variables can still be expanded when tasks are handed out.
function expandOutputPath(template, created) {
  if (!template) {
    throw "no render_output_path setting!";
  }
  return template.replace(/{([^}]+)}/g, (whole, field) =>
    field === "timestamp" ? formatTimestampLocal(created) : whole);
}

function renderTask(settings, chunk, outputDir, outputPath) {
  const args = [];
  if (settings.scene) {
    args.push("--scene", settings.scene);
  }
  args.push(
    "--python-expr", RENDER_PYTHON_EXPR,
    "--render-output", path.join(outputDir, path.basename(outputPath)),
    "--render-format", settings.format,
    // Blender's CLI wants "a..b" where frame ranges use "a-b".
    "--render-frame", chunk.replaceAll("-", ".."),
  );

  const task = author.Task(`render-${chunk}`, "blender");
  task.addCommand(author.Command("blender-render", {
    exe: "{blender}",
    exeArgs: "{blenderArgs}",
    argsBefore: [],
    blendfile: settings.blendfile,
    args: args,
  }, frameCount(chunk)));
  return task;
}

function previewVideoTask(settings, outputDir) {
  const isExr = EXR_FORMATS.includes(settings.format);
  if (isExr && !settings.has_previews) {
    print("no preview video: the output format cannot be read by FFmpeg and there are no previews");
    return null;
  }
  if (!settings.fps) {
    print("no preview video: the frame rate is unknown");
    return null;
  }

  let frames = String(settings.frames);
  if (frames.includes(",")) {
    const single = frameChunker(settings.frames, 1);
    frames = `${single[0]}-${single[single.length - 1]}`;
  }

  const stem = path.stem(settings.blendfile).replace(".flamenco", "");
  const extension = isExr ? ".jpg" : settings.image_file_extension;

  const task = author.Task("preview-video", "ffmpeg");
  task.addCommand(author.Command("frames-to-video", {
    exe: "ffmpeg",
    fps: settings.fps,
    inputGlob: path.join(outputDir, `*${extension}`),
    outputFile: path.join(outputDir, `${stem}-${frames}.mp4`),
    args: [
      "-c:v", "h264",
      "-crf", "20",
      "-g", "18",
      "-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2",
      "-pix_fmt", "yuv420p",
      "-r", settings.fps,
      "-y", // never let FFmpeg stop to ask about overwriting
    ],
  }));
  return task;
}
