// The processing card of a recording: each step's state, progress and language model, and running a
// step again (with another summary template or glossary).

import { api, endpoints } from "../api.js";
import { StatusBadge } from "../components.js";
import { inProgress } from "../composables/index.js";
import { confirmAction, describeLlm, notify, STEPS, stepLabel } from "../util.js";

const { reactive } = Vue;

export const RecordingSteps = {
  components: { StatusBadge },
  props: { recording: { type: Object, required: true } },
  setup(props) {
    const rerun = reactive({ template: "", glossary: "", numSpeakers: "", busy: "", error: "" });
    const task = (step) => props.recording.byType[step] || null;

    async function run(step) {
      if (inProgress(task(step))) return;
      if (props.recording.steps[step] === "completed") {
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
      const count = parseInt(String(rerun.numSpeakers), 10);
      if (step === "diarization" && count) body.num_speakers = count; // the speakers step follows it
      try {
        const res = await api(endpoints.recordingStep(props.recording.id, step), { method: "POST", body });
        const created = res && res.data ? res.data : res;
        if (created && created.id)
          props.recording.applyTask({ ...created, recording_id: created.recording_id || props.recording.rec.id });
        notify(`${stepLabel(step)} queued.`);
      } catch (err) {
        rerun.error = err.message;
      } finally {
        rerun.busy = "";
      }
    }

    function whisperModel() {
      const t = task("transcription");
      if (!t) return "";
      return (t.result && t.result.model) || (t.params && t.params.model) || "";
    }

    function stepLlm(step) {
      const t = task(step);
      if (!t || !t.result || !("llm" in t.result)) return null;
      return describeLlm(t.result.llm);
    }

    return { rerun, run, task, inProgress, whisperModel, stepLlm, STEPS, stepLabel };
  },
  template: `
  <section class="card steps-card" aria-labelledby="steps-title">
    <h2 id="steps-title">Processing</h2>
    <ul class="step-list">
      <li v-for="s in STEPS" :key="s" :data-step="s" data-testid="step-row" :data-task-id="task(s) ? task(s).id : null">
        <div class="step-line">
          <strong>{{ stepLabel(s) }}</strong>
          <StatusBadge v-if="task(s)" :status="task(s).status" :cancel-requested="!!task(s).cancel_requested" />
          <span v-else-if="recording.steps[s]" class="badge" :class="'badge-' + recording.steps[s]">{{ recording.steps[s] }}</span>
          <span v-else class="muted small">not requested</span>
          <span v-if="task(s) && task(s).status === 'running'" class="small muted">{{ Math.round((task(s).progress || 0) * 100) }}%</span>
          <button type="button" class="btn btn-small step-btn" :data-testid="'rerun-' + s"
                  :disabled="!!rerun.busy || inProgress(task(s))"
                  @click="run(s)">{{ recording.steps[s] ? 'Re-run' : 'Run' }}<span class="visually-hidden"> {{ stepLabel(s).toLowerCase() }}</span></button>
        </div>
        <div class="small muted" data-testid="step-llm">
          <template v-if="s === 'diarization' || s === 'speakers'"><template v-if="task(s) && task(s).status === 'completed' && task(s).result">{{ Array.isArray(task(s).result.speakers) ? task(s).result.speakers.length : task(s).result.speakers }} speakers<template v-if="task(s).result.model"> · {{ task(s).result.model }}</template></template></template>
          <template v-else-if="s === 'transcription'">Whisper<template v-if="whisperModel()"> · {{ whisperModel() }}</template></template>
          <template v-else-if="stepLlm(s) !== null">Language model: {{ stepLlm(s) }}<template v-if="task(s).result.method"> ({{ task(s).result.method }})</template><template v-if="task(s).result.template"> · template {{ task(s).result.template }}</template></template>
          <template v-else-if="task(s) && task(s).status === 'completed'">Language model: not reported</template>
        </div>
        <div v-if="task(s) && task(s).error" class="error small">{{ task(s).error.message }}</div>
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
      <div class="field">
        <label for="rerun-num-speakers">Number of speakers (diarization)</label>
        <input id="rerun-num-speakers" type="number" min="1" max="32" v-model="rerun.numSpeakers" placeholder="found automatically"
               data-testid="rerun-num-speakers">
      </div>
    </details>
    <p v-if="rerun.error" class="error" role="alert" data-testid="rerun-error">{{ rerun.error }}</p>
    <p v-if="recording.activeTasks.length" class="small muted"><a href="#/processing">See progress on the Processing page</a></p>
  </section>`,
};
