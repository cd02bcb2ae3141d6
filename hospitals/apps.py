from django.apps import AppConfig


class HospitalsConfig(AppConfig):
    # Not "sites": that label belongs to django.contrib.sites.
    name = "hospitals"
    verbose_name = "Hospitals and clinics"
