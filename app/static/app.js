// Small progressive enhancements; every page works without this file.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  // The browser's UTC offset travels with local date-time inputs (see pages/tickets.py).
  function fillOffsets(root) {
    root.querySelectorAll("input[name=tz_offset]").forEach(function (el) {
      el.value = String(new Date().getTimezoneOffset());
    });
  }

  // Live-update indicator: green while the server-sent event stream is connected.
  document.addEventListener("htmx:sseOpen", function () { document.body.classList.add("live-on"); });
  document.addEventListener("htmx:sseError", function () { document.body.classList.remove("live-on"); });

  // Clear the flash area when a later request succeeds.
  document.addEventListener("htmx:afterRequest", function (e) {
    var flash = document.getElementById("flash");
    if (flash && e.detail.successful && e.detail.target !== flash) { flash.innerHTML = ""; }
  });
  document.addEventListener("htmx:afterSwap", function (e) { fillOffsets(e.target); });
  document.addEventListener("DOMContentLoaded", function () { fillOffsets(document); });

  // Keyboard: j/k move between board rows, Enter or o opens, c claims, / searches.
  function rows() { return Array.prototype.slice.call(document.querySelectorAll(".board-row")); }
  function current() { return document.querySelector(".board-row.cursor"); }
  function move(step) {
    var all = rows(); if (!all.length) { return; }
    var i = all.indexOf(current());
    var next = all[Math.max(0, Math.min(all.length - 1, i + step))] || all[0];
    all.forEach(function (r) { r.classList.remove("cursor"); });
    next.classList.add("cursor");
    next.scrollIntoView({ block: "nearest" });
  }
  document.addEventListener("keydown", function (e) {
    var tag = (e.target.tagName || "").toLowerCase();
    if (tag === "input" || tag === "textarea" || tag === "select" || e.metaKey || e.ctrlKey || e.altKey) { return; }
    var row = current();
    if (e.key === "j") { move(1); e.preventDefault(); }
    else if (e.key === "k") { move(-1); e.preventDefault(); }
    else if ((e.key === "Enter" || e.key === "o") && row) {
      var link = row.querySelector("a.title"); if (link) { link.click(); e.preventDefault(); }
    } else if (e.key === "c" && row) {
      var claim = row.querySelector("button[data-claim]"); if (claim) { claim.click(); e.preventDefault(); }
    } else if (e.key === "/") {
      var search = document.querySelector("input[type=search]"); if (search) { search.focus(); e.preventDefault(); }
    }
  });
})();
