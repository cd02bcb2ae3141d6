"""Translation coverage: fails when a patient-facing string lacks a translation in any of the four languages.

- every catalogue (locale/<language>/LC_MESSAGES/django.po) is complete: no empty and no fuzzy entry;
- the catalogues are up to date with the sources: makemessages, run as `make messages` runs it, finds no
  marked string they lack;
- the compiled catalogues Django reads (.mo) are committed and say what their .po says;
- the patient-facing templates hold no text outside the translation tags (a heuristic, with a short
  list of names of things).

What is marked in Python but never shown is not checked here; the browser walk of the parent's journey
in each language (tests/browser/test_parent_journey_languages.py) is.
"""

from __future__ import annotations

import gettext
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import polib
import pytest
from django.core.management import call_command

REPO = Path(__file__).resolve().parent.parent
MAKEFILE = (REPO / "Makefile").read_text()


def makefile_variable(name: str) -> list[str]:
    """`make messages` and this test run makemessages alike: the arguments are read from the Makefile."""
    match = re.search(rf"^{name} := (.*)$", MAKEFILE, re.MULTILINE)
    assert match, f"the Makefile defines {name}"
    return shlex.split(match.group(1))


LOCALES = makefile_variable("LOCALES")
MESSAGES_ARGS = makefile_variable("MESSAGES_ARGS")
# Parents' pages: the project's templates but Django admin's, and those of the apps a parent uses.
PATIENT_TEMPLATE_FOLDERS = ("templates", "scans/templates", "patients/templates")
NOT_PATIENT_FACING = ("templates/admin/",)
# Names of things, the same in every language: file formats, standards, organisations, the API.
NAMES_OF_THINGS = {"DICOM", "JPEG", "PNG", "PDF", "AI", "WHO", "IMCI", "API", "REST", "JSON", "FHIR", "HL7", "ZIP"}


def po_path(locale: str, root: Path = REPO) -> Path:
    return root / "locale" / locale / "LC_MESSAGES" / "django.po"


def key(entry) -> tuple[str | None, str, str]:
    return entry.msgctxt, entry.msgid, entry.msgid_plural


def live_entries(catalogue) -> list:
    return [entry for entry in catalogue if not entry.obsolete and entry.msgid]


# ---- (a) complete: no empty, no fuzzy entry ----


def untranslated(catalogue) -> list[str]:
    """Each entry with an empty translation (a plural form counts) or marked fuzzy, by its msgid."""
    return [entry.msgid for entry in live_entries(catalogue) if not entry.translated() or entry.fuzzy]


def summary(problems: list[str], limit: int = 15) -> str:
    shown = "\n  ".join(repr(problem[:100]) for problem in problems[:limit])
    more = f"\n  ... and {len(problems) - limit} more" if len(problems) > limit else ""
    return f"{len(problems)}:\n  {shown}{more}"


@pytest.mark.parametrize("locale", LOCALES)
def test_every_string_is_translated_and_none_is_fuzzy(locale):
    catalogue = polib.pofile(str(po_path(locale)))

    problems = untranslated(catalogue)

    assert problems == [], f"{locale}: strings without a checked translation, " + summary(problems)


