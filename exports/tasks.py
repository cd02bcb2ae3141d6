"""Celery tasks of data exports: thin wrappers around exports.services."""

from exports import services
from portal.celery import house_task


@house_task(soft_time_limit=services.BUILD_TIME_LIMIT_SECONDS - 60, time_limit=services.BUILD_TIME_LIMIT_SECONDS)
def build_data_export(*, export_id: int) -> str:
    return services.build(export_id)


@house_task()
def tidy_data_exports() -> dict:
    return {"requeued": services.requeue_unfinished(), "deleted": services.delete_expired()}
