"""A question never waits behind long transcriptions: a real worker of concurrency 2, both slots busy with
long (simulated) transcriptions and a third transcription waiting, answers an ask task on the slot it keeps
for interactive types while both transcriptions still run and the third is still pending (judged by the
tasks' states, not by timing). No LLM is configured: the answer is the best passages, with their citations."""

from __future__ import annotations

from pathlib import Path

from stenograph.queue import TaskQueue
from stenograph.queue.wakeup import workers_notifier
from stenograph.service import Stenograph
from stenograph.settings import Settings
from tests.helpers import running_workers, wait_for, wait_until_workers_ready
from tests.steps.conftest import segments

LONG_S = 300.0


def test_a_question_is_answered_while_two_slots_transcribe(
    queue: TaskQueue, settings: Settings, tmp_path: Path
) -> None:
    waking = TaskQueue(queue.engine, settings, notify=workers_notifier(settings, queue.engine))
    service = Stenograph(settings, engine=queue.engine)
    rid = service.store.create_recording(
        name="planning.wav", stored_name="planning", size_bytes=1, duration_s=84.0, media={}, options={}
    )
    spans = segments((0.0, 5.0, "good morning"), (71.0, 78.0, "the marketing budget is forty thousand euros"))
    service.store.create_version(rid, "original", spans, task_id=None, language="en", info={})
    logs = tmp_path / "logs"
    logs.mkdir()
    with running_workers(settings, logs, count=1, concurrency=2):
        wait_until_workers_ready(logs, 1)
        long_ids = [waking.enqueue("transcription", {"simulate": {"seconds": LONG_S}}).id for _ in range(3)]
        wait_for(
            lambda: [queue.get(i).status for i in long_ids].count("running") == 2,
            timeout=60,
            what="two transcriptions running",
        )
        ask = service.ask("What is the marketing budget?", rid)
        done = wait_for(
            lambda: (task := queue.get(ask.id)).status in ("completed", "failed") and task,
            timeout=90,
            what="the question answered",
        )
        states = sorted(queue.get(i).status for i in long_ids)
        for task_id in long_ids:
            service.cancel_task(task_id)
    assert done.status == "completed", done.error_message
    # Answered while the two long ones still ran and the third still waited for a slot.
    assert states == ["pending", "running", "running"]
    assert done.result is not None and done.result["method"] == "passages"
    assert done.result["citations"][0]["timestamp"] == "01:11"  # the best passage first
