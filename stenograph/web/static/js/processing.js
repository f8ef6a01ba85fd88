// Processing page: every task, live through the /events stream; workers.
// While the stream is open the page never requests /tasks, except once per
// (re)connection for a snapshot; while it is down it refreshes every 5 s (useLiveTasks).
// Which actions a task offers (cancel, retry, delete) is the server's word: task.actions.

import { api, endpoints, stream, taskAction } from "./api.js";
import { ProgressBar, StatusBadge, taskDuration } from "./components.js";
import { useInterval, useLiveTasks } from "./composables/index.js";
import {
  clock,
  confirmAction,
  formatAgo,
  formatDateTime,
  formatDuration,
  fullDateTime,
  notify,
  STEPS,
  stepLabel,
  uncoveredTypes,
} from "./util.js";

const { ref, reactive, computed, watch, onBeforeUnmount } = Vue;

const PAGE_SIZE = 100;
const WORKERS_MS = 10000;

/** How each action the server may list is shown; an action without an entry here is not shown. */
const ACTION_BUTTONS = {
  cancel: { label: "Cancel", class: "" },
  retry: { label: "Retry", class: "" },
  delete: { label: "Delete", class: "btn-danger-outline" },
};

/** The actions of a task to show as buttons, in the server's order; none when the server sends none. */
export function taskActions(task) {
  const actions = task && Array.isArray(task.actions) ? task.actions : [];
  return actions.filter((a) => Object.hasOwn(ACTION_BUTTONS, a));
}

/** Filter options from the tasks shown: their distinct values of `key`, sorted, with the current choice. */
export function optionsOf(tasks, key, current) {
  const s = new Set();
  for (const t of tasks) if (t && t[key]) s.add(String(t[key]));
  if (current) s.add(current);
  return [...s].sort();
}

function sortKey(t) {
  return t.created_at || "";
}

