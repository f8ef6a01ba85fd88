// Stenograph web app: Vue 3 without a build step (the global build is loaded
// from /static/vendor/vue.global.prod.js by index.html).

import { auth, startStream, stream } from "./api.js";
import { ConfirmDialog, LoginForm, Notices } from "./components.js";
import { ProcessingPage } from "./processing.js";
import { RecordingPage } from "./recording/page.js";
import { RecordingsPage } from "./recordings.js";
import { SettingsPage } from "./settings.js";
import { UploadPage } from "./upload.js";
import { route, startRouter } from "./util.js";
import { startWindowDrop, windowDrag } from "./window-drop.js";

const { createApp, computed, watch, nextTick, onMounted } = Vue;

const NotFoundPage = {
  template: `
  <div class="page" data-testid="page-notfound">
    <h1 tabindex="-1">Page not found</h1>
    <p><a href="#/processing">Go to Processing</a></p>
  </div>`,
};

const TITLES = {
  processing: "Processing",
  upload: "Upload",
  recordings: "Recordings",
  recording: "Recording",
  settings: "Settings",
  notfound: "Not found",
};

const App = {
  components: { ConfirmDialog, LoginForm, Notices },
  setup() {
    const page = computed(
      () =>
        ({
          processing: ProcessingPage,
          upload: UploadPage,
          recordings: RecordingsPage,
          recording: RecordingPage,
          settings: SettingsPage,
        })[route.name] || NotFoundPage,
    );
    const pageKey = computed(() => `${route.name}:${route.params.id || ""}`);
    const section = computed(() => (route.name === "recording" ? "recordings" : route.name));

    function skipToMain() {
      const main = document.getElementById("main");
      if (!main) return;
      const h1 = main.querySelector("h1");
      (h1 || main).focus();
    }

    let first = true;
    watch(
      () => pageKey.value,
      async () => {
        document.title = `${TITLES[route.name] || "Stenograph"} · Stenograph`;
        if (first) {
          first = false;
          return;
        }
        // Move focus to the new page's heading so keyboard and screen reader users land there.
        await nextTick();
        await nextTick();
        const target = document.querySelector("#main h1") || document.getElementById("main");
        if (target) target.focus({ preventScroll: true });
        window.scrollTo(0, 0);
      },
      { immediate: true },
    );

    onMounted(() => {
      startStream();
    });

    return { route, page, pageKey, section, stream, auth, skipToMain, windowDrag };
  },
  template: `
    <a class="skip-link" href="#main" @click.prevent="skipToMain" data-testid="skip-link">Skip to main content</a>
    <header class="site-header">
      <a class="brand" href="#/processing" aria-label="Stenograph, go to Processing">
        <span class="brand-mark" aria-hidden="true">¶</span> Stenograph
      </a>
      <nav aria-label="Main">
        <ul class="nav">
          <li><a href="#/processing" :aria-current="section === 'processing' ? 'page' : null" data-testid="nav-processing">Processing</a></li>
          <li><a href="#/upload" :aria-current="section === 'upload' ? 'page' : null" data-testid="nav-upload">Upload</a></li>
          <li><a href="#/recordings" :aria-current="section === 'recordings' ? 'page' : null" data-testid="nav-recordings">Recordings</a></li>
          <li><a href="#/settings" :aria-current="section === 'settings' ? 'page' : null" data-testid="nav-settings">Settings</a></li>
        </ul>
      </nav>
      <span class="stream-status" data-testid="stream-status" :data-state="stream.state"
            :title="stream.state === 'open' ? 'Receiving live updates' : 'Live updates unavailable'">
        <span class="dot" :class="stream.state === 'open' ? 'dot-live' : 'dot-dead'" aria-hidden="true"></span>
        <span class="stream-label">{{ stream.state === 'open' ? 'Live' : (stream.state === 'connecting' ? 'Connecting' : 'Offline') }}</span>
      </span>
    </header>
    <main id="main" tabindex="-1">
      <LoginForm v-if="auth.required" />
      <component v-else :is="page" :key="pageKey" v-bind="route.params" />
    </main>
    <Notices />
    <ConfirmDialog />
    <div v-if="windowDrag.active" class="drop-overlay" data-testid="drop-overlay" aria-hidden="true">
      <p>Drop the files to upload them</p>
    </div>
  `,
};

startRouter();
startWindowDrop();
const app = createApp(App);
app.config.errorHandler = (err, _instance, info) => {
  // Keep failures visible to developers without breaking the page.
  console.warn("Stenograph UI error:", info, err);
};
app.mount("#app");
