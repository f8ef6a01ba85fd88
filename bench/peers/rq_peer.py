"""RQ on Redis: jobs enqueued with ``Queue.enqueue``, run by N ``rq worker`` processes with RQ's default
``Worker`` class, which forks a work horse for every job (``SimpleWorker`` would run jobs in the worker
process itself; the documentation recommends the default)."""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path
from typing import Any

from bench.common import REDIS_URL
from bench.peers.base import QueuePeer, spawn, venv_script

GUARANTEES = (
    "a job whose worker dies is moved to the failed registry when its entry in the started registry expires "
    "(retried only with Retry); Redis here keeps data in memory only unless persistence is configured"
)


class RQPeer(QueuePeer):
    """``rq`` with the Redis server at :data:`bench.common.REDIS_URL`."""

    name = "RQ (Redis)"
    guarantees = GUARANTEES
    worker_note = "N `rq worker` processes (default Worker: a forked work horse per job)"

    def __init__(self) -> None:
        self.queue: Any = None
        self.redis: Any = None

    def unavailable(self) -> str | None:
        try:
            from redis import Redis
            from redis.exceptions import RedisError
        except ImportError:
            return "redis not installed (pip install -e '.[bench]')"
        try:
            Redis.from_url(REDIS_URL, socket_connect_timeout=3).ping()
        except RedisError as exc:
            return f"no Redis server at {REDIS_URL}: {exc}"
        return None

    def setup(self, scratch: Path) -> None:
        from redis import Redis
        from rq import Queue

        self.redis = Redis.from_url(REDIS_URL)
        self.queue = Queue(f"stenograph-bench-{uuid.uuid4().hex[:12]}", connection=self.redis)

    def durability(self) -> str:
        assert self.redis is not None
        config = {name: self.redis.config_get(name).get(name, "?") for name in ("appendonly", "appendfsync", "save")}
        save = config["save"] or "none"
        return f"Redis appendonly={config['appendonly']}, appendfsync={config['appendfsync']}, RDB save={save!r}"

    def enqueue(self, witness: Path, key: str) -> str:
        self.queue.enqueue("bench.peers.noop.record", str(witness), key)
        return key

    def start_workers(self, count: int, log: Path) -> list[subprocess.Popen[bytes]]:
        assert self.queue is not None
        args = [venv_script("rq"), "worker", "--url", REDIS_URL, "--path", ".", self.queue.name]
        return [spawn(args, log) for _ in range(count)]

    def teardown(self) -> None:
        if self.queue is not None:
            self.queue.delete(delete_jobs=True)
        if self.redis is not None:
            self.redis.close()
        self.queue = self.redis = None
