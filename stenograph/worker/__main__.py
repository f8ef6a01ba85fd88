"""``python -m stenograph.worker [--concurrency N]``: the same as ``stenograph worker``."""

from stenograph.cli import main

if __name__ == "__main__":
    main(["worker", *__import__("sys").argv[1:]])
