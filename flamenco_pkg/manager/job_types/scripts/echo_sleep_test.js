// SPDX-License-Identifier: GPL-3.0-or-later
//
// Echo Sleep Test: a minimal job for checking that Workers pick up work.
// One "echo" task prints the message; then `sleep_repeats` "sleep" tasks each
// wait `sleep_duration_seconds`, all of them after the echo task.

const JOB_TYPE = {
  label: "Echo Sleep Test",
  settings: [
    { key: "message", type: "string", required: true },
    { key: "sleep_duration_seconds", type: "int32", default: 1 },
    { key: "sleep_repeats", type: "int32", default: 1 },
  ],
};

function compileJob(job) {
  const settings = job.settings;

  const echo = author.Task("echo", "misc");
  echo.addCommand(author.Command("echo", { message: settings.message }));
  job.addTask(echo);

  // Defaults are not applied by the Manager: without sleep_repeats, the loop
  // below does not run and the job consists of the echo task only.
  for (let i = 0; i < settings.sleep_repeats; i++) {
    const sleep = author.Task("sleep", "misc");
    sleep.addCommand(author.Command("sleep", { duration_in_seconds: settings.sleep_duration_seconds }));
    sleep.addDependency(echo);
    job.addTask(sleep);
  }
}
