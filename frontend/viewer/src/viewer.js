// The diagnostic viewer: the scan's original DICOM pixels (12 or 16 bit) from the portal's own WADO-RS,
// in a Cornerstone3D stack viewport, with window/level, zoom, pan, invert, the heatmap overlay, a length
// tool and the same person's prior beside it with a linked zoom and pan.
//
// Progressive enhancement: the page already shows the PNG viewer; this one takes its place only once
// its first image is on screen, and hides itself again if anything on the way fails. Every word the
// user sees comes from the template (translated there), through the markup or data-msg-* attributes.
import {
  RenderingEngine,
  Enums,
  init as initCore,
  cache,
  getShouldUseCPURendering,
  metaData,
  Settings,
  utilities,
} from "@cornerstonejs/core";
import { init as initLoader, wadors } from "@cornerstonejs/dicom-image-loader";
import {
  init as initTools,
  addTool,
  annotation,
  Enums as ToolEnums,
  LengthTool,
  PanTool,
  synchronizers,
  ToolGroupManager,
  WindowLevelTool,
  ZoomTool,
} from "@cornerstonejs/tools";

const { toLowHighRange, toWindowLevel } = utilities.windowLevel;
const { Events, ViewportType } = Enums;
const PRIMARY = [{ mouseButton: ToolEnums.MouseBindings.Primary }];
const TOOLS = {
  windowLevel: WindowLevelTool.toolName,
  pan: PanTool.toolName,
  zoom: ZoomTool.toolName,
  length: LengthTool.toolName,
};
const PAN_STEP = 40; // screen pixels per arrow key press
const ZOOM_STEP = 1.25;
const WIDTH_STEP = 1.1; // [ and ] narrow or widen the window by a tenth
const CENTRE_STEP = 0.05; // , and . move the centre by a twentieth of the width
const FIRST_IMAGE = "dicom-viewer:first-image";

let viewerCount = 0;
let started = null;

function startCornerstone() {
  // Once per page: core falls back to its CPU renderer by itself where the browser has no WebGL.
  started ??= Promise.resolve().then(() => {
    initCore();
    // The tools' cursors are SVG images behind blob: URLs, which the CSP's img-src refuses; the
    // stylesheet gives each tool a plain cursor instead (.dicom-viewport[data-tool]).
    Settings.getRuntimeSettings().set("useCursors", false);
    const calibrations = utilities.calibratedPixelSpacingMetadataProvider;
    metaData.addProvider((type, imageId) => calibrations.get(type, imageId), 11000);
    initLoader({ maxWebWorkers: 1 });
    initTools();
    for (const tool of [WindowLevelTool, PanTool, ZoomTool, LengthTool]) addTool(tool);
  });
  return started;
}

// ---- loading one instance ------------------------------------------------------------------------

async function imageIdFor(instanceUrl) {
  const url = new URL(instanceUrl, window.location.href).href;
  const response = await fetch(`${url}/metadata`, {
    headers: { Accept: "application/dicom+json" },
    credentials: "same-origin",
  });
  if (!response.ok) throw new Error(`${url}/metadata answered ${response.status}`);
  const [instance] = await response.json();
  const imageId = `wadors:${url}/frames/1`;
  // As OHIF does: the loader reads the instance's attributes from here, not from the frame.
  wadors.metaDataManager.add(imageId, instance);
  calibrateProjection(imageId, instance);
  return imageId;
}

// A radiograph often gives only ImagerPixelSpacing (at the detector), which the loader's metadata
// ignores, so lengths would be in pixels: use it, labelled as a projection calibration (as OHIF does).
function calibrateProjection(imageId, instance) {
  if (instance["00280030"]?.Value) return;
  const [row, column] = (instance["00181164"]?.Value ?? []).map(Number);
  if (!(row > 0 && column > 0)) return;
  utilities.calibratedPixelSpacingMetadataProvider.add(imageId, {
    rowPixelSpacing: row,
    columnPixelSpacing: column,
    type: Enums.CalibrationTypes.PROJECTION,
  });
}

function pixelRange(imageId) {
  const image = cache.getImage(imageId);
  return { min: image.minPixelValue, max: image.maxPixelValue };
}

function isMonochrome1(imageId) {
  return metaData.get("imagePixelModule", imageId)?.photometricInterpretation === "MONOCHROME1";
}