@pytest.mark.parametrize("locale", LOCALES)
def test_every_translation_keeps_its_placeholders(locale, tmp_path):
    # msgfmt --check: a %(date)s renamed or dropped, a plural form missing, a bad header.
    result = subprocess.run(
        ["msgfmt", "--check", "-o", str(tmp_path / "checked.mo"), str(po_path(locale))], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


# ---- (b) up to date with the sources ----


def extract_catalogues(into: Path) -> Path:
    """Run makemessages as `make messages` does over a tree of links to the sources, into a copy of
    locale/, and return that copy: the committed catalogues are left alone."""
    into.mkdir()
    for entry in REPO.iterdir():
        if entry.name == "locale" or entry.name.startswith("."):
            continue
        (into / entry.name).symlink_to(entry)
    shutil.copytree(REPO / "locale", into / "locale")
    return into / "locale"


@pytest.fixture(scope="module")
def extracted(tmp_path_factory):
    tree = tmp_path_factory.mktemp("sources") / "tree"
    locale_copy = extract_catalogues(tree)
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(tree)  # makemessages reads the current folder, and writes into its locale/
        from django.test import override_settings

        with override_settings(LOCALE_PATHS=[locale_copy]):
            call_command("makemessages", *[f"--locale={locale}" for locale in LOCALES], *MESSAGES_ARGS,
                         "--symlinks", verbosity=0)  # fmt: skip
    return tree


@pytest.mark.parametrize("locale", LOCALES)
def test_the_catalogues_hold_every_marked_string(locale, extracted):
    committed = {key(entry) for entry in live_entries(polib.pofile(str(po_path(locale))))}
    in_sources = live_entries(polib.pofile(str(po_path(locale, extracted))))

    missing = [entry.msgid for entry in in_sources if key(entry) not in committed]

    assert missing == [], f"{locale}: marked strings missing from the catalogue (run `make messages`), " + summary(
        missing
    )


# ---- (c) the compiled catalogues are committed and current ----


def compiled_differences(po_file: Path, mo_file: Path) -> list[str]:
    """What the .mo says differently from its .po, as msgfmt would compile it (translated entries only)."""
    expected = {}
    for entry in live_entries(polib.pofile(str(po_file))):
        if entry.translated() and not entry.fuzzy:
            expected[key(entry)] = entry.msgstr_plural or entry.msgstr
    with mo_file.open("rb") as stream:
        gettext.GNUTranslations(stream)  # Django reads it with this: it must parse
    compiled = {key(entry): entry.msgstr_plural or entry.msgstr for entry in polib.mofile(str(mo_file)) if entry.msgid}
    compiled = {k: ({int(i): s for i, s in v.items()} if isinstance(v, dict) else v) for k, v in compiled.items()}
    expected = {k: ({int(i): s for i, s in v.items()} if isinstance(v, dict) else v) for k, v in expected.items()}
    return sorted(
        f"{k[1]!r}: .po {expected.get(k)!r}, .mo {compiled.get(k)!r}"
        for k in expected.keys() | compiled.keys()
        if expected.get(k) != compiled.get(k)
    )


@pytest.mark.parametrize("locale", LOCALES)
def test_the_compiled_catalogue_is_committed_and_matches_its_source(locale):
    mo_file = po_path(locale).with_suffix(".mo")
    assert mo_file.exists(), f"{mo_file.relative_to(REPO)} is missing: run `make messages` and commit it"
    tracked = subprocess.run(
        ["git", "ls-files", "--error-unmatch", str(mo_file)], cwd=REPO, capture_output=True
    ).returncode == 0  # fmt: skip
    assert tracked, f"{mo_file.relative_to(REPO)} is not committed: deployments compile nothing"

    differences = compiled_differences(po_path(locale), mo_file)

    assert differences == [], f"{locale}: the .mo is stale (run `make messages`), " + summary(differences)


# ---- (d) no text outside the translation tags ----

COMMENTS = re.compile(r"{#.*?#}|{%\s*comment\s*%}.*?{%\s*endcomment\s*%}", re.DOTALL)
# {% block main_class %}narrow{% endblock %}: a CSS class handed to base.html, never shown.
CLASS_BLOCKS = re.compile(r"{%\s*block\s+\w+_class\s*%}.*?{%\s*endblock\b.*?%}", re.DOTALL)
TRANSLATED_BLOCKS = re.compile(r"{%\s*blocktrans(?:late)?\b.*?{%\s*endblocktrans(?:late)?\s*%}", re.DOTALL)
TEMPLATE_CODE = re.compile(r"{%.*?%}|{{.*?}}", re.DOTALL)
SCRIPTS_AND_STYLES = re.compile(r"<(script|style)\b.*?</\1>", re.DOTALL | re.IGNORECASE)
SHOWN_ATTRIBUTES = re.compile(r"""\b(alt|title|aria-label|placeholder|aria-description)\s*=\s*(["'])(.*?)\2""", re.DOTALL)
TAGS = re.compile(r"<[^>]*>")
ENTITIES = re.compile(r"&[a-zA-Z]+;|&#x?[0-9a-fA-F]+;")
WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*[A-Za-z]")


def untranslated_text(source: str) -> list[str]:
    """Words a reader would see that no translation tag covers: text between tags, and the alt, title,
    aria-label and placeholder attributes, once comments, translated blocks and template code are gone."""
    source = CLASS_BLOCKS.sub(" ", TRANSLATED_BLOCKS.sub(" ", COMMENTS.sub(" ", source)))
    source = TEMPLATE_CODE.sub(" ", source)
    source = SCRIPTS_AND_STYLES.sub(" ", source)
    shown = [match.group(3) for match in SHOWN_ATTRIBUTES.finditer(source)]
    shown.append(TAGS.sub(" ", source))
    words = [word for text in shown for word in WORD.findall(ENTITIES.sub(" ", text))]
    return [word for word in words if word not in NAMES_OF_THINGS]


def patient_templates() -> list[Path]:
    found = []
    for folder in PATIENT_TEMPLATE_FOLDERS:
        for path in sorted((REPO / folder).rglob("*.html")):
            relative = path.relative_to(REPO).as_posix()
            if not relative.startswith(NOT_PATIENT_FACING):
                found.append(path)
    return found


def test_the_scan_sees_every_patient_facing_template():
    names = {path.relative_to(REPO).as_posix() for path in patient_templates()}
    assert {"templates/base.html", "scans/templates/scans/detail.html", "patients/templates/patients/list.html",
            "templates/accounts/preferences.html"} <= names  # fmt: skip
    assert not any(name.startswith("templates/admin/") for name in names)


def test_patient_facing_templates_have_no_text_outside_translation_tags():
    found = {}
    for path in patient_templates():
        words = untranslated_text(path.read_text())
        if words:
            found[path.relative_to(REPO).as_posix()] = " ".join(words)[:200]

    assert found == {}, "text outside {% translate %} / {% blocktranslate %}:\n" + "\n".join(
        f"  {name}: {words}" for name, words in found.items()
    )


# ---- the checks themselves catch what they are for ----


def test_the_template_scan_finds_text_and_attributes_left_unmarked():
    source = """{% load i18n %}{# a comment #}{% block main_class %}narrow{% endblock main_class %}<!doctype html><html lang="{{ LANGUAGE_CODE }}">
      <h1 class="title">{% translate "Upload" %}</h1>
      <p>{% blocktranslate with name=n %}Hello {{ name }}{% endblocktranslate %} Your X-ray</p>
      <img src="{% url 'x' %}" alt="Chest film" data-kind="film">
      <button aria-label="{% translate 'Close' %}">&times;</button>
      <script nonce="{{ csp_nonce }}">document.title = "not shown"</script>
      <small>DICOM &middot; PDF</small>
      {% comment %}Not shown{% endcomment %}"""

    assert untranslated_text(source) == ["Chest", "film", "Your", "X-ray"]


def test_a_catalogue_with_an_empty_or_fuzzy_entry_is_incomplete(tmp_path):
    catalogue = polib.POFile()
    catalogue.metadata = {"Content-Type": "text/plain; charset=UTF-8", "Plural-Forms": "nplurals=2; plural=(n != 1);"}
    catalogue.append(polib.POEntry(msgid="Upload", msgstr="Subir"))
    catalogue.append(polib.POEntry(msgid="History", msgstr=""))
    catalogue.append(polib.POEntry(msgid="Log out", msgstr="Salir", flags=["fuzzy"]))
    catalogue.append(polib.POEntry(msgid="%(n)s X-ray", msgid_plural="%(n)s X-rays", msgstr_plural={0: "%(n)s", 1: ""}))

    assert untranslated(catalogue) == ["History", "Log out", "%(n)s X-ray"]


def test_a_stale_compiled_catalogue_is_caught(tmp_path):
    catalogue = polib.POFile()
    catalogue.metadata = {"Content-Type": "text/plain; charset=UTF-8", "Plural-Forms": "nplurals=2; plural=(n != 1);"}
    catalogue.append(polib.POEntry(msgid="Upload", msgstr="Subir"))
    catalogue.append(polib.POEntry(msgid="Upload", msgctxt="navigation", msgstr="Subir una radiografía"))
    po_file, mo_file = tmp_path / "django.po", tmp_path / "django.mo"
    catalogue.save(str(po_file))
    subprocess.run(["msgfmt", "-o", str(mo_file), str(po_file)], check=True)
    assert compiled_differences(po_file, mo_file) == []

    catalogue[0].msgstr = "Cargar"  # the translator's fix, never compiled
    catalogue.append(polib.POEntry(msgid="History", msgstr="Historial"))
    catalogue.save(str(po_file))

    assert compiled_differences(po_file, mo_file) == [
        "'History': .po 'Historial', .mo None",
        "'Upload': .po 'Cargar', .mo 'Subir'",
    ]
