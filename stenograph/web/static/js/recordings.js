// Recordings page: list with duration and per-step state; search (q) over
// names and transcript text.

import { api, endpoints, onTaskEvent } from "./api.js";
import { StepStates } from "./components.js";
import { confirmAction, formatBytes, formatDateTime, formatDuration, fullDateTime, notify } from "./util.js";

const { ref, reactive, watch, onMounted, onBeforeUnmount } = Vue;

const PAGE_SIZE = 50;

export const RecordingsPage = {
  components: { StepStates },
  setup() {
    const q = ref("");
    const list = ref([]);
    const count = ref(null);
    const loading = ref(false);
    const error = ref("");
    const rowError = reactive({});
    const limit = ref(PAGE_SIZE);
    let seq = 0;
    let debounce = null;
    let refreshTimer = null;

    async function load() {
      const mine = ++seq;
      loading.value = true;
      try {
        const res = await api(endpoints.recordings({ q: q.value.trim(), limit: limit.value, offset: 0 }));
        if (mine !== seq) return;
        list.value = res.data || [];
        count.value = res.count ?? list.value.length;
        error.value = "";
      } catch (err) {
        if (mine === seq) error.value = err.message;
      } finally {
        if (mine === seq) loading.value = false;
      }
    }

    watch(q, () => {
      clearTimeout(debounce);
      limit.value = PAGE_SIZE;
      debounce = setTimeout(load, 250);
    });

    function searchNow() {
      clearTimeout(debounce);
      load();
    }

    // Step states change as tasks run: refresh (at most every 2 s) when a task
    // of a listed recording changes.
    let unsubscribe = null;
    function onTask(task) {
      if (!task || !task.recording_id) return;
      const rec = list.value.find((r) => r.id === task.recording_id);
      if (rec && rec.steps && task.type in rec.steps && rec.steps[task.type] !== task.status) {
        rec.steps = { ...rec.steps, [task.type]: task.status };
      } else if (!rec && !q.value && !refreshTimer) {
        refreshTimer = setTimeout(() => {
          refreshTimer = null;
          load();
        }, 2000);
      }
    }

    async function remove(rec) {
      const ok = await confirmAction({
        title: "Delete recording?",
        message: `Delete “${rec.name}” with its transcript, summary and tasks? This cannot be undone.`,
        confirmLabel: "Delete recording",
        cancelLabel: "Keep",
      });
      if (!ok) return;
      rowError[rec.id] = "";
      try {
        await api(endpoints.recording(rec.id), { method: "DELETE" });
        list.value = list.value.filter((r) => r.id !== rec.id);
        if (count.value) count.value -= 1;
        notify(`Deleted “${rec.name}”.`);
      } catch (err) {
        rowError[rec.id] = err.message;
      }
    }

    function more() {
      limit.value += PAGE_SIZE;
      load();
    }

    onMounted(() => {
      load();
      unsubscribe = onTaskEvent(onTask);
    });
    onBeforeUnmount(() => {
      clearTimeout(debounce);
      clearTimeout(refreshTimer);
      if (unsubscribe) unsubscribe();
      seq++;
    });

    return {
      q,
      list,
      count,
      loading,
      error,
      rowError,
      searchNow,
      remove,
      more,
      formatBytes,
      formatDateTime,
      formatDuration,
      fullDateTime,
    };
  },
  template: `
  <div class="page page-recordings" data-testid="page-recordings">
    <div class="page-head">
      <h1 tabindex="-1">Recordings</h1>
      <a class="btn btn-primary" href="#/upload">Upload</a>
    </div>
    <form class="search" role="search" @submit.prevent="searchNow">
      <label for="rec-search">Search names and transcripts</label>
      <div class="search-row">
        <input id="rec-search" type="search" v-model="q" data-testid="search-input" autocomplete="off">
        <button class="btn" type="submit">Search</button>
      </div>
    </form>
    <p v-if="error" class="error" role="alert">{{ error }}</p>
    <p class="muted" aria-live="polite" data-testid="recordings-count">
      <template v-if="loading && count === null">Loading…</template>
      <template v-else-if="count !== null">{{ count }} recording{{ count === 1 ? '' : 's' }}{{ q.trim() ? ' match “' + q.trim() + '”' : '' }}</template>
    </p>
    <p v-if="count === 0 && !q.trim()" class="empty">No recordings yet. <a href="#/upload">Upload one</a>.</p>

    <table class="table recordings-table" v-if="list.length" data-testid="recordings-table">
      <thead>
        <tr>
          <th scope="col">Name</th>
          <th scope="col">Added</th>
          <th scope="col">Duration</th>
          <th scope="col">Size</th>
          <th scope="col">Steps</th>
          <th scope="col"><span class="visually-hidden">Actions</span></th>
        </tr>
      </thead>
      <tbody>
        <tr v-for="r in list" :key="r.id" data-testid="recording-row" :data-recording-id="r.id">
          <td data-label="Name">
            <a :href="'#/recordings/' + encodeURIComponent(r.id)" data-testid="recording-link" class="rec-name">{{ r.name }}</a>
            <div class="muted small" v-if="r.media">{{ r.media.has_video ? 'video' : 'audio' }}<template v-if="r.media.container"> · {{ r.media.container }}</template><template v-if="r.media.channels"> · {{ r.media.channels }} ch</template></div>
          </td>
          <td data-label="Added"><time :datetime="r.created_at" :title="fullDateTime(r.created_at)">{{ formatDateTime(r.created_at) }}</time></td>
          <td data-label="Duration" data-testid="recording-duration">{{ formatDuration(r.duration_s) }}</td>
          <td data-label="Size">{{ formatBytes(r.size_bytes) }}</td>
          <td data-label="Steps"><StepStates :steps="r.steps" /></td>
          <td data-label="Actions">
            <button type="button" class="btn btn-small btn-danger-outline" data-testid="recording-delete"
                    :aria-label="'Delete ' + r.name" @click="remove(r)">Delete</button>
            <p v-if="rowError[r.id]" class="error small" role="alert">{{ rowError[r.id] }}</p>
          </td>
        </tr>
      </tbody>
    </table>
    <div v-if="count !== null && list.length < count" class="more">
      <button type="button" class="btn" @click="more" :disabled="loading">Load more</button>
    </div>
  </div>`,
};
