// Vos données: send a file to POST /explore/upload as a stream (never base64 through a Dash
// callback), with a progress bar and a Cancel button; then tell the page which dataset arrived.
(function () {
  "use strict";
  let request = null;

  function card() {
    return document.getElementById("explore-upload");
  }

  function texts() {
    try {
      return JSON.parse(card().dataset.texts || "{}");
    } catch (error) {
      return {};
    }
  }

  function fileInput() {
    const slot = document.getElementById("explore-file-slot");
    if (!slot) {
      return null;
    }
    const bar = document.querySelector("#explore-progress .progress-bar");
    if (bar && !bar.hasAttribute("aria-label")) {
      bar.setAttribute("aria-label", texts().progress || "");
    }
    let input = document.getElementById("explore-file");
    if (!input) {
      input = document.createElement("input");
      input.type = "file";
      input.id = "explore-file";
      input.className = "form-control";
      input.accept = ".csv,.tsv,.txt,.xlsx,.parquet,text/csv,text/plain";
      input.setAttribute("aria-describedby", "explore-status");
      slot.appendChild(input);
    }
    return input;
  }

  function say(text, kind) {
    const status = document.getElementById("explore-status");
    if (status) {
      status.textContent = text;
      status.className = "mt-2 mb-0 small" + (kind ? " text-" + kind : "");
    }
  }

  function progress(percent) {
    const bar = document.querySelector("#explore-progress .progress-bar");
    if (bar) {
      bar.style.width = percent + "%";
      bar.setAttribute("aria-valuenow", String(Math.round(percent)));
    }
  }

  function busy(on) {
    const send = document.getElementById("explore-send");
    const cancel = document.getElementById("explore-cancel");
    if (send) send.disabled = on;
    if (cancel) cancel.disabled = !on;
  }

  function answered(words) {
    let body = {};
    try {
      body = JSON.parse(request.responseText || "{}");
    } catch (error) {
      body = {};
    }
    if (request.status === 200 && body.id) {
      progress(100);
      let message = (words.stored || "").replace("{rows}", body.rows_text).replace("{columns}", body.columns);
      if (body.rejected) {
        message += " " + (words.rejected || "").replace("{count}", body.rejected_text).replace("{line}", body.first_line);
      }
      say(message, "success");
      window.dash_clientside.set_props("explore-uploaded", { data: { id: body.id, at: Date.now() } });
    } else {
      progress(0);
      say((words.refused || "") + " " + (body.error || request.statusText), "danger");
    }
  }

  function send() {
    const words = texts();
    const input = fileInput();
    const file = input && input.files && input.files[0];
    if (!file) {
      say(words.choose, "danger");
      return;
    }
    const token = document.querySelector('input[name="csrf_token"]');
    request = new XMLHttpRequest();
    request.open("POST", card().dataset.url);
    request.setRequestHeader("X-CSRFToken", token ? token.value : "");
    request.setRequestHeader("X-Filename", encodeURIComponent(file.name));
    request.setRequestHeader("Content-Type", "application/octet-stream");
    request.upload.onprogress = function (event) {
      if (event.lengthComputable) {
        progress((event.loaded / event.total) * 90);
        say(event.loaded < event.total ? words.sending : words.reading);
      }
    };
    request.onload = function () {
      busy(false);
      answered(words);
      request = null;
    };
    request.onerror = function () {
      busy(false);
      progress(0);
      say(words.failed, "danger");
      request = null;
    };
    request.onabort = function () {
      busy(false);
      progress(0);
      say(words.cancelled, "warning");
      request = null;
    };
    busy(true);
    progress(1);
    say(words.sending);
    request.send(file);
  }

  document.addEventListener("click", function (event) {
    if (event.target.closest("#explore-send")) {
      send();
    } else if (event.target.closest("#explore-cancel") && request) {
      request.abort();
    }
  });

  // A file dropped on the card is the one sent.
  document.addEventListener("dragover", function (event) {
    if (event.target.closest && event.target.closest("#explore-upload")) {
      event.preventDefault();
    }
  });
  document.addEventListener("drop", function (event) {
    if (!(event.target.closest && event.target.closest("#explore-upload"))) {
      return;
    }
    event.preventDefault();
    const input = fileInput();
    if (input && event.dataTransfer && event.dataTransfer.files.length) {
      input.files = event.dataTransfer.files;
      send();
    }
  });

  // The input is made when the page is drawn (Dash draws pages after this script has run).
  new MutationObserver(fileInput).observe(document.documentElement, { childList: true, subtree: true });
})();
