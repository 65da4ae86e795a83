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
  draw.addEventListener("click", function () {
    if (window.soyakuEditor || document.getElementById("jsme-script")) return;
    window.jsmeOnLoad = function () {
      const editor = new JSApplet.JSME("jsme", "460px", "340px", { options: "newlook" });
      if (query.value) editor.readGenericMolecularInput(query.value);
      editor.setAfterStructureModifiedCallback(function () {
        query.value = editor.smiles();
      });
      window.soyakuEditor = editor;
      document.getElementById("jsme").dataset.ready = "true";
    };
    const script = document.createElement("script");
    script.id = "jsme-script";
    script.src = "/static/jsme/jsme.nocache.js";
    document.head.appendChild(script);
  });
})();
