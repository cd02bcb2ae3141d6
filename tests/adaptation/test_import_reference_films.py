"""import_reference_films: each film read once by the serving network, counted once, refusals listed."""

import io

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from adaptation.models import ReferenceCase
from tests.adaptation.conftest import real_films
from tests.factories import SiteFactory

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = io.StringIO()
    call_command("import_reference_films", *map(str, args), stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_it_keeps_label_logit_embedding_and_hash_of_each_film(film_folder):
    output = run(film_folder)

    cases = ReferenceCase.objects.filter(site__isnull=True)
    assert sorted(cases.values_list("label", flat=True)) == ["normal", "normal", "pneumonia", "pneumonia"]
    case = cases.filter(group_key__startswith="PNEUMONIA/person").first()
    assert case.embedding_vector.dtype == np.float32 and case.embedding_vector.size > 10
    assert case.logit is not None and case.embedding_distance is not None and len(case.content_sha256) == 64
    assert case.source == "import" and case.weight == 1.0 and case.base_model_version.startswith("pneumonia-")
    assert "normal: 2 imported, 0 already there, 1 refused" in output
    assert "not directly in NORMAL/ or PNEUMONIA/: 1 refused" in output
    assert "pneumonia: 2 imported, 0 already there, 0 refused" in output


def test_a_film_imported_twice_counts_once(film_folder):
    run(film_folder)
    output = run(film_folder)

    assert ReferenceCase.objects.count() == 4
    assert "pneumonia: 0 imported, 2 already there, 0 refused" in output


def test_refused_films_are_listed_with_their_reasons(film_folder):
    output = run(film_folder)

    assert "refused NORMAL/notes.jpeg:" in output
    assert "refused NORMAL/old/x.jpeg: inside a sub-folder" in output


def test_a_sites_films_are_its_own_and_the_installations_stay_apart(film_folder):
    site = SiteFactory(name="Hospital B")
    run(film_folder, "--site", "Hospital B")
    run(film_folder)

    assert ReferenceCase.objects.filter(site=site).count() == 4
    assert ReferenceCase.objects.filter(site__isnull=True).count() == 4


def test_an_unknown_site_or_a_folder_without_class_folders_is_a_clear_error(tmp_path, film_folder):
    with pytest.raises(CommandError, match="No site is called 'Nowhere'"):
        run(film_folder, "--site", "Nowhere")
    with pytest.raises(CommandError, match="holds no NORMAL/ or PNEUMONIA/ folder"):
        run(tmp_path / "NORMAL")


def test_links_to_films_are_followed(tmp_path, film_folder):
    linked = tmp_path / "linked"
    (linked / "PNEUMONIA").mkdir(parents=True)
    for path in (film_folder / "PNEUMONIA").iterdir():
        (linked / "PNEUMONIA" / path.name).symlink_to(path)

    assert "pneumonia: 2 imported" in run(linked)


def test_dicom_and_png_films_are_accepted_as_uploads_are(tmp_path):
    from PIL import Image

    from tests.ml.dicom_files import dicom_bytes

    film = real_films("PNEUMONIA", 1)[0]
    grey = np.asarray(Image.open(film).convert("L"), dtype=np.uint16) * 257  # the same film, 16-bit
    (tmp_path / "PNEUMONIA").mkdir()
    (tmp_path / "PNEUMONIA" / "film.dcm").write_bytes(dicom_bytes(grey))
    Image.open(film).convert("L").save(tmp_path / "PNEUMONIA" / "film.png")

    assert "pneumonia: 2 imported, 0 already there, 0 refused" in run(tmp_path)
