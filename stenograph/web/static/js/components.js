// Small shared components: status badge, progress bar, step states,
// the confirmation dialog, the token prompt and the notices region.

import { api, auth, endpoints } from "./api.js";
import { clock, confirmState, formatDuration, notices, stepLabel, STEPS } from "./util.js";

const { ref, watch, nextTick, computed } = Vue;

export const StatusBadge = {
  props: { status: { type: String, required: true }, cancelRequested: Boolean },
  template: `
    <span class="badge" :class="'badge-' + status" data-testid="task-status" :data-status="status">
      {{ status }}<template v-if="cancelRequested && status === 'running'"> (cancelling)</template>
    </span>`,
};

export const ProgressBar = {
  props: {
    value: { type: Number, default: 0 },
    label: { type: String, default: "Progress" },
    status: { type: String, default: "" },
    testid: { type: String, default: "progress" },
  },
  setup(props) {
    const pct = computed(() => Math.round(Math.max(0, Math.min(1, props.value || 0)) * 100));
    return { pct };
  },
  template: `
    <div class="progress" :class="status ? 'progress-' + status : ''" role="progressbar"
         :aria-label="label" aria-valuemin="0" aria-valuemax="100" :aria-valuenow="pct"
         :data-testid="testid" :data-value="(value || 0).toFixed(3)">
      <div class="progress-fill" :style="{ width: pct + '%' }"></div>
      <span class="progress-text">{{ pct }}%</span>
    </div>`,
};

/** Per-step states of a recording: {transcription: "completed", ...}. */
export const StepStates = {
  props: { steps: { type: Object, default: () => ({}) } },
  setup(props) {
    const entries = computed(() => {
      const s = props.steps || {};
      const known = STEPS.filter((k) => k in s);
      const extra = Object.keys(s).filter((k) => !STEPS.includes(k));
      return [...known, ...extra].map((k) => ({ step: k, label: stepLabel(k), state: s[k] }));
    });
    return { entries };
  },
  template: `
    <ul class="step-states" data-testid="step-states">
      <li v-for="e in entries" :key="e.step" :data-step="e.step" :data-state="e.state">
        <span class="step-name">{{ e.label }}</span>
        <span class="badge" :class="'badge-' + (e.state || 'none')">{{ e.state || 'not requested' }}</span>
      </li>
      <li v-if="!entries.length" class="muted">no steps</li>
    </ul>`,
};

export const ConfirmDialog = {
  setup() {
    const dlg = ref(null);
    const state = confirmState;
    let returnFocus = null;
    function close(result) {
      const resolve = state.resolve;
      state.resolve = null;
      state.open = false;
      if (dlg.value && dlg.value.open) dlg.value.close();
      if (returnFocus && document.contains(returnFocus)) returnFocus.focus();
      returnFocus = null;
      if (resolve) resolve(result);
    }
    watch(
      () => state.open,
      async (open) => {
        await nextTick();
        const d = dlg.value;
        if (!d) return;
        if (open && !d.open) {
          returnFocus = document.activeElement;
          d.showModal();
        }
      },
    );
    function onCancel(ev) {
      ev.preventDefault();
      close(false);
    }
    return { dlg, state, close, onCancel };
  },
  template: `
    <dialog ref="dlg" class="confirm-dialog" data-testid="confirm-dialog" @cancel="onCancel"
            aria-labelledby="confirm-title" aria-describedby="confirm-message">
      <form method="dialog" @submit.prevent="close(true)">
        <h2 id="confirm-title">{{ state.title }}</h2>
        <p id="confirm-message">{{ state.message }}</p>
        <div class="actions">
          <button type="button" class="btn" data-testid="confirm-cancel" @click="close(false)" autofocus>{{ state.cancelLabel }}</button>
          <button type="submit" class="btn btn-danger" data-testid="confirm-ok">{{ state.confirmLabel }}</button>
        </div>
      </form>
    </dialog>`,
};

export const LoginForm = {
  setup() {
    const token = ref("");
    const error = ref("");
    const busy = ref(false);
    async function submit() {
      error.value = "";
      busy.value = true;
      try {
        await api(endpoints.login(), { method: "POST", body: { token: token.value } });
        window.location.reload();
      } catch (err) {
        error.value = err.message;
      } finally {
        busy.value = false;
      }
    }
    return { token, error, busy, submit, auth };
  },
  template: `
    <section class="card login" aria-labelledby="login-title" data-testid="login">
      <h1 id="login-title" tabindex="-1">Sign in</h1>
      <p>This Stenograph server needs an access token.</p>
      <form @submit.prevent="submit">
        <label for="login-token">Access token</label>
        <input id="login-token" v-model="token" type="password" autocomplete="current-password" required data-testid="login-token">
        <p v-if="error" class="error" role="alert" data-testid="login-error">{{ error }}</p>
        <button class="btn btn-primary" type="submit" :disabled="busy || !token">Sign in</button>
      </form>
    </section>`,
};

export const Notices = {
  setup() {
    return { notices };
  },
  template: `
    <div class="notices" role="status" aria-live="polite">
      <p v-for="n in notices.items" :key="n.id" class="notice" :class="'notice-' + n.kind" data-testid="notice">{{ n.message }}</p>
    </div>`,
};

/** Elapsed or final duration of a task. */
export function taskDuration(task) {
  if (task.duration_s !== null && task.duration_s !== undefined) return formatDuration(task.duration_s);
  if (task.status === "running" && task.started_at) {
    const t = Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(task.started_at) ? task.started_at : task.started_at + "Z");
    if (!Number.isNaN(t)) return formatDuration((clock.now - t) / 1000);
  }
  return "—";
}
