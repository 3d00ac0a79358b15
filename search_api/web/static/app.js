// Upload page: drag and drop or choose several files; each uploads with its own progress
// bar, then its status is polled until it is indexed or failed. No build step, no library.
(function () {
  "use strict";
  var form = document.getElementById("upload-form");
  if (!form) return;
  var csrf = document.querySelector('meta[name="csrf-token"]').content;
  var zone = document.getElementById("dropzone");
  var input = document.getElementById("files");
  var rows = document.getElementById("upload-rows");
  var table = document.getElementById("uploads");
  var rowTemplate = document.getElementById("upload-row");
  var words = document.getElementById("i18n").dataset;
  var problem = document.getElementById("upload-error");

  function value(id) { return document.getElementById(id).value; }

  function setState(row, text, kind) {
    var cell = row.querySelector(".state");
    cell.textContent = text;
    cell.className = "state " + (kind || "");
  }

  function poll(row, id) {
    fetch("/web-api/documents/" + encodeURIComponent(id) + "/status", { credentials: "same-origin" })
      .then(function (r) { return r.json().then(function (body) { return { ok: r.ok, body: body }; }); })
      .then(function (res) {
        if (!res.ok) { setState(row, res.body.detail || "error", "failed"); return; }
        var doc = res.body;
        var text = doc.status_label + (doc.error ? "：" + doc.error : "");
        setState(row, text, doc.status);
        row.dataset.status = doc.status;
        if (doc.status === "indexed") {
          row.querySelector(".name").innerHTML = "";
          var link = document.createElement("a");
          link.href = "/documents/" + encodeURIComponent(doc.id);
          link.textContent = doc.archive_no + " " + doc.title;
          row.querySelector(".name").appendChild(link);
        }
        if (doc.status !== "indexed" && doc.status !== "failed") setTimeout(function () { poll(row, id); }, 1000);
      })
      .catch(function () { setTimeout(function () { poll(row, id); }, 3000); });
  }

  function send(file) {
    var row = rowTemplate.content.firstElementChild.cloneNode(true);
    row.querySelector(".name").textContent = file.name;
    rows.appendChild(row);
    table.hidden = false;
    var bar = row.querySelector("progress");
    bar.setAttribute("aria-label", file.name);
    setState(row, words.uploading);
    var data = new FormData();
    data.append("file", file);
    data.append("partner_id", value("partner"));
    data.append("doc_type", value("doc_type"));
    data.append("confidentiality", value("confidentiality"));
    if (value("expires_on")) data.append("expires_on", value("expires_on"));
    var xhr = new XMLHttpRequest();
    xhr.open("POST", "/web-api/documents");
    xhr.setRequestHeader("X-CSRF-Token", csrf);
    xhr.upload.onprogress = function (e) { if (e.lengthComputable) bar.value = Math.round(100 * e.loaded / e.total); };
    xhr.onload = function () {
      var body = {};
      try { body = JSON.parse(xhr.responseText); } catch (err) { body = { detail: xhr.statusText }; }
      if (xhr.status === 200 || xhr.status === 202) {
        bar.value = 100;
        row.dataset.id = body.id;
        if (body.duplicate) setState(row, words.duplicate);
        poll(row, body.id);
      } else {
        setState(row, body.detail || ("HTTP " + xhr.status), "failed");
        row.dataset.status = "failed";
      }
    };
    xhr.onerror = function () { setState(row, "network error", "failed"); };
    xhr.send(data);
  }

  function accept(files) {
    if (!value("partner")) { problem.hidden = false; return; }
    problem.hidden = true;
    Array.prototype.forEach.call(files, send);
  }

  input.addEventListener("change", function () { accept(input.files); input.value = ""; });
  ["dragenter", "dragover"].forEach(function (type) {
    zone.addEventListener(type, function (e) { e.preventDefault(); zone.classList.add("over"); });
  });
  ["dragleave", "drop"].forEach(function (type) {
    zone.addEventListener(type, function (e) { e.preventDefault(); zone.classList.remove("over"); });
  });
  zone.addEventListener("drop", function (e) { accept(e.dataTransfer.files); });
})();

// Review page: the outline of a reading on the page image lights up while its item is in use.
(function () {
  "use strict";
  var items = document.querySelectorAll(".review-item[data-field]");
  items.forEach(function (item) {
    var boxes = document.querySelectorAll('.reading[data-field="' + item.dataset.field + '"]');
    function mark(on) { boxes.forEach(function (box) { box.classList.toggle("active", on); }); }
    ["mouseenter", "focusin"].forEach(function (type) { item.addEventListener(type, function () { mark(true); }); });
    ["mouseleave", "focusout"].forEach(function (type) { item.addEventListener(type, function () { mark(false); }); });
  });
})();
