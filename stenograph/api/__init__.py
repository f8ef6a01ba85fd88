"""The HTTP API (FastAPI): tasks, workers, recordings, transcripts, summaries, and the web app."""

from stenograph.api.app import create_app

__all__ = ["create_app"]
