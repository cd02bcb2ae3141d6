"""Celery tasks: thin wrappers that take primary keys and call inference.services."""

from inference import services
from portal.celery import house_task


@house_task(bind=True)
def run_inference(self, *, scan_id: int) -> str:
    return services.process_scan(scan_id, task_id=self.request.id)


@house_task()
def requeue_stuck_scans() -> int:
    return services.requeue_stuck_scans()
