"""The deployment files are checked here, since no Docker engine runs in development or CI.

docker-compose.yml, the Dockerfile and Procfile.dev must only name commands, modules and files that
exist; production settings must refuse to start without their secrets and pass `check --deploy`.
"""

from __future__ import annotations

import fnmatch
import importlib
import importlib.util
import json
import os
import re
import secrets
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from django.conf import settings
from django.core.management import get_commands

from ml.constants import MANIFEST_NAME, SERVING_MODEL_NAME
from tests import tiers

REPO_DIR = Path(__file__).resolve().parent.parent
APP_SERVICES = ("migrate", "web", "worker", "beat", "dicom")
# Read by boto3 (through django-storages), not by the settings modules.
BOTO3_VARIABLES = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}


def compose() -> dict:
    return yaml.safe_load((REPO_DIR / "docker-compose.yml").read_text())


def settings_variables() -> set[str]:
    """Every environment variable the settings modules (portal/settings/) read through django-environ."""
    source = "\n".join(path.read_text() for path in sorted((REPO_DIR / "portal" / "settings").glob("*.py")))
    return set(re.findall(r"\benv\.\w+\(\s*\"([A-Z][A-Z0-9_]*)\"", source))


def as_argv(command) -> list[str]:
    return shlex.split(command) if isinstance(command, str) else list(command)


def check_runnable(argv: list[str]) -> None:
    """Fail unless argv is one of the ways the portal runs, naming things that exist."""
    program, *arguments = argv
    if program == "python" and arguments[0] == "manage.py":
        assert (REPO_DIR / "manage.py").is_file()
        assert arguments[1] in get_commands(), f"no management command {arguments[1]!r}"
    elif program == "celery":
        app_module = arguments[arguments.index("-A") + 1]
        assert importlib.util.find_spec(app_module) is not None, f"no module {app_module!r}"
        assert importlib.import_module(app_module).app.main == "portal"
        subcommand = next(arg for arg in arguments if arg in ("worker", "beat"))
        if subcommand == "worker":
            queue = arguments[arguments.index("-Q") + 1]
            assert queue == settings.CELERY_TASK_DEFAULT_QUEUE, "the worker must consume the queue tasks are sent to"
    elif program == "gunicorn":
        module_name, attribute = arguments[0].split(":")
        assert callable(getattr(importlib.import_module(module_name), attribute))
        assert module_name == settings.WSGI_APPLICATION.rsplit(".", 1)[0]
    else:
        pytest.fail(f"unknown command {shlex.join(argv)}")


def test_web_worker_and_beat_run_one_image():
    services = compose()["services"]
    builds = {(repr(services[name].get("build")), services[name].get("image")) for name in APP_SERVICES}
    assert len(builds) == 1, builds
    assert services["web"]["build"] in (".", {"context": "."})


@pytest.mark.parametrize("service", APP_SERVICES)
def test_compose_commands_name_things_that_exist(service):
    check_runnable(as_argv(compose()["services"][service]["command"]))


@pytest.mark.parametrize("service", APP_SERVICES)
def test_compose_configures_only_variables_the_portal_reads(service):
    environment = compose()["services"][service]["environment"]
    unknown = set(environment) - settings_variables() - BOTO3_VARIABLES
    assert not unknown, f"{service} sets variables nothing reads: {sorted(unknown)}"
    assert environment["DJANGO_ENV"] == "production"


def test_compose_runs_every_backing_service_and_creates_the_bucket():
    services = compose()["services"]
    assert {"postgres", "redis", "minio", "createbucket"} <= set(services)
    bucket = services["web"]["environment"]["AWS_STORAGE_BUCKET_NAME"]
    assert services["createbucket"]["image"].startswith("minio/mc")
    assert f"portal/{bucket}" in "\n".join(as_argv(services["createbucket"]["command"]))
    assert services["web"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"


def test_compose_publishes_the_dicom_listener_and_checks_it_with_an_echo():
    dicom = compose()["services"]["dicom"]
    port = dicom["environment"]["DICOM_PORT"]
    assert dicom["environment"]["DICOM_BIND_ADDRESS"] == "0.0.0.0"  # reachable through the published port
    assert any(str(published).endswith(f":{port}") for published in dicom["ports"])
    kind, *argv = dicom["healthcheck"]["test"]
    assert kind == "CMD" and argv[:3] == ["python", "manage.py", "dicom_echo"]
    check_runnable(argv)


def test_dockerfile_installs_requirements_that_exist_and_serve_the_compose_commands():
    dockerfile = (REPO_DIR / "Dockerfile").read_text()
    named = re.findall(r"requirements/[\w.-]+\.txt", dockerfile)
    assert named, "the Dockerfile installs no requirements file"
    installed = set()
    for name in named:
        installed |= requirement_names(REPO_DIR / name)
    assert {"gunicorn", "celery", "django", "ai-edge-litert", "boto3"} <= installed
    cmd = re.search(r"^CMD (\[.*\])$", dockerfile, re.MULTILINE).group(1)
    check_runnable(yaml.safe_load(cmd))


def requirement_names(path: Path) -> set[str]:
    """Package names in a requirements file and the files it includes with -r."""
    names = set()
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line.startswith("-r "):
            included = path.parent / line[3:].strip()
            assert included.is_file(), f"{path.name} includes missing {included.name}"
            names |= requirement_names(included)
        elif line:
            names.add(re.split(r"[=<>\[ ;]", line)[0].lower())
    return names


@pytest.mark.parametrize(
    "line", [line for line in (REPO_DIR / "Procfile.dev").read_text().splitlines() if line.strip()]
)
def test_procfile_commands_name_things_that_exist(line):
    name, command = line.split(":", 1)
    assert name in ("web", "worker", "beat", "dicom")
    check_runnable(as_argv(command))


def production_environment(**overrides) -> dict:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("DJANGO_")}
    environment.update(
        DJANGO_SETTINGS_MODULE="portal.settings",
        DJANGO_ENV="production",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(64),
        DJANGO_ALLOWED_HOSTS="screening.example.org",
        DJANGO_CSRF_TRUSTED_ORIGINS="https://screening.example.org",
        DATABASE_URL="postgres://portal:secret@db.example.org:5432/portal",
        CELERY_BROKER_URL="redis://redis.example.org:6379/0",
        CACHE_URL="redis://redis.example.org:6379/1",
        AWS_STORAGE_BUCKET_NAME="scans",
        AWS_S3_ENDPOINT_URL="https://s3.example.org",
        EMAIL_URL="smtp+tls://mailer:secret@smtp.example.org:587",
    )
    environment.update(overrides)
    return {key: value for key, value in environment.items() if value is not None}


