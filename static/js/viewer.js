// The radiologist's X-ray viewer: zoom, pan, brightness/contrast (window/level), invert and the heatmap
// overlay, all with CSS transforms and filters on the <img>. The stored image is never altered.
(function () {
  "use strict";

  const MIN_ZOOM = 1;
  const MAX_ZOOM = 8;
  const PAN_STEP = 40; // pixels per arrow key press

  function setUp(viewer) {
    const controls = viewer.querySelector("[data-viewer-controls]");
    const viewport = viewer.querySelector("[data-viewer-viewport]");
    const stage = viewer.querySelector("[data-viewer-stage]");
    const image = viewer.querySelector("[data-viewer-image]");
    const heatmap = viewer.querySelector("[data-viewer-heatmap]");
    const zoom = controls.querySelector("[data-viewer-zoom]");
    const brightness = controls.querySelector("[data-viewer-brightness]");
    const contrast = controls.querySelector("[data-viewer-contrast]");
    const invert = controls.querySelector("[data-viewer-invert]");
    const heatmapToggle = controls.querySelector("[data-viewer-heatmap-toggle]");
    const heatmapOpacity = controls.querySelector("[data-viewer-heatmap-opacity]");
    const defaults = { zoom: zoom.value, brightness: brightness.value, contrast: contrast.value };
    let panX = 0;
    let panY = 0;
    let drag = null;

    function scale() {
      return Number(zoom.value) / 100;
    }

    // Keep the image covering the viewport: no panning it out of sight.
    function clampPan() {
      const limitX = (viewport.clientWidth * (scale() - 1)) / 2;
      const limitY = (viewport.clientHeight * (scale() - 1)) / 2;
      panX = Math.max(-limitX, Math.min(limitX, panX));
      panY = Math.max(-limitY, Math.min(limitY, panY));
    }

    function render() {
      clampPan();
      stage.style.transform = `translate(${panX}px, ${panY}px) scale(${scale()})`;
      image.style.filter =
        `brightness(${Number(brightness.value) / 100}) contrast(${Number(contrast.value) / 100})` +
        ` invert(${invert.checked ? 1 : 0})`;
      if (heatmap) {
        heatmap.hidden = !heatmapToggle.checked;
        heatmapOpacity.disabled = !heatmapToggle.checked;
        heatmap.style.opacity = String(Number(heatmapOpacity.value) / 100);
      }
      viewport.classList.toggle("is-zoomed", scale() > 1);
    }

    function zoomBy(factor) {
      const next = Math.max(MIN_ZOOM, Math.min(MAX_ZOOM, scale() * factor));
      zoom.value = String(Math.round(next * 100));
      render();
    }

    function reset() {
      zoom.value = defaults.zoom;
      brightness.value = defaults.brightness;
      contrast.value = defaults.contrast;
      invert.checked = false;
      panX = panY = 0;
      render();
    }

    for (const input of [zoom, brightness, contrast, heatmapOpacity]) {
      if (input) input.addEventListener("input", render);
    }
    for (const input of [invert, heatmapToggle]) {
      if (input) input.addEventListener("change", render);
    }
    controls.querySelector("[data-viewer-reset]").addEventListener("click", reset);

    viewport.addEventListener("wheel", (event) => {
      event.preventDefault();
      zoomBy(event.deltaY < 0 ? 1.15 : 1 / 1.15);
    }, { passive: false });

    viewport.addEventListener("pointerdown", (event) => {
      drag = { x: event.clientX - panX, y: event.clientY - panY };
      viewport.setPointerCapture(event.pointerId);
    });
    viewport.addEventListener("pointermove", (event) => {
      if (!drag) return;
      panX = event.clientX - drag.x;
      panY = event.clientY - drag.y;
      render();
    });
    for (const type of ["pointerup", "pointercancel"]) {
      viewport.addEventListener(type, () => { drag = null; });
    }

    viewport.addEventListener("keydown", (event) => {
      const moves = { ArrowLeft: [PAN_STEP, 0], ArrowRight: [-PAN_STEP, 0], ArrowUp: [0, PAN_STEP], ArrowDown: [0, -PAN_STEP] };
      if (moves[event.key]) {
        panX += moves[event.key][0];
        panY += moves[event.key][1];
        render();
      } else if (event.key === "+" || event.key === "=") {
        zoomBy(1.25);
      } else if (event.key === "-") {
        zoomBy(1 / 1.25);
      } else if (event.key === "0") {
        reset();
      } else {
        return;
      }
      event.preventDefault();
    });

    controls.hidden = false;
    render();
  }

  document.querySelectorAll("[data-viewer]").forEach(setUp);
})();
