// Phone pages: sharing the phone's position with consent, and the workshop scanner's
// fast input. Everything works without this file except those two enhancements.
"use strict";

(function () {
  var GS = String.fromCharCode(29);

  function sharePosition(form) {
    var button = form.querySelector("[data-share-button]");
    var status = form.querySelector("[data-position-status]");
    if (!button || !("geolocation" in navigator)) {
      return;
    }
    form.hidden = false;
    button.addEventListener("click", function () {
      button.disabled = true;
      status.textContent = "Asking your phone for its position…";
      navigator.geolocation.getCurrentPosition(
        function (position) {
          form.elements.lat.value = String(position.coords.latitude);
          form.elements.lon.value = String(position.coords.longitude);
          form.elements.accuracy.value = String(position.coords.accuracy);
          status.textContent = "Position found; recording…";
          form.submit();
        },
        function (error) {
          button.disabled = false;
          status.textContent = error.code === error.PERMISSION_DENIED
            ? "Position not shared. Pick where it is from the list above instead."
            : "Your phone could not find its position. Pick where it is from the list above.";
          var first = document.querySelector("input[name='zone_id']");
          if (first) {
            first.focus();
          }
        },
        { enableHighAccuracy: true, timeout: 20000, maximumAge: 0 }
      );
    });
  }

  function logEntry(data) {
    var item = document.createElement("li");
    item.className = data.ok ? "log-ok" : "log-refused";
    [["time", data.at], ["action", data.action], ["code", data.code],
     ["asset", data.asset], ["message", data.message]].forEach(function (part, i) {
      if (i > 0) {
        item.appendChild(document.createTextNode(" "));
      }
      var span = document.createElement("span");
      span.className = part[0];
      span.textContent = part[1] || "";
      item.appendChild(span);
    });
    return item;
  }

  function workshop(form) {
    var input = form.elements.code;
    var log = document.getElementById("scan-log");
    var desk = document.getElementById("desk-location");
    var queue = [];
    var sending = false;

    function show(data) {
      var empty = log.querySelector(".log-empty");
      if (empty) {
        empty.remove();
      }
      log.insertBefore(logEntry(data), log.firstChild);
      while (log.children.length > 50) {
        log.removeChild(log.lastChild);
      }
      if (data.action === "Location" && data.ok && desk) {
        desk.textContent = data.asset;
      }
    }

    function next() {
      if (sending || queue.length === 0) {
        return;
      }
      sending = true;
      var body = new URLSearchParams();
      body.set("csrf", form.elements.csrf.value);
      body.set("mode", form.elements.mode.value);
      body.set("code", queue.shift());
      fetch(form.action, {
        method: "POST",
        body: body,
        credentials: "same-origin",
        headers: { "Accept": "application/json" }
      }).then(function (response) {
        var type = response.headers.get("Content-Type") || "";
        if (type.indexOf("application/json") === -1) {
          // Signed out or refused: the page itself says why.
          window.location.reload();
          return null;
        }
        return response.json();
      }).then(function (data) {
        if (data) {
          show(data);
        }
      }).catch(function () {
        show({ ok: false, at: "", action: "", code: "", asset: "",
               message: "The appliance did not answer; scan again." });
      }).then(function () {
        sending = false;
        next();
      });
    }

    input.addEventListener("keydown", function (event) {
      if (event.ctrlKey && (event.key === "]" || event.code === "BracketRight")) {
        // A keyboard-wedge scanner sends GS1's separator (ASCII 29) as Ctrl+].
        event.preventDefault();
        input.setRangeText(GS, input.selectionStart, input.selectionEnd, "end");
        return;
      }
      if (event.key === "Enter") {
        event.preventDefault();
        var code = input.value;
        input.value = "";
        if (code.trim() !== "" || code.indexOf(GS) !== -1) {
          queue.push(code);
          next();
        }
      }
    });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var code = input.value;
      input.value = "";
      if (code !== "") {
        queue.push(code);
        next();
      }
      input.focus();
    });
    input.focus();
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-share-position]").forEach(sharePosition);
    document.querySelectorAll("form[data-workshop]").forEach(workshop);
  });
}());
