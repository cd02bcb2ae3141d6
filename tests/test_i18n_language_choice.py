"""Which language the portal speaks: the footer's picker, remembered on the visitor's cookie and on a
signed-in user's account; Accept-Language when nothing is chosen; the worker's emails in the recipient's.

What shows the language here is what does not wait for our own catalogues: the page's lang attribute
and Content-Language, allauth's and Django's own translations, and dates written the language's way.
"""

import contextlib
import functools

import pytest
from allauth.account.models import EmailAddress
from django.conf import settings
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from portal.celery import app, send_now
from scans.notifications import notify_result_ready
from tests.factories import PASSWORD, PredictionFactory, UserFactory, private_media  # noqa: F401

SET_LANGUAGE = reverse("accounts:set_language")
LOGIN = reverse("account_login")
# allauth's own words for its login button, in each language (its catalogues ship with it).
SIGN_IN = {"en-gb": "Sign In", "es": "Iniciar sesión", "fr": "Connexion", "pt-br": "Entrar", "zh-hans": "登录"}


def language_of(response) -> str:
    assert response["Content-Language"], "LocaleMiddleware names the language of every page"
    page = response.content.decode()
    assert f'<html lang="{response["Content-Language"]}"' in page
    return response["Content-Language"]


def choose(client, language: str, next_url: str = "/"):
    return client.post(SET_LANGUAGE, {"language": language, "next": next_url})


@pytest.mark.parametrize("language", SIGN_IN)
def test_every_page_offers_each_language_named_in_itself(client, db, language):
    page = client.get("/", HTTP_ACCEPT_LANGUAGE=language).content.decode()

    assert f'action="{SET_LANGUAGE}"' in page
    for code, name in settings.LANGUAGES:
        assert f'<option value="{code}" lang="{code}"' in page and f">{name}</option>" in page
    assert f'<option value="{language}" lang="{language}" selected>' in page


@pytest.mark.parametrize("accept, expected", [("es-MX,es;q=0.9", "es"), ("fr-CA", "fr"), ("pt-BR", "pt-br"), ("pt-PT", "pt-br"),
                                              ("zh-CN,zh-Hans;q=0.9", "zh-hans"), ("en-US", "en-gb"),
                                              ("de-DE", "en-gb"), ("", "en-gb")])  # fmt: skip
def test_accept_language_is_the_default_when_nothing_is_chosen(client, db, accept, expected):
    response = client.get(LOGIN, HTTP_ACCEPT_LANGUAGE=accept)

    assert language_of(response) == expected
    assert SIGN_IN[expected] in response.content.decode()


def test_english_dates_stay_british(db):
    from django.utils.formats import date_format

    assert date_format(timezone.datetime(2025, 12, 5), "DATE_FORMAT") == "5 Dec 2025"


def test_an_anonymous_choice_is_remembered_across_requests(client, db):
    response = choose(client, "fr", next_url="/about/model/")

    assert response.status_code == 302 and response["Location"] == "/about/model/"
    for url in ("/", LOGIN, "/about/model/"):
        assert language_of(client.get(url, HTTP_ACCEPT_LANGUAGE="es")) == "fr"  # the choice beats the browser


def test_a_signed_in_choice_is_saved_on_the_account_and_follows_to_a_new_device(client, db, django_user_model):
    user = UserFactory(language="")
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    client.force_login(user)

    choose(client, "zh-hans")

    assert User.objects.get(pk=user.pk).language == "zh-hans"
    other_device = type(client)()  # no cookie, a browser asking for English
    logged_in = other_device.post(LOGIN, {"login": user.email, "password": PASSWORD}, HTTP_ACCEPT_LANGUAGE="en-GB")
    assert logged_in.status_code == 302 and logged_in["Location"] == reverse(settings.LOGIN_REDIRECT_URL)
    response = other_device.get("/about/model/", HTTP_ACCEPT_LANGUAGE="en-GB,en;q=0.9")
    assert language_of(response) == "zh-hans"
    assert other_device.cookies[settings.LANGUAGE_COOKIE_NAME].value == "zh-hans"  # the device remembers it


