"""The diagnostic viewer in a real browser: the original DICOM pixels from the portal's WADO-RS, windowed as
the radiologist asks, the prior beside it with a linked zoom, the heatmap, a length, the keyboard, and the
PNG viewer where the bundle cannot start. axe audits every page (conftest.watched_page)."""

import math
import re

import pytest
from playwright.sync_api import expect

from reviews.services import claim
from tests.browser.dicom_studies import (
    BANDS,
    PIXEL_SPACING_MM,
    band_centre,
    expected_grey,
    plain_film,
    twelve_bit_monochrome1,
    uploaded,
)
from tests.browser.test_radiologist_worklist import log_in, verified
from tests.factories import PatientFactory, RadiologistFactory, private_media  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.slow]
GREY_TOLERANCE = 4  # rounding in the LUT and the canvas; a wrong window is off by tens
# Chromium without a GPU may still offer WebGL (SwiftShader) or not; these take it, or every canvas, away.
WITHOUT_WEBGL = """{
  const getContext = HTMLCanvasElement.prototype.getContext;
  HTMLCanvasElement.prototype.getContext = function (type, ...options) {
    return type.includes("webgl") ? null : getContext.call(this, type, ...options);
  };
}"""
WITHOUT_CANVAS = "HTMLCanvasElement.prototype.getContext = () => null;"
LENGTH_LABEL_NEAR = """([viewport, expected]) => {
  const found = viewport.querySelector("svg text")?.textContent.match(/(\\d+(?:\\.\\d+)?) mm/);
  return found && Math.abs(Number(found[1]) - expected) <= expected * 0.03;
}"""
READ_PIXEL = """(viewport, [column, row, columns, rows]) => {
  const [left, top, width, height] = viewport.dataset.imageBox.split(",").map(Number);
  const canvas = viewport.querySelector("canvas");
  const scale = canvas.width / canvas.clientWidth;
  const x = Math.round((left + (column / columns) * width) * scale);
  const y = Math.round((top + (row / rows) * height) * scale);
  return Array.from(canvas.getContext("2d").getImageData(x, y, 1, 1).data.slice(0, 3));
}"""


def open_case(page, scan, radiologist):
    log_in(page, radiologist)
    page.goto(f"/reviews/{scan.pk}/")
    viewer = page.locator("[data-dicom-viewer]")
    expect(viewer).to_have_attribute("data-state", "ready")
    return viewer


def grey_at(viewport, column: float, row: float, size=(512, 512)) -> int:
    red, green, blue = viewport.evaluate(READ_PIXEL, [column, row, *size])
    assert red == green == blue, "a greyscale film renders grey"
    return red


def band_greys(viewport) -> list[int]:
    return [grey_at(viewport, *band_centre(index)) for index in range(len(BANDS))]


def assert_window(viewport, centre, width):
    expected = [expected_grey(value, centre, width, monochrome1=True) for value in BANDS]
    rendered = band_greys(viewport)
    assert all(abs(got - want) <= GREY_TOLERANCE for got, want in zip(rendered, expected, strict=True)), (
        f"window {centre}/{width}: rendered {rendered}, the VOI LUT says {[round(v) for v in expected]}"
    )


@pytest.fixture
def radiologist(db):
    return verified(RadiologistFactory())


