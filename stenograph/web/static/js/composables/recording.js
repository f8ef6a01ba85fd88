// One recording's data for the recording page: the recording with its tasks (live), its transcript
// (versions, diff, edits, speaker names) and its summary. Each returns a reactive object, so that
// components read `recording.rec`, `transcript.segments`... without `.value`.

import { api, endpoints } from "../api.js";
import { renderMarkdown, speakerClass, talkTimes } from "../util.js";
import { useLiveTasks } from "./live-tasks.js";

const { ref, reactive, computed, watch } = Vue;

/** The newest task of each type: {transcription: task, ...}. */
export function latestTasksByType(tasks) {
  const out = {};
  for (const t of tasks || []) {
    const cur = out[t.type];
    if (!cur || (t.created_at || "") > (cur.created_at || "")) out[t.type] = t;
  }
  return out;
}

/** Whether a task is still queued or running: the page shows its progress (presentation only). */
export function inProgress(task) {
  return !!task && (task.status === "pending" || task.status === "running");
}

/** Runs fn once the recording has loaded (at once when it has). */
function onceLoaded(recording, fn) {
  if (recording.rec) {
    fn();
    return;
  }
  const stop = watch(
    () => recording.rec,
    (r) => {
      if (!r) return;
      stop();
      fn();
    },
  );
}

function asList(res) {
  if (Array.isArray(res)) return res;
  if (res && Array.isArray(res.data)) return res.data;
  if (res && Array.isArray(res.versions)) return res.versions;
  return [];
}

/**
 * The recording and its tasks, kept current by the live task stream (polling while it is down and a
 * task is in progress). `completed[type]` counts the completions seen since loading: components
 * watch it to reload what that step produced.
 */
export function useRecording(id) {
  const rec = ref(null);
  const notFound = ref(false);
  const loadError = ref("");
  const completed = reactive({});
  const steps = computed(() => (rec.value && rec.value.steps) || {});
  const byType = computed(() => latestTasksByType(rec.value && rec.value.tasks));
  const activeTasks = computed(() => ((rec.value && rec.value.tasks) || []).filter(inProgress));

  function bump(type) {
    completed[type] = (completed[type] || 0) + 1;
  }

  async function load() {
    try {
      const res = await api(endpoints.recording(id));
      rec.value = res && res.data && res.data.id ? res.data : res;
      loadError.value = "";
    } catch (err) {
      if (err.status === 404) notFound.value = true;
      else loadError.value = err.message;
      throw err;
    }
  }

  /** Load again; the steps that became completed meanwhile count as completions. */
  async function refresh() {
    const before = { ...steps.value };
    await load();
    for (const [type, status] of Object.entries(steps.value)) {
      if (status === "completed" && before[type] !== "completed") bump(type);
    }
  }

  /** A task of this recording changed (from the stream, or the answer to a request). */
  function applyTask(task) {
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
      bump(task.type);
      load().catch(() => {});
    }
  }

  const { live } = useLiveTasks({
    onTask: applyTask,
    refresh: () => (rec.value ? refresh() : null),
    when: () => activeTasks.value.length > 0,
    refreshOnStart: false,
  });

  return reactive({ id, rec, notFound, loadError, completed, steps, byType, activeTasks, live, load, applyTask });
}

