"""Celery tasks of site adaptation: thin wrappers that take primary keys."""

from adaptation import references
from portal.celery import house_task


@house_task(soft_time_limit=references.IMPORT_TIME_LIMIT_SECONDS - 60, time_limit=references.IMPORT_TIME_LIMIT_SECONDS)
def import_reference_zip(*, import_id: int) -> str:
    return references.run_import(import_id)


@house_task(soft_time_limit=1740, time_limit=1800)
def run_adaptation(*, run_id: int) -> str:
    # Imported here: fitting needs scikit-learn, which only the worker has, and Celery imports this
    # module wherever the app is set up.
    from adaptation import fitting

    return fitting.run_adaptation(run_id)
