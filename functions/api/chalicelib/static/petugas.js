/* SILASTRI RV — progressive enhancement for the officers' workspace (no framework, no CDN).
 * Batch signing: instead of one silent request for every permit, the page signs the chosen permits one by one
 * ("Menandatangani 2 dari 5…") and lists each result as it comes. Without this script the form posts the
 * whole batch and the server answers with the same results. */
(function () {
  "use strict";

  function text(node, value) { node.textContent = value; return node; }

  function element(name, attributes) {
    var node = document.createElement(name);
    Object.keys(attributes || {}).forEach(function (key) { node.setAttribute(key, attributes[key]); });
    return node;
  }

  function signOne(url, csrf, taskId) {
    var body = new URLSearchParams();
    body.append("csrf", csrf);
    body.append("task_id", taskId);
    return fetch(url, {
      method: "POST", credentials: "same-origin", body: body,
      headers: { "Accept": "application/json" }
    }).then(function (response) {
      var type = response.headers.get("Content-Type") || "";
      if (!response.ok || type.indexOf("application/json") !== 0) {
        throw new Error("Sesi Anda mungkin sudah berakhir atau koneksi terputus. Muat ulang halaman, lalu coba lagi.");
      }
      return response.json();
    });
  }

  function resultsSection(form) {
    var section = document.getElementById("hasil");
    if (section) { section.remove(); }
    section = element("section", { "class": "card sign-progress", "id": "hasil", "aria-labelledby": "hasil-ttd" });
    section.appendChild(text(element("h2", { "id": "hasil-ttd" }), "Hasil penandatanganan"));
    var status = element("p", { "id": "progres-ttd", "role": "status", "aria-live": "polite" });
    var bar = element("progress", { "id": "progres-ttd-bar", "max": "1", "value": "0", "aria-labelledby": "progres-ttd" });
    var list = element("ul", { "class": "results", "aria-live": "polite" });
    section.appendChild(status);
    section.appendChild(bar);
    section.appendChild(list);
    form.parentNode.insertBefore(section, form);
    return { section: section, status: status, bar: bar, list: list };
  }

  function describe(box) {
    var label = box.labels && box.labels[0];
    var strong = label && label.querySelector("strong");
    var number = strong ? strong.textContent.trim() : box.value;
    var holder = label ? (label.childNodes[1] ? label.childNodes[1].textContent.replace(/^\s*—\s*/, "").trim() : "") : "";
    return { number: number, holder: holder };
  }

  function batchSign(form, event) {
    var boxes = Array.prototype.slice.call(form.querySelectorAll('input[name="task_id"]:checked'));
    if (!boxes.length || !window.fetch || !window.URLSearchParams) { return; }  // the server explains / signs
    event.preventDefault();
    event.stopPropagation();  // not the "send once" handler: this form can be used again after the batch
    if (form.getAttribute("data-busy")) { return; }
    form.setAttribute("data-busy", "1");
    var url = form.getAttribute("data-batch-sign");
    var csrf = (form.querySelector('input[name="csrf"]') || {}).value || "";
    var button = form.querySelector('button[type="submit"]');
    var ui = resultsSection(form);
    var total = boxes.length;
    var signed = 0;
    button.disabled = true;
    ui.bar.max = total;
    ui.section.setAttribute("tabindex", "-1");
    ui.section.focus();

    function finish(problem) {
      ui.bar.value = total;
      if (problem) {
        ui.status.className = "notice notice-error";
        text(ui.status, problem);
      } else {
        text(ui.status, "Selesai: " + signed + " dari " + total + " izin ditandatangani.");
      }
      var left = form.querySelectorAll('input[name="task_id"]').length;
      var legend = form.querySelector("legend");
      if (legend) { text(legend, "Izin yang menunggu tanda tangan (" + left + ")"); }
      if (!left) {
        form.replaceWith(text(element("p", { "class": "card empty", "id": "ttd-kosong" }),
          "Tidak ada izin yang menunggu tanda tangan."));
      }
      button.disabled = false;
      form.removeAttribute("data-busy");
    }

    function next(index) {
      if (index >= total) { finish(null); return; }
      var box = boxes[index];
      var about = describe(box);
      text(ui.status, "Menandatangani " + (index + 1) + " dari " + total + "… (" + about.number + ")");
      ui.bar.value = index;
      signOne(url, csrf, box.value).then(function (result) {
        var item = element("li", { "class": result.signed ? "result-ok" : "result-bad", "data-task": box.value });
        item.appendChild(text(element("strong"), about.number));
        item.appendChild(document.createTextNode((about.holder ? " — " + about.holder : "") + ": " +
          (result.signed ? "ditandatangani secara elektronik." : "tidak ditandatangani. " + (result.message || ""))));
        ui.list.appendChild(item);
        if (result.signed) {
          signed += 1;
          var row = box.closest(".check");
          if (row) { row.remove(); }
        }
        next(index + 1);
      }).catch(function (error) {
        finish(error.message + " " + signed + " dari " + total + " izin sudah ditandatangani.");
      });
    }

    next(0);
  }

  document.querySelectorAll("form[data-batch-sign]").forEach(function (form) {
    form.addEventListener("submit", function (event) { batchSign(form, event); });
  });
}());
