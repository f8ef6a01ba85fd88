"""The worker process: claims tasks and runs them in supervised slot processes."""

from stenograph.worker.worker import Worker, make_worker_id

__all__ = ["Worker", "make_worker_id"]
