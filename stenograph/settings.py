"""Stenograph's one settings class.

Every setting is read from, in this order of precedence (first wins):

1. keyword arguments passed to :func:`build_settings` (the CLI passes its flags here),
2. environment variables prefixed ``STENOGRAPH_`` (``STENOGRAPH_POLL_INTERVAL=2``),
3. a ``.env`` file in the current working directory,
4. the defaults below.

``tests/unit/test_settings.py`` pins this order. No settings object is created at import time:
call :func:`build_settings` (or the cached :func:`get_settings`).

Times are in seconds, sizes in bytes.
"""

from __future__ import annotations

import functools
import ipaddress
import json
import re
import socket
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, PydanticBaseSettingsSource, SettingsConfigDict

from stenograph.steps.registry import TASK_TYPES, choosable_steps, pipeline_steps
from stenograph.watch.config import EXPORT_FORMATS, WatchFolder, parse_folders

#: Steps an upload may run: the registered pipeline steps (:mod:`stenograph.steps.registry`), in pipeline order.
PIPELINE_STEPS: tuple[str, ...] = pipeline_steps()
#: The steps an upload may choose (``STENOGRAPH_PIPELINE_STEPS``): not webhook deliveries nor downloads.
CHOOSABLE_STEPS: tuple[str, ...] = choosable_steps()

#: Fewest characters of ``STENOGRAPH_API_TOKEN`` when ``serve`` binds beyond loopback.
MIN_TOKEN_LENGTH = 16

#: A host name or IP address (IPv6 without brackets), as ``STENOGRAPH_ALLOWED_HOSTS`` takes them.
_HOST_NAME = re.compile(r"[a-z0-9_.:-]+")


