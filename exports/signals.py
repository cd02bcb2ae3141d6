"""A deleted export takes its zip with it, whether deleted alone or with its owner's account."""

from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver

from exports.models import DataExport


@receiver(post_delete, sender=DataExport, dispatch_uid="exports.delete_zip")
def delete_zip(sender, instance: DataExport, **kwargs) -> None:
    if instance.file:
        storage, name = instance.file.storage, instance.file.name
        transaction.on_commit(lambda: storage.delete(name))
