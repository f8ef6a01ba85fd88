// Shared composables of the web app.

export { useInterval, useLiveTasks, FALLBACK_MS, GRACE_MS } from "./live-tasks.js";
export { usePlayback, segmentAt, timedTokens, wordAt } from "./playback.js";
export { inProgress, latestTasksByType, useRecording, useSummary, useTranscript } from "./recording.js";
