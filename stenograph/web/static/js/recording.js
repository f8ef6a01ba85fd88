// Recording page: media player, transcript segments (seek on click/Enter,
// highlight while playing, edit in place), original vs corrected with a
// word-level diff, speaker names, summary (Markdown), exports, re-running steps
// and which language model each step used.

import { api, onTaskEvent, stream } from "./api.js";
import { StatusBadge, StepStates } from "./components.js";
import {
  confirmAction,
  describeLlm,
  formatBytes,
  formatDateTime,
  formatDuration,
  formatTimestamp,
  fullDateTime,
  navigate,
  notify,
  renderMarkdown,
  STEPS,
  stepLabel,
  wordDiff,
} from "./util.js";

const { ref, reactive, computed, watch, nextTick, onMounted, onBeforeUnmount } = Vue;

function latestTasksByType(tasks) {
  const out = {};
  for (const t of tasks || []) {
    const cur = out[t.type];
    if (!cur || (t.created_at || "") > (cur.created_at || "")) out[t.type] = t;
  }
  return out;
}

function asList(res) {
  if (Array.isArray(res)) return res;
  if (res && Array.isArray(res.data)) return res.data;
  if (res && Array.isArray(res.versions)) return res.versions;
  return [];
}

export const RecordingPage = {
  components: { StatusBadge, StepStates },
  props: { id: { type: String, required: true } },
  setup(props) {
    const base = computed(() => `/recordings/${encodeURIComponent(props.id)}`);
    const rec = ref(null);
    const notFound = ref(false);
    const loadError = ref("");
    const llmSettings = ref(null);

    const transcript = ref(null);
    const transcriptError = ref("");
    const versions = ref([]);
    const view = ref("latest"); // latest | original | corrected | compare
    const diff = ref(null);
    const diffOnlyChanged = ref(false);

    const summary = ref(null);
    const summaryError = ref("");

    const player = ref(null);
    const currentTime = ref(0);
    const activeIndex = ref(-1);
    const segmentList = ref(null);

    const editing = reactive({ index: null, draft: "", saving: false, error: "" });
    const speakerNames = reactive({});
    const speakers = reactive({ open: false, saving: false, error: "" });
    const rerun = reactive({ template: "", glossary: "", busy: "", error: "" });

    const hasVideo = computed(() => !!(rec.value && rec.value.media && rec.value.media.has_video));
    const steps = computed(() => (rec.value && rec.value.steps) || {});
    const byType = computed(() => latestTasksByType(rec.value && rec.value.tasks));
    const hasTranscript = computed(() => steps.value.transcription === "completed" || !!transcript.value);
    const hasCorrected = computed(
      () =>
        steps.value.correction === "completed" ||
        versions.value.some((v) => v.kind === "corrected") ||
        (transcript.value && transcript.value.version && transcript.value.version.kind === "corrected"),
    );
    const hasSummary = computed(() => steps.value.summary === "completed" || !!summary.value);
    const segments = computed(() => (transcript.value && transcript.value.segments) || []);
    const labels = computed(() => {
      const s = new Set();
      for (const seg of segments.value) {
        // The server names channels ("left", "right"); speaker then carries the chosen name.
        if (seg.channel !== null && seg.channel !== undefined && seg.channel !== "") s.add(String(seg.channel));
        else if (seg.speaker) s.add(String(seg.speaker));
      }
      for (const k of Object.keys(speakerNames)) s.add(k);
      return [...s];
    });
    const summaryHtml = computed(() => (summary.value ? renderMarkdown(summary.value.markdown || "") : ""));
    const activeTasks = computed(() =>
      ((rec.value && rec.value.tasks) || []).filter((t) => t.status === "pending" || t.status === "running"),
    );
    const diffRows = computed(() => {
      if (!diff.value) return [];
      const rows = (diff.value.segments || []).map((s) => ({
        ...s,
        parts: s.changed ? wordDiff(s.original || "", s.corrected || "") : null,
      }));
      return diffOnlyChanged.value ? rows.filter((r) => r.changed) : rows;
    });
    const changedCount = computed(() =>
      diff.value ? (diff.value.segments || []).filter((s) => s.changed).length : 0,
    );

    function speakerOf(seg) {
      const has = (k) => k !== null && k !== undefined && k !== "";
      if (has(seg.channel) && speakerNames[String(seg.channel)]) return speakerNames[String(seg.channel)];
      if (has(seg.speaker)) return speakerNames[String(seg.speaker)] || String(seg.speaker);
      return has(seg.channel) ? String(seg.channel) : "";
    }

    function applyNames(obj) {
      const names = obj && (obj.speaker_names || obj.speakers || obj.names);
      if (names && typeof names === "object" && !Array.isArray(names)) {
        for (const [k, v] of Object.entries(names)) if (typeof v === "string") speakerNames[k] = v;
      }
    }

    async function loadRecording() {
      try {
        const res = await api(base.value);
        rec.value = res && res.data && res.data.id ? res.data : res;
        applyNames(rec.value);
        loadError.value = "";
      } catch (err) {
        if (err.status === 404) notFound.value = true;
        else loadError.value = err.message;
        throw err;
      }
    }

    async function loadTranscript() {
      const version = view.value === "compare" ? "latest" : view.value;
      try {
        const res = await api(`${base.value}/transcript?format=json&version=${version}`);
        transcript.value = res;
        applyNames(res);
        transcriptError.value = "";
      } catch (err) {
        transcriptError.value = err.status === 404 ? "" : err.message;
        if (err.status === 404) transcript.value = null;
      }
    }

    async function loadVersions() {
      try {
        versions.value = asList(await api(`${base.value}/transcript/versions`));
      } catch {
        versions.value = [];
      }
    }

    async function loadDiff() {
      try {
        diff.value = await api(`${base.value}/transcript/diff`);
        transcriptError.value = "";
      } catch (err) {
        diff.value = null;
        transcriptError.value = err.message;
      }
    }

    async function loadSummary() {
      try {
        const res = await api(`${base.value}/summary?format=json`);
        summary.value = typeof res === "string" ? { markdown: res } : res;
        summaryError.value = "";
      } catch (err) {
        summary.value = null;
        summaryError.value = err.status === 404 ? "" : err.message;
      }
    }

    async function loadAll() {
      try {
        await loadRecording();
      } catch {
        return;
      }
      // Arrived by navigation (focus parked on <main>): move it to the heading now that it exists.
      if (document.activeElement === document.getElementById("main")) {
        nextTick(() => {
          const h1 = document.querySelector("#main h1");
          if (h1) h1.focus({ preventScroll: true });
        });
      }
      const jobs = [];
      if (steps.value.transcription === "completed") jobs.push(loadTranscript(), loadVersions());
      if (steps.value.summary === "completed") jobs.push(loadSummary());
      await Promise.all(jobs);
    }

    watch(view, async (v) => {
      if (v === "compare") await loadDiff();
      else await loadTranscript();
    });

    // ---- live updates ------------------------------------------------------
    let unsubscribe = null;
    let pollTimer = null;
    function onTask(task) {
      if (!rec.value || !task || task.recording_id !== rec.value.id) return;
      const tasks = [...(rec.value.tasks || [])];
      const i = tasks.findIndex((t) => t.id === task.id);
      const before = i >= 0 ? tasks[i].status : null;
      if (i >= 0) tasks[i] = task;
      else tasks.push(task);
      const latest = latestTasksByType(tasks)[task.type];
      const newSteps = { ...(rec.value.steps || {}) };
      if (latest && latest.id === task.id) newSteps[task.type] = task.status;
      rec.value = { ...rec.value, tasks, steps: newSteps };
      if (task.status === "completed" && before !== "completed") {
        if (task.type === "transcription" || task.type === "correction") {
          loadVersions();
          if (view.value === "compare") loadDiff();
          else loadTranscript();
        } else if (task.type === "summary") {
          loadSummary();
        }
        loadRecording().catch(() => {});
      }
    }

    function pollWhileDown() {
      clearInterval(pollTimer);
      pollTimer = setInterval(async () => {
        if (stream.state === "open" || !activeTasks.value.length) return;
        const before = JSON.stringify(rec.value && rec.value.steps);
        try {
          await loadRecording();
        } catch {
          return;
        }
        if (JSON.stringify(rec.value.steps) !== before) loadAll();
      }, 5000);
    }

    // ---- player ------------------------------------------------------------
    function findActive(t) {
      const segs = segments.value;
      let idx = -1;
      for (let i = 0; i < segs.length; i++) {
        if (segs[i].start <= t + 0.001) idx = i;
        else break;
      }
      if (idx >= 0 && segs[idx].end !== undefined && t > segs[idx].end + 0.5) {
        // In a gap after this segment: keep it highlighted only until the next one.
        if (idx + 1 < segs.length && t >= segs[idx + 1].start) idx += 1;
      }
      return idx;
    }

    function onTimeUpdate() {
      const el = player.value;
      if (!el) return;
      currentTime.value = el.currentTime;
      const idx = findActive(el.currentTime);
      if (idx !== activeIndex.value) {
        activeIndex.value = idx;
        if (idx >= 0 && !el.paused && editing.index === null) scrollToActive();
      }
    }

    async function scrollToActive() {
      await nextTick();
      const root = segmentList.value;
      if (!root) return;
      const node = root.querySelector('[data-active="true"]');
      if (node) node.scrollIntoView({ block: "nearest", behavior: "smooth" });
    }

    function seek(seg) {
      const el = player.value;
      if (!el) return;
      el.currentTime = seg.start;
      currentTime.value = seg.start;
      activeIndex.value = findActive(seg.start + 0.001);
      const p = el.play();
      if (p && p.catch) p.catch(() => {});
    }

    // ---- editing -------------------------------------------------------------
    function startEdit(seg) {
      editing.index = seg.index;
      editing.draft = seg.text;
      editing.error = "";
      nextTick(() => {
        const ta = document.getElementById(`edit-${seg.index}`);
        if (ta) ta.focus();
      });
    }
    function cancelEdit() {
      const idx = editing.index;
      editing.index = null;
      editing.error = "";
      nextTick(() => {
        const b = document.querySelector(`[data-testid="edit-btn"][data-index="${idx}"]`);
        if (b) b.focus();
      });
    }
    async function saveEdit(seg) {
      editing.saving = true;
      editing.error = "";
      try {
        const res = await api(`${base.value}/transcript/segments/${seg.index}`, {
          method: "PATCH",
          body: { text: editing.draft },
        });
        if (res && res.segments) transcript.value = res;
        else await loadTranscript();
        view.value = "latest";
        loadVersions();
        notify("Segment saved as a new transcript version.");
        cancelEdit();
      } catch (err) {
        editing.error = err.message;
      } finally {
        editing.saving = false;
      }
    }

    // ---- speakers ------------------------------------------------------------
    async function saveSpeakers() {
      speakers.saving = true;
      speakers.error = "";
      const names = {};
      for (const k of labels.value) if ((speakerNames[k] || "").trim()) names[k] = speakerNames[k].trim();
      try {
        const res = await api(`${base.value}/speakers`, { method: "PUT", body: { names } });
        applyNames(res);
        notify("Speaker names saved.");
        speakers.open = false;
        await loadTranscript();
      } catch (err) {
        speakers.error = err.message;
      } finally {
        speakers.saving = false;
      }
    }

    // ---- re-run, delete ------------------------------------------------------
    async function rerunStep(step) {
      const running = byType.value[step];
      if (running && (running.status === "running" || running.status === "pending")) return;
      if (steps.value[step] === "completed") {
        const ok = await confirmAction({
          title: `Re-run ${stepLabel(step).toLowerCase()}?`,
          message: `A new ${step} task will run; the current result is kept as an earlier version.`,
          confirmLabel: "Re-run",
          cancelLabel: "Keep current",
        });
        if (!ok) return;
      }
      rerun.busy = step;
      rerun.error = "";
      const body = {};
      if (rerun.template.trim()) body.template = rerun.template.trim();
      const glossary = rerun.glossary
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean);
      if (glossary.length) body.glossary = glossary;
      try {
        const res = await api(`${base.value}/steps/${step}`, { method: "POST", body });
        const task = res && res.data ? res.data : res;
        if (task && task.id) onTask({ ...task, recording_id: task.recording_id || rec.value.id });
        notify(`${stepLabel(step)} queued.`);
      } catch (err) {
        rerun.error = err.message;
      } finally {
        rerun.busy = "";
      }
    }

    async function removeRecording() {
      const ok = await confirmAction({
        title: "Delete recording?",
        message: `Delete “${rec.value.name}” with its transcript, summary and tasks? This cannot be undone.`,
        confirmLabel: "Delete recording",
        cancelLabel: "Keep",
      });
      if (!ok) return;
      try {
        await api(base.value, { method: "DELETE" });
        notify(`Deleted “${rec.value.name}”.`);
        navigate("/recordings");
      } catch (err) {
        loadError.value = err.message;
      }
    }

    function exportUrl(format) {
      return `${base.value}/transcript?format=${format}&version=latest&download=1`;
    }
    const baseName = computed(() => ((rec.value && rec.value.name) || "recording").replace(/\.[^.]+$/, ""));

    const whisperModel = computed(() => {
      const t = byType.value.transcription;
      if (!t) return "";
      return (t.result && t.result.model) || (t.params && t.params.model) || "";
    });

    function stepLlm(step) {
      const t = byType.value[step];
      if (!t || !t.result || !("llm" in t.result)) return null;
      return describeLlm(t.result.llm);
    }

    onMounted(async () => {
      unsubscribe = onTaskEvent(onTask);
      pollWhileDown();
      api("/settings/llm")
        .then((r) => (llmSettings.value = r))
        .catch(() => {});
      await loadAll();
    });
    onBeforeUnmount(() => {
      if (unsubscribe) unsubscribe();
      clearInterval(pollTimer);
    });

    return {
      rec,
      notFound,
      loadError,
      llmSettings,
      transcript,
      transcriptError,
      versions,
      view,
      diffRows,
      diffOnlyChanged,
      changedCount,
      summary,
      summaryError,
      summaryHtml,
      player,
      currentTime,
      activeIndex,
      segmentList,
      editing,
      speakerNames,
      speakers,
      rerun,
      hasVideo,
      steps,
      byType,
      hasTranscript,
      hasCorrected,
      hasSummary,
      segments,
      labels,
      activeTasks,
      baseName,
      base,
      STEPS,
      stepLabel,
      speakerOf,
      onTimeUpdate,
      seek,
      startEdit,
      cancelEdit,
      saveEdit,
      saveSpeakers,
      rerunStep,
      removeRecording,
      exportUrl,
      stepLlm,
      whisperModel,
      describeLlm,
      formatBytes,
      formatDateTime,
      formatDuration,
      formatTimestamp,
      fullDateTime,
    };
  },
  template: `
  <div class="page page-recording" data-testid="page-recording">
    <p class="breadcrumb"><a href="#/recordings">← Recordings</a></p>
    <template v-if="notFound">
      <h1 tabindex="-1">Recording not found</h1>
      <p>It may have been deleted. <a href="#/recordings">Back to the list</a>.</p>
    </template>
    <p v-else-if="loadError && !rec" class="error" role="alert">{{ loadError }}</p>
    <p v-else-if="!rec" class="muted">Loading…</p>
    <template v-else>
      <div class="page-head">
        <h1 tabindex="-1" class="rec-title" data-testid="recording-name">{{ rec.name }}</h1>
        <button type="button" class="btn btn-danger-outline btn-small" @click="removeRecording" data-testid="recording-delete">Delete recording</button>
      </div>
      <p v-if="loadError" class="error" role="alert">{{ loadError }}</p>
      <p class="muted meta">
        Added <time :datetime="rec.created_at" :title="fullDateTime(rec.created_at)">{{ formatDateTime(rec.created_at) }}</time>
        · {{ formatDuration(rec.duration_s) }} · {{ formatBytes(rec.size_bytes) }}
        <template v-if="rec.media"> · {{ rec.media.container }}<template v-if="rec.media.audio_codec">/{{ rec.media.audio_codec }}</template>
          <template v-if="rec.media.sample_rate"> · {{ rec.media.sample_rate }} Hz</template>
          <template v-if="rec.media.channels"> · {{ rec.media.channels }} ch</template></template>
      </p>
      <p v-if="llmSettings && llmSettings.warning" class="banner banner-warning" role="note" data-testid="llm-warning">
        {{ llmSettings.warning }}
      </p>

      <div class="recording-layout">
      <div class="rec-main">
        <div class="player-wrap">
          <video v-if="hasVideo" ref="player" class="player" controls preload="metadata" playsinline
                 :src="base + '/media'" data-testid="player" @timeupdate="onTimeUpdate" @seeked="onTimeUpdate"></video>
          <audio v-else ref="player" class="player" controls preload="metadata"
                 :src="base + '/media'" data-testid="player" @timeupdate="onTimeUpdate" @seeked="onTimeUpdate"></audio>
        </div>

      <section class="card" aria-labelledby="transcript-title" data-testid="transcript">
        <div class="section-head">
          <h2 id="transcript-title">Transcript</h2>
          <div class="view-switch" role="group" aria-label="Transcript version" v-if="hasTranscript">
            <button type="button" class="btn btn-small" :aria-pressed="view === 'latest'" @click="view = 'latest'" data-testid="view-latest">Latest</button>
            <button type="button" class="btn btn-small" :aria-pressed="view === 'original'" @click="view = 'original'" data-testid="view-original">Original</button>
            <button v-if="hasCorrected" type="button" class="btn btn-small" :aria-pressed="view === 'corrected'" @click="view = 'corrected'" data-testid="view-corrected">Corrected</button>
            <button v-if="hasCorrected || versions.length > 1" type="button" class="btn btn-small" :aria-pressed="view === 'compare'" @click="view = 'compare'" data-testid="view-compare"
                    title="Original against the latest version">Compare</button>
          </div>
        </div>
        <p v-if="transcriptError" class="error" role="alert">{{ transcriptError }}</p>
        <p v-if="!hasTranscript" class="muted" data-testid="no-transcript">
          No transcript yet<template v-if="steps.transcription"> (transcription {{ steps.transcription }})</template>.
        </p>

        <template v-if="hasTranscript">
        <div class="transcript-tools">
          <div class="exports" role="group" aria-label="Export">
            <span class="small muted">Export:</span>
            <a class="btn btn-small" :href="exportUrl('txt')" :download="baseName + '.txt'" data-testid="export-txt">TXT</a>
            <a class="btn btn-small" :href="exportUrl('srt')" :download="baseName + '.srt'" data-testid="export-srt">SRT</a>
            <a class="btn btn-small" :href="exportUrl('vtt')" :download="baseName + '.vtt'" data-testid="export-vtt">VTT</a>
            <a class="btn btn-small" :href="exportUrl('json')" :download="baseName + '.json'" data-testid="export-json">JSON</a>
            <a v-if="hasSummary" class="btn btn-small" :href="base + '/summary?download=1'" :download="baseName + '-summary.md'" data-testid="export-summary">Summary .md</a>
          </div>
          <button v-if="labels.length" type="button" class="btn btn-small" :aria-expanded="speakers.open"
                  aria-controls="speakers-form" @click="speakers.open = !speakers.open" data-testid="speakers-toggle">Name speakers</button>
        </div>

        <form v-if="speakers.open" id="speakers-form" class="speakers-form" @submit.prevent="saveSpeakers" data-testid="speakers-form">
          <div class="field" v-for="l in labels" :key="l">
            <label :for="'spk-' + l">Name for “{{ l }}”</label>
            <input :id="'spk-' + l" type="text" v-model="speakerNames[l]" autocomplete="off" :data-testid="'speaker-' + l">
          </div>
          <p v-if="speakers.error" class="error" role="alert">{{ speakers.error }}</p>
          <div class="button-row">
            <button type="submit" class="btn btn-primary btn-small" :disabled="speakers.saving">Save names</button>
            <button type="button" class="btn btn-small" @click="speakers.open = false">Close</button>
          </div>
        </form>

        </template>

        <template v-if="hasTranscript && view !== 'compare' && transcript">
          <p class="muted small" data-testid="transcript-version">
            <template v-if="transcript.version">Version {{ transcript.version.number }} · {{ transcript.version.kind }} · <time :datetime="transcript.version.created_at">{{ formatDateTime(transcript.version.created_at) }}</time></template>
            <template v-if="transcript.language"> · language {{ transcript.language }}</template>
            <template v-if="versions.length > 1"> · {{ versions.length }} versions</template>
          </p>

          <ol class="segments" ref="segmentList" data-testid="segments">
            <li v-for="(seg, i) in segments" :key="seg.index" class="segment-row"
                :class="{ active: i === activeIndex }" :data-active="i === activeIndex ? 'true' : 'false'">
              <template v-if="editing.index === seg.index">
                <form class="segment-edit" @submit.prevent="saveEdit(seg)" @keydown.esc.prevent="cancelEdit">
                  <label :for="'edit-' + seg.index" class="small muted">Edit segment at {{ formatTimestamp(seg.start) }}</label>
                  <textarea :id="'edit-' + seg.index" v-model="editing.draft" rows="3" data-testid="segment-editor"
                            @keydown.ctrl.enter.prevent="saveEdit(seg)"></textarea>
                  <p v-if="editing.error" class="error" role="alert">{{ editing.error }}</p>
                  <div class="button-row">
                    <button type="submit" class="btn btn-primary btn-small" :disabled="editing.saving" data-testid="segment-save">Save</button>
                    <button type="button" class="btn btn-small" @click="cancelEdit" data-testid="segment-cancel">Cancel</button>
                  </div>
                </form>
              </template>
              <template v-else>
                <button type="button" class="segment" data-testid="segment" :data-index="seg.index" :data-start="seg.start"
                        :aria-current="i === activeIndex ? 'true' : null" @click="seek(seg)"
                        :aria-label="'Play from ' + formatTimestamp(seg.start) + (speakerOf(seg) ? ', ' + speakerOf(seg) : '') + ': ' + seg.text">
                  <span class="ts" aria-hidden="true">{{ formatTimestamp(seg.start) }}</span>
                  <span v-if="speakerOf(seg)" class="speaker" aria-hidden="true" data-testid="segment-speaker">{{ speakerOf(seg) }}</span>
                  <span class="text" data-testid="segment-text" aria-hidden="true">{{ seg.text }}</span>
                </button>
                <button v-if="view === 'latest'" type="button" class="btn btn-small btn-ghost edit-btn" data-testid="edit-btn" :data-index="seg.index"
                        :aria-label="'Edit segment at ' + formatTimestamp(seg.start)" @click="startEdit(seg)">Edit</button>
              </template>
            </li>
          </ol>
          <p v-if="!segments.length" class="muted">The transcript is empty (no speech found).</p>
        </template>

        <template v-if="hasTranscript && view === 'compare'">
          <div class="diff-head">
            <p class="small muted" data-testid="diff-summary">{{ changedCount }} segment{{ changedCount === 1 ? '' : 's' }} changed from the original to the latest version.
              <span class="legend"><del>removed</del> <ins>added</ins></span></p>
            <span class="check">
              <input id="diff-only" type="checkbox" v-model="diffOnlyChanged">
              <label for="diff-only">Only changed segments</label>
            </span>
          </div>
          <ol class="segments diff" data-testid="diff">
            <li v-for="row in diffRows" :key="row.index" class="segment-row" :class="{ changed: row.changed }" data-testid="diff-segment" :data-changed="row.changed ? 'true' : 'false'">
              <button type="button" class="segment" @click="seek(row)" :aria-label="'Play from ' + formatTimestamp(row.start)">
                <span class="ts">{{ formatTimestamp(row.start) }}</span>
                <span class="text" v-if="row.parts"><template v-for="(p, k) in row.parts" :key="k">{{ k ? ' ' : '' }}<del v-if="p.type === 'del'" data-testid="diff-del">{{ p.text }}</del><ins v-else-if="p.type === 'ins'" data-testid="diff-ins">{{ p.text }}</ins><span v-else>{{ p.text }}</span></template></span>
                <span class="text" v-else>{{ row.corrected ?? row.original }}</span>
              </button>
            </li>
          </ol>
        </template>
      </section>

      </div>
      <div class="rec-side">
        <section class="card steps-card" aria-labelledby="steps-title">
          <h2 id="steps-title">Processing</h2>
          <ul class="step-list">
            <li v-for="s in STEPS" :key="s" :data-step="s" data-testid="step-row" :data-task-id="byType[s] ? byType[s].id : null">
              <div class="step-line">
                <strong>{{ stepLabel(s) }}</strong>
                <StatusBadge v-if="byType[s]" :status="byType[s].status" :cancel-requested="!!byType[s].cancel_requested" />
                <span v-else-if="steps[s]" class="badge" :class="'badge-' + steps[s]">{{ steps[s] }}</span>
                <span v-else class="muted small">not requested</span>
                <span v-if="byType[s] && byType[s].status === 'running'" class="small muted">{{ Math.round((byType[s].progress || 0) * 100) }}%</span>
                <button type="button" class="btn btn-small step-btn" :data-testid="'rerun-' + s"
                        :disabled="!!rerun.busy || !!(byType[s] && (byType[s].status === 'running' || byType[s].status === 'pending'))"
                        @click="rerunStep(s)">{{ steps[s] ? 'Re-run' : 'Run' }}<span class="visually-hidden"> {{ stepLabel(s).toLowerCase() }}</span></button>
              </div>
              <div class="small muted" data-testid="step-llm">
                <template v-if="s === 'transcription'">Whisper<template v-if="whisperModel"> · {{ whisperModel }}</template></template>
                <template v-else-if="stepLlm(s) !== null">Language model: {{ stepLlm(s) }}<template v-if="byType[s].result.method"> ({{ byType[s].result.method }})</template><template v-if="byType[s].result.template"> · template {{ byType[s].result.template }}</template></template>
                <template v-else-if="byType[s] && byType[s].status === 'completed'">Language model: not reported</template>
              </div>
              <div v-if="byType[s] && byType[s].error" class="error small">{{ byType[s].error.message }}</div>
            </li>
          </ul>
          <details class="rerun-options">
            <summary>Options for re-running</summary>
            <div class="field">
              <label for="rerun-template">Summary template</label>
              <input id="rerun-template" type="text" v-model="rerun.template" placeholder="server default" autocomplete="off">
            </div>
            <div class="field">
              <label for="rerun-glossary">Glossary (comma-separated)</label>
              <input id="rerun-glossary" type="text" v-model="rerun.glossary" autocomplete="off">
            </div>
          </details>
          <p v-if="rerun.error" class="error" role="alert" data-testid="rerun-error">{{ rerun.error }}</p>
          <p v-if="activeTasks.length" class="small muted"><a href="#/processing">See progress on the Processing page</a></p>
        </section>
      <section class="card" aria-labelledby="summary-title" data-testid="summary-section">
        <h2 id="summary-title">Summary</h2>
        <p v-if="summaryError" class="error" role="alert">{{ summaryError }}</p>
        <template v-if="summary">
          <p class="small muted" data-testid="summary-method">
            Made {{ summary.method === 'llm' ? 'by a language model' : (summary.method === 'extractive' ? 'extractively (sentences picked from the transcript, no language model)' : (summary.method || '')) }}<template v-if="summary.llm && describeLlm(summary.llm) !== 'none'"> · {{ describeLlm(summary.llm) }}</template>.
          </p>
          <div class="markdown" data-testid="summary" v-html="summaryHtml"></div>
        </template>
        <p v-else class="muted" data-testid="no-summary">No summary yet<template v-if="steps.summary"> (summary {{ steps.summary }})</template>.</p>
      </section>
      </div>
      </div>
    </template>
  </div>`,
};
