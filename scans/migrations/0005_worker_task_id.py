from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("scans", "0004_history_index_matches_its_order")]

    operations = [
        migrations.RenameField("scan", "claimed_by", "worker_task_id"),
        migrations.AlterField(
            "scan",
            "worker_task_id",
            models.CharField(blank=True, help_text="Task id of the worker reading the scan.", max_length=64),
        ),
    ]
