"""Celery tasks of site adaptation: thin wrappers that take primary keys."""

from adaptation import jobs, references
from portal.celery import house_task


@house_task(
    soft_time_limit=int(jobs.IMPORT_LIMIT.total_seconds()) - 60, time_limit=int(jobs.IMPORT_LIMIT.total_seconds())
)
def import_reference_zip(*, import_id: int) -> str:
    return references.run_import(import_id)


@house_task(
    soft_time_limit=int(jobs.ADAPT_LIMIT.total_seconds()) - 60, time_limit=int(jobs.ADAPT_LIMIT.total_seconds())
)
def run_adaptation(*, run_id: int) -> str:
    # Imported here: fitting needs scikit-learn, which only the worker has, and Celery imports this
    # module wherever the app is set up.
    from adaptation import fitting

    return fitting.run_adaptation(run_id)


@house_task()
def requeue_unfinished() -> int:
    return jobs.requeue_unfinished()