/** The transcript shown in one of the views latest | original | corrected | compare. */
export function useTranscript(recording) {
  const id = recording.id;
  const transcript = ref(null);
  const error = ref("");
  const versions = ref([]);
  const view = ref("latest");
  const diff = ref(null);
  const speakerNames = reactive({});

  const steps = computed(() => recording.steps);
  const hasTranscript = computed(() => steps.value.transcription === "completed" || !!transcript.value);
  const hasCorrected = computed(
    () =>
      steps.value.correction === "completed" ||
      versions.value.some((v) => v.kind === "corrected") ||
      !!(transcript.value && transcript.value.version && transcript.value.version.kind === "corrected"),
  );
  const hasTranslation = computed(() => versions.value.some((v) => v.kind === "translation"));
  const allSegments = computed(() => (transcript.value && transcript.value.segments) || []);
  const filter = ref(""); // a speaker label: only its segments are shown
  const has = (k) => k !== null && k !== undefined && k !== "";
  /** The label a segment is grouped by: its diarized label, else its channel, else its speaker. */
  function labelOf(seg) {
    if (has(seg.speaker_label)) return String(seg.speaker_label);
    if (has(seg.channel)) return String(seg.channel);
    return has(seg.speaker) ? String(seg.speaker) : "";
  }
  const segments = computed(() =>
    filter.value ? allSegments.value.filter((seg) => labelOf(seg) === filter.value) : allSegments.value,
  );
  const labels = computed(() => {
    const s = new Set();
    for (const seg of allSegments.value) if (labelOf(seg)) s.add(labelOf(seg));
    for (const k of Object.keys(speakerNames)) if (!/^Speaker \d+$/.test(k) || s.has(k)) s.add(k);
    return [...s];
  });
  /** Labels of diarized speakers (and channels) present in this version, in order of first appearance. */
  const speakers = computed(() => {
    const s = new Set();
    for (const seg of allSegments.value) if (labelOf(seg)) s.add(labelOf(seg));
    return [...s];
  });
  const diarized = computed(() => allSegments.value.some((seg) => has(seg.speaker_label)));
  /** Speakers named from a voice profile: {label: {profile_id, name, confidence}} (docs/speaker-profiles.md). */
  const profileMatches = computed(() => {
    const info = transcript.value && transcript.value.version && transcript.value.version.info;
    return (info && info.profiles) || {};
  });
  const talk = computed(() => talkTimes(allSegments.value, labelOf));
  function colourOf(seg) {
    return speakerClass(speakers.value.indexOf(labelOf(seg)));
  }

  function applyNames(obj) {
    const names = obj && (obj.speaker_names || obj.speakers || obj.names);
    if (names && typeof names === "object" && !Array.isArray(names)) {
      for (const [k, v] of Object.entries(names)) if (typeof v === "string") speakerNames[k] = v;
    }
  }

  function speakerOf(seg) {
    if (has(seg.speaker_label)) return speakerNames[String(seg.speaker_label)] || String(seg.speaker_label);
    if (has(seg.channel) && speakerNames[String(seg.channel)]) return speakerNames[String(seg.channel)];
    if (has(seg.speaker)) return speakerNames[String(seg.speaker)] || String(seg.speaker);
    return has(seg.channel) ? String(seg.channel) : "";
  }

  async function loadTranscript() {
    const version = view.value === "compare" ? "latest" : view.value;
    try {
      const res = await api(endpoints.recordingTranscript(id, { format: "json", version }));
      transcript.value = res;
      applyNames(res);
      error.value = "";
    } catch (err) {
      error.value = err.status === 404 ? "" : err.message;
      if (err.status === 404) transcript.value = null;
    }
  }

  async function loadVersions() {
    try {
      versions.value = asList(await api(endpoints.recordingVersions(id)));
    } catch {
      versions.value = [];
    }
  }

  async function loadDiff() {
    try {
      diff.value = await api(endpoints.recordingDiff(id));
      error.value = "";
    } catch (err) {
      diff.value = null;
      error.value = err.message;
    }
  }

  const loadView = () => (view.value === "compare" ? loadDiff() : loadTranscript());

  /** Save one segment's text (a new version); the view goes back to the latest. */
  async function saveSegment(index, text) {
    const res = await api(endpoints.recordingSegment(id, index), { method: "PATCH", body: { text } });
    if (view.value !== "latest") view.value = "latest"; // the watcher loads it
    else if (res && res.segments) transcript.value = res;
    else await loadTranscript();
    loadVersions();
  }

  async function applyEdit(res) {
    if (view.value !== "latest") view.value = "latest"; // the watcher loads it
    else if (res && res.segments) transcript.value = res;
    else await loadTranscript();
    loadVersions();
  }

  /** Merge speaker `source` into `into` (a new version, timestamps kept). */
  async function mergeSpeakers(source, into) {
    const res = await api(endpoints.recordingSpeakerMerge(id), { method: "POST", body: { source, into } });
    if (filter.value === source) filter.value = into;
    await applyEdit(res);
  }

  /** Give one segment another speaker (a new version). */
  async function moveSegment(index, speaker) {
    await applyEdit(await api(endpoints.recordingSegmentSpeaker(id, index), { method: "PUT", body: { speaker } }));
  }

  async function saveSpeakers() {
    // The PUT replaces the whole map: send every name, also of labels this version does not show.
    const names = {};
    for (const k of new Set([...Object.keys(speakerNames), ...labels.value])) {
      if ((speakerNames[k] || "").trim()) names[k] = speakerNames[k].trim();
    }
    const res = await api(endpoints.recordingSpeakers(id), { method: "PUT", body: { names } });
    applyNames(res);
    await loadTranscript();
  }

  watch(view, loadView);
  watch(() => recording.rec && recording.rec.speakers, () => applyNames(recording.rec), { immediate: true });
  watch(
    () => [recording.completed.transcription, recording.completed.speakers, recording.completed.correction],
    () => {
      loadVersions();
      loadView();
    },
  );
  onceLoaded(recording, () => {
    if (steps.value.transcription !== "completed") return;
    loadTranscript();
    loadVersions();
  });

  return reactive({
    transcript, error, versions, view, diff, speakerNames, hasTranscript, hasCorrected, hasTranslation, segments,
    labels, speakerOf, loadTranscript, loadVersions, loadDiff, saveSegment, saveSpeakers,
    allSegments, filter, labelOf, speakers, diarized, talk, colourOf, mergeSpeakers, moveSegment, profileMatches,
  });
}

/** The recording's summary (Markdown rendered and sanitised), reloaded when a summary task completes. */
export function useSummary(recording) {
  const summary = ref(null);
  const error = ref("");
  const html = computed(() => (summary.value ? renderMarkdown(summary.value.markdown || "") : ""));
  const exists = computed(() => recording.steps.summary === "completed" || !!summary.value);

  async function load() {
    try {
      const res = await api(endpoints.recordingSummary(recording.id, { format: "json" }));
      summary.value = typeof res === "string" ? { markdown: res } : res;
      error.value = "";
    } catch (err) {
      summary.value = null;
      error.value = err.status === 404 ? "" : err.message;
    }
  }

  watch(() => recording.completed.summary, load);
  onceLoaded(recording, () => recording.steps.summary === "completed" && load());
  return reactive({ summary, error, html, exists, load });
}
