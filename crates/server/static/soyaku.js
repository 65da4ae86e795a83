// The structure editor (JSME) loads when it is first asked for: it is large,
// and most searches are typed or pasted. What is drawn is written into the
// query field as SMILES, which is what the form sends.
(function () {
  const draw = document.getElementById("draw");
  const query = document.getElementById("query");
  if (!draw || !query) return;
  // A structure drawn but not yet copied (the editor reports only edits
  // made by hand) is sent when the text field is empty.
  query.form.addEventListener("submit", function () {
    const editor = window.soyakuEditor;
    if (editor && !query.value.trim() && editor.smiles()) query.value = editor.smiles();
  });
  // The editor runs in a frame of its own page (/editor): JSME is a GWT
  // build that needs inline script, which this page's policy forbids. The
  // frame is same-origin, so the editor object is used from here as if it
  // were on this page; the frame reports back through soyakuEditorReady.
  draw.addEventListener("click", function () {
    if (window.soyakuEditor || document.getElementById("jsme-frame")) return;
    window.soyakuEditorReady = function (editor) {
      if (query.value) editor.readGenericMolecularInput(query.value);
      editor.setAfterStructureModifiedCallback(function () {
        query.value = editor.smiles();
      });
      window.soyakuEditor = editor;
      document.getElementById("jsme").dataset.ready = "true";
    };
    const frame = document.createElement("iframe");
    frame.id = "jsme-frame";
    frame.src = "/editor";
    frame.title = draw.textContent;
    document.getElementById("jsme").appendChild(frame);
  });
})();

// A job's page follows the job live: progress, message and log are polled
// once a second until the job ends, then the page reloads to show the
// result and the actions that fit.
(function () {
  const job = document.getElementById("job");
  if (!job || job.dataset.final === "true") return;
  const bar = job.querySelector("progress.job-progress");
  const percent = job.querySelector(".percent");
  const message = document.getElementById("job-message");
  const log = document.getElementById("job-log");
  async function poll() {
    const answer = await fetch(`/api/v1/jobs/${job.dataset.id}`, { headers: { Accept: "application/json" } });
    if (!answer.ok) return setTimeout(poll, 2000);
    const { job: j, log: lines } = await answer.json();
    bar.value = j.progress;
    percent.textContent = `${Math.round(j.progress * 100)}%`;
    message.textContent = j.message;
    log.replaceChildren(...lines.map((l) => Object.assign(document.createElement("li"), { textContent: l.line })));
    if (["succeeded", "failed", "cancelled"].includes(j.status)) return location.reload();
    setTimeout(poll, 1000);
  }
  setTimeout(poll, 1000);
})();
