// Recording page: the recording's header and metadata, composed of the player, the transcript, the
// processing steps and the summary. The data comes from the composables (live through /events).

import { api, endpoints } from "../api.js";
import { usePlayback, useRecording, useSummary } from "../composables/index.js";
import { confirmAction, formatBytes, formatDateTime, formatDuration, fullDateTime, navigate, notify } from "../util.js";
import { RecordingAsk } from "./ask.js";
import { RecordingPlayer } from "./player.js";
import { RecordingSteps } from "./steps.js";
import { RecordingSummary } from "./summary.js";
import { RecordingTranscript } from "./transcript.js";

const { ref, computed, nextTick, onMounted } = Vue;

export const RecordingPage = {
  components: { RecordingAsk, RecordingPlayer, RecordingSteps, RecordingSummary, RecordingTranscript },
  props: { id: { type: String, required: true } },
  setup(props) {
    const recording = useRecording(props.id);
    const summary = useSummary(recording);
    const playback = usePlayback();
    const llmSettings = ref(null);
    const rec = computed(() => recording.rec);

    async function remove() {
      const name = recording.rec.name;
      const ok = await confirmAction({
        title: "Delete recording?",
        message: `Delete “${name}” with its transcript, summary and tasks? This cannot be undone.`,
        confirmLabel: "Delete recording",
        cancelLabel: "Keep",
      });
      if (!ok) return;
      try {
        await api(endpoints.recording(props.id), { method: "DELETE" });
        notify(`Deleted “${name}”.`);
        navigate("/recordings");
      } catch (err) {
        recording.loadError = err.message;
      }
    }

    onMounted(async () => {
      api(endpoints.llmSettings())
        .then((r) => (llmSettings.value = r))
        .catch(() => {});
      try {
        await recording.load();
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
    });

    return { recording, rec, summary, playback, llmSettings, remove, formatBytes, formatDateTime, formatDuration, fullDateTime };
  },
  template: `
  <div class="page page-recording" data-testid="page-recording">
    <p class="breadcrumb"><a href="#/recordings">← Recordings</a></p>
    <template v-if="recording.notFound">
      <h1 tabindex="-1">Recording not found</h1>
      <p>It may have been deleted. <a href="#/recordings">Back to the list</a>.</p>
    </template>
    <p v-else-if="recording.loadError && !recording.rec" class="error" role="alert">{{ recording.loadError }}</p>
    <p v-else-if="!recording.rec" class="muted">Loading…</p>
    <template v-else>
      <div class="page-head">
        <h1 tabindex="-1" class="rec-title" data-testid="recording-name">{{ recording.rec.name }}</h1>
        <button type="button" class="btn btn-danger-outline btn-small" @click="remove" data-testid="recording-delete">Delete recording</button>
      </div>
      <p v-if="recording.loadError" class="error" role="alert">{{ recording.loadError }}</p>
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
          <RecordingPlayer :recording="recording" :playback="playback" />
          <RecordingTranscript :recording="recording" :playback="playback" :has-summary="summary.exists" />
        </div>
        <div class="rec-side">
          <RecordingSteps :recording="recording" />
          <RecordingSummary :recording="recording" :summary="summary" :playback="playback" />
          <RecordingAsk :recording="recording" :playback="playback" />
        </div>
      </div>
    </template>
  </div>`,
};
