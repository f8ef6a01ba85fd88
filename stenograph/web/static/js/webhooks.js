// The Settings page's Webhooks section (docs/webhooks.md): endpoints (the settings' URLs and those added
// here), adding one (its secret is shown once), deleting, a test event, and each endpoint's delivery log.

import { api, endpoints } from "./api.js";
import { notify } from "./util.js";

const { ref, onMounted } = Vue;

export const WebhooksSection = {
  setup() {
    const hooks = ref([]);
    const url = ref("");
    const includeTranscript = ref(false);
    const secret = ref("");
    const logs = ref({}); // endpoint id -> deliveries
    const busy = ref(false);

    async function load() {
      try {
        hooks.value = (await api(endpoints.webhooks())).data;
      } catch (err) {
        notify(`Could not load the webhooks: ${err.message || String(err)}`, "error");
      }
    }

    async function add() {
      busy.value = true;
      try {
        const body = { url: url.value.trim(), include_transcript: includeTranscript.value };
        const created = await api(endpoints.webhooks(), { method: "POST", body });
        secret.value = created.secret;
        url.value = "";
        includeTranscript.value = false;
        await load();
      } catch (err) {
        notify(err.message || String(err), "error");
      } finally {
        busy.value = false;
      }
    }

    async function remove(hook) {
      try {
        await api(endpoints.webhook(hook.id), { method: "DELETE" });
        await load();
      } catch (err) {
        notify(err.message || String(err), "error");
      }
    }

    async function showLog(hook) {
      try {
        logs.value = { ...logs.value, [hook.id]: (await api(endpoints.webhookDeliveries(hook.id))).data };
      } catch (err) {
        notify(err.message || String(err), "error");
      }
    }

    async function test(hook) {
      try {
        await api(endpoints.webhookTest(hook.id), { method: "POST" });
        notify("Test event queued: see its delivery log.", "success");
        await showLog(hook);
      } catch (err) {
        notify(err.message || String(err), "error");
      }
    }

    onMounted(load);
    return { hooks, url, includeTranscript, secret, logs, busy, add, remove, showLog, test };
  },
  template: `
    <section class="card" aria-labelledby="webhooks-heading" data-testid="webhooks">
      <h2 id="webhooks-heading">Webhooks</h2>
      <p class="muted small">A signed POST (Standard Webhooks) when a recording completes or fails, or a task fails.</p>
      <ul v-if="hooks.length" class="webhooks" data-testid="webhook-list">
        <li v-for="h in hooks" :key="h.id ?? h.url" data-testid="webhook">
          <code>{{ h.url }}</code>
          <span class="muted small" v-if="h.source === 'settings'"> · from STENOGRAPH_WEBHOOK_URLS</span>
          <span class="muted small" v-if="h.include_transcript"> · with the transcript's text</span>
          <template v-if="h.id">
            <button type="button" class="btn btn-small" data-testid="webhook-test" @click="test(h)">Send a test event</button>
            <button type="button" class="btn btn-small" data-testid="webhook-log" @click="showLog(h)">Delivery log</button>
            <button type="button" class="btn btn-small btn-danger" data-testid="webhook-delete" @click="remove(h)">Delete</button>
          </template>
          <table v-if="logs[h.id]" class="small" data-testid="webhook-deliveries">
            <tr><th>Event</th><th>Status</th><th>Attempts</th><th>Answer</th></tr>
            <tr v-for="d in logs[h.id]" :key="d.id" data-testid="webhook-delivery" :data-status="d.status">
              <td>{{ d.event }}</td><td>{{ d.status }}</td><td>{{ d.attempts }}</td>
              <td>{{ d.response_status ?? '' }} {{ d.error ?? '' }}</td>
            </tr>
          </table>
        </li>
      </ul>
      <p v-else class="muted">No webhook yet.</p>
      <form @submit.prevent="add" data-testid="webhook-add">
        <label for="webhook-url">Endpoint URL</label>
        <input id="webhook-url" type="url" v-model="url" placeholder="https://…" data-testid="webhook-url" required>
        <label><input type="checkbox" v-model="includeTranscript" data-testid="webhook-transcript">
          Include the transcript's text (it leaves this machine)</label>
        <button type="submit" class="btn" :disabled="busy || !url.trim()" data-testid="webhook-add-submit">Add</button>
      </form>
      <p v-if="secret" role="status" data-testid="webhook-secret">Signing secret (shown once): <code>{{ secret }}</code></p>
    </section>
  `,
};