def run_python(*arguments, environment) -> subprocess.CompletedProcess:
    tiers.requires("processes", "a Python process with production settings")
    return subprocess.run(
        [sys.executable, *arguments], cwd=REPO_DIR, env=environment, capture_output=True, text=True, timeout=120
    )


@pytest.mark.processes
@pytest.mark.parametrize(
    ("missing", "message"),
    [("DJANGO_SECRET_KEY", "DJANGO_SECRET_KEY"), ("DJANGO_ALLOWED_HOSTS", "DJANGO_ALLOWED_HOSTS")],
)
def test_production_refuses_to_start_without_its_secrets(missing, message):
    result = run_python("-c", "import django; django.setup()", environment=production_environment(**{missing: None}))
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert message in result.stderr


@pytest.mark.processes
def test_production_refuses_a_short_secret_key():
    result = run_python(
        "-c", "import django; django.setup()", environment=production_environment(DJANGO_SECRET_KEY="too-short")
    )
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


@pytest.mark.processes
def test_production_settings_pass_the_deployment_check():
    result = run_python(
        "manage.py", "check", "--deploy", "--fail-level", "WARNING", environment=production_environment()
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.processes
def test_the_deployment_check_wants_a_cache_every_web_process_shares():
    result = run_python(
        "manage.py", "check", "--deploy", "--fail-level", "WARNING", environment=production_environment(CACHE_URL=None)
    )
    assert result.returncode != 0
    assert "accounts.W001" in result.stdout + result.stderr


@pytest.mark.processes
def test_production_sends_mail_through_the_email_url_as_a_django_6_1_mailer():
    program = "import json, django; django.setup(); from django.conf import settings; print(json.dumps(settings.MAILERS))"
    environment = production_environment(EMAIL_URL="smtp+tls://sender:secret@mail.example.org:587")
    mailers = json.loads(run_python("-c", program, environment=environment).stdout)
    assert mailers == {"default": {"BACKEND": "django.core.mail.backends.smtp.EmailBackend", "OPTIONS": {
        "host": "mail.example.org", "port": 587, "username": "sender", "password": "secret", "use_tls": True,
        "use_ssl": False, "timeout": 10}}}  # fmt: skip


@pytest.mark.processes
def test_the_image_build_can_collect_static_files(tmp_path):
    """The Dockerfile's collectstatic: the manifest storage fails on any file a stylesheet names but lacks."""
    result = run_python(
        "manage.py", "collectstatic", "--noinput", environment=production_environment(PORTAL_VAR_DIR=str(tmp_path))
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "static" / "staticfiles.json").is_file()


def test_every_setting_is_documented_in_the_configuration_table():
    table = (REPO_DIR / "docs" / "configuration.md").read_text()
    undocumented = sorted(name for name in settings_variables() if f"| `{name}` |" not in table)
    assert not undocumented, f"add these to the table in docs/configuration.md: {undocumented}"


def test_the_dependency_table_says_why_each_dependency_is_there():
    table = (REPO_DIR / "docs" / "dependencies.md").read_text().lower()
    packages = set().union(*(requirement_names(path) for path in (REPO_DIR / "requirements").glob("*.txt")))
    unexplained = sorted(name for name in packages if f"| `{name}` |" not in table)
    assert not unexplained, f"add these to the table in docs/dependencies.md: {unexplained}"


def dockerignore_excludes(path: str) -> bool:
    patterns = [line.strip() for line in (REPO_DIR / ".dockerignore").read_text().splitlines()]
    patterns = [pattern for pattern in patterns if pattern and not pattern.startswith("#")]
    parts = path.split("/")
    prefixes = ["/".join(parts[: index + 1]) for index in range(len(parts))]
    return any(fnmatch.fnmatch(prefix, pattern.lstrip("/")) for pattern in patterns for prefix in prefixes)


@pytest.mark.parametrize(
    "path",
    [
        "manage.py",
        "celery_worker.py",
        "portal/wsgi.py",
        "requirements/prod.txt",
        "static/css/site.css",
        f"ml/artifacts/{MANIFEST_NAME}",
        f"ml/artifacts/{SERVING_MODEL_NAME}",
        "ml/artifacts/gate.npz",
    ],
)
def test_the_image_keeps_what_web_and_worker_need(path):
    assert not dockerignore_excludes(path), f".dockerignore leaves {path} out of the image"


def test_the_image_leaves_out_local_state_and_training_leftovers():
    for path in (".venv/bin/python", "var/db.sqlite3", ".git/HEAD", "ml/artifacts/model.keras"):
        assert dockerignore_excludes(path), path