// ---- window/level ----------------------------------------------------------------------------------

function windowOf(viewport) {
  const { lower, upper } = viewport.getProperties().voiRange;
  const { windowCenter, windowWidth } = toWindowLevel(lower, upper);
  return { centre: windowCenter, width: windowWidth };
}

function setWindow(viewport, centre, width) {
  viewport.setProperties({ voiRange: toLowHighRange(Math.max(1, width), centre) });
  viewport.render();
}

// A chest radiograph carries no Hounsfield units, so CT's lung and bone windows mean nothing here:
// the presets are parts of the image's own range, the half that shows dark (lung fields) or the part
// that shows bright (bone), which are the high stored values under MONOCHROME1.
function presetRange(name, imageId, fileWindow) {
  const { min, max } = pixelRange(imageId);
  const span = max - min;
  const dark = isMonochrome1(imageId) ? [max - span / 2, max] : [min, min + span / 2];
  const bright = isMonochrome1(imageId) ? [min, min + span * 0.6] : [max - span * 0.6, max];
  const ranges = { full: [min, max], lung: dark, bone: bright };
  if (!ranges[name]) return fileWindow;
  const { windowCenter, windowWidth } = toWindowLevel(...ranges[name]);
  return { centre: windowCenter, width: windowWidth };
}

// ---- camera ------------------------------------------------------------------------------------------

function zoomBy(viewport, factor) {
  viewport.setZoom(viewport.getZoom() * factor);
  viewport.render();
}

function panBy(viewport, dx, dy) {
  // Move the camera by a screen distance, converted to world units the way PanTool does.
  const from = viewport.canvasToWorld([0, 0]);
  const to = viewport.canvasToWorld([dx, dy]);
  const delta = from.map((value, i) => value - to[i]);
  const { focalPoint, position } = viewport.getCamera();
  viewport.setCamera({
    focalPoint: focalPoint.map((value, i) => value + delta[i]),
    position: position.map((value, i) => value + delta[i]),
  });
  viewport.render();
}

// Where the image lies on the viewport, in CSS pixels: [left, top, width, height].
function imageBox(viewport) {
  const imageId = viewport.getCurrentImageId();
  const { columns, rows } = metaData.get("imagePixelModule", imageId);
  const [left, top] = viewport.worldToCanvas(utilities.imageToWorldCoords(imageId, [0, 0]));
  const [right, bottom] = viewport.worldToCanvas(utilities.imageToWorldCoords(imageId, [columns, rows]));
  return [left, top, right - left, bottom - top];
}

function placeOverlay(viewport, overlay) {
  const [left, top, width, height] = imageBox(viewport);
  Object.assign(overlay.style, { left: `${left}px`, top: `${top}px`, width: `${width}px`, height: `${height}px` });
}

// ---- one viewer ---------------------------------------------------------------------------------------

function parts(root) {
  const one = (name) => root.querySelector(`[data-dv-${name}]`);
  return {
    current: one("viewport"),
    prior: one("prior-viewport"),
    priorPane: one("prior-pane"),
    priorChoice: one("prior"),
    priorLabel: one("prior-label"),
    tool: root.querySelectorAll("[data-dv-tool]"),
    preset: one("preset"),
    centre: one("centre"),
    width: one("width"),
    invert: one("invert"),
    zoomIn: one("zoom-in"),
    zoomOut: one("zoom-out"),
    reset: one("reset"),
    clear: one("clear-measurements"),
    heatmap: one("heatmap"),
    heatmapToggle: one("heatmap-toggle"),
    heatmapOpacity: one("heatmap-opacity"),
    status: one("status"),
  };
}

