"""The queue's operations against a real database (SQLite and PostgreSQL): transitions, claim order,
leases, retries, dependencies, cancellation and the events log."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from stenograph import clock
from stenograph.db.models import tasks_table
from stenograph.errors import NotFoundError, TransitionError
from stenograph.queue import TaskQueue, TaskStatus


def history(queue: TaskQueue, task_id: int) -> list[tuple[str | None, str]]:
    return [(e.from_status, e.to_status) for e in queue.events(task_id)]


def test_lifecycle_is_logged_as_events(queue: TaskQueue) -> None:
    task = queue.enqueue("transcription", {"a": 1})
    assert task.status == "pending" and task.attempts == 0
    claimed = queue.claim("w1")
    assert claimed is not None and claimed.id == task.id
    assert claimed.status == "running" and claimed.attempts == 1 and claimed.worker_id == "w1"
    assert claimed.lease_expires_at is not None and claimed.started_at is not None
    done = queue.complete(task.id, "w1", 1, {"ok": True})
    assert done.status == "completed" and done.result == {"ok": True}
    assert done.finished_at is not None and done.duration_s is not None and done.duration_s >= 0
    assert history(queue, task.id) == [(None, "pending"), ("pending", "running"), ("running", "completed")]
    assert all(e.worker_id == "w1" for e in queue.events(task.id)[1:])


def test_transition_from_a_wrong_state_changes_nothing_and_says_so(queue: TaskQueue) -> None:
    task = queue.enqueue("summary")
    with pytest.raises(TransitionError, match="is pending") as info:
        queue.complete(task.id, "w1", 1, None)
    assert info.value.status == "pending"
    assert queue.get(task.id).status == "pending"
    assert history(queue, task.id) == [(None, "pending")]


def test_a_worker_that_lost_its_lease_cannot_overwrite_newer_state(queue: TaskQueue) -> None:
    task = queue.enqueue("transcription")
    queue.claim("old")
    with queue.engine.begin() as conn:  # the lease runs out
        conn.execute(update(tasks_table).values(lease_expires_at=clock.now() - timedelta(seconds=1)))
    [expired] = queue.expire_leases()
    assert expired.status == "pending" and expired.error_kind == "lease_expired"
    again = queue.claim("new")
    assert again is not None and again.attempts == 2 and again.worker_id == "new"
    with pytest.raises(TransitionError, match="held by worker new"):
        queue.complete(task.id, "old", 1, {"stale": True})
    with pytest.raises(TransitionError):
        queue.fail(task.id, "old", 1, kind="x", message="y", retryable=True)
    assert queue.report_progress(task.id, "old", 1, 0.5) is None
    assert queue.heartbeat("old", {task.id: 1}) == {}
    final = queue.complete(task.id, "new", 2, {"fresh": True})
    assert final.result == {"fresh": True}


def test_claim_order_priority_then_run_after_then_age(queue: TaskQueue) -> None:
    now = clock.now()
    low_old = queue.enqueue("summary", priority=0, run_after=now - timedelta(seconds=30))
    high = queue.enqueue("summary", priority=5)
    low_early = queue.enqueue("summary", priority=0, run_after=now - timedelta(seconds=60))
    low_new = queue.enqueue("summary", priority=0, run_after=now - timedelta(seconds=30))
    future = queue.enqueue("summary", priority=9, run_after=now + timedelta(hours=1))
    order = []
    while (task := queue.claim("w")) is not None:
        order.append(task.id)
    assert order == [high.id, low_early.id, low_old.id, low_new.id]
    assert queue.get(future.id).status == "pending"


def test_a_worker_limited_to_some_types_claims_only_those(queue: TaskQueue) -> None:
    summary = queue.enqueue("summary", priority=9)
    transcription = queue.enqueue("transcription")
    taken = queue.claim("gpu", types=["transcription"])
    assert taken is not None and taken.id == transcription.id  # the higher-priority summary is left
    assert queue.claim("gpu", types=["transcription"]) is None
    assert queue.get(summary.id).status == "pending"
    other = queue.claim("cpu", types=["correction", "summary"])
    assert other is not None and other.id == summary.id


def test_retryable_error_backs_off_then_fails_when_exhausted(engine, make_settings) -> None:  # type: ignore[no-untyped-def]
    queue = TaskQueue(engine, make_settings(backoff_base_seconds=60, backoff_cap_seconds=60))
    task = queue.enqueue("correction", max_attempts=2)
    queue.claim("w")
    before = clock.now()
    retried = queue.fail(task.id, "w", 1, kind="llm_down", message="no answer", retryable=True)
    assert retried.status == "pending" and retried.error_kind == "llm_down"
    assert before + timedelta(seconds=29) < retried.run_after < before + timedelta(seconds=61)
    assert queue.claim("w") is None  # still backing off
    with queue.engine.begin() as conn:
        conn.execute(update(tasks_table).values(run_after=clock.now()))
    second = queue.claim("w")
    assert second is not None and second.attempts == 2
    failed = queue.fail(task.id, "w", 2, kind="llm_down", message="still nothing", retryable=True)
    assert failed.status == "failed" and failed.error_message == "still nothing"


def test_permanent_error_fails_at_once(queue: TaskQueue) -> None:
    task = queue.enqueue("transcription")
    queue.claim("w")
    failed = queue.fail(task.id, "w", 1, kind="bad_media", message="not audio", retryable=False)
    assert failed.status == "failed" and failed.attempts == 1


def test_dependant_waits_then_runs(queue: TaskQueue) -> None:
    first = queue.enqueue("transcription")
    second = queue.enqueue("summary", depends_on=first.id, priority=10)
    claimed = queue.claim("w")
    assert claimed is not None and claimed.id == first.id
    assert queue.claim("w") is None  # the summary waits although its priority is higher
    queue.complete(first.id, "w", 1, None)
    after = queue.claim("w")
    assert after is not None and after.id == second.id


def test_failure_fails_dependants_and_retry_reopens_them(queue: TaskQueue) -> None:
    first = queue.enqueue("transcription")
    second = queue.enqueue("correction", depends_on=first.id)
    third = queue.enqueue("summary", depends_on=second.id)
    queue.claim("w")
    queue.fail(first.id, "w", 1, kind="bad_media", message="broken", retryable=False)
    for dependant in (second, third):
        record = queue.get(dependant.id)
        assert record.status == "failed" and record.error_kind == "dependency_failed"
    assert f"task {first.id}" in (queue.get(second.id).error_message or "")
    assert f"task {second.id}" in (queue.get(third.id).error_message or "")
    queue.retry(first.id)
    assert [queue.get(t.id).status for t in (first, second, third)] == ["pending"] * 3
    assert queue.get(second.id).error_kind is None and queue.get(first.id).attempts == 0


def test_enqueue_after_the_dependency_failed(queue: TaskQueue) -> None:
    first = queue.enqueue("transcription")
    queue.claim("w")
    queue.fail(first.id, "w", 1, kind="bad_media", message="broken", retryable=False)
    late = queue.enqueue("summary", depends_on=first.id)
    assert late.status == "failed" and late.error_kind == "dependency_failed"
    with pytest.raises(NotFoundError):
        queue.enqueue("summary", depends_on=999_999)


def test_cancel_pending_cancels_dependants(queue: TaskQueue) -> None:
    first = queue.enqueue("transcription")
    second = queue.enqueue("summary", depends_on=first.id)
    record, outcome = queue.cancel(first.id)
    assert outcome == "cancelled" and record.status == "cancelled"
    assert queue.get(second.id).status == "cancelled"
    assert queue.claim("w") is None


def test_cancel_running_is_a_request_and_ends_cancelled(queue: TaskQueue) -> None:
    task = queue.enqueue("transcription")
    queue.claim("w")
    record, outcome = queue.cancel(task.id)
    assert outcome == "requested" and record.status == "running" and record.cancel_requested
    assert queue.cancel(task.id)[1] == "requested"  # asking twice logs one request
    assert [e.message for e in queue.events(task.id)].count("cancel requested") == 1
    assert queue.heartbeat("w", {task.id: 1}) == {task.id: True}
    assert queue.cancel_requested([task.id]) == {task.id}
    done = queue.mark_cancelled(task.id, "w", 1, "stopped at a check")
    assert done.status == "cancelled"
    with pytest.raises(TransitionError, match="is cancelled"):
        queue.cancel(task.id)


def test_cancel_of_a_finished_task_is_refused(queue: TaskQueue) -> None:
    task = queue.enqueue("transcription")
    queue.claim("w")
    queue.complete(task.id, "w", 1, None)
    with pytest.raises(TransitionError) as info:
        queue.cancel(task.id)
    assert info.value.status == "completed"
    with pytest.raises(TransitionError):
        queue.retry(task.id)


def test_release_does_not_count_the_attempt_and_keeps_the_place_in_line(queue: TaskQueue) -> None:
    task = queue.enqueue("transcription")
    queue.claim("w")
    queue.report_progress(task.id, "w", 1, 0.4, "halfway")
    later = queue.enqueue("transcription")
    released = queue.release(task.id, "w", 1, "shutdown")
    assert released.status == "pending" and released.attempts == 0 and released.worker_id is None
    assert released.progress == 0.0 and released.run_after == task.run_after
    again = queue.claim("w2")
    assert again is not None and again.id == task.id and later.id != task.id


def test_lease_expiry_fails_when_attempts_are_exhausted(queue: TaskQueue) -> None:
    queue.enqueue("transcription", max_attempts=1)
    queue.claim("w")
    with queue.engine.begin() as conn:
        conn.execute(update(tasks_table).values(lease_expires_at=clock.now() - timedelta(seconds=1)))
    [record] = queue.expire_leases()
    assert record.status == "failed" and record.error_kind == "lease_expired"
    assert "attempts exhausted" in (record.error_message or "")


def test_heartbeat_renews_the_lease(queue: TaskQueue) -> None:
    task = queue.enqueue("transcription")
    claimed = queue.claim("w")
    assert claimed is not None and claimed.lease_expires_at is not None
    queue.heartbeat("w", {task.id: 1})
    assert (queue.get(task.id).lease_expires_at or claimed.lease_expires_at) >= claimed.lease_expires_at
    assert queue.expire_leases() == []


def test_ids_of_deleted_tasks_are_never_given_again(queue: TaskQueue) -> None:
    first = queue.enqueue("summary")
    last = queue.enqueue("summary")
    queue.delete(last.id)
    assert queue.enqueue("summary").id > last.id > first.id


def test_delete_is_refused_while_running_every_time(queue: TaskQueue) -> None:
    task = queue.enqueue("transcription")
    dependant = queue.enqueue("summary", depends_on=task.id)
    queue.claim("w")
    messages = set()
    for _ in range(2):
        with pytest.raises(TransitionError) as info:
            queue.delete(task.id)
        messages.add(str(info.value))
    assert len(messages) == 1
    queue.complete(task.id, "w", 1, None)
    queue.delete(task.id)
    with pytest.raises(NotFoundError):
        queue.get(task.id)
    assert queue.get(dependant.id).depends_on is None


def test_list_is_newest_first_with_filters_and_count(queue: TaskQueue) -> None:
    ids = [queue.enqueue("transcription" if n % 2 else "summary").id for n in range(5)]
    records, count = queue.list_tasks(limit=2)
    assert count == 5 and [r.id for r in records] == ids[::-1][:2]
    records, count = queue.list_tasks(type="summary")
    assert count == 3 and all(r.type == "summary" for r in records)
    _, count = queue.list_tasks(status="running")
    assert count == 0


def test_workers_are_live_only_with_a_fresh_heartbeat(queue: TaskQueue, monkeypatch: pytest.MonkeyPatch) -> None:
    queue.register_worker("host:1:1", "host", 1, 2)
    [worker] = queue.workers()
    assert worker.live and worker.concurrency == 2
    later = clock.now() + timedelta(seconds=queue.settings.live_seconds + 1)
    monkeypatch.setattr(clock, "now", lambda: later)
    [stale] = queue.workers()
    assert not stale.live
    queue.stop_worker("host:1:1")
    assert queue.workers() == []


def test_a_worker_shows_the_task_types_it_takes(queue: TaskQueue) -> None:
    queue.register_worker("gpu:1:1", "gpu", 1, 1, ["transcription"])
    queue.register_worker("cpu:1:1", "cpu", 1, 4)
    shown = {w.id: None if w.task_types is None else list(w.task_types) for w in queue.workers()}
    assert shown == {"gpu:1:1": ["transcription"], "cpu:1:1": None}  # None: every type


def _finish(queue: TaskQueue, task_id: int, *, fail: bool = False) -> None:
    claimed = queue.claim("w")
    assert claimed is not None and claimed.id == task_id, claimed
    if fail:
        queue.fail(task_id, "w", claimed.attempts, kind="boom", message="it broke", retryable=False)
    else:
        queue.complete(task_id, "w", claimed.attempts, None)


def test_a_task_after_one_that_failed_still_runs_while_one_requiring_it_fails(queue: TaskQueue) -> None:
    """The pipeline's shape: correction requires the transcription; the summary requires the transcription
    and comes after the correction, whatever the correction's outcome."""
    transcription = queue.enqueue("transcription")
    correction = queue.enqueue("correction", depends_on=transcription.id)
    summary = queue.enqueue("summary", depends_on=transcription.id, after=[correction.id])
    strict = queue.enqueue("summary", depends_on=correction.id)
    _finish(queue, transcription.id)
    assert queue.claim("w", types=["summary"]) is None  # the summary waits for the correction to end
    _finish(queue, correction.id, fail=True)
    assert queue.get(strict.id).status == "failed" and queue.get(strict.id).error_kind == "dependency_failed"
    assert queue.get(summary.id).status == "pending"
    _finish(queue, summary.id)
    assert queue.get(summary.id).status == "completed"


