"""The worker process: claims tasks and runs them in supervised slot processes.

``Worker`` is imported on first use, so that a slot process (which imports ``stenograph.worker.child``)
does not load the database layer it never uses: it starts in a fraction of the time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from stenograph.worker.worker import Worker, make_worker_id

__all__ = ["Worker", "make_worker_id"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from stenograph.worker import worker

        return getattr(worker, name)
    raise AttributeError(f"module 'stenograph.worker' has no attribute {name!r}")
