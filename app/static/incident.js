// The update composer's cadence countdown: "Next update due in 12m" ticks down, then turns
// red ("overdue by 3m") without a reload. The server renders the same text first.
(function () {
  function text(seconds) {
    var span = Math.abs(seconds), h = Math.floor(span / 3600), m = Math.floor((span % 3600) / 60);
    var t = h ? h + "h " + m + "m" : m + "m";
    return seconds >= 0 ? "due in " + t : "overdue by " + t;
  }
  function tick() {
    document.querySelectorAll(".cadence[data-due]").forEach(function (el) {
      var seconds = Math.floor((Date.parse(el.dataset.due) - Date.now()) / 1000);
      el.textContent = "Next update " + text(seconds);
      el.classList.toggle("late", seconds < 0);
    });
  }
  setInterval(tick, 15000);
  document.addEventListener("htmx:afterSettle", tick);
})();