class Settings(BaseSettings):
    """All of Stenograph's configuration (env prefix ``STENOGRAPH_``)."""

    model_config = SettingsConfigDict(
        env_prefix="STENOGRAPH_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        validate_default=True,
        hide_input_in_errors=True,  # a refused URL may hold a password, a refused value may be the token
    )

    # --- storage -------------------------------------------------------------------------------
    data_dir: Path = Field(default=Path("data"), description="Directory for the database, uploads and models.")
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; default sqlite:///<data_dir>/stenograph.db. "
        "postgresql+psycopg://... for many workers on many machines (postgres:// and postgresql:// mean the same).",
    )

    # --- API -----------------------------------------------------------------------------------
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    api_token: str | None = Field(
        default=None,
        description="Bearer token; required, at least 16 characters, to bind anything but loopback. "
        "Set but empty is refused.",
    )
    allowed_hosts: Annotated[list[str] | None, NoDecode] = Field(
        default=None,
        description="Host header names the API answers besides loopback names and `host`, comma separated; "
        "`*` allows any. Default: any when `host` is a public or wildcard address (it needs a token), "
        "else none.",
    )
    server_url: str | None = Field(
        default=None,
        description="http(s) URL of the API server (http://api-host:8000): a worker whose data directory "
        "lacks a recording's file fetches it from there, with the API token.",
    )
    max_upload_bytes: int = Field(default=4 * 1024**3, ge=1, description="Per-file upload limit in bytes.")

    # --- worker and queue ----------------------------------------------------------------------
    workers: int = Field(
        default=1,
        ge=0,
        le=64,
        description="Worker processes started by `stenograph serve`; 0 serves the API only (workers elsewhere).",
    )
    concurrency: int = Field(default=1, ge=1, le=64, description="Task slots (child processes) per worker.")
    task_types: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: list(TASK_TYPES),
        description="Task types this worker takes, comma separated (a GPU machine: transcription).",
    )
    batch_max: int = Field(
        default=1024,
        ge=1,
        le=10_000,
        description="Most tasks a slot claims at once when their type takes milliseconds (1: one at a time).",
    )
    poll_interval: float = Field(default=5.0, gt=0, description="Seconds between polls of the task table.")
    lease_seconds: float = Field(default=60.0, gt=0, description="Lease a running task holds, in seconds.")
    heartbeat_seconds: float = Field(default=10.0, gt=0, description="Seconds between lease renewals.")
    shutdown_grace_seconds: float = Field(default=30.0, ge=0, description="Time running tasks get on SIGTERM.")
    cancel_grace_seconds: float = Field(
        default=10.0, ge=0, description="Time a handler gets to honour a cancel before its child is killed."
    )
    transcription_cancel_grace_seconds: float = Field(
        default=1.0,
        ge=0,
        description="Time a transcription or a diarization gets to stop by itself after a cancel before its "
        "process is killed: Whisper cannot be interrupted inside a 30 s decode, nor diarization inside one "
        "window, and a kill costs only a model reload.",
    )
    max_attempts: int = Field(default=3, ge=1, description="Attempts per task, the first one included.")
    backoff_base_seconds: float = Field(default=2.0, ge=0, description="Backoff before the first retry.")
    backoff_cap_seconds: float = Field(default=300.0, ge=0, description="Longest backoff between retries.")
    task_timeouts: dict[str, float] = Field(
        default_factory=dict,
        description='Per task type timeout in seconds, JSON: {"summary": 900}. None by default.',
    )
    worker_live_seconds: float | None = Field(
        default=None, description="A worker is live when its heartbeat is this recent; default 3 heartbeats."
    )

    # --- pipeline ------------------------------------------------------------------------------
    pipeline_steps: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: list(CHOOSABLE_STEPS), description="Steps each upload runs, comma separated."
    )
    whisper_model: str = Field(default="tiny.en", description="faster-whisper model name or local path.")
    whisper_device: Literal["auto", "cpu", "cuda"] = "auto"
    whisper_compute_type: str = Field(default="auto", description="auto: float16 on CUDA, int8 on CPU.")
    whisper_threads: int = Field(default=0, ge=0, description="CPU threads for Whisper; 0 lets CTranslate2 pick.")
    whisper_multilingual_model: str = Field(
        default="base",
        description="Multilingual model used when an upload names no model and its speech is not English "
        "(or asks for a translation) while whisper_model is English-only; empty: never switch.",
    )
    whisper_allow_download: bool = Field(
        default=False, description="Allow downloading a model by name from the Hugging Face hub."
    )
    whisper_beam_size: int = Field(default=5, ge=1)
    whisper_vad: bool = True
    batched_decoding: bool = Field(
        default=False,
        description="Decode recordings of at least batched_decoding_min_seconds with faster-whisper's "
        "BatchedInferencePipeline (15 s VAD chunks, 8 at a time) instead of sequentially; needs whisper_vad.",
    )
    batched_decoding_min_seconds: float = Field(
        default=600.0, ge=0, description="Shortest recording (seconds) decoded batched when batched_decoding."
    )
    no_speech_threshold: float = Field(default=0.6, ge=0, le=1, description="Drop a segment above this ...")
    logprob_threshold: float = Field(default=-1.0, description="... when its avg log-probability is below this.")
    repetition_max_repeats: int = Field(
        default=2, ge=1, description="A phrase repeated more often than this in a row is collapsed."
    )
    corpus_dir: Path = Field(default=Path("../shared/audio"), description="Speech corpus for tests and benchmarks.")

    # --- LLM -----------------------------------------------------------------------------------
    llm: Literal["auto", "openai", "ollama", "embedded", "none"] = "auto"
    llm_base_url: str | None = None
    llm_model: str | None = None
    llm_api_key: str | None = None
    llm_timeout_seconds: float = Field(default=120.0, gt=0)
    llm_patience_seconds: float = Field(
        default=300.0,
        ge=0,
        description="Seconds an LLM step keeps trying a server that is unreachable, answers 5xx or times out "
        "(waits of 1, 2, 4 ... 30 s) before its attempt fails: a restarting server costs no attempt.",
    )
    llm_gguf_path: str | None = Field(default=None, description="Local GGUF file for the embedded engine.")
    llm_context_tokens: int | None = Field(default=None, ge=256, description="Override the model's context size.")
    llm_default_model: bool = Field(
        default=True,
        description="In auto (and embedded without llm_gguf_path), use the packaged default model "
        "(Qwen2.5-Coder-1.5B-Instruct) when it and llama-cpp-python are installed; `make run LLM=none` sets false.",
    )
    ollama_url: str = "http://127.0.0.1:11434"
    correction_max_edit_ratio: float = Field(
        default=0.35,
        ge=0,
        le=1,
        description="A corrected segment changing more than this fraction is rejected.",
    )
    glossary: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Global names and terms, comma separated."
    )
    summary_template: str = "meeting-notes"
    diarization_embedding: Literal["campplus", "ge2e"] = Field(
        default="campplus",
        description="Speaker embedding model of the diarization engine: 3D-Speaker's CAM++ (192-d, the default) "
        "or Resemblyzer's GE2E (256-d, the earlier one). Voice profiles only compare embeddings of the same "
        "model (docs/diarization.md).",
    )
    diarization_profile_threshold: float | None = Field(
        default=None,
        ge=-1,
        le=1,
        description="Cosine similarity of a speaker's embedding to a voice profile's at or above which the "
        "speaker is labelled with the profile's name; unset: the embedding model's own, measured on 5 s pieces "
        "of the German and Spanish readings (midway between the 5th percentile of same-speaker pairs and the "
        "highest other-speaker pair): CAM++ 0.55 (0.77 and 0.34), GE2E 0.72 (0.83 and 0.61) "
        "(docs/diarization.md).",
    )

    speaker_profiles: bool = Field(
        default=True,
        description="Keep a named speaker's voice as a profile and label matching voices in later recordings "
        "(docs/speaker-profiles.md). False keeps no profiles at all: voices are personal data.",
    )

    # --- webhooks (docs/webhooks.md) ----------------------------------------------------------
    webhook_urls: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="http(s) URLs told of recording.completed, recording.failed and task.failed, comma separated.",
    )
    webhook_secret: str | None = Field(
        default=None, description="Standard Webhooks secret (whsec_ + base64) signing to webhook_urls."
    )
    webhook_max_attempts: int = Field(
        default=8, ge=1, le=50, description="Attempts per webhook delivery, the first included, before it is given up."
    )
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, description="Timeout of one delivery attempt.")
    webhook_allow_private: bool = Field(
        default=False,
        description="Let webhooks reach loopback, private and link-local addresses (a local n8n or home server "
        "needs it); refused by default, at registration and at every delivery's connection.",
    )

    # --- import from a URL (docs/url-import.md) -----------------------------------------------
    url_import_allow_private: bool = Field(
        default=False,
        description="Let imports fetch from loopback and private addresses (refused by default, after name "
        "resolution and on every redirect).",
    )

    # --- watched folders and auto-export (docs/watch-folders.md) -----------------------------
    watch_dirs: Annotated[list[WatchFolder], NoDecode] = Field(
        default_factory=list,
        description="Folders whose new media files are transcribed, comma separated paths, or JSON: "
        '[{"path": "/in", "steps": ["transcription"], "language": "de", "template": "lecture"}].',
    )
    watch_stable_seconds: float = Field(
        default=2.0, ge=0, description="A file is taken once its size and mtime stayed the same this long."
    )
    watch_scan_seconds: float = Field(
        default=5.0, gt=0, description="Seconds between scans of the watched folders (events wake a scan sooner)."
    )
    watch_polling: bool = Field(
        default=False, description="Watch by polling (network drives) instead of inotify events."
    )
    export_dir: Path | None = Field(
        default=None, description="Folder the outputs of watched files go to; default beside the source."
    )
    export_formats: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["srt", "txt", "md"],
        description="Formats exported, comma separated, of txt, srt, vtt, json and md (the summary).",
    )
    export_overwrite: bool = Field(
        default=False, description='Overwrite an existing file of the same name (else a " (2)" suffix).'
    )

    @field_validator("watch_dirs", mode="before")
    @classmethod
    def _watch_dirs(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip()
            value = json.loads(text) if text.startswith("[") else [p.strip() for p in text.split(",") if p.strip()]
        return parse_folders(value) if isinstance(value, list) else value

    @field_validator("export_formats")
    @classmethod
    def _export_formats(cls, value: list[str]) -> list[str]:
        unknown = [fmt for fmt in value if fmt not in EXPORT_FORMATS]
        if unknown:
            raise ValueError(f"unknown export formats {unknown}; allowed: {', '.join(EXPORT_FORMATS)}")
        return list(dict.fromkeys(value))

    @field_validator(
        "pipeline_steps", "glossary", "task_types", "allowed_hosts", "webhook_urls", "export_formats", mode="before"
    )
    @classmethod
    def _split_commas(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

    @field_validator("webhook_urls")
    @classmethod
    def _webhook_urls(cls, value: list[str]) -> list[str]:
        for url in value:
            if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).hostname:
                raise ValueError("webhook URLs must be http:// or https:// URLs")
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _webhook_secret(cls, value: str | None) -> str | None:
        if value is not None:
            from stenograph.webhooks.signing import check_secret

            check_secret(value)
        return value

    @model_validator(mode="after")
    def _webhook_urls_need_a_secret(self) -> Settings:
        if self.webhook_urls and not self.webhook_secret:
            raise ValueError("STENOGRAPH_WEBHOOK_URLS needs STENOGRAPH_WEBHOOK_SECRET (whsec_ and base64)")
        return self

    @field_validator("api_token")
    @classmethod
    def _non_empty_token(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError(
                f"the API token is set but empty: unset it, or give a token of at least {MIN_TOKEN_LENGTH} characters"
            )
        if value is not None and any(not 33 <= ord(char) <= 126 for char in value):
            # HTTP headers carry ASCII: a token with other characters (or spaces) could not be sent by curl,
            # httpx, the OpenAI SDK or a worker.
            raise ValueError("the API token must be printable ASCII without spaces (openssl rand -hex 32 makes one)")
        return value

    @field_validator("allowed_hosts")
    @classmethod
    def _host_names(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        names = [name.strip().lower().strip("[]") for name in value if name.strip()]
        bad = [name for name in names if name != "*" and not _HOST_NAME.fullmatch(name)]
        if bad:
            raise ValueError(f"{bad}: allowed hosts are host names or addresses without a port or scheme, or *")
        return names

    @field_validator("glossary")
    @classmethod
    def _glossary_limits(cls, value: list[str]) -> list[str]:
        from stenograph.steps.correction.glossary import check_glossary

        return check_glossary(value)

    @field_validator("server_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        url = value.strip().rstrip("/")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{value!r} is not an http:// or https:// URL with a host (http://api-host:8000)")
        if parts.query or parts.fragment:
            raise ValueError(f"{value!r}: the server URL takes no query or fragment")
        return url

    @field_validator("database_url")
    @classmethod
    def _supported_database(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        url = value.strip()
        scheme, separator, rest = url.partition("://")
        scheme = scheme.lower()
        if separator and scheme in ("postgres", "postgresql"):  # postgres:// is Heroku's spelling
            return f"postgresql+psycopg://{rest}"
        if separator and scheme in ("sqlite", "sqlite+pysqlite", "postgresql+psycopg"):
            return url
        shown = f"{scheme}://" if separator else "a URL without a scheme"
        if scheme.startswith("postgresql+"):
            raise ValueError(f"{shown}: PostgreSQL is reached with the psycopg 3 driver, postgresql+psycopg://...")
        raise ValueError(
            f"only sqlite and postgresql databases are supported (sqlite:///path/to/file.db or "
            f"postgresql+psycopg://user:password@host:5432/db), not {shown}"
        )

    @field_validator("pipeline_steps")
    @classmethod
    def _known_steps(cls, value: list[str]) -> list[str]:
        unknown = [step for step in value if step not in CHOOSABLE_STEPS]
        if unknown:
            raise ValueError(f"unknown pipeline steps {unknown}; allowed: {', '.join(CHOOSABLE_STEPS)}")
        return list(dict.fromkeys(value))  # transcription,transcription is transcription

    @field_validator("task_types")
    @classmethod
    def _some_task_type(cls, value: list[str]) -> list[str]:
        unknown = [step for step in value if step not in TASK_TYPES]
        if unknown:
            raise ValueError(f"unknown task types {unknown}; allowed: {', '.join(TASK_TYPES)}")
        if not value:
            raise ValueError(f"name at least one task type of {', '.join(TASK_TYPES)}")
        return list(dict.fromkeys(value))

    @field_validator("task_timeouts")
    @classmethod
    def _known_timeout_types(cls, value: dict[str, float]) -> dict[str, float]:
        unknown = [key for key in value if key not in TASK_TYPES]
        if unknown:
            raise ValueError(f"timeouts for unknown task types {unknown}; allowed: {', '.join(TASK_TYPES)}")
        if any(seconds <= 0 for seconds in value.values()):
            raise ValueError("timeouts must be positive numbers of seconds")
        return value

    @model_validator(mode="after")
    def _lease_outlasts_heartbeats(self) -> Settings:
        if self.lease_seconds < 2 * self.heartbeat_seconds:
            raise ValueError(
                f"lease_seconds ({self.lease_seconds:g}) must be at least twice heartbeat_seconds "
                f"({self.heartbeat_seconds:g}), or healthy workers would lose their tasks between two renewals"
            )
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Explicit precedence: flags (init) > environment > .env > defaults.
        return (init_settings, env_settings, dotenv_settings)

    # --- derived values ------------------------------------------------------------------------
    @property
    def resolved_database_url(self) -> str:
        """The database URL in use: the setting, or SQLite in the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'stenograph.db').resolve()}"

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")

    @property
    def live_seconds(self) -> float:
        """Seconds within which a worker's heartbeat counts as live."""
        return self.worker_live_seconds or max(3 * self.heartbeat_seconds, 5.0)

    @property
    def uploads_dir(self) -> Path:
        return self.data_dir / "recordings"

    @property
    def models_dir(self) -> Path:
        return self.data_dir / "models"

    @property
    def wakeup_dir(self) -> Path:
        """Folder of the Unix datagram sockets that wake local workers when a task is enqueued."""
        return self.data_dir / "wakeup"

    def timeout_for(self, task_type: str) -> float | None:
        """The timeout in seconds for a task type, or None for no timeout."""
        return self.task_timeouts.get(task_type)


def is_loopback_host(host: str) -> bool:
    """True when ``host`` names this machine only (127.0.0.0/8, ::1 or localhost), by its spelling alone.

    An empty host is not loopback: a server given it binds every interface. Use :func:`binds_loopback_only`
    for the address a server really binds.
    """
    name = host.strip().strip("[]").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def bind_addresses(host: str, port: int = 0) -> list[str]:
    """The IP addresses a listening socket for ``host`` binds, as ``socket.bind`` resolves them.

    ``""`` stands for every interface (``0.0.0.0`` and ``::``), as uvicorn and asyncio take it.

    Raises:
        OSError: (``socket.gaierror``) the name does not resolve.
    """
    name = host.strip().strip("[]")
    if not name:
        return ["0.0.0.0", "::"]
    infos = socket.getaddrinfo(name, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    return [str(info[4][0]).split("%", 1)[0] for info in infos]


def binds_loopback_only(host: str, port: int = 0) -> bool:
    """True when every address a server bound to ``host`` listens on is loopback.

    False for ``""``, wildcard addresses (``0.0.0.0``, ``::``), any other address, and a name that does not
    resolve or that resolves to one address beyond loopback. Names are resolved (DNS, /etc/hosts).
    """
    try:
        addresses = bind_addresses(host, port)
    except (OSError, UnicodeError):
        return False
    try:
        return bool(addresses) and all(ipaddress.ip_address(address).is_loopback for address in addresses)
    except ValueError:
        return False


def build_settings(**overrides: Any) -> Settings:
    """Build settings; ``overrides`` (None values ignored) win over environment and ``.env``.

    Raises:
        pydantic.ValidationError: a setting has an invalid value.
    """
    return Settings(**{key: value for key, value in overrides.items() if value is not None})


@functools.cache
def get_settings() -> Settings:
    """The process-wide settings, built once on first use."""
    return build_settings()
