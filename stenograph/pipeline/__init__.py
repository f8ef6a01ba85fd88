"""The pipeline's steps: transcription, correction and summary, and what they share."""
