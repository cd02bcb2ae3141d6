from django.db import migrations, models
import django.db.models.deletion


class Migration(migrations.Migration):
    """Apart from 0007, which fills the column: on PostgreSQL a table cannot be altered in the transaction
    that wrote rows it references (their deferred foreign-key checks are still pending)."""

    dependencies = [
        ("patients", "0001_initial"),
        ("scans", "0007_each_scan_belongs_to_a_patient_profile"),
    ]

    operations = [
        migrations.AlterField(
            model_name="scan",
            name="patient",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.RESTRICT, related_name="scans", to="patients.patient"
            ),
        ),
    ]
