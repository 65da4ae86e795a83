// The structure editor's own page (/editor), shown in a frame of the search
// page: loads JSME and hands the editor to the page that framed it.
window.jsmeOnLoad = function () {
  const editor = new JSApplet.JSME("jsme", "460px", "340px", { options: "newlook" });
  window.parent.soyakuEditorReady(editor);
};
