"""A parent's whole journey in Spanish, French, Portuguese and Simplified Chinese, in a real browser with a
real worker: choose the language in the footer, sign up, confirm the email, add a child, upload an X-ray
with a danger sign, see the urgent-care panel and the reading, download the PDF. Every page, and the
PDF, must hold no English outside the names of things.

English is found by its function words, which are not words in Spanish, French or Portuguese; in
Chinese, by any Latin word of three letters or more that is not a name (DICOM, PDF, WHO...). Each
offending string is reported with the page it was on, all pages at once.
"""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pypdf
import pytest
from django.core import mail
from django.utils import timezone
from playwright.sync_api import expect

from tests.browser.conftest import save_screenshot

PASSWORD = "correct-horse-battery-staple-42"
CONFIRMATION_LINK = re.compile(r"https?://\S+/accounts/confirm-email/\S+")
# The browser's own language, as a parent's would be; the footer's picker is used too.
BROWSER_LOCALES = {"es": "es-ES", "fr": "fr-FR", "pt-br": "pt-PT", "zh-hans": "zh-CN"}

# Common English words that are not words in Spanish, French or Portuguese ("has", "no", "a", "email" are;
# "chance" is French and Brazilian Portuguese, so it is not listed).
ENGLISH_WORDS = frozenset("""
    the and your you with this that from have will was were what which when where who our their should could
    would not been being about after before upload uploaded scan scans child children reading readings review
    reviewed please sign account profile profiles result results here there they them than then into only also
    may must can't don't isn't it's its these those while because whose why how
    log out history preferences download report change delete language skip content model
    x-ray x-rays chest doctor radiologist estimated pneumonia-free what's seek care now
""".split())  # fmt: skip
# Names of things, the same in every language, which Chinese pages may show in Latin letters.
NAMES_OF_THINGS = frozenset("""
    DICOM JPEG JPG PNG PDF AI WHO IMCI API REST FHIR JSON SR ZIP zip HL7 PACS COVID AUC
    English Español Français Português Brasil
    Mia
""".split())  # fmt: skip
# Proper names a translation keeps as they are, and the model's version (pneumonia-cnn-2.1+6e33…).
PROPER_NAMES = re.compile(r"Guangzhou Women and Children['’]s Medical Center|pneumonia-cnn-[\w.+-]+")
# Addresses, file names and the child's name as the parent typed it ("Mia" above) are not wording.
EMAILS_AND_FILES = re.compile(r"https?://\S+|(?<![A-Za-z])localhost(?::\d+)?|\S+@\S+\.\w+|[\w.-]+\.(?:jpe?g|png|dcm|pdf|zip|json)\b", re.IGNORECASE)
WORDS = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")
# Chinese writes no spaces, so a Latin run inside a word ("确认Email地址") counts as a word of its own.
LATIN_RUN = re.compile(r"[A-Za-z]{3,}")


def english_in(text: str, language: str) -> list[str]:
    """The lines of `text` that hold English, each with the words that gave it away."""
    found = []
    for line in PROPER_NAMES.sub(" ", EMAILS_AND_FILES.sub(" ", text)).splitlines():
        words = [word for word in WORDS.findall(line) if word not in NAMES_OF_THINGS]
        if language == "zh-hans":
            english = [run for word in words for run in LATIN_RUN.findall(word) if run not in NAMES_OF_THINGS]
        else:
            english = [word for word in words if word.lower().replace("’", "'") in ENGLISH_WORDS]
        if english:
            found.append(f"{line.strip()[:120]!r} ({', '.join(english)})")
    return found


def visible_text(page) -> str:
    """What a reader meets on the page: its title, its text, and the words of aria-label, alt, title and
    placeholder attributes, one per line."""
    return page.evaluate(
        """() => [document.title, document.body.innerText,
                  ...Array.from(document.querySelectorAll('[aria-label],[alt],[title],[placeholder]'))
                     .flatMap(el => ['aria-label', 'alt', 'title', 'placeholder'].map(a => el.getAttribute(a)))
                     .filter(Boolean)].join('\\n')"""
    )


class EnglishWatch:
    """Collects the English found on each page visited, to be reported together."""

    def __init__(self, page, language: str):
        self.page, self.language, self.found = page, language, {}

    def check(self, where: str) -> None:
        self.add(f"{where} ({self.page.url})", visible_text(self.page))

    def add(self, where: str, text: str) -> None:
        if english := english_in(text, self.language):
            self.found[where] = english

    def report(self) -> str:
        return "\n".join(f"{where}:\n    " + "\n    ".join(lines) for where, lines in self.found.items())