@pytest.mark.parametrize("webgl", [True, False], ids=["as-the-browser-renders", "cpu-without-webgl"])
def test_a_12_bit_monochrome1_film_renders_through_the_window_the_radiologist_sets(page, radiologist, webgl):
    scan = uploaded(PatientFactory(), twelve_bit_monochrome1())
    if not webgl:
        page.add_init_script(WITHOUT_WEBGL)
    viewer = open_case(page, scan, radiologist)
    if not webgl:
        expect(viewer).to_have_attribute("data-rendering", "cpu")
    viewport = viewer.locator("[data-dv-viewport]")
    expect(page.locator("#png-viewer")).to_be_hidden()  # the diagnostic viewer took its place

    # The file's own window first (2048/4096), then one that splits the bands: under it 600 is white
    # (MONOCHROME1), 3400 black, and 1800 and 2000 fall proportionally between.
    centre, width = viewer.get_by_label("Centre"), viewer.get_by_label("Width")
    expect(centre).to_have_value("2048")
    assert_window(viewport, 2048, 4096)
    centre.fill("2000")
    width.fill("1000")
    expect(viewport).to_have_attribute("data-window-width", "1000")
    assert_window(viewport, 2000, 1000)

    viewer.get_by_label("Preset").select_option("full")
    expect(width).not_to_have_value("1000")
    assert_window(viewport, float(centre.input_value()), float(width.input_value()))


def test_the_prior_is_shown_beside_the_case_and_follows_its_zoom_and_pan(page, radiologist):
    patient = PatientFactory()
    older, old = uploaded(patient, plain_film(900), days_ago=60), uploaded(patient, plain_film(1400), days_ago=20)
    scan = uploaded(patient, twelve_bit_monochrome1())
    assert claim(scan.pk, radiologist)  # holding the case is what lets the radiologist see the priors
    viewer = open_case(page, scan, radiologist)

    priors = viewer.get_by_label("Beside it")
    options = priors.locator("option")
    expect(options).to_have_count(3)  # none, then the priors, older first; the latest is shown
    assert [options.nth(i).get_attribute("value") for i in (1, 2)] == [str(older.pk), str(old.pk)]
    expect(priors).to_have_value(str(old.pk))
    current, prior = page.locator("[data-dv-viewport]"), page.locator("[data-dv-prior-viewport]")
    expect(prior).to_be_visible()
    expect(prior).to_have_attribute("data-zoom", re.compile(r"\d"))

    viewer.get_by_role("button", name="Zoom in").click()
    zoom = current.get_attribute("data-zoom")
    expect(prior).to_have_attribute("data-zoom", zoom)
    current.focus()
    page.keyboard.press("ArrowLeft")
    pan = current.get_attribute("data-pan")
    assert pan != "0.00,0.00"
    expect(prior).to_have_attribute("data-pan", pan)

    priors.select_option(str(older.pk))
    expect(page.locator("[data-dv-prior-label]")).to_contain_text(older.created_at.strftime("%-d %b %Y"))


def test_the_heatmap_overlays_the_image_at_the_chosen_opacity(page, radiologist):
    scan = uploaded(PatientFactory(), twelve_bit_monochrome1())
    viewer = open_case(page, scan, radiologist)
    heatmap = viewer.locator("img.dicom-heatmap")
    expect(heatmap).to_be_hidden()

    viewer.get_by_role("switch", name="Heatmap").check()
    expect(heatmap).to_be_visible()
    viewer.get_by_label("Heatmap opacity").fill("20")
    expect(heatmap).to_have_css("opacity", "0.2")
    viewport_box = page.locator("[data-dv-viewport]").get_attribute("data-image-box").split(",")
    heatmap_box = heatmap.evaluate("img => [img.offsetLeft, img.offsetTop, img.offsetWidth, img.offsetHeight]")
    assert [round(float(value)) for value in viewport_box] == pytest.approx(heatmap_box, abs=1)