def test_a_task_requiring_several_waits_for_all_and_fails_with_any(queue: TaskQueue) -> None:
    left, right = queue.enqueue("transcription"), queue.enqueue("transcription")
    both = queue.enqueue("summary", depends_on=[left.id, right.id])
    _finish(queue, left.id)
    assert queue.claim("w", types=["summary"]) is None
    _finish(queue, right.id)
    _finish(queue, both.id)
    one, other = queue.enqueue("transcription"), queue.enqueue("transcription")
    doomed = queue.enqueue("summary", depends_on=[one.id, other.id])
    _finish(queue, one.id, fail=True)
    assert queue.get(doomed.id).status == "failed"
    assert queue.enqueue("summary", depends_on=[other.id, one.id]).status == "failed"  # created failed


def test_a_task_after_one_that_was_cancelled_runs_while_one_requiring_it_is_cancelled(queue: TaskQueue) -> None:
    """README: an ordering-only dependency lets its dependants run once it has ended, cancelled included
    (cancelling a slow correction leaves the summary of the uncorrected transcript)."""
    transcription = queue.enqueue("transcription")
    correction = queue.enqueue("correction", depends_on=transcription.id)
    summary = queue.enqueue("summary", depends_on=transcription.id, after=[correction.id])
    strict = queue.enqueue("summary", depends_on=correction.id)
    _finish(queue, transcription.id)
    assert queue.claim("w", types=["summary"]) is None  # it waits for the correction to end
    queue.cancel(correction.id)
    assert queue.get(strict.id).status == "cancelled" and queue.get(strict.id).error_kind == "dependency_cancelled"
    assert queue.get(summary.id).status == "pending"
    _finish(queue, summary.id)
    assert queue.get(summary.id).status == "completed"
    assert queue.enqueue("summary", after=[correction.id]).status == "pending"  # created runnable
    assert queue.enqueue("summary", depends_on=correction.id).status == "cancelled"  # created cancelled


