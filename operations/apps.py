from django.apps import AppConfig


class OperationsConfig(AppConfig):
    name = "operations"
    verbose_name = "Operations: health, metrics and worker heartbeats"

    def ready(self) -> None:
        from operations import heartbeat, metrics

        heartbeat.connect_worker_signals()
        metrics.register()
