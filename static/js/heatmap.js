// Heatmap controls on the result page: show or hide the overlay and set its opacity.
// Without JavaScript the overlay is simply shown at its default opacity.
(function () {
  "use strict";

  const viewer = document.querySelector("[data-heatmap-viewer]");
  const overlay = viewer && viewer.querySelector("[data-heatmap]");
  const controls = viewer && viewer.querySelector("[data-heatmap-controls]");
  if (!overlay || !controls) return;
  const toggle = controls.querySelector("[data-heatmap-toggle]");
  const opacity = controls.querySelector("[data-heatmap-opacity]");

  function update() {
    overlay.hidden = !toggle.checked;
    opacity.disabled = !toggle.checked;
    overlay.style.opacity = String(Number(opacity.value) / 100);
  }

  toggle.addEventListener("change", update);
  opacity.addEventListener("input", update);
  controls.hidden = false;
  update();
})();
