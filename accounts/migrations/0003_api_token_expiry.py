"""API tokens expire: tokens made before this get the default lifetime from when they were made."""

from datetime import timedelta

from django.db import migrations, models

DAYS = 90  # the API_TOKEN_DAYS default when tokens began to expire


def expire_existing(apps, schema_editor):
    ApiToken = apps.get_model("accounts", "ApiToken")
    for token in ApiToken.objects.filter(expires_at__isnull=True):
        token.expires_at = token.created_at + timedelta(days=DAYS)
        token.save(update_fields=["expires_at"])


class Migration(migrations.Migration):
    dependencies = [("accounts", "0002_api_tokens")]
    operations = [
        migrations.AddField("apitoken", "expires_at", models.DateTimeField(null=True)),
        migrations.RunPython(expire_existing, migrations.RunPython.noop),
        migrations.AlterField(
            "apitoken",
            "expires_at",
            models.DateTimeField(help_text="After this the token is refused; make a new one."),
        ),
    ]
