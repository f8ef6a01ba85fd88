"""The Processing page: live task list over server-sent events, actions, workers, fallback polling."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from .conftest import Server, Watched, shot

pytestmark = pytest.mark.web

# Records every status each task row shows, as rendered (a MutationObserver sees each Vue update).
STATUS_RECORDER = """
() => {
  window.__seen = {};
  const scan = () => {
    for (const row of document.querySelectorAll('[data-testid="task-row"]')) {
      const id = row.dataset.taskId, st = row.dataset.status;
      const list = (window.__seen[id] = window.__seen[id] || []);
      if (list[list.length - 1] !== st) list.push(st);
    }
  };
  new MutationObserver(scan).observe(document.body, {subtree: true, childList: true, attributes: true,
                                                     attributeFilter: ['data-status']});
  scan();
}
"""

#: How long a test task may wait for a free worker slot: the session's server is shared with the other
#: web tests, whose transcriptions may still be queued ahead of it on a busy machine.
WORKER_TIMEOUT_MS = 120_000


def task_list_requests(web: Watched) -> list[str]:
    """GET /tasks list requests (not /tasks/{id}/... actions)."""
    return [u for m, u in web.requests if m == "GET" and urlsplit(u).path == "/tasks"]


def open_live_processing(web: Watched) -> None:
    web.goto("#/processing")
    expect(web.page.get_by_test_id("page-processing")).to_have_attribute("data-live", "yes")
    expect(web.page.get_by_test_id("stream-status")).to_have_attribute("data-state", "open")


def create_test_task(web: Watched, kind: str, seconds: int) -> int:
    page = web.page
    page.get_by_test_id("test-seconds").fill(str(seconds))
    with page.expect_response(lambda r: r.url.endswith(f"/tasks/test/{kind}") and r.request.method == "POST") as info:
        page.get_by_test_id(f"test-{kind}").click()
    response = info.value
    assert response.status == 201, response.text()
    return int(response.json()["id"])


def row(web: Watched, task_id: int) -> Any:
    return web.page.locator(f'[data-testid="task-row"][data-task-id="{task_id}"]')


def test_test_task_goes_live_from_pending_to_completed_without_polling(web: Watched) -> None:
    open_live_processing(web)
    page = web.page
    page.evaluate(STATUS_RECORDER)
    before = len(task_list_requests(web))

    task_id = create_test_task(web, "transcription", 4)
    r = row(web, task_id)
    expect(r.get_by_test_id("task-status")).to_have_attribute("data-status", "running")
    progress = r.get_by_test_id("task-progress")
    expect(r.get_by_test_id("task-eta")).to_contain_text(re.compile(r"about .* left"))
    first = progress.get_attribute("data-value")
    expect(progress).not_to_have_attribute("data-value", first or "0.000")  # it moves
    second = progress.get_attribute("data-value")
    assert second is not None and first is not None
    expect(r.get_by_test_id("task-status")).to_have_attribute("data-status", "completed", timeout=WORKER_TIMEOUT_MS)
    expect(progress).to_have_attribute("data-value", "1.000")
    expect(r.get_by_test_id("task-attempts")).to_have_text("1/3")
    expect(r.get_by_test_id("task-duration")).not_to_have_text("—")
    shot(page, "processing-desktop")

    seen = page.evaluate("(id) => window.__seen[String(id)]", task_id)
    assert seen[0] == "pending", seen
    assert "running" in seen and seen[-1] == "completed", seen
    # While the event stream was up, the page never asked for the task list.
    assert page.get_by_test_id("stream-status").get_attribute("data-state") == "open"
    assert task_list_requests(web)[before:] == []
    assert web.errors_except() == []


def test_cancel_running_task_with_confirmation_then_retry(web: Watched, server: Server) -> None:
    open_live_processing(web)
    page = web.page
    task_id = create_test_task(web, "correction", 120)
    r = row(web, task_id)
    status = r.get_by_test_id("task-status")
    expect(status).to_have_attribute("data-status", "running", timeout=WORKER_TIMEOUT_MS)

    # Cancelling a running task asks first; "Keep running" leaves it alone.
    r.get_by_test_id("cancel-btn").click()
    dialog = page.get_by_test_id("confirm-dialog")
    expect(dialog).to_be_visible()
    page.get_by_test_id("confirm-cancel").click()
    expect(dialog).to_be_hidden()
    expect(status).to_have_attribute("data-status", "running")

    r.get_by_test_id("cancel-btn").click()
    expect(dialog).to_be_visible()
    page.get_by_test_id("confirm-ok").click()
    expect(status).to_have_attribute("data-status", "cancelled", timeout=WORKER_TIMEOUT_MS)

    r.get_by_test_id("retry-btn").click()
    expect(status).to_have_attribute("data-status", "running", timeout=WORKER_TIMEOUT_MS)
    expect(r.get_by_test_id("task-attempts")).to_contain_text("/")

    # Clean up: cancel again (through the API), then delete it from the page.
    with server.client() as client:
        assert client.post(f"/tasks/{task_id}/cancel").status_code in (200, 202)
    expect(status).to_have_attribute("data-status", "cancelled", timeout=WORKER_TIMEOUT_MS)
    r.get_by_test_id("delete-btn").click()
    expect(dialog).to_be_visible()
    page.get_by_test_id("confirm-ok").click()
    expect(r).to_have_count(0)
    assert web.errors_except() == []


def test_failing_task_shows_its_error(web: Watched) -> None:
    open_live_processing(web)
    page = web.page
    page.get_by_test_id("test-fail").check()
    page.get_by_test_id("test-seconds").fill("0")
    with page.expect_response(lambda r: r.url.endswith("/tasks/test/summary")) as info:
        page.get_by_test_id("test-summary").click()
    task_id = int(info.value.json()["id"])
    r = row(web, task_id)
    expect(r.get_by_test_id("task-status")).to_have_attribute("data-status", "failed", timeout=60_000)
    expect(r.get_by_test_id("task-error")).to_be_visible()
    expect(r.get_by_test_id("retry-btn")).to_be_visible()


#: The filter options and the values of the rows shown, read at one moment (statuses change as tasks run).
OPTIONS_AND_ROWS = """
() => {
  const options = (id) =>
    [...document.querySelectorAll(`[data-testid="${id}"] option`)].map(o => o.value).filter(Boolean);
  const rows = [...document.querySelectorAll('[data-testid="task-row"]')];
  const distinct = (key) => [...new Set(rows.map(r => r.dataset[key]))].sort();
  return {statusOptions: options('filter-status'), typeOptions: options('filter-type'),
          statuses: distinct('status'), types: distinct('type')};
}
"""


def test_filters_by_status_and_type(web: Watched, server: Server) -> None:
    open_live_processing(web)
    page = web.page
    task_id = create_test_task(web, "summary", 0)
    with server.client() as client:
        failed = client.post("/tasks/test/correction", json={"seconds": 0, "fail": "permanent"})
    assert failed.status_code == 201, failed.text
    failed_id = int(failed.json()["id"])
    expect(row(web, task_id).get_by_test_id("task-status")).to_have_attribute(
        "data-status", "completed", timeout=WORKER_TIMEOUT_MS
    )
    expect(row(web, failed_id).get_by_test_id("task-status")).to_have_attribute(
        "data-status", "failed", timeout=WORKER_TIMEOUT_MS
    )
    # The options are the statuses and types of the tasks shown: the page keeps no list of the server's.
    seen = page.evaluate(OPTIONS_AND_ROWS)
    assert seen["statusOptions"] == seen["statuses"] and {"completed", "failed"} <= set(seen["statuses"]), seen
    assert seen["typeOptions"] == seen["types"] and {"summary", "correction"} <= set(seen["types"]), seen
    page.get_by_test_id("filter-status").select_option("completed")
    rows = page.get_by_test_id("task-row")
    expect(rows.first).to_be_visible()
    for status in rows.get_by_test_id("task-status").all():
        expect(status).to_have_attribute("data-status", "completed")
    page.get_by_test_id("filter-type").select_option("summary")
    expect(row(web, task_id)).to_be_visible()
    for r in rows.all():
        expect(r).to_have_attribute("data-type", "summary")
    page.get_by_test_id("filter-status").select_option("failed")
    expect(row(web, task_id)).to_have_count(0)
    expect(page.get_by_test_id("filter-status")).to_have_value("failed")  # kept, though no failed summary shows


def test_workers_are_listed_live(web: Watched) -> None:
    open_live_processing(web)
    worker = web.page.get_by_test_id("worker").first
    expect(worker).to_have_attribute("data-live", "yes")
    expect(worker).to_contain_text("heartbeat")


def test_falls_back_to_polling_while_the_stream_is_down(web: Watched) -> None:
    page = web.page
    page.route("**/events", lambda route: route.abort())
    web.goto("#/processing")
    expect(page.get_by_test_id("stream-status")).not_to_have_attribute("data-state", "open")
    expect(page.get_by_test_id("stream-note")).to_contain_text("refreshing every 5 seconds")
    # Two list requests: the first refresh and one 5 s later.
    with page.expect_request(lambda r: urlsplit(r.url).path == "/tasks", timeout=15_000):
        pass
    n = len(task_list_requests(web))
    with page.expect_request(lambda r: urlsplit(r.url).path == "/tasks", timeout=15_000):
        pass
    assert len(task_list_requests(web)) > n


def test_action_buttons_are_the_servers_actions(web: Watched, server: Server) -> None:
    """A row shows the actions its task JSON lists, and none when the JSON has no ``actions``."""
    page = web.page

    # An older server, which sends no ``actions``: the page invents none.
    def strip_actions(route: Any) -> None:
        response = route.fetch()
        body = response.json()
        for task in body.get("data", []):
            task.pop("actions", None)
        route.fulfill(response=response, json=body)

    page.route("**/events", lambda route: route.abort())
    page.route(re.compile(r".*/tasks\?.*"), strip_actions)
    with server.client() as client:
        created = client.post("/tasks/test/summary", json={"seconds": 0})
        assert created.status_code == 201, created.text
        task_id = int(created.json()["id"])
        for _ in range(1200):
            task = client.get(f"/tasks/{task_id}").json()
            if task["status"] == "completed":
                break
            page.wait_for_timeout(100)
    assert task["actions"] == ["delete"]
    web.goto("#/processing")
    r = row(web, task_id)
    expect(r.get_by_test_id("task-status")).to_have_attribute("data-status", "completed")
    expect(r.get_by_test_id("task-attempts")).to_have_text("1/3")
    expect(r.locator(".actions-cell button")).to_have_count(0)

    # The server's actions: a completed task may only be deleted.
    page.unroute(re.compile(r".*/tasks\?.*"))
    page.unroute("**/events")
    page.reload()
    expect(page.get_by_test_id("page-processing")).to_have_attribute("data-live", "yes")
    buttons = r.locator(".actions-cell button")
    expect(buttons).to_have_count(1)
    expect(buttons.first).to_have_attribute("data-testid", "delete-btn")
    assert web.errors_except("net::ERR_FAILED") == []  # the /events requests this test refused
