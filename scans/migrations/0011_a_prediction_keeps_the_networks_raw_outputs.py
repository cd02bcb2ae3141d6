from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("scans", "0010_a_parents_dicom_upload_keeps_its_accession_number")]

    operations = [
        migrations.AddField(
            model_name="prediction",
            name="logit",
            field=models.FloatField(
                blank=True, null=True, help_text="The network's raw output, before the reading head."
            ),
        ),
        migrations.AddField(
            model_name="prediction",
            name="embedding",
            field=models.BinaryField(
                blank=True, null=True, editable=False, help_text="The network's pooled features, float32."
            ),
        ),
        migrations.AddField(
            model_name="prediction",
            name="embedding_distance",
            field=models.FloatField(
                blank=True,
                null=True,
                help_text="Mahalanobis distance of the film's features to the training films' (drift).",
            ),
        ),
    ]
