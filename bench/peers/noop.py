"""The no-op task every peer runs: one witness line, nothing else."""

from __future__ import annotations

import os
import time


def record(witness: str, key: str) -> None:
    """Append ``key 1 pid start end`` to ``witness`` (one ``write`` on an ``O_APPEND`` descriptor, so lines
    from concurrent workers never interleave). The format is that of Stenograph's simulated handler."""
    started = time.time()
    line = f"{key} 1 {os.getpid()} {started:.6f} {time.time():.6f}\n".encode()
    fd = os.open(witness, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)
