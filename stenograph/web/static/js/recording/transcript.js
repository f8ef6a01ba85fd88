// The transcript card: version switch, exports, speaker names, the segments (seek on click or Enter,
// highlighted while playing, edited in place; the word being played highlighted, a click on a word seeks
// to it) and the comparison with the original. In the desktop window the transcript exports open the native
// save dialog (desktop.js) instead of being downloads.

import { endpoints } from "../endpoints.js";
import { segmentAt, timedTokens, useTranscript, wordAt } from "../composables/index.js";
import { desktop, saveExport } from "../desktop.js";
import { formatDateTime, formatDuration, formatTimestamp, notify } from "../util.js";
import { TranscriptDiff } from "./diff.js";
import { SpeakerNames } from "./speakers.js";

const { ref, reactive, computed, watch, nextTick } = Vue;

const EXPORTS = ["txt", "srt", "vtt", "json"];

export const RecordingTranscript = {
  components: { SpeakerNames, TranscriptDiff },
  props: {
    recording: { type: Object, required: true },
    playback: { type: Object, required: true },
    hasSummary: Boolean,
  },
  setup(props) {
    const tr = useTranscript(props.recording);
    const list = ref(null);
    const speakersOpen = ref(false);
    const editing = reactive({ index: null, draft: "", saving: false, error: "" });
    const activeIndex = computed(() =>
      props.playback.time === null ? -1 : segmentAt(tr.segments, props.playback.time),
    );
    // Each segment's text tokens with times (its words re-aligned to an edited or corrected text).
    const tokens = computed(() => tr.segments.map(timedTokens));
    const activeWord = computed(() => {
      const i = activeIndex.value;
      return i < 0 || !tokens.value[i] ? -1 : wordAt(tokens.value[i], props.playback.time);
    });
    const id = props.recording.id;
    const baseName = computed(() => (props.recording.rec.name || "recording").replace(/\.[^.]+$/, ""));
    const exports = computed(() =>
      EXPORTS.map((format) => ({
        format,
        href: endpoints.recordingTranscript(id, { format, version: "latest", download: true }),
        file: `${baseName.value}.${format}`,
      })),
    );
    const summaryHref = endpoints.recordingSummary(id, { download: true });
    // The native save dialog: where the export was written, or why not (a cancel shows nothing).
    const saved = reactive({ path: "", error: "", busy: false });
    async function saveNative(format) {
      Object.assign(saved, { path: "", error: "", busy: true });
      try {
        saved.path = (await saveExport(id, format)) || "";
      } catch (err) {
        saved.error = err.message;
      } finally {
        saved.busy = false;
      }
    }

    watch(activeIndex, async (idx) => {
      if (idx < 0 || !props.playback.playing() || editing.index !== null) return;
      await nextTick();
      const node = list.value && list.value.querySelector('[data-active="true"]');
      if (node) node.scrollIntoView({ block: "nearest", behavior: "smooth" });
    });

    function startEdit(seg) {
      Object.assign(editing, { index: seg.index, draft: seg.text, error: "" });
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
        await tr.saveSegment(seg.index, editing.draft);
        notify("Segment saved as a new transcript version.");
        cancelEdit();
      } catch (err) {
        editing.error = err.message;
      } finally {
        editing.saving = false;
      }
    }

    async function moveSegment(seg, speaker) {
      if (!speaker || speaker === tr.labelOf(seg)) return;
      try {
        await tr.moveSegment(seg.index, speaker);
        notify(`Segment at ${formatTimestamp(seg.start)} moved to ${tr.speakerNames[speaker] || speaker}: a new transcript version.`);
      } catch (err) {
        notify(err.message, "error");
      }
    }

    return {
      tr, list, speakersOpen, editing, activeIndex, activeWord, tokens, exports, baseName, summaryHref, desktop, saved, saveNative,
      startEdit, cancelEdit, saveEdit, moveSegment, formatDateTime, formatDuration, formatTimestamp,
    };
  },
  template: `
  <section class="card" aria-labelledby="transcript-title" data-testid="transcript">
    <div class="section-head">
      <h2 id="transcript-title">Transcript</h2>
      <div class="view-switch" role="group" aria-label="Transcript version" v-if="tr.hasTranscript">
        <button type="button" class="btn btn-small" :aria-pressed="tr.view === 'latest'" @click="tr.view = 'latest'" data-testid="view-latest">Latest</button>
        <button type="button" class="btn btn-small" :aria-pressed="tr.view === 'original'" @click="tr.view = 'original'" data-testid="view-original">Original</button>
        <button v-if="tr.hasTranslation" type="button" class="btn btn-small" :aria-pressed="tr.view === 'translation'" @click="tr.view = 'translation'" data-testid="view-translation">Translation</button>
        <button v-if="tr.hasCorrected" type="button" class="btn btn-small" :aria-pressed="tr.view === 'corrected'" @click="tr.view = 'corrected'" data-testid="view-corrected">Corrected</button>
        <button v-if="tr.hasCorrected || tr.versions.length > 1" type="button" class="btn btn-small" :aria-pressed="tr.view === 'compare'" @click="tr.view = 'compare'" data-testid="view-compare"
                title="Original against the latest version">Compare</button>
      </div>
    </div>
    <p v-if="tr.error" class="error" role="alert">{{ tr.error }}</p>
    <p v-if="!tr.hasTranscript" class="muted" data-testid="no-transcript">
      No transcript yet<template v-if="recording.steps.transcription"> (transcription {{ recording.steps.transcription }})</template>.
    </p>

    <template v-if="tr.hasTranscript">
      <div class="transcript-tools">
        <div class="exports" role="group" aria-label="Export">
          <span class="small muted">Export:</span>
          <template v-if="desktop.available">
            <button v-for="e in exports" :key="e.format" type="button" class="btn btn-small" :disabled="saved.busy"
                    :data-testid="'export-' + e.format" :aria-label="'Save the transcript as ' + e.format.toUpperCase() + '…'"
                    @click="saveNative(e.format)">{{ e.format.toUpperCase() }}…</button>
          </template>
          <template v-else>
            <a v-for="e in exports" :key="e.format" class="btn btn-small" :href="e.href" :download="e.file" :data-testid="'export-' + e.format">{{ e.format.toUpperCase() }}</a>
          </template>
          <a v-if="hasSummary" class="btn btn-small" :href="summaryHref" :download="baseName + '-summary.md'" data-testid="export-summary">Summary .md</a>
        </div>
        <button v-if="tr.labels.length" type="button" class="btn btn-small" :aria-expanded="speakersOpen"
                aria-controls="speakers-form" @click="speakersOpen = !speakersOpen" data-testid="speakers-toggle">Name speakers</button>
      </div>
      <p v-if="saved.path" class="small" role="status" data-testid="export-saved">Saved to <code>{{ saved.path }}</code></p>
      <p v-if="saved.error" class="error" role="alert" data-testid="export-error">{{ saved.error }}</p>
      <SpeakerNames v-if="speakersOpen" :transcript="tr" @close="speakersOpen = false" />
      <div v-if="tr.speakers.length > 1" class="field speaker-filter">
        <label for="speaker-filter" class="small">Show speaker</label>
        <select id="speaker-filter" v-model="tr.filter" data-testid="speaker-filter">
          <option value="">Everyone</option>
          <option v-for="l in tr.speakers" :key="l" :value="l">{{ tr.speakerNames[l] || l }} ({{ formatDuration(tr.talk[l] || 0) }})</option>
        </select>
      </div>
    </template>

    <template v-if="tr.hasTranscript && tr.view !== 'compare' && tr.transcript">
      <p class="muted small" data-testid="transcript-version">
        <template v-if="tr.transcript.version">Version {{ tr.transcript.version.number }} · {{ tr.transcript.version.kind }} · <time :datetime="tr.transcript.version.created_at">{{ formatDateTime(tr.transcript.version.created_at) }}</time></template>
        <template v-if="tr.transcript.language"> · language {{ tr.transcript.language }}</template>
        <template v-if="tr.versions.length > 1"> · {{ tr.versions.length }} versions</template>
      </p>

      <ol class="segments" ref="list" data-testid="segments">
        <li v-for="(seg, i) in tr.segments" :key="seg.index" class="segment-row"
            :class="{ active: i === activeIndex }" :data-active="i === activeIndex ? 'true' : 'false'">
          <form v-if="editing.index === seg.index" class="segment-edit" @submit.prevent="saveEdit(seg)" @keydown.esc.prevent="cancelEdit">
            <label :for="'edit-' + seg.index" class="small muted">Edit segment at {{ formatTimestamp(seg.start) }}</label>
            <textarea :id="'edit-' + seg.index" v-model="editing.draft" rows="3" data-testid="segment-editor"
                      @keydown.ctrl.enter.prevent="saveEdit(seg)"></textarea>
            <p v-if="editing.error" class="error" role="alert">{{ editing.error }}</p>
            <div class="button-row">
              <button type="submit" class="btn btn-primary btn-small" :disabled="editing.saving" data-testid="segment-save">Save</button>
              <button type="button" class="btn btn-small" @click="cancelEdit" data-testid="segment-cancel">Cancel</button>
            </div>
          </form>
          <template v-else>
            <button type="button" class="segment" data-testid="segment" :data-index="seg.index" :data-start="seg.start"
                    :aria-current="i === activeIndex ? 'true' : null" @click="playback.seek(seg.start)"
                    :aria-label="'Play from ' + formatTimestamp(seg.start) + (tr.speakerOf(seg) ? ', ' + tr.speakerOf(seg) : '') + ': ' + seg.text">
              <span class="ts" aria-hidden="true">{{ formatTimestamp(seg.start) }}</span>
              <span v-if="tr.speakerOf(seg)" class="speaker" :class="tr.colourOf(seg)" aria-hidden="true" data-testid="segment-speaker">{{ tr.speakerOf(seg) }}<span v-if="seg.overlap" class="overlap-mark" title="Another speaker talks at the same time"> (overlap)</span></span>
              <span class="text" data-testid="segment-text" aria-hidden="true"><template v-for="(w, k) in tokens[i]" :key="k">{{ w.space }}<span
                    class="word" :class="{ 'word-active': i === activeIndex && k === activeWord }" data-testid="word"
                    :data-start="w.start" :data-active="i === activeIndex && k === activeWord ? 'true' : null"
                    @click.stop="playback.seek(w.start)">{{ w.word }}</span></template></span>
            </button>
            <button v-if="tr.view === 'latest'" type="button" class="btn btn-small btn-ghost edit-btn" data-testid="edit-btn" :data-index="seg.index"
                    :aria-label="'Edit segment at ' + formatTimestamp(seg.start)" @click="startEdit(seg)">Edit</button>
            <select v-if="tr.view === 'latest' && tr.diarized && tr.speakers.length > 1" class="segment-speaker-select"
                    :value="tr.labelOf(seg)" @change="moveSegment(seg, $event.target.value)" data-testid="segment-move" :data-index="seg.index"
                    :aria-label="'Speaker of the segment at ' + formatTimestamp(seg.start)">
              <option v-for="l in tr.speakers" :key="l" :value="l">{{ tr.speakerNames[l] || l }}</option>
            </select>
          </template>
        </li>
      </ol>
      <p v-if="!tr.segments.length" class="muted">The transcript is empty (no speech found).</p>
    </template>

    <TranscriptDiff v-if="tr.hasTranscript && tr.view === 'compare'" :transcript="tr" :playback="playback" />
  </section>`,
};
