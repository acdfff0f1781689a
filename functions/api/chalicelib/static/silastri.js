/* SILASTRI RV — progressive enhancement for the applicant pages (no framework, no CDN).
 * Uploads: reserve a slot (JSON API, session cookie + X-CSRF-Token), POST the file to the presigned
 * storage URL with a progress bar, ask the API to check it, then refresh the documents section. */
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  var meta = document.querySelector('meta[name="csrf-token"]');
  var csrf = meta ? meta.getAttribute("content") : "";

  function postJson(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf, "Accept": "application/json" },
      body: JSON.stringify(body || {})
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        return { status: response.status, data: data };
      });
    });
  }

  function sendToStorage(url, fields, file, progress) {
    return new Promise(function (resolve, reject) {
      var data = new FormData();
      Object.keys(fields).forEach(function (name) { data.append(name, fields[name]); });
      data.append("file", file);  // S3 ignores every field after the file
      var xhr = new XMLHttpRequest();
      xhr.open("POST", url);
      xhr.upload.onprogress = function (event) {
        if (event.lengthComputable) { progress.value = Math.round((event.loaded / event.total) * 100); }
      };
      xhr.onload = function () { resolve(xhr.status); };
      xhr.onerror = function () { reject(new Error("network")); };
      xhr.send(data);
    });
  }

  function errorText(result, fallback) {
    return (result.data && result.data.error && result.data.error.message) || fallback;
  }

  function announce(text, kind) {
    var box = document.getElementById("status-unggah");
    if (!box) { return; }
    box.textContent = text;
    box.className = "upload-announcer " + (kind || "");
  }

  function refreshDocuments(requirement) {
    var section = document.getElementById("berkas");
    var url = (section && section.getAttribute("data-refresh")) || window.location.pathname;
    return fetch(url, { credentials: "same-origin" })
      .then(function (response) { return response.text(); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("berkas");
        var current = document.getElementById("berkas");
        if (fresh && current) { current.replaceWith(fresh); }
        var row = document.getElementById("syarat-" + requirement);
        var heading = row && row.querySelector("h3");
        if (heading) { heading.setAttribute("tabindex", "-1"); heading.focus(); }
      });
  }

  function upload(form) {
    var input = form.querySelector('input[type="file"]');
    var button = form.querySelector('button[type="submit"]');
    var progress = form.querySelector("progress");
    var message = form.querySelector(".upload-message");
    var name = form.getAttribute("data-name") || "";
    var file = input.files && input.files[0];

    function say(text, kind) { message.textContent = text; message.className = "upload-message " + (kind || ""); }

    if (!file) { say("Pilih berkas PDF terlebih dahulu.", "bad"); input.focus(); return; }
    if (!/\.pdf$/i.test(file.name)) { say("Hanya berkas PDF (.pdf) yang dapat diunggah.", "bad"); input.focus(); return; }
    var maxBytes = parseInt(form.getAttribute("data-max-bytes"), 10);
    if (file.size > maxBytes) {
      say("Ukuran berkas melebihi " + Math.floor(maxBytes / 1048576) + " MB. Perkecil ukuran PDF, lalu unggah kembali.", "bad");
      return;
    }
    var base = "/api/applications/" + encodeURIComponent(form.getAttribute("data-application"));
    var requirement = form.getAttribute("data-requirement");
    button.disabled = true;
    progress.hidden = false;
    progress.value = 0;
    say("Mengunggah " + file.name + " …");

    postJson(base + "/uploads", { requirement_id: requirement, filename: file.name, size_bytes: file.size })
      .then(function (slot) {
        if (slot.status !== 201) { throw new Error(errorText(slot, "Unggahan tidak dapat dimulai.")); }
        return sendToStorage(slot.data.url, slot.data.fields, file, progress).then(function (status) {
          if (status >= 300) { throw new Error("Penyimpanan menolak berkas (HTTP " + status + "). Coba lagi."); }
          progress.value = 100;
          say("Memeriksa berkas …");
          return postJson(base + "/uploads/" + encodeURIComponent(slot.data.upload_id) + "/complete");
        });
      })
      .then(function (checked) {
        if (checked.status === 200) {
          announce(name + ": berkas " + file.name + " diterima.", "ok");
        } else if (checked.status === 422) {
          announce(name + ": berkas " + file.name + " ditolak. " + (checked.data.reason || ""), "bad");
        } else {
          throw new Error(errorText(checked, "Berkas tidak dapat diperiksa. Coba lagi."));
        }
        return refreshDocuments(requirement);
      })
      .catch(function (error) {
        say(error && error.message && error.message !== "network" ? error.message
          : "Koneksi terputus. Periksa jaringan Anda, lalu coba lagi.", "bad");
        button.disabled = false;
        progress.hidden = true;
      });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.hasAttribute("data-upload")) {
      event.preventDefault();
      upload(form);
    } else if (form.hasAttribute("data-once")) {
      // the server is idempotent anyway (hidden key); this only spares a second round trip
      if (form.getAttribute("data-sent")) { event.preventDefault(); return; }
      form.setAttribute("data-sent", "1");
      var button = form.querySelector('button[type="submit"]');
      if (button) { window.setTimeout(function () { button.disabled = true; }, 0); }
    }
  });

  // a message shown after a redirect (?pesan=…) is not shown again on reload
  if (window.history.replaceState && /[?&]pesan=/.test(window.location.search)) {
    var query = window.location.search.replace(/([?&])pesan=[^&]*&?/, "$1").replace(/[?&]$/, "");
    window.history.replaceState(null, "", window.location.pathname + query + window.location.hash);
  }

  var summary = document.querySelector(".error-summary");
  if (summary) { summary.focus(); }
}());
