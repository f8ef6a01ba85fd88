"""The queues the benchmark compares (:class:`bench.peers.base.QueuePeer`, one module per peer).

This package's ``__init__`` imports nothing: the peers' worker processes import the task module
(:mod:`bench.peers.noop`) on their own, RQ's forked work horse once per job, so it must stay light.
"""