export const ProcessingPage = {
  components: { ProgressBar, StatusBadge },
  setup() {
    const tasks = reactive(new Map());
    const filters = reactive({ status: "", type: "" });
    const total = ref(null);
    const limit = ref(PAGE_SIZE);
    const loading = ref(false);
    const loaded = ref(false);
    const loadError = ref("");
    const workers = ref([]);
    const workersError = ref("");
    const busy = reactive({});
    const actionError = reactive({});
    const test = reactive({ seconds: 3, fail: false });
    let touched = null; // ids updated by the stream while a snapshot request is in flight
    let snapshotSeq = 0;

    const visible = computed(() => {
      const list = [];
      for (const t of tasks.values()) {
        if (filters.status && t.status !== filters.status) continue;
        if (filters.type && t.type !== filters.type) continue;
        list.push(t);
      }
      list.sort((a, b) => (sortKey(a) < sortKey(b) ? 1 : sortKey(a) > sortKey(b) ? -1 : b.id > a.id ? 1 : -1));
      return list;
    });

    const statusOptions = computed(() => optionsOf(tasks.values(), "status", filters.status));
    const typeOptions = computed(() => optionsOf(tasks.values(), "type", filters.type));

    async function snapshot() {
      const seq = ++snapshotSeq;
      touched = new Map();
      loading.value = true;
      try {
        const res = await api(
          endpoints.tasks({ status: filters.status, type: filters.type, limit: limit.value, offset: 0 }),
        );
        if (seq !== snapshotSeq) return;
        const fresh = new Map((res.data || []).map((t) => [t.id, t]));
        // Keep tasks the stream told us about meanwhile; they are newer than the snapshot.
        for (const [id, t] of touched) fresh.set(id, t);
        // Drop tasks matching the current filters that the server no longer lists
        // (deleted), but keep anything outside the filters or beyond the page.
        const oldest = res.data && res.data.length ? sortKey(res.data[res.data.length - 1]) : "";
        for (const [id, t] of tasks) {
          if (fresh.has(id)) continue;
          const inFilter =
            (!filters.status || t.status === filters.status) && (!filters.type || t.type === filters.type);
          const inPage = res.data && res.data.length < limit.value ? true : sortKey(t) >= oldest;
          if (inFilter && inPage) tasks.delete(id);
        }
        for (const [id, t] of fresh) tasks.set(id, t);
        total.value = res.count ?? res.data.length;
        loadError.value = "";
        loaded.value = true;
      } catch (err) {
        if (seq === snapshotSeq) loadError.value = err.message;
      } finally {
        if (seq === snapshotSeq) {
          loading.value = false;
          touched = null;
        }
      }
    }

    function onTask(task) {
      if (!task || !task.id) return;
      if (task.deleted || task.status === "deleted") {
        tasks.delete(task.id);
        return;
      }
      const old = tasks.get(task.id);
      tasks.set(task.id, old && !("events" in task) && old.events ? { ...task, events: old.events } : task);
      if (touched) touched.set(task.id, task);
      if (!old && total.value !== null) total.value += 1;
    }

    async function loadWorkers() {
      try {
        const res = await api(endpoints.workers());
        workers.value = res.data || [];
        workersError.value = "";
      } catch (err) {
        workersError.value = err.message;
      }
    }

    const { live: streamOpen } = useLiveTasks({ onTask, refresh: snapshot });
    const live = computed(() => streamOpen.value && loaded.value);
    useInterval(loadWorkers, WORKERS_MS);
    onBeforeUnmount(() => {
      snapshotSeq++;
    });

    // Changing a filter asks the server once for that selection (a user action, not polling).
    watch(
      () => [filters.status, filters.type],
      () => {
        limit.value = PAGE_SIZE;
        snapshot();
      },
    );

    function loadMore() {
      limit.value += PAGE_SIZE;
      snapshot();
    }

    async function act(task, action) {
      const id = task.id;
      actionError[id] = "";
      if (action === "cancel" && task.status === "running") {
        const ok = await confirmAction({
          title: "Cancel running task?",
          message: `The ${task.type} task${task.recording_name ? ` for “${task.recording_name}”` : ""} is running; the work done so far will be lost.`,
          confirmLabel: "Cancel task",
          cancelLabel: "Keep running",
        });
        if (!ok) return;
      }
      if (action === "delete") {
        const ok = await confirmAction({
          title: "Delete task?",
          message: `Delete the ${task.type} task${task.recording_name ? ` for “${task.recording_name}”` : ""} and its history? This cannot be undone.`,
          confirmLabel: "Delete task",
          cancelLabel: "Keep",
        });
        if (!ok) return;
      }
      busy[id] = action;
      try {
        const updated = await taskAction(id, action);
        if (action === "delete") {
          tasks.delete(id);
          if (total.value) total.value -= 1;
          notify("Task deleted.");
        } else {
          if (updated && updated.id === id) onTask(updated);
          if (action === "cancel")
            notify(task.status === "running" ? "Cancellation requested." : "Task cancelled.");
          else notify("Task queued again.");
        }
      } catch (err) {
        actionError[id] = err.message;
      } finally {
        delete busy[id];
      }
    }

    const testBusy = ref(false);
    const testError = ref("");
    async function createTest(type) {
      testBusy.value = true;
      testError.value = "";
      try {
        const res = await api(endpoints.testTask(type), {
          method: "POST",
          body: { seconds: Number(test.seconds) || 0, fail: !!test.fail },
        });
        const task = res && res.data ? res.data : res;
        if (task && task.id) onTask(task);
        notify(`Test ${type} task created.`);
      } catch (err) {
        testError.value = err.message;
      } finally {
        testBusy.value = false;
      }
    }

    const history = reactive({});
    async function onHistory(ev, t) {
      if (!ev.target.open) return;
      history[t.id] = history[t.id] && history[t.id].events ? history[t.id] : {};
      try {
        const res = await api(endpoints.task(t.id));
        history[t.id] = { events: res.events || [] };
      } catch (err) {
        history[t.id] = { error: err.message };
      }
    }

    const actionLabel = (a) => ACTION_BUTTONS[a].label;
    const actionClass = (a) => ACTION_BUTTONS[a].class;
    function etaText(t) {
      if (t.status !== "running") return "";
      if (t.eta_s === null || t.eta_s === undefined) return "";
      return `about ${formatDuration(t.eta_s)} left`;
    }

    // Only beside live workers that take other types: with none live, the list below says to start one.
    const uncovered = computed(() =>
      workers.value.some((w) => w.live) ? uncoveredTypes(tasks.values(), workers.value) : [],
    );
    return {
      tasks,
      uncovered,
      visible,
      filters,
      total,
      loading,
      loaded,
      loadError,
      live,
      stream,
      workers,
      workersError,
      busy,
      actionError,
      test,
      testBusy,
      testError,
      typeOptions,
      statusOptions,
      STEPS,
      stepLabel,
      clock,
      act,
      history,
      onHistory,
      createTest,
      loadMore,
      taskActions,
      actionLabel,
      actionClass,
      etaText,
      formatDateTime,
      fullDateTime,
      formatAgo,
      taskDuration,
    };
  },
  template: `
  <div class="page page-processing" data-testid="page-processing" :data-live="live ? 'yes' : 'no'">
    <div class="page-head">
      <h1 tabindex="-1">Processing</h1>
      <p class="stream-note" data-testid="stream-note">
        <template v-if="stream.state === 'open'">Live updates on.</template>
        <template v-else>Live updates unavailable; refreshing every 5 seconds.</template>
      </p>
    </div>

    <section class="card" aria-labelledby="workers-title">
      <h2 id="workers-title">Workers</h2>
      <p v-if="workersError" class="error">{{ workersError }}</p>
      <p v-else-if="uncovered.length" class="banner banner-warning" role="note" data-testid="uncovered-types">
        Pending {{ uncovered.join(', ') }} tasks wait: no live worker takes them. Start one with
        <code>stenograph worker --task-types {{ uncovered.join(',') }}</code> (or without <code>--task-types</code>).
      </p>
      <ul class="workers" data-testid="workers">
        <li v-for="w in workers" :key="w.id" class="worker" data-testid="worker" :data-live="w.live ? 'yes' : 'no'">
          <span class="dot" :class="w.live ? 'dot-live' : 'dot-dead'" aria-hidden="true"></span>
          <strong>{{ w.hostname }}</strong><span class="muted"> · pid {{ w.pid }}</span>
          <span class="badge" :class="w.live ? 'badge-completed' : 'badge-failed'">{{ w.live ? 'live' : 'gone' }}</span>
          <span class="muted">heartbeat <time :datetime="w.heartbeat_at" :title="fullDateTime(w.heartbeat_at)">{{ formatAgo(w.heartbeat_at, clock.now) }}</time></span>
          <span class="muted">· {{ (w.running_task_ids || []).length }}/{{ w.concurrency }} busy</span>
          <span v-if="w.task_types" class="muted" data-testid="worker-task-types">· {{ w.task_types.join(', ') }} only</span>
        </li>
        <li v-if="!workers.length && !workersError" class="muted">No workers are running. Start one with <code>stenograph worker</code>; tasks wait as pending until then.</li>
      </ul>
    </section>

    <section class="card" aria-labelledby="test-title">
      <h2 id="test-title">Test tasks</h2>
      <p class="muted">Simulated tasks that only report progress, to check the queue and workers.</p>
      <div class="test-controls">
        <div class="field field-inline">
          <label for="test-seconds">Seconds</label>
          <input id="test-seconds" type="number" min="0" max="600" step="1" v-model.number="test.seconds" data-testid="test-seconds">
        </div>
        <div class="field field-inline">
          <input id="test-fail" type="checkbox" v-model="test.fail" data-testid="test-fail">
          <label for="test-fail">Fail at the end</label>
        </div>
        <div class="button-row">
          <button v-for="s in STEPS" :key="s" type="button" class="btn" :disabled="testBusy"
                  :data-testid="'test-' + s" @click="createTest(s)">Test {{ stepLabel(s).toLowerCase() }}</button>
        </div>
      </div>
      <p v-if="testError" class="error" role="alert">{{ testError }}</p>
    </section>

    <section aria-labelledby="tasks-title">
      <div class="section-head">
        <h2 id="tasks-title">Tasks <span class="muted" v-if="total !== null">({{ total }})</span></h2>
        <div class="filters">
          <div class="field field-inline">
            <label for="filter-status">Status</label>
            <select id="filter-status" v-model="filters.status" data-testid="filter-status">
              <option value="">All</option>
              <option v-for="s in statusOptions" :key="s" :value="s">{{ s }}</option>
            </select>
          </div>
          <div class="field field-inline">
            <label for="filter-type">Type</label>
            <select id="filter-type" v-model="filters.type" data-testid="filter-type">
              <option value="">All</option>
              <option v-for="t in typeOptions" :key="t" :value="t">{{ t }}</option>
            </select>
          </div>
        </div>
      </div>
      <p v-if="loadError" class="error" role="alert">{{ loadError }}</p>
      <p v-if="loaded && !visible.length" class="empty" data-testid="no-tasks">No tasks{{ filters.status || filters.type ? ' match these filters' : ' yet' }}.
        <a v-if="!filters.status && !filters.type" href="#/upload">Upload a recording</a></p>
      <p v-if="!loaded && !loadError" class="muted">Loading tasks…</p>

      <table class="table tasks-table" v-if="visible.length" data-testid="tasks-table">
        <thead>
          <tr>
            <th scope="col">Task</th>
            <th scope="col">Status</th>
            <th scope="col">Progress</th>
            <th scope="col">Times</th>
            <th scope="col">Attempts</th>
            <th scope="col"><span class="visually-hidden">Actions</span></th>
          </tr>
        </thead>
        <tbody>
          <tr v-for="t in visible" :key="t.id" data-testid="task-row" :data-task-id="t.id" :data-type="t.type" :data-status="t.status">
            <td data-label="Task">
              <div class="task-type" data-testid="task-type">{{ t.type }}</div>
              <div class="task-rec">
                <a v-if="t.recording_id" :href="'#/recordings/' + encodeURIComponent(t.recording_id)" data-testid="task-recording">{{ t.recording_name || 'recording' }}</a>
                <span v-else class="muted">{{ t.recording_name || (t.params && (t.params.simulate || t.params.test) ? 'test task' : 'no recording') }}</span>
              </div>
              <div class="muted small mono" :title="'Task ' + t.id">#{{ String(t.id).slice(0, 8) }}</div>
            </td>
            <td data-label="Status">
              <StatusBadge :status="t.status" :cancel-requested="!!t.cancel_requested" />
              <div v-if="t.error" class="error small" data-testid="task-error">{{ t.error.kind ? t.error.kind + ': ' : '' }}{{ t.error.message }}</div>
              <div v-if="actionError[t.id]" class="error small" role="alert" data-testid="action-error">{{ actionError[t.id] }}</div>
              <details class="history small" @toggle="onHistory($event, t)" data-testid="task-history">
                <summary>History</summary>
                <p v-if="history[t.id] && history[t.id].error" class="error">{{ history[t.id].error }}</p>
                <ol v-else-if="history[t.id] && history[t.id].events">
                  <li v-for="(e, k) in history[t.id].events" :key="k">
                    <time :datetime="e.at" :title="fullDateTime(e.at)">{{ formatDateTime(e.at) }}</time>
                    {{ e.from_status || 'new' }} → {{ e.to_status }}<template v-if="e.message"> · {{ e.message }}</template>
                  </li>
                </ol>
                <p v-else class="muted">Loading…</p>
              </details>
            </td>
            <td data-label="Progress">
              <ProgressBar :value="t.status === 'completed' ? 1 : (t.progress || 0)" :status="t.status"
                           :label="'Progress of ' + t.type + ' task'" testid="task-progress" />
              <div class="small muted" data-testid="task-progress-message">
                <span v-if="t.progress_message">{{ t.progress_message }}</span>
                <span v-if="etaText(t)" data-testid="task-eta"><template v-if="t.progress_message"> · </template>{{ etaText(t) }}</span>
              </div>
            </td>
            <td data-label="Times" class="times small">
              <div>Created <time :datetime="t.created_at" :title="fullDateTime(t.created_at)">{{ formatDateTime(t.created_at) }}</time></div>
              <div v-if="t.started_at">Started <time :datetime="t.started_at" :title="fullDateTime(t.started_at)">{{ formatDateTime(t.started_at) }}</time></div>
              <div v-if="t.finished_at">Finished <time :datetime="t.finished_at" :title="fullDateTime(t.finished_at)">{{ formatDateTime(t.finished_at) }}</time></div>
              <div>Duration <span data-testid="task-duration">{{ taskDuration(t) }}</span></div>
            </td>
            <td data-label="Attempts" data-testid="task-attempts">{{ t.attempts }}/{{ t.max_attempts }}</td>
            <td data-label="Actions" class="actions-cell">
              <div class="button-row">
                <button v-for="a in taskActions(t)" :key="a" type="button" class="btn btn-small" :class="actionClass(a)"
                        :data-testid="a + '-btn'" :disabled="!!busy[t.id]" @click="act(t, a)"
                        :aria-label="actionLabel(a) + ' ' + t.type + ' task ' + (t.recording_name || String(t.id).slice(0, 8))">{{ actionLabel(a) }}</button>
              </div>
            </td>
          </tr>
        </tbody>
      </table>
      <div v-if="total !== null && tasks.size < total && !filters.status && !filters.type" class="more">
        <button type="button" class="btn" @click="loadMore" :disabled="loading" data-testid="load-more">Load more</button>
      </div>
    </section>
  </div>`,
};