function createViewer(root) {
  const ui = parts(root);
  const id = `dicom-viewer-${(viewerCount += 1)}`;
  const engine = new RenderingEngine(`${id}-engine`);
  const tools = ToolGroupManager.createToolGroup(`${id}-tools`);
  for (const name of Object.values(TOOLS)) tools.addTool(name);
  const sync = synchronizers.createZoomPanSynchronizer(`${id}-zoom-pan`);
  const state = { fileWindow: null, initialInvert: false, tool: TOOLS.windowLevel, priorShown: null };

  function enable(element, viewportId) {
    engine.enableElement({ viewportId, element, type: ViewportType.STACK });
    tools.addViewport(viewportId, engine.id);
    sync.add({ renderingEngineId: engine.id, viewportId });
    return engine.getViewport(viewportId);
  }

  const current = enable(ui.current, `${id}-current`);
  let prior = null;

  function say(message) {
    if (ui.status) ui.status.textContent = message || "";
  }

  function showWindow() {
    const { centre, width } = windowOf(current);
    ui.centre.value = String(Math.round(centre));
    ui.width.value = String(Math.round(width));
    ui.current.dataset.windowCentre = ui.centre.value;
    ui.current.dataset.windowWidth = ui.width.value;
  }

  function applyWindow({ centre, width }) {
    setWindow(current, centre, width);
    showWindow();
  }

  function applyTypedWindow() {
    const centre = Number(ui.centre.value);
    const width = Number(ui.width.value);
    const valid = ui.centre.value !== "" && ui.width.value !== "" && Number.isFinite(centre) && width >= 1;
    ui.centre.setAttribute("aria-invalid", String(!valid));
    ui.width.setAttribute("aria-invalid", String(!valid));
    if (!valid) return;
    setWindow(current, centre, width);
    ui.current.dataset.windowCentre = String(centre);
    ui.current.dataset.windowWidth = String(width);
  }

  function applyInvert() {
    current.setProperties({ invert: state.initialInvert !== ui.invert.checked });
    current.render();
  }

  function noteCamera(viewport, element) {
    element.dataset.zoom = viewport.getZoom().toFixed(3);
    element.dataset.pan = viewport.getPan().map((value) => value.toFixed(2)).join(",");
    // Read by the tests and by anyone scripting the page: where the image is drawn.
    element.dataset.imageBox = imageBox(viewport).map((value) => value.toFixed(1)).join(",");
  }

  function moveHeatmap() {
    if (ui.heatmap && !ui.heatmap.hidden) placeOverlay(current, ui.heatmap);
  }

  function showHeatmap() {
    if (!ui.heatmap) return;
    ui.heatmap.hidden = !ui.heatmapToggle.checked;
    ui.heatmapOpacity.disabled = !ui.heatmapToggle.checked;
    ui.heatmap.style.opacity = String(Number(ui.heatmapOpacity.value) / 100);
    moveHeatmap();
  }

  function chooseTool(name) {
    if (name === state.tool) return;
    tools.setToolPassive(state.tool);
    tools.setToolActive(name, { bindings: PRIMARY });
    state.tool = name;
    for (const element of [ui.current, ui.prior]) if (element) element.dataset.tool = name;
  }

  function reset() {
    ui.invert.checked = false;
    ui.preset.value = "default";
    current.resetCamera();
    current.setProperties({ invert: state.initialInvert });
    applyWindow(state.fileWindow);
    current.render();
  }

  function onKey(viewport, event) {
    const moves = { ArrowLeft: [-PAN_STEP, 0], ArrowRight: [PAN_STEP, 0], ArrowUp: [0, -PAN_STEP], ArrowDown: [0, PAN_STEP] };
    const { centre, width } = windowOf(current);
    const keys = {
      "+": () => zoomBy(viewport, ZOOM_STEP),
      "=": () => zoomBy(viewport, ZOOM_STEP),
      "-": () => zoomBy(viewport, 1 / ZOOM_STEP),
      "[": () => applyWindow({ centre, width: width / WIDTH_STEP }),
      "]": () => applyWindow({ centre, width: width * WIDTH_STEP }),
      ",": () => applyWindow({ centre: centre - width * CENTRE_STEP, width }),
      ".": () => applyWindow({ centre: centre + width * CENTRE_STEP, width }),
      i: () => { ui.invert.checked = !ui.invert.checked; applyInvert(); },
      0: reset,
    };
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    if (moves[event.key]) panBy(viewport, ...moves[event.key]);
    else if (keys[event.key]) keys[event.key]();
    else return;
    event.preventDefault();
  }

  function onWheel(viewport, event) {
    event.preventDefault();
    zoomBy(viewport, event.deltaY < 0 ? ZOOM_STEP : 1 / ZOOM_STEP);
  }

  function listen(viewport, element) {
    element.addEventListener("keydown", (event) => onKey(viewport, event));
    element.addEventListener("wheel", (event) => onWheel(viewport, event), { passive: false });
    element.addEventListener(Events.CAMERA_MODIFIED, () => {
      noteCamera(viewport, element);
      if (viewport === current) moveHeatmap();
    });
  }

  async function showPrior(index) {
    const option = ui.priorChoice.options[ui.priorChoice.selectedIndex];
    ui.priorPane.hidden = index === "";
    if (index === "" || state.priorShown === index) return;
    if (!prior) {
      prior = enable(ui.prior, `${id}-prior`);
      listen(prior, ui.prior);
    }
    engine.resize(true, false);
    say(root.dataset.msgLoadingPrior);
    ui.priorLabel.textContent = option.textContent;
    await prior.setStack([await imageIdFor(option.dataset.instanceUrl)]);
    state.priorShown = index;
    prior.setZoom(current.getZoom());
    prior.setPan(current.getPan());
    prior.render();
    noteCamera(prior, ui.prior);
    say("");
  }

  function wireControls() {
    ui.tool.forEach((radio) => radio.addEventListener("change", () => chooseTool(TOOLS[radio.value])));
    ui.preset.addEventListener("change", () => {
      applyWindow(presetRange(ui.preset.value, current.getCurrentImageId(), state.fileWindow));
    });
    for (const input of [ui.centre, ui.width]) {
      input.addEventListener("change", applyTypedWindow);
      input.addEventListener("input", applyTypedWindow);
    }
    ui.invert.addEventListener("change", applyInvert);
    ui.zoomIn.addEventListener("click", () => zoomBy(current, ZOOM_STEP));
    ui.zoomOut.addEventListener("click", () => zoomBy(current, 1 / ZOOM_STEP));
    ui.reset.addEventListener("click", reset);
    ui.clear.addEventListener("click", () => {
      annotation.state.removeAllAnnotations();
      engine.render();
    });
    if (ui.heatmap) {
      ui.heatmapToggle.addEventListener("change", showHeatmap);
      ui.heatmapOpacity.addEventListener("input", showHeatmap);
    }
    if (ui.priorChoice) {
      ui.priorChoice.addEventListener("change", () => showPrior(ui.priorChoice.value).catch(priorFailed));
    }
    current.element.addEventListener(Events.VOI_MODIFIED, showWindow);
  }

  function priorFailed(error) {
    console.warn("The prior could not be shown:", error);
    state.priorShown = null;
    ui.priorPane.hidden = true;
    say(root.dataset.msgPriorFailed);
  }

  function firstImageShown() {
    state.fileWindow = windowOf(current);
    state.initialInvert = isMonochrome1(current.getCurrentImageId());
    showWindow();
    showHeatmap();
    noteCamera(current, ui.current);
    const fallback = document.getElementById(root.dataset.fallback);
    if (fallback) fallback.hidden = true;
    root.dataset.state = "ready";
    root.dataset.rendering = getShouldUseCPURendering() ? "cpu" : "webgl";
    say("");
    performance.mark(FIRST_IMAGE);
    root.dispatchEvent(new CustomEvent(FIRST_IMAGE, { bubbles: true }));
  }

  async function start() {
    tools.setToolActive(TOOLS.windowLevel, { bindings: PRIMARY });
    tools.setToolPassive(TOOLS.length);
    listen(current, ui.current);
    say(root.dataset.msgLoading);
    const shown = new Promise((resolve) => {
      ui.current.addEventListener(Events.IMAGE_RENDERED, resolve, { once: true });
    });
    await current.setStack([await imageIdFor(ui.current.dataset.instanceUrl)]);
    current.render();
    await shown;
    firstImageShown();
    wireControls();
    if (ui.priorChoice && ui.priorChoice.value !== "") await showPrior(ui.priorChoice.value).catch(priorFailed);
  }

  return { start, engine };
}

async function setUp(root) {
  // Visible before Cornerstone measures the viewport's size; the PNG viewer stays until the image is in.
  root.hidden = false;
  root.dataset.state = "loading";
  let viewer = null;
  try {
    await startCornerstone();
    viewer = createViewer(root);
    await viewer.start();
  } catch (error) {
    console.warn("The DICOM viewer could not start; the PNG viewer stays:", error);
    viewer?.engine.destroy();
    root.hidden = true;
    root.dataset.state = "failed";
    const fallback = document.getElementById(root.dataset.fallback);
    if (fallback) fallback.hidden = false;
  }
}

document.querySelectorAll("[data-dicom-viewer]").forEach(setUp);
