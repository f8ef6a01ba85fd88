// Upload page: files by drag and drop or picker, one XMLHttpRequest per file
// with its own progress bar; options for the processing steps; recording from
// the microphone (MediaRecorder, audio/webm) sent like an upload. Files dropped anywhere on the window
// come here too (window-drop.js); in the desktop window "Choose files…" opens the native dialog (desktop.js).

import { api, endpoints, uploadRecording } from "./api.js";
import { ProgressBar } from "./components.js";
import { chooseAndUpload, desktop } from "./desktop.js";
import { formatBytes, formatDuration, navigate, STEPS, stepLabel } from "./util.js";
import { receiveDroppedFiles } from "./window-drop.js";

const { ref, reactive, computed, onMounted, onBeforeUnmount } = Vue;

const LANGUAGES = [
  ["", "Detect automatically"],
  ["en", "English"],
  ["de", "German"],
  ["es", "Spanish"],
  ["fr", "French"],
  ["it", "Italian"],
  ["nl", "Dutch"],
  ["pt", "Portuguese"],
  ["ru", "Russian"],
  ["zh", "Chinese"],
  ["ja", "Japanese"],
];

let nextId = 1;

export const UploadPage = {
  components: { ProgressBar },
  setup() {
    const options = reactive({
      steps: { transcription: true, diarization: true, correction: true, summary: true },
      numSpeakers: "",
      language: "",
      model: "",
      glossary: "",
      template: "",
      channels: "auto",
      task: "transcribe",
    });
    const items = ref([]); // {id, name, size, progress, state: queued|uploading|done|error, error, recordings}
    const dragging = ref(false);
    const fileInput = ref(null);
    const llm = ref(null);
    let queue = Promise.resolve();

    // The speaker assignment step goes with the diarization (one box: "Speakers").
    const stepsValue = computed(() =>
      STEPS.filter((s) => (s === "speakers" ? options.steps.diarization : options.steps[s])).join(","),
    );

    function fields() {
      const f = { steps: stepsValue.value, channels: options.channels };
      if (options.language) f.language = options.language;
      if (options.model.trim()) f.model = options.model.trim();
      if (options.task === "translate") f.task = "translate";
      const glossary = options.glossary
        .split(/[,\n]/)
        .map((s) => s.trim())
        .filter(Boolean)
        .join(",");
      if (glossary) f.glossary = glossary;
      if (options.template.trim()) f.template = options.template.trim();
      if (options.steps.diarization && String(options.numSpeakers).trim()) f.num_speakers = String(options.numSpeakers).trim();
      return f;
    }

    function enqueue(file, name, extra) {
      const item = reactive({
        id: nextId++,
        name: name || (file && file.name) || "recording",
        size: file ? file.size : 0,
        progress: 0,
        state: "queued",
        error: "",
        recordings: [],
        abort: null,
      });
      items.value.unshift(item);
      const snapshotFields = { ...fields(), ...(extra || {}) };
      queue = queue.then(async () => {
        if (item.state !== "queued") return;
        item.state = "uploading";
        const up = uploadRecording(file, snapshotFields, (p) => (item.progress = p), file ? name : undefined);
        item.abort = up.abort;
        try {
          item.recordings = await up.promise;
          item.state = "done";
          item.progress = 1;
        } catch (err) {
          item.state = "error";
          item.error = err.message;
        } finally {
          item.abort = null;
        }
      });
    }

    // An import from a URL (docs/url-import.md): sent like an upload, with a url field and no file.
    const importUrl = ref("");
    function importFromUrl() {
      const url = importUrl.value.trim();
      if (!url) return;
      enqueue(null, url, { url });
      importUrl.value = "";
    }

    function addFiles(fileList) {
      for (const f of Array.from(fileList || [])) enqueue(f);
    }

    function onPick(ev) {
      addFiles(ev.target.files);
      ev.target.value = "";
    }

    // The desktop window's native dialog: the bridge uploads the chosen files itself (no progress to show),
    // then the page opens the new recording (one file) or the Processing page (several).
    const native = reactive({ busy: false });
    async function chooseNative() {
      if (native.busy) return;
      native.busy = true;
      try {
        const ids = await chooseAndUpload(fields());
        if (ids.length === 1) navigate(`/recordings/${encodeURIComponent(ids[0])}`);
        else if (ids.length > 1) navigate("/processing");
      } catch (err) {
        const item = reactive({ id: nextId++, name: "The chosen files", size: null, progress: 0, state: "error" });
        Object.assign(item, { error: err.message, recordings: [], abort: null });
        items.value.unshift(item);
      } finally {
        native.busy = false;
      }
    }
    function cancelItem(item) {
      if (item.abort) item.abort();
      else if (item.state === "queued") {
        item.state = "error";
        item.error = "Upload cancelled.";
      }
    }
    function clearFinished() {
      items.value = items.value.filter((i) => i.state === "queued" || i.state === "uploading");
    }

    // ---- microphone -------------------------------------------------------
    const mic = reactive({
      supported: false,
      available: null, // null: unknown until checked
      state: "idle", // idle | starting | recording
      error: "",
      elapsed: 0,
    });
    let recorder = null;
    let chunks = [];
    let micStream = null;
    let tick = null;
    let startedAt = 0;
    let discard = false;

    function pickMime() {
      const types = ["audio/webm;codecs=opus", "audio/webm", "audio/ogg;codecs=opus", "audio/mp4"];
      for (const t of types) if (window.MediaRecorder && MediaRecorder.isTypeSupported(t)) return t;
      return "";
    }

    async function checkMic() {
      mic.supported = !!(navigator.mediaDevices && navigator.mediaDevices.getUserMedia && window.MediaRecorder);
      if (!mic.supported) {
        mic.available = false;
        return;
      }
      try {
        const devices = await navigator.mediaDevices.enumerateDevices();
        mic.available = devices.some((d) => d.kind === "audioinput");
      } catch {
        mic.available = false;
      }
    }

    async function startRecording() {
      mic.error = "";
      mic.state = "starting";
      try {
        micStream = await navigator.mediaDevices.getUserMedia({ audio: true });
      } catch (err) {
        mic.state = "idle";
        mic.error =
          err && err.name === "NotAllowedError"
            ? "Microphone access was refused."
            : "No microphone could be opened.";
        return;
      }
      const mimeType = pickMime();
      chunks = [];
      try {
        recorder = new MediaRecorder(micStream, mimeType ? { mimeType } : undefined);
      } catch {
        stopTracks();
        mic.state = "idle";
        mic.error = "This browser cannot record audio.";
        return;
      }
      recorder.addEventListener("dataavailable", (ev) => {
        if (ev.data && ev.data.size) chunks.push(ev.data);
      });
      recorder.addEventListener("stop", () => {
        const type = (recorder && recorder.mimeType) || mimeType || "audio/webm";
        const blob = new Blob(chunks, { type });
        chunks = [];
        stopTracks();
        mic.state = "idle";
        clearInterval(tick);
        if (discard) return;
        if (blob.size) {
          const ext = type.includes("ogg") ? "ogg" : type.includes("mp4") ? "m4a" : "webm";
          const stamp = new Date().toISOString().replace(/[:]/g, "-").replace(/\..*$/, "");
          enqueue(blob, `microphone-${stamp}.${ext}`);
        } else {
          mic.error = "Nothing was recorded.";
        }
      });
      recorder.start(1000);
      startedAt = Date.now();
      mic.elapsed = 0;
      tick = setInterval(() => (mic.elapsed = (Date.now() - startedAt) / 1000), 500);
      mic.state = "recording";
    }

    function stopRecording() {
      if (recorder && recorder.state !== "inactive") recorder.stop();
    }
    function stopTracks() {
      if (micStream) for (const t of micStream.getTracks()) t.stop();
      micStream = null;
    }

    const stopReceiving = receiveDroppedFiles(addFiles); // the drop itself is handled on the window
    onMounted(async () => {
      checkMic();
      try {
        llm.value = await api(endpoints.llmSettings());
      } catch {
        llm.value = null;
      }
    });
    onBeforeUnmount(() => {
      stopReceiving();
      clearInterval(tick);
      if (recorder && recorder.state !== "inactive") {
        discard = true;
        try {
          recorder.stop();
        } catch {
          /* already stopped */
        }
      }
      stopTracks();
    });

    return {
      options,
      items,
      dragging,
      fileInput,
      llm,
      mic,
      LANGUAGES,
      STEPS,
      stepLabel,
      onPick,
      desktop,
      native,
      chooseNative,
      importUrl,
      importFromUrl,
      cancelItem,
      clearFinished,
      startRecording,
      stopRecording,
      formatBytes,
      formatDuration,
    };
  },
  template: `
  <div class="page page-upload" data-testid="page-upload">
    <h1 tabindex="-1">Upload</h1>

    <section class="card" aria-labelledby="files-title">
      <h2 id="files-title">Audio or video files</h2>
      <div class="dropzone" :class="{ dragging }" data-testid="dropzone"
           @dragenter.prevent="dragging = true" @dragover.prevent="dragging = true"
           @dragleave.prevent="dragging = false" @drop="dragging = false">
        <p>Drop files here (or anywhere on the window), or</p>
        <template v-if="desktop.available">
          <button type="button" class="btn btn-primary file-label" data-testid="upload-native" :disabled="native.busy"
                  aria-describedby="upload-hint" @click="chooseNative">{{ native.busy ? 'Uploading…' : 'Choose files…' }}</button>
          <p v-if="native.busy" class="small" role="status" data-testid="upload-native-busy">Uploading the files chosen in the dialog…</p>
        </template>
        <template v-else>
          <label for="upload-input" class="btn btn-primary file-label">Choose files…</label>
          <input id="upload-input" ref="fileInput" class="file-input" type="file" multiple
                 accept="audio/*,video/*,.wav,.mp3,.m4a,.flac,.ogg,.opus,.webm,.mp4,.mkv,.mov"
                 data-testid="upload-input" @change="onPick"
                 aria-describedby="upload-hint">
        </template>
        <p id="upload-hint" class="muted small">Each file is uploaded separately and processed with the options below.</p>
      </div>
      <form class="url-import" data-testid="url-import" @submit.prevent="importFromUrl">
        <label for="import-url">Or import from a URL (a page with a video or audio, or a media link)</label>
        <input id="import-url" type="url" v-model="importUrl" placeholder="https://…" autocomplete="off"
               data-testid="import-url">
        <button type="submit" class="btn" data-testid="import-url-submit" :disabled="!importUrl.trim()">Import</button>
      </form>

      <ul class="uploads" v-if="items.length" data-testid="uploads" aria-live="polite">
        <li v-for="it in items" :key="it.id" class="upload-item" data-testid="upload-item" :data-state="it.state">
          <div class="upload-head">
            <span class="upload-name">{{ it.name }}</span>
            <span class="muted small">{{ formatBytes(it.size) }}</span>
            <span class="badge" :class="'badge-' + ({done: 'completed', error: 'failed', uploading: 'running', queued: 'pending'}[it.state])">{{ it.state }}</span>
          </div>
          <ProgressBar :value="it.progress" :status="it.state === 'error' ? 'failed' : (it.state === 'done' ? 'completed' : 'running')"
                       :label="'Upload of ' + it.name" testid="upload-progress" />
          <p v-if="it.state === 'error'" class="error" role="alert" data-testid="upload-error">{{ it.error }}</p>
          <p v-if="it.state === 'done'" class="small" data-testid="upload-done">
            Uploaded.
            <template v-for="(r, i) in it.recordings" :key="r.id">
              <a :href="'#/recordings/' + encodeURIComponent(r.id)" data-testid="upload-recording-link">Open “{{ r.name }}”</a>
              <span v-if="r.duration_s"> ({{ formatDuration(r.duration_s) }})</span><span v-if="i < it.recordings.length - 1">, </span>
            </template>
            · <a href="#/processing" data-testid="upload-processing-link">Follow processing</a>
          </p>
          <button v-if="it.state === 'queued' || it.state === 'uploading'" type="button" class="btn btn-small"
                  @click="cancelItem(it)">Cancel upload</button>
        </li>
      </ul>
      <button v-if="items.some(i => i.state === 'done' || i.state === 'error')" type="button" class="btn btn-small"
              @click="clearFinished">Clear finished</button>
    </section>

    <section class="card" aria-labelledby="mic-title" data-testid="mic">
      <h2 id="mic-title">Record from the microphone</h2>
      <p v-if="mic.available === false" class="muted" data-testid="mic-unavailable">
        {{ mic.supported ? 'No microphone was found.' : 'This browser cannot record audio here (a secure context, HTTPS or localhost, is needed).' }}
      </p>
      <div v-else class="button-row">
        <button v-if="mic.state !== 'recording'" type="button" class="btn" data-testid="mic-start"
                :disabled="mic.available !== true || mic.state === 'starting'" @click="startRecording">Start recording</button>
        <button v-else type="button" class="btn btn-danger" data-testid="mic-stop" @click="stopRecording">Stop and upload</button>
        <span v-if="mic.state === 'recording'" class="recording-indicator" role="status">
          <span class="dot dot-rec" aria-hidden="true"></span> Recording… {{ formatDuration(mic.elapsed) }}
        </span>
      </div>
      <p v-if="mic.error" class="error" role="alert">{{ mic.error }}</p>
    </section>

    <section class="card" aria-labelledby="options-title">
      <h2 id="options-title">Options</h2>
      <fieldset class="field">
        <legend>Steps</legend>
        <div class="checks">
          <span v-for="s in STEPS.filter((x) => x !== 'speakers')" :key="s" class="check">
            <input :id="'step-' + s" type="checkbox" v-model="options.steps[s]" :data-testid="'step-' + s"
                   :disabled="s === 'transcription'" :aria-describedby="s === 'transcription' ? 'steps-hint' : null">
            <label :for="'step-' + s">{{ stepLabel(s) }}</label>
          </span>
        </div>
        <p id="steps-hint" class="muted small">Transcription always runs: correction and summary work on the transcript.</p>
        <p v-if="llm && llm.warning" class="warning small" data-testid="llm-warning">{{ llm.warning }}</p>
        <p v-else-if="llm" class="muted small" data-testid="llm-info">
          Correction and summary use {{ llm.kind === 'none' || !llm.kind ? 'no language model (extractive methods)' : (llm.kind + (llm.model ? ' · ' + llm.model : '') + (llm.local ? ', local' : ', remote')) }}.
          <template v-if="(llm.kind === 'none' || !llm.kind) && llm.reason"><br>Why: {{ llm.reason }}.</template>
        </p>
      </fieldset>
      <div class="grid-2">
        <div class="field">
          <label for="opt-language">Language</label>
          <select id="opt-language" v-model="options.language" data-testid="opt-language">
            <option v-for="[code, name] in LANGUAGES" :key="code" :value="code">{{ name }}{{ code ? ' (' + code + ')' : '' }}</option>
          </select>
        </div>
        <div class="field">
          <label for="opt-model">Model</label>
          <input id="opt-model" type="text" v-model="options.model" placeholder="server default" list="model-list"
                 autocomplete="off" data-testid="opt-model">
          <datalist id="model-list">
            <option value="tiny.en"></option>
            <option value="base"></option>
          </datalist>
        </div>
        <div class="field">
          <label for="opt-task">Task</label>
          <select id="opt-task" v-model="options.task" data-testid="opt-task" aria-describedby="task-hint">
            <option value="transcribe">Transcribe</option>
            <option value="translate">Translate to English</option>
          </select>
          <p id="task-hint" class="muted small">Whisper's own translation, kept as its own version; needs a multilingual model.</p>
        </div>
        <div class="field">
          <label for="opt-channels">Channels</label>
          <select id="opt-channels" v-model="options.channels" data-testid="opt-channels" aria-describedby="channels-hint">
            <option value="auto">Automatic: split when each channel holds its own voice</option>
            <option value="mix">Mix to one track</option>
            <option value="split">Split: one speaker per channel</option>
          </select>
          <p id="channels-hint" class="muted small">Split transcribes left and right separately (stereo calls); automatic does so when the channels hold different voices.</p>
        </div>
        <div class="field" v-if="options.steps.diarization">
          <label for="opt-num-speakers">Number of speakers</label>
          <input id="opt-num-speakers" type="number" min="1" max="32" v-model="options.numSpeakers" placeholder="found automatically"
                 data-testid="opt-num-speakers" aria-describedby="num-speakers-hint">
          <p id="num-speakers-hint" class="muted small">Leave empty to let diarization find how many people speak.</p>
        </div>
        <div class="field">
          <label for="opt-template">Summary template</label>
          <input id="opt-template" type="text" v-model="options.template" placeholder="server default" list="template-list"
                 autocomplete="off" data-testid="opt-template">
          <datalist id="template-list">
            <option value="meeting-notes"></option>
            <option value="interview"></option>
            <option value="lecture-notes"></option>
          </datalist>
        </div>
        <div class="field field-wide">
          <label for="opt-glossary">Glossary</label>
          <input id="opt-glossary" type="text" v-model="options.glossary" placeholder="e.g. Kubernetes, Stenograph, Dr. Okafor"
                 aria-describedby="glossary-hint" data-testid="opt-glossary">
          <p id="glossary-hint" class="muted small">Comma-separated names and terms the correction should spell this way.</p>
        </div>
      </div>
    </section>
  </div>`,
};
