"""Batched claims and completions against a real database (SQLite and PostgreSQL): what a batch takes,
that every task of it holds a lease, that completions keep each task's own times, and that a worker that
lost a task cannot complete it in a batch."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from stenograph import clock
from stenograph.db.models import tasks_table
from stenograph.queue import TaskQueue
from stenograph.queue.claims import FinishedRun


def history(queue: TaskQueue, task_id: int) -> list[tuple[str | None, str]]:
    return [(e.from_status, e.to_status) for e in queue.events(task_id)]


def test_a_batch_is_the_next_task_then_the_batchable_ones_after_it(queue: TaskQueue) -> None:
    urgent = queue.enqueue("summary", priority=5)
    fast = [queue.enqueue("transcription").id for _ in range(3)]
    slow = queue.enqueue("correction")
    after = queue.enqueue("transcription")
    # A task of a type not known to be short comes alone: nothing short waits behind it.
    assert [t.id for t in queue.claim_batch("w", None, 10, {"transcription"})] == [urgent.id]
    batch = queue.claim_batch("w", None, 10, {"transcription"})
    # The batch stops at the first task of a type that is not batchable.
    assert [t.id for t in batch] == fast
    assert all(t.status == "running" and t.worker_id == "w" and t.attempts == 1 for t in batch)
    assert all(t.lease_expires_at is not None and t.lease_expires_at > clock.now() for t in batch)
    assert queue.get(slow.id).status == "pending" and queue.get(after.id).status == "pending"
    assert all(history(queue, t.id) == [(None, "pending"), ("pending", "running")] for t in batch)
    # The limit counts every task of the batch.
    assert [t.id for t in queue.claim_batch("w", None, 1, {"transcription"})] == [slow.id]
    assert [t.id for t in queue.claim_batch("w", None, 10, {"transcription"})] == [after.id]
    assert queue.claim_batch("w", None, 10, {"transcription"}) == []


def test_topping_up_takes_only_batchable_tasks(queue: TaskQueue) -> None:
    slow = queue.enqueue("correction")
    fast = queue.enqueue("transcription")
    assert queue.claim_batch("w", None, 10, {"transcription"}, only_batchable=True) == []
    assert queue.get(slow.id).status == "pending" and queue.get(fast.id).status == "pending"
    assert [t.id for t in queue.claim_batch("w", None, 10, {"transcription"})] == [slow.id]
    assert [t.id for t in queue.claim_batch("w", None, 10, {"transcription"}, only_batchable=True)] == [fast.id]


def test_a_batch_respects_task_types_and_dependencies(queue: TaskQueue) -> None:
    first = queue.enqueue("transcription")
    waiting = queue.enqueue("transcription", depends_on=first.id)
    other = queue.enqueue("summary")
    batch = queue.claim_batch("w", ["transcription"], 10, {"transcription"})
    assert [t.id for t in batch] == [first.id]  # its dependant waits; the summary is not of our types
    assert queue.complete_batch("w", [FinishedRun(first.id, 1, None, clock.now(), clock.now())]) == [first.id]
    assert [t.id for t in queue.claim_batch("w", ["transcription"], 10, {"transcription"})] == [waiting.id]
    assert queue.get(other.id).status == "pending"


def test_completions_keep_each_task_s_own_start_end_and_result(queue: TaskQueue) -> None:
    ids = [queue.enqueue("transcription").id for _ in range(3)]
    batch = queue.claim_batch("w", None, 3, {"transcription"})
    base = clock.now()
    runs = [
        FinishedRun(t.id, t.attempts, {"n": n}, base + timedelta(seconds=n), base + timedelta(seconds=n + 0.25))
        for n, t in enumerate(batch)
    ]
    assert sorted(queue.complete_batch("w", runs)) == ids
    for n, task_id in enumerate(ids):
        task = queue.get(task_id)
        assert task.status == "completed" and task.result == {"n": n} and task.progress == 1.0
        assert task.started_at == base + timedelta(seconds=n)
        assert task.finished_at == base + timedelta(seconds=n + 0.25)
        assert task.duration_s is not None and abs(task.duration_s - 0.25) < 1e-6
        assert task.lease_expires_at is None
        assert history(queue, task_id)[-1] == ("running", "completed")


def test_a_batch_completion_skips_tasks_the_worker_no_longer_holds(queue: TaskQueue) -> None:
    kept, lost = (queue.enqueue("transcription").id for _ in range(2))
    queue.claim_batch("old", None, 2, {"transcription"})
    queue.mark_started("old", {lost: (1, clock.now())})  # it started: its lost attempt counts
    with queue.engine.begin() as conn:  # the second task's lease runs out; another worker takes it
        conn.execute(
            update(tasks_table)
            .where(tasks_table.c.id == lost)
            .values(lease_expires_at=clock.now() - timedelta(seconds=1))
        )
    queue.expire_leases()
    [again] = queue.claim_batch("new", None, 5, {"transcription"})
    assert again.id == lost and again.attempts == 2
    now = clock.now()
    recorded = queue.complete_batch("old", [FinishedRun(kept, 1, None, now, now), FinishedRun(lost, 1, None, now, now)])
    assert recorded == [kept]
    assert queue.get(lost).status == "running" and queue.get(lost).worker_id == "new"
    # A stale attempt number is refused too, even from the worker that holds the task.
    assert queue.complete_batch("new", [FinishedRun(lost, 1, None, now, now)]) == []
    assert queue.complete_batch("new", [FinishedRun(lost, 2, {"ok": 1}, now, now)]) == [lost]


def test_released_batch_tasks_keep_their_place_and_attempt_budget(queue: TaskQueue) -> None:
    ids = [queue.enqueue("transcription").id for _ in range(3)]
    batch = queue.claim_batch("w", None, 3, {"transcription"})
    outcomes = queue.release_many("w", [(t.id, t.attempts) for t in batch[1:]], "batch ran out of time")
    assert [o.id for o in outcomes if not isinstance(o, Exception)] == ids[1:]
    assert all(queue.get(i).status == "pending" and queue.get(i).attempts == 0 for i in ids[1:])
    [refused] = queue.release_many("other", [(ids[0], 1)], "not ours")
    assert isinstance(refused, Exception) and queue.get(ids[0]).status == "running"
    assert [t.id for t in queue.claim_batch("w2", None, 5, {"transcription"})] == ids[1:]


def test_heartbeat_renews_every_lease_of_a_batch(queue: TaskQueue) -> None:
    for _ in range(3):
        queue.enqueue("transcription")
    batch = queue.claim_batch("w", None, 3, {"transcription"})
    before = {t.id: t.lease_expires_at for t in batch}
    held = queue.heartbeat("w", {t.id: t.attempts for t in batch})
    assert held == {t.id: False for t in batch}
    for task_id, lease in before.items():
        renewed = queue.get(task_id).lease_expires_at
        assert lease is not None and renewed is not None and renewed >= lease


def test_a_released_task_with_a_cancel_request_is_cancelled(queue: TaskQueue) -> None:
    keep, drop = (queue.enqueue("transcription").id for _ in range(2))
    dependant = queue.enqueue("summary", depends_on=drop)
    queue.claim_batch("w", None, 2, {"transcription"})
    assert queue.cancel(drop)[1] == "requested"
    outcomes = queue.release_many("w", [(keep, 1), (drop, 1)], "batch ran out of time")
    assert [o.status for o in outcomes if not isinstance(o, Exception)] == ["pending", "cancelled"]
    dropped = queue.get(drop)
    assert dropped.started_at is None and dropped.duration_s is None  # it never ran
    assert queue.get(dependant.id).status == "cancelled"


def test_an_expired_lease_charges_only_the_tasks_that_started(queue: TaskQueue) -> None:
    """A worker killed while holding a batch: the task it ran loses its attempt, the ones it had not
    started go back with none counted, keeping their place in line."""
    ids = [queue.enqueue("transcription").id for _ in range(4)]
    batch = queue.claim_batch("dead", None, 4, {"transcription"})
    assert [t.id for t in batch] == ids
    assert batch[0].started_at is not None and all(t.started_at is None for t in batch[1:])
    queue.mark_started("dead", {ids[1]: (1, clock.now())})
    queue.mark_started("someone-else", {ids[2]: (1, clock.now())})  # not its task: ignored
    with queue.engine.begin() as conn:
        conn.execute(update(tasks_table).values(lease_expires_at=clock.now() - timedelta(seconds=1)))
    changed = queue.expire_leases()
    assert sorted(t.id for t in changed) == ids
    for task_id, attempts in zip(ids, (1, 1, 0, 0), strict=True):
        task = queue.get(task_id)
        assert task.status == "pending" and task.attempts == attempts, (task_id, task.attempts)
    unstarted = [e.message or "" for e in queue.events(ids[3])]
    assert "before the task started" in unstarted[-1] and "not counted" in unstarted[-1]
    # Expired over and over, an unstarted task never runs out of attempts.
    for _ in range(5):
        queue.claim_batch("dead", ["transcription"], 4, {"transcription"}, only_batchable=True)
        with queue.engine.begin() as conn:
            conn.execute(update(tasks_table).values(lease_expires_at=clock.now() - timedelta(seconds=1)))
        queue.expire_leases()
    assert all(queue.get(t).status == "pending" for t in ids)
    assert queue.get(ids[3]).attempts == 0
