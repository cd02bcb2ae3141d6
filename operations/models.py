from django.db import models


class WorkerHeartbeat(models.Model):
    """The last sign of life of one Celery worker, written by the worker itself every few seconds."""

    hostname = models.CharField(max_length=255, unique=True)
    pid = models.PositiveIntegerField()
    last_seen = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.hostname} (last seen {self.last_seen:%H:%M:%S})"