def test_a_length_dragged_on_the_film_is_measured_in_millimetres(page, radiologist):
    scan = uploaded(PatientFactory(), twelve_bit_monochrome1())
    viewer = open_case(page, scan, radiologist)
    viewer.get_by_label("Measure length").check()
    viewport = viewer.locator("[data-dv-viewport]")
    viewport.scroll_into_view_if_needed()
    box = viewport.bounding_box()
    start, end = (box["width"] * 0.4, box["height"] * 0.3), (box["width"] * 0.6, box["height"] * 0.7)
    page.mouse.move(box["x"] + start[0], box["y"] + start[1])
    page.mouse.down()
    page.mouse.move(box["x"] + end[0], box["y"] + end[1], steps=8)
    page.mouse.up()

    expect(viewport.locator("svg text")).to_contain_text(re.compile(r"\d+(\.\d+)? mm"))
    image_width = float(viewport.get_attribute("data-image-box").split(",")[2])
    expected_mm = math.dist(start, end) * 512 / image_width * PIXEL_SPACING_MM  # the film is 512 pixels wide
    # The label follows the drag a frame behind: wait for it to settle on the length dragged, within 3%.
    page.wait_for_function(LENGTH_LABEL_NEAR, arg=[viewport.element_handle(), expected_mm], timeout=5_000)


def test_the_keyboard_pans_zooms_and_windows_the_film(page, radiologist):
    scan = uploaded(PatientFactory(), twelve_bit_monochrome1())
    viewer = open_case(page, scan, radiologist)
    viewport = viewer.locator("[data-dv-viewport]")
    before = {name: viewport.get_attribute(name) for name in ("data-zoom", "data-pan")}
    viewport.focus()
    for key in ("+", "ArrowDown", "]", ","):
        page.keyboard.press(key)

    expect(viewport).not_to_have_attribute("data-zoom", before["data-zoom"])
    expect(viewport).not_to_have_attribute("data-pan", before["data-pan"])
    expect(viewer.get_by_label("Width")).to_have_value(str(round(4096 * 1.1)))
    expect(viewer.get_by_label("Centre")).to_have_value(str(round(2048 - 4096 * 1.1 * 0.05)))
    assert_window(viewport, 2048 - 4096 * 1.1 * 0.05, 4096 * 1.1)
    page.keyboard.press("0")
    expect(viewer.get_by_label("Width")).to_have_value("4096")


@pytest.mark.parametrize("broken", ["bundle missing", "metadata unreachable", "no canvas at all"])
def test_the_png_viewer_stays_when_the_diagnostic_viewer_cannot_start(page, radiologist, broken):
    scan = uploaded(PatientFactory(), twelve_bit_monochrome1())
    if broken == "bundle missing":
        page.route("**/vendor/cornerstone/viewer.js", lambda route: route.abort())
    elif broken == "metadata unreachable":
        page.route("**/dicomweb/**/metadata", lambda route: route.abort())
    else:
        page.add_init_script(WITHOUT_CANVAS)
    log_in(page, radiologist)
    page.goto(f"/reviews/{scan.pk}/")
    if broken != "bundle missing":
        expect(page.locator("[data-dicom-viewer]")).to_have_attribute("data-state", "failed")
    expect(page.locator("[data-dicom-viewer]")).to_be_hidden()

    stage = page.locator("[data-viewer-stage]")
    as_uploaded = stage.evaluate("element => getComputedStyle(element).transform")
    page.get_by_label(re.compile(r"^X-ray: drag or use the arrow keys")).focus()
    page.keyboard.press("+")
    expect(stage).not_to_have_css("transform", as_uploaded)


def test_a_parent_reads_the_film_and_its_priors_on_the_scan_page(page):
    patient = PatientFactory()
    verified(patient.owner)
    earlier = uploaded(patient, plain_film(900), days_ago=30)
    scan = uploaded(patient, twelve_bit_monochrome1())
    log_in(page, patient.owner)
    page.goto(f"/scans/{scan.pk}/")
    viewer = page.locator("[data-dicom-viewer]")
    expect(viewer).to_have_attribute("data-state", "ready")
    expect(page.locator("#xray-figure")).to_be_hidden()
    expect(viewer.locator("img.dicom-heatmap")).to_be_visible()  # shown to parents from the start
    expect(viewer.get_by_label("Beside it")).to_have_value(str(earlier.pk))
    expect(viewer.locator("[data-dv-prior-viewport]")).to_have_attribute("data-zoom", re.compile(r"\d"))
