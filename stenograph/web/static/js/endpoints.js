// Every path of the Stenograph API, built in one place. Other modules call these functions and never
// write an API address themselves (hash routes such as "#/recordings/3" are the web app's own, not the API's).

const enc = (v) => encodeURIComponent(String(v));

/** A query string from an object, leaving out undefined, null and "" values: {a: 1, b: ""} -> "?a=1". */
export function query(params) {
  const sp = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v === undefined || v === null || v === "") continue;
    sp.set(k, String(v));
  }
  const s = sp.toString();
  return s ? `?${s}` : "";
}

const recording = (id) => `/recordings/${enc(id)}`;

export const endpoints = {
  login: () => "/auth/login",
  events: () => "/events",
  workers: () => "/workers",
  llmSettings: () => "/settings/llm",
  glossary: () => "/glossary",
  watchFolders: () => "/watch-folders",

  /** GET the task list: {status, type, recording_id, limit, offset}. */
  tasks: (params) => `/tasks${query(params)}`,
  /** GET one task (with its events), DELETE it. */
  task: (id) => `/tasks/${enc(id)}`,
  /** POST /tasks/{id}/cancel or /retry. */
  taskAction: (id, action) => `/tasks/${enc(id)}/${enc(action)}`,
  /** POST a simulated task of a pipeline type. */
  testTask: (type) => `/tasks/test/${enc(type)}`,

  /** GET the list ({q, limit, offset}), POST an upload. */
  recordings: (params) => `/recordings${query(params)}`,
  /** GET or DELETE one recording. */
  recording,
  recordingMedia: (id) => `${recording(id)}/media`,
  /** GET the transcript: {format: json|txt|srt|vtt, version: latest|original|corrected|N, download}. */
  recordingTranscript: (id, { format, version, download } = {}) =>
    `${recording(id)}/transcript${query({ format, version, download: download ? 1 : undefined })}`,
  recordingVersions: (id) => `${recording(id)}/transcript/versions`,
  recordingDiff: (id) => `${recording(id)}/transcript/diff`,
  /** PATCH one segment's text. */
  recordingSegment: (id, index) => `${recording(id)}/transcript/segments/${enc(index)}`,
  /** PUT speaker names. */
  recordingSpeakers: (id) => `${recording(id)}/speakers`,
  /** POST {source, into}: merge two speakers (a new version). */
  recordingSpeakerMerge: (id) => `${recording(id)}/speakers/merge`,
  /** PUT {speaker}: move one segment to another speaker (a new version). */
  recordingSegmentSpeaker: (id, index) => `${recording(id)}/transcript/segments/${enc(index)}/speaker`,
  /** GET the summary: {format: json|md, download}. */
  recordingSummary: (id, { format, download } = {}) =>
    `${recording(id)}/summary${query({ format, download: download ? 1 : undefined })}`,
  /** POST to run a pipeline step again. */
  recordingStep: (id, step) => `${recording(id)}/steps/${enc(step)}`,
  /** POST a question about one recording: {question}. */
  recordingAsk: (id) => `${recording(id)}/ask`,
  /** POST a question of the whole library: {question}. */
  askLibrary: () => "/ask",
  /** GET (EventSource) a question's answer: partial, then answer | failed | cancelled. */
  askEvents: (taskId) => `/ask/${enc(taskId)}/events`,

  /** GET the webhook endpoints, POST one; DELETE one; its delivery log; POST a test event. */
  webhooks: () => "/webhooks",
  webhook: (id) => `/webhooks/${enc(id)}`,
  webhookDeliveries: (id) => `/webhooks/${enc(id)}/deliveries`,
  webhookTest: (id) => `/webhooks/${enc(id)}/test`,
  /** GET the voice profiles; PATCH {name} or DELETE one; POST {into} to merge one into another. */
  speakerProfiles: () => "/speaker-profiles",
  speakerProfile: (id) => `/speaker-profiles/${enc(id)}`,
  speakerProfileMerge: (id) => `/speaker-profiles/${enc(id)}/merge`,
};

/** The request that performs a task action named by the server in task.actions, or null for an unknown one. */
export function taskActionRequest(id, action) {
  if (action === "delete") return { method: "DELETE", path: endpoints.task(id) };
  if (action === "cancel" || action === "retry") return { method: "POST", path: endpoints.taskAction(id, action) };
  return null;
}