def test_the_english_detector_finds_english_and_spares_names_of_things():
    assert english_in("Sube la radiografía de tu hijo en DICOM, JPEG o PNG", "es") == []
    assert english_in("Votre enfant a de la fièvre ; l'OMS (WHO) dit", "fr") == []
    assert english_in("un hospital (Guangzhou Women and Children's Medical Center, China)", "es") == []
    assert english_in("Upload your child's X-ray", "es") == ["\"Upload your child's X-ray\" (Upload, your, X-ray)"]
    assert english_in("上传胸部X光片 (DICOM、PDF) parent@example.com chest-1.jpeg", "zh-hans") == []
    assert english_in("请访问 http://localhost:8000/accounts/confirm-email/MQ:1x/ 感谢您使用 localhost:8000", "zh-hans") == []
    assert english_in("上传 Upload 简体中文 English", "zh-hans") == ["'上传 Upload 简体中文 English' (Upload)"]
    assert english_in("您好！这里是localhost:8000。模型版本pneumonia-cnn-2.1+6e33，Português (Brasil)", "zh-hans") == []
    assert english_in("确认Email地址", "zh-hans") == ["'确认Email地址' (Email)"]


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.parametrize("language", list(BROWSER_LOCALES))
def test_a_parents_journey_shows_no_english(
    chromium, live_server, celery_worker_process, xray_path, tmp_path, language
):
    context = chromium.new_context(base_url=live_server.url, locale=BROWSER_LOCALES[language])
    context.set_default_timeout(15_000)
    page = context.new_page()
    english = EnglishWatch(page, language)
    email = f"parent.{language}@example.com"
    try:
        page.goto("/")
        page.select_option("footer select[name=language]", language)
        page.click("footer form.language-picker button[type=submit]")
        expect(page.locator("html")).to_have_attribute("lang", language)
        english.check("home")

        page.goto("/accounts/signup/")
        english.check("sign-up")
        page.fill("input[name=email]", email)
        page.fill("input[name=password1]", PASSWORD)
        page.fill("input[name=password2]", PASSWORD)
        page.click("main form button[type=submit]")
        expect(page).to_have_url(re.compile(r"/accounts/confirm-email/$"))
        english.check("check your email")
        (message,) = [message for message in mail.outbox if email in message.to]
        english.add("the confirmation email", f"{message.subject}\n{message.body}")
        page.goto(CONFIRMATION_LINK.search(message.body).group(0))
        english.check("confirm the email")
        page.click("main form button[type=submit]")
        expect(page.locator("header form button[type=submit]")).to_be_visible()  # logged in: the log-out button
        english.check("first page after signing up")

        page.goto("/patients/")
        english.check("profiles")
        page.fill("input[name=name]", "Mia")
        page.fill("input[name=date_of_birth]", (timezone.localdate() - timedelta(days=3 * 365)).isoformat())
        page.click("main form button[type=submit]")
        expect(page.locator("main .patient-list")).to_contain_text("Mia")
        english.check("profiles, with Mia")

        page.goto("/scans/upload/")
        english.check("upload")
        page.set_input_files("input[name=files]", xray_path)
        page.select_option("select[name=patient]", label="Mia")
        page.locator("details.clinical-context summary").click()
        page.check("input[name=symptoms][value=cough]")
        page.check("input[name=danger_signs][value=chest_indrawing]")  # an IMCI danger sign
        page.click("main form button[type=submit]")
        expect(page).to_have_url(re.compile(r"/scans/\d+/$"))
        expect(page.locator(".urgent-care-panel")).to_be_visible()
        expect(page.locator(".result .probability")).to_be_visible(timeout=60_000)
        english.check("the reading, with the urgent-care panel")
        expect(page.locator("[data-dicom-viewer]")).to_have_attribute("data-state", "ready")  # the original, drawn
        save_screenshot(page, f"language-{language}-reading", tmp_path)

        report = page.request.get(page.locator("a[href$='/report/']").first.get_attribute("href"))
        assert report.ok and report.headers["content-type"] == "application/pdf"
        pdf = pypdf.PdfReader(io.BytesIO(report.body()))
        english.add("the PDF report", "\n".join(pdf_page.extract_text() for pdf_page in pdf.pages))

        for where, url in (("history", "/scans/"), ("preferences", "/preferences/"), ("about the model", "/about/model/")):
            page.goto(url)
            english.check(where)
    finally:
        context.close()

    assert english.found == {}, f"English on the {language} pages:\n{english.report()}"
