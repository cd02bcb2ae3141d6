"""The public pages: the landing page and the facts about the model."""

import json

from django.urls import reverse

from tests.factories import UserFactory


def test_an_anonymous_visitor_sees_the_landing_page(client, db):
    page = client.get(reverse("home")).content.decode()

    assert "radiologist" in page.lower()
    assert "It is a screening aid, not a diagnosis" in page
    assert reverse("account_signup") in page
    assert reverse("account_login") in page


def test_a_logged_in_user_goes_straight_to_their_history(client, db):
    client.force_login(UserFactory())

    response = client.get(reverse("home"))

    assert response.status_code == 302
    assert response["Location"] == reverse("scans:history")


def test_the_model_page_shows_the_locked_report_figures_and_not_the_optimistic_ones(
    client, db, settings, tmp_path
):
    manifest = {
        "version": "pneumonia-v9+feedbeef",
        "metrics": {
            "selection": {"images": 553, "pneumonia": 419, "normal": 134, "auc": 0.9991},
            "report": {
                "images": 745,
                "pneumonia": 551,
                "normal": 194,
                "auc": 0.987,
                "sensitivity": 0.962,
                "specificity": 0.91,
                "confidence_intervals_95": {"sensitivity": [0.945, 0.977]},
                "flagged_for_review": {"sensitivity": 0.993, "share_of_images": 0.81},
            }
        },
    }
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    settings.SCAN_MODEL_PATH = str(tmp_path)

    page = client.get(reverse("about_model")).content.decode()

    assert "5,216 chest X-rays" in page
    assert "not validated for adults" in page
    assert "pneumonia-v9+feedbeef" in page
    assert "745 images: 551 with pneumonia, 194 without" in page
    assert "96.2% (95% interval 94.5% to 97.7%)" in page
    assert "0.987" in page
    assert "99.3%" in page
    assert "locked away" in page
    assert "553 images" not in page and "0.999" not in page


def test_the_model_page_works_before_a_model_is_exported(client, db, settings, tmp_path):
    settings.SCAN_MODEL_PATH = str(tmp_path / "nowhere")

    response = client.get(reverse("about_model"))

    assert response.status_code == 200
    assert "not available yet" in response.content.decode()
