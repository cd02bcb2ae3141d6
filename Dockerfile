# One image for web, worker, beat and the DICOM listener (docker-compose.yml picks the command);
# configured only through environment variables, see docs/configuration.md.
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    # Fixed inside the image: collectstatic writes STATIC_ROOT (PORTAL_VAR_DIR/static) at build time,
    # and whitenoise serves it from the same place at run time.
    PORTAL_VAR_DIR=/app/var

WORKDIR /app
RUN groupadd --system portal && useradd --system --gid portal --home-dir /app portal

# Requirements first: the slow layer is rebuilt only when they change.
COPY requirements/ requirements/
RUN pip install -r requirements/prod.txt

COPY --chown=portal:portal . .
# collectstatic needs the production settings to load; these values exist only for this one command.
RUN DJANGO_ENV=production DJANGO_ALLOWED_HOSTS=build DJANGO_SECRET_KEY="$(python -c 'import secrets; print(secrets.token_urlsafe(64))')" \
    python manage.py collectstatic --noinput \
    && mkdir -p /app/var/broker /app/var/broker-processed /app/var/media \
    && chown -R portal:portal /app/var

USER portal
EXPOSE 8000 11112
CMD ["gunicorn", "portal.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
