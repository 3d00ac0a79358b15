// Forms that undo something ask first: <form data-confirm="…">. No inline scripts.
(function () {
  "use strict";
  document.addEventListener("submit", function (e) {
    var message = e.target.getAttribute && e.target.getAttribute("data-confirm");
    if (message && !window.confirm(message)) e.preventDefault();
  });
})();

// Upload page: drag and drop or choose several files; each uploads with its own progress
// bar, then its status is polled until it is indexed or failed. A failed upload can be
// tried again or removed from the row. No build step, no library.
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

  // "中文 (English)", as the server words its refusals: the half in the page's language.
  function inLanguage(text) {
    var m = /^([\s\S]*?)\s*[(（]([^()（）]*[A-Za-z][^()（）]*)[)）]\s*$/.exec(text);
    if (!m || !m[1].trim()) return text;
    return document.documentElement.lang === "en" ? m[2].trim() : m[1].trim();
  }

  function setState(row, text, kind) {
    var cell = row.querySelector(".state");
    cell.textContent = inLanguage(text);
    cell.className = "state " + (kind || "");
  }

  function link(row, doc) {
    var cell = row.querySelector(".name");
    cell.textContent = "";
    var anchor = document.createElement("a");
    anchor.href = "/documents/" + encodeURIComponent(doc.id);
    anchor.textContent = doc.archive_no + " " + doc.title;
    cell.appendChild(anchor);
  }

  function actions(row, retry, remove) {
    var retryButton = row.querySelector(".retry");
    var removeButton = row.querySelector(".remove");
    retryButton.hidden = !retry;
    removeButton.hidden = !remove;
    retryButton.onclick = retry;
    removeButton.onclick = remove;
  }

  function call(method, url) {
    return fetch(url, { method: method, credentials: "same-origin", headers: { "X-CSRF-Token": csrf } })
      .then(function (r) { return r.json().then(function (body) { return { ok: r.ok, body: body }; }); });
  }

  function failedDocument(row, id) {
    // Processing failed: the record exists. The archive office may retry or remove it.
    if (!words.canManage) {
      row.querySelector(".state").textContent += "（" + words.askOffice + "）";
      actions(row, null, null);
      return;
    }
    actions(row, function () {
      call("POST", "/web-api/documents/" + encodeURIComponent(id) + "/retry").then(function (res) {
        if (!res.ok) { setState(row, res.body.detail || "error", "failed"); return; }
        actions(row, null, null);
        row.dataset.status = "queued";
        poll(row, id);
      });
    }, function () {
      if (!window.confirm(words.confirmRemove)) return;
      call("POST", "/web-api/documents/" + encodeURIComponent(id) + "/remove").then(function (res) {
        if (!res.ok) { setState(row, res.body.detail || "error", "failed"); return; }
        actions(row, null, null);
        row.dataset.status = "removed";
        setState(row, words.removed);
      });
    });
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
        if (doc.status === "indexed") link(row, doc);
        if (doc.status === "failed") failedDocument(row, id);
        if (doc.status !== "indexed" && doc.status !== "failed") setTimeout(function () { poll(row, id); }, 1000);
      })
      .catch(function () { setTimeout(function () { poll(row, id); }, 3000); });
  }

  function send(file, row) {
    if (!row) {
      row = rowTemplate.content.firstElementChild.cloneNode(true);
      row.querySelector(".name").textContent = file.name;
      rows.appendChild(row);
    }
    table.hidden = false;
    actions(row, null, null);
    var bar = row.querySelector("progress");
    bar.value = 0;
    bar.setAttribute("aria-label", file.name);
    row.dataset.status = "uploading";
    setState(row, words.uploading);
    var data = new FormData();
    data.append("file", file);
    data.append("partner_id", value("partner"));
    data.append("doc_type", value("doc_type"));
    data.append("confidentiality", value("confidentiality"));
    if (value("expires_on")) data.append("expires_on", value("expires_on"));
    if (value("title").trim()) data.append("title", value("title").trim());
    var xhr = new XMLHttpRequest();
    xhr.open("POST", "/web-api/documents");
    xhr.setRequestHeader("X-CSRF-Token", csrf);
    xhr.upload.onprogress = function (e) { if (e.lengthComputable) bar.value = Math.round(100 * e.loaded / e.total); };
    var again = function () { send(file, row); };
    var drop = function () { row.parentNode.removeChild(row); if (!rows.children.length) table.hidden = true; };
    xhr.onload = function () {
      var body = {};
      try { body = JSON.parse(xhr.responseText); } catch (err) { body = { detail: xhr.statusText }; }
      if (xhr.status === 200 && body.duplicate) {
        // Already on file: say so and stay so; the existing document is linked, nothing is re-read.
        bar.value = 100;
        row.dataset.id = body.id;
        row.dataset.status = "duplicate";
        link(row, body);
        setState(row, words.duplicate + "（" + body.status_label + "）", "duplicate");
      } else if (xhr.status === 202) {
        bar.value = 100;
        row.dataset.id = body.id;
        poll(row, body.id);
      } else {
        setState(row, body.detail || ("HTTP " + xhr.status), "failed");
        row.dataset.status = "failed";
        actions(row, again, drop);
      }
    };
    xhr.onerror = function () {
      setState(row, words.network, "failed");
      row.dataset.status = "failed";
      actions(row, again, drop);
    };
    xhr.send(data);
  }

  function accept(files) {
    if (!value("partner")) { problem.hidden = false; return; }
    problem.hidden = true;
    Array.prototype.forEach.call(files, function (file) { send(file, null); });
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