def test_a_task_after_one_cancelled_while_running_runs(queue: TaskQueue) -> None:
    first = queue.enqueue("correction")
    later = queue.enqueue("summary", after=[first.id])
    needing = queue.enqueue("summary", depends_on=first.id)
    claimed = queue.claim("w", types=["correction"])
    assert claimed is not None and claimed.id == first.id
    assert queue.cancel(first.id)[1] == "requested"
    queue.mark_cancelled(first.id, "w", claimed.attempts, "stopped on request")
    assert queue.get(needing.id).status == "cancelled"
    assert queue.get(later.id).status == "pending"
    _finish(queue, later.id)


def test_deleting_a_task_cancels_only_the_tasks_requiring_it(queue: TaskQueue) -> None:
    first = queue.enqueue("correction")
    later = queue.enqueue("summary", after=[first.id])
    needing = queue.enqueue("summary", depends_on=first.id)
    queue.delete(first.id)
    assert queue.get(needing.id).status == "cancelled"
    assert queue.get(later.id).status == "pending"
    _finish(queue, later.id)


def test_a_worker_with_a_home_claims_only_tasks_bound_to_it_or_to_none(queue: TaskQueue) -> None:
    theirs = queue.enqueue("transcription", affinity="other-data-dir")
    ours = queue.enqueue("transcription", affinity="our-data-dir")
    free = queue.enqueue("summary")
    taken = [queue.claim("w", home="our-data-dir") for _ in range(3)]
    assert [t.id if t else None for t in taken] == [ours.id, free.id, None]
    anywhere = queue.claim("fetcher")  # a worker that fetches files from the API server takes any
    assert anywhere is not None and anywhere.id == theirs.id
    given = queue.give_back(theirs.id, "fetcher", 1, affinity="other-data-dir", message="not here")
    assert given.status == "pending" and given.attempts == 0


def test_the_database_refuses_a_status_outside_the_enum(queue: TaskQueue) -> None:
    from sqlalchemy.exc import IntegrityError

    task = queue.enqueue("summary")
    with pytest.raises(IntegrityError), queue.engine.begin() as conn:
        conn.execute(update(tasks_table).where(tasks_table.c.id == task.id).values(status="paused"))
    assert queue.get(task.id).status is TaskStatus.PENDING  # typed: the enum, not its text


def test_enqueue_many_logs_one_event_per_task_and_keeps_their_order(queue: TaskQueue) -> None:
    from stenograph.queue.driver import TaskSpec

    first = queue.enqueue("transcription")
    specs = [TaskSpec("summary", {"n": n}, priority=n % 3) for n in range(1500)]  # more than one insert chunk
    specs.append(TaskSpec("summary", {"n": "last"}, depends_on=first.id))
    records = queue.enqueue_many(specs)
    assert [r.params["n"] for r in records] == [*range(1500), "last"]
    assert records[-1].depends_on == first.id and records[0].status is TaskStatus.PENDING
    assert all(history(queue, r.id) == [(None, "pending")] for r in records[::250])
    _, count = queue.list_tasks(status="pending", limit=1)
    assert count == 1502