def test_a_saved_language_beats_the_cookie_and_survives_logging_out(client, db):
    user = UserFactory(language="pt-br")
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "es"
    client.force_login(user)

    assert language_of(client.get("/about/model/")) == "pt-br"
    client.post(reverse("account_logout"))
    assert language_of(client.get(LOGIN)) == "pt-br"


def test_the_preferences_page_offers_and_saves_the_language(client, db):
    user = UserFactory(language="")
    client.force_login(user)
    page = client.get(reverse("accounts:preferences"), HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert '<option value="es" lang="es" selected>' in page  # the page's language until one is saved

    response = client.post(reverse("accounts:preferences"), {"notify_by_email": "on", "language": "fr"}, follow=True)

    assert User.objects.get(pk=user.pk).language == "fr"
    assert language_of(response) == "fr"


def test_the_preferences_page_refuses_a_language_not_offered(client, db):
    user = UserFactory(language="es")
    client.force_login(user)

    response = client.post(reverse("accounts:preferences"), {"notify_by_email": "on", "language": "de"})

    assert response.status_code == 200 and 'class="errorlist' in response.content.decode()
    assert User.objects.get(pk=user.pk).language == "es"


def test_signing_up_saves_the_language_the_page_was_read_in(client, db):
    client.post(
        reverse("account_signup"),
        {"email": "nueva@example.com", "password1": PASSWORD + "!x", "password2": PASSWORD + "!x"},
        HTTP_ACCEPT_LANGUAGE="es-AR,es;q=0.9",
    )

    assert User.objects.get(email="nueva@example.com").language == "es"


@pytest.mark.parametrize("language", ["xx", "de", "en", "es;drop table", "../../etc", ""])
def test_a_language_not_offered_is_refused_and_nothing_is_saved(client, db, language):
    user = UserFactory(language="es")
    client.force_login(user)

    response = choose(client, language)

    assert response.status_code == 302
    cookie = response.cookies.get(settings.LANGUAGE_COOKIE_NAME)
    if language not in ("de", "en"):  # Django keeps a cookie for a language it ships a catalogue of...
        assert cookie is None or cookie.value == "es"  # (the account's, brought back by the middleware)
    assert User.objects.get(pk=user.pk).language == "es"  # ...but the account keeps one the portal offers
    assert language_of(client.get("/about/model/")) == "es"


def test_a_cookie_naming_a_language_not_offered_falls_back_to_accept_language(client, db):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "de"

    assert language_of(client.get("/", HTTP_ACCEPT_LANGUAGE="fr")) == "fr"


@pytest.mark.parametrize("next_url", ["https://evil.example.com/", "//evil.example.com/x", "javascript:alert(1)",
                                      "http:///evil.example.com"])  # fmt: skip
def test_a_next_address_on_another_site_is_not_followed(client, db, next_url):
    response = choose(client, "es", next_url=next_url)

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "es"


def test_choosing_needs_a_post_with_the_csrf_token(db):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    assert strict.post(SET_LANGUAGE, {"language": "es", "next": "/"}).status_code == 403
    assert strict.get(SET_LANGUAGE, {"language": "es"}).status_code == 405


@pytest.fixture
def delivered(django_capture_on_commit_callbacks):
    """Commit, then run each task the commit queued, by its registered name, as a worker would."""
    app.loader.import_default_modules()

    @contextlib.contextmanager
    def commit_and_deliver():
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            yield
        for callback in callbacks:
            if isinstance(callback, functools.partial) and callback.func == send_now:
                app.tasks[callback.args[0]].apply(kwargs=callback.keywords["kwargs"], throw=True)
            else:
                callback()

    return commit_and_deliver


@pytest.mark.parametrize("language, day", [("es", "5 de diciembre de 2025"), ("fr", "5 décembre 2025"),
                                           ("pt-br", "5 de Dezembro de 2025"), ("zh-hans", "2025年12月5日"),
                                           ("", "5 Dec 2025")])  # fmt: skip
def test_the_workers_email_is_written_in_the_recipients_language(db, delivered, language, day):
    owner = UserFactory(language=language)
    scan = PredictionFactory(scan__owner=owner, scan__created_at=timezone.datetime(2025, 12, 5, 9, tzinfo=timezone.UTC)).scan

    with delivered():
        notify_result_ready(scan)

    (message,) = mail.outbox
    assert day in message.body
