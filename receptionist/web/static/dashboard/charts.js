// Draws every <canvas data-chart="ID"> from the Chart.js configuration in <script type="application/json" id="ID">.
// The numbers are the same as the table beside each chart; nothing is fetched.
(function () {
  "use strict";
  if (typeof Chart === "undefined") { return; }
  document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
    var source = document.getElementById(canvas.getAttribute("data-chart"));
    if (!source) { return; }
    new Chart(canvas, JSON.parse(source.textContent));
  });
})();
