"""Celery tasks of the hospitals app: thin wrappers that take primary keys."""

from actions import readings
from hospitals import delivery
from portal.celery import house_task, transient_errors

# A PACS down for maintenance comes back within the hour: ten tries, doubling from 30 s, up to 10 min apart.
DELIVERY_RETRIES = 10


@house_task(
    bind=True,
    autoretry_for=(delivery.DeliveryFailed, *transient_errors()),
    max_retries=DELIVERY_RETRIES,
    retry_backoff=30,
    retry_backoff_max=600,
)
def deliver_results(self, *, scan_id: int) -> str:
    try:
        outcome = delivery.deliver_results(scan_id)
    except delivery.DeliveryFailed as error:
        if self.request.retries >= self.max_retries:
            delivery.give_up(scan_id, str(error))
            return "failed"
        raise
    return outcome.reason or f"sent {outcome.sent}"


@house_task()
def resend_undelivered_results() -> int:
    return readings.resend_undelivered_results()
