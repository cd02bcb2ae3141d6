from django.apps import AppConfig


class InferenceConfig(AppConfig):
    name = "inference"
    verbose_name = "Inference"

    def ready(self):
        from inference import worker_model  # noqa: F401  (connects the worker_process_init hook)
