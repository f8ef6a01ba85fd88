"""``FolderWatcher``: takes the new media files of watched folders, once they stopped growing, through the
service's submit (the path of an upload), and exports each one's outputs when its pipeline has ended.

How it works (docs/watch-folders.md):

* A thread scans every folder (with its subfolders) every ``watch_scan_seconds``, and sooner when watchdog
  reports a change (inotify; ``PollingObserver`` with ``watch_polling``, for network drives). A scan at start
  finds what was added while Stenograph was stopped.
* A file is *stable* once its size and mtime were the same at two scans ``watch_stable_seconds`` apart; only
  then is it read. Hidden files, partial downloads (``.part``, ``.crdownload``, ``.tmp``) and the export
  formats' own files are never considered.
* A stable file is known by the SHA-256 of its content (:class:`~stenograph.watch.known.KnownFiles`): a known
  content (renamed, moved, or taken before a restart) is not taken again; a new content is copied into the
  uploads folder and submitted with the folder's options. A file that is not media is logged and recorded
  ``skipped``, so it is never tried again (until its content changes).
* Exports are polled: each scan, the submitted files whose pipeline tasks have all finished get their
  outputs written (:func:`export_recording`), so no worker, queue or step needs to know of watched folders.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stenograph.errors import NotFoundError
from stenograph.queue import FINISHED
from stenograph.settings import PIPELINE_STEPS
from stenograph.steps.submit import new_stored_name
from stenograph.watch.config import WatchFolder
from stenograph.watch.export import write_atomically
from stenograph.watch.known import Known, KnownFiles

if TYPE_CHECKING:
    from stenograph.service import Stenograph

log = logging.getLogger("stenograph.watch")

#: Names never taken: partial downloads and copies in progress, and the files exports write.
IGNORED_SUFFIXES = frozenset({".part", ".crdownload", ".tmp", ".partial", ".txt", ".srt", ".vtt", ".json", ".md"})
CHUNK = 1024 * 1024

Signature = tuple[int, int]  # (size in bytes, mtime in ns)


def sha256_of(path: Path) -> str:
    """The hex SHA-256 of a file's content, read in 1 MiB chunks. Raises OSError."""
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while chunk := source.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def candidates(folder: Path) -> list[Path]:
    """The files of ``folder`` and its subfolders that may be media, sorted (none when it does not exist)."""
    if not folder.is_dir():
        return []
    found = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = [name for name in dirs if not name.startswith(".")]
        for name in files:
            path = Path(root) / name
            if not name.startswith(".") and path.suffix.lower() not in IGNORED_SUFFIXES:
                found.append(path)
    return sorted(found)


class FolderWatcher:
    """Watches ``folders`` for ``service`` (in the API process; one per data directory).

    Args:
        service: the service whose submit and store are used.
        folders: the folders and their options (:func:`~stenograph.watch.config.merge_folders`).
        clock: monotonic seconds (the stability interval is measured with it).
    """

    def __init__(
        self, service: Stenograph, folders: Sequence[WatchFolder], *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.service = service
        self.settings = service.settings
        self.folders = list(folders)
        self.known = KnownFiles(service.engine)
        self.clock = clock
        self._seen: dict[Path, tuple[Signature, float]] = {}
        self._handled: dict[Path, Signature] = {}
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._observer: Any = None
        self.known.drop_stale_claims()

    # --- running -------------------------------------------------------------------------------
    def start(self) -> None:
        """Start the observer (events wake a scan) and the scanning thread; the first scan runs at once."""
        # Each thread has its own stop event: a thread that :meth:`stop` did not see end (a scan copying a
        # large file) still ends after its scan, rather than scan on beside the new one.
        self._stop = threading.Event()
        self._observer = self._start_observer()
        self._thread = threading.Thread(target=self._run, args=(self._stop,), name="stenograph-watch", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the thread and the observer (a scan in progress ends first; a thread still scanning after
        ``timeout`` seconds ends on its own once that scan has)."""
        self._stop.set()
        self._wake.set()
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(timeout)
            self._observer = None
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def reload(self, folders: Sequence[WatchFolder]) -> None:
        """Watch ``folders`` from now on (the Settings page changed them)."""
        running = self._thread is not None
        if running:
            self.stop()
        self.folders = list(folders)
        if running:
            self.start()

    def _start_observer(self) -> Any:
        """watchdog's inotify observer (or ``PollingObserver`` with ``watch_polling``) waking the scans; the
        polling one when inotify cannot start (its watch limit reached: ``fs.inotify.max_user_watches``)."""
        from watchdog.observers import Observer
        from watchdog.observers.polling import PollingObserver

        polling = PollingObserver(timeout=self.settings.watch_scan_seconds)
        if self.settings.watch_polling:
            return self._schedule(polling)
        try:
            return self._schedule(Observer())
        except OSError as exc:
            log.warning("inotify cannot watch the folders (%s): polling them instead", exc)
            return self._schedule(polling)

    def _schedule(self, observer: Any) -> Any:
        from watchdog.events import FileSystemEvent, FileSystemEventHandler

        wake = self._wake

        class Waker(FileSystemEventHandler):
            def on_any_event(self, event: FileSystemEvent) -> None:
                wake.set()

        for folder in self.folders:
            if folder.path.is_dir():
                observer.schedule(Waker(), str(folder.path), recursive=True)
            else:
                log.warning(
                    "watched folder %s does not exist yet: scanned every %gs",
                    folder.path,
                    self.settings.watch_scan_seconds,
                )
        observer.start()
        return observer

    def _run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            self._wake.clear()
            try:
                waiting = self.scan()
            except Exception:  # a database or disk error must not end the watching
                log.exception("scan of the watched folders failed")
                waiting = False
            interval = self.settings.watch_scan_seconds
            if waiting:  # a file is settling: look again once the stability interval has passed
                interval = min(interval, max(self.settings.watch_stable_seconds / 2, 0.05))
            self._wake.wait(interval)

    # --- one scan --------------------------------------------------------------------------------
    def scan(self) -> bool:
        """One pass: take the stable new files, then export the recordings whose pipeline ended.

        Returns:
            True when a file is still settling (the next scan should come soon).
        """
        with self._lock:
            waiting = False
            for folder in self.folders:
                for path in candidates(folder.path):
                    waiting |= self._consider(folder, path)
            self.export_finished()
            return waiting

    def _consider(self, folder: WatchFolder, path: Path) -> bool:
        """Take ``path`` when it is stable and not handled yet; True while it is settling."""
        try:
            stat = path.stat()
        except OSError:
            return False
        signature = (stat.st_size, stat.st_mtime_ns)
        if self._handled.get(path) == signature:
            return False
        now = self.clock()
        first = self._seen.get(path)
        if first is None or first[0] != signature:
            self._seen[path] = (signature, now)
            return True
        if now - first[1] < self.settings.watch_stable_seconds:
            return True
        del self._seen[path]
        if self._take(folder, path, stat.st_size):
            self._handled[path] = signature
        return False

    def _take(self, folder: WatchFolder, path: Path, size: int) -> bool:
        """Submit ``path`` unless its content is known; False when it must be looked at again later."""
        try:
            digest = sha256_of(path)
        except OSError as exc:
            log.warning("%s: cannot be read (%s); tried again at the next scan", path, exc)
            return False
        known = self.known.find(digest)
        if known is not None:
            if known.path != str(path):
                log.info("%s: content already taken from %s (%s); not taken again", path, known.path, known.status)
                self.known.moved(digest, str(path))
            return True
        if not self.known.claim(digest, size, str(folder.path), str(path)):
            return True
        return self._submit(folder, path, digest)

    def _submit(self, folder: WatchFolder, path: Path, digest: str) -> bool:
        from stenograph.service import ServiceError, StoredFile

        uploads = self.settings.uploads_dir
        uploads.mkdir(parents=True, exist_ok=True)
        copy = uploads / new_stored_name()
        try:
            shutil.copyfile(path, copy)
            if sha256_of(copy) != digest:  # written to again while it was read: wait until it settles
                raise OSError("the file changed while it was copied")
        except OSError as exc:
            copy.unlink(missing_ok=True)
            self.known.release(digest)
            log.warning("%s: not taken yet (%s)", path, exc)
            return False
        stored = StoredFile(filename=path.name, path=copy, size_bytes=copy.stat().st_size)
        try:
            pipeline = self.service.pipeline(**folder.options())
            views = self.service.submit_uploads([stored], pipeline)
        except ServiceError as exc:
            copy.unlink(missing_ok=True)
            log.warning("%s: skipped, not taken (%s)", path, exc)
            self.known.settle(digest, "skipped", reason=str(exc))
            return True
        except BaseException:
            if not stored.submitted:
                copy.unlink(missing_ok=True)
                self.known.release(digest)
            raise
        self.known.settle(digest, "submitted", recording_id=views[0].id)
        log.info("%s: taken as recording %d", path, views[0].id)
        return True

    # --- exports ---------------------------------------------------------------------------------
    def export_finished(self) -> list[int]:
        """Write the outputs of every submitted file whose pipeline tasks have all finished. Each is exported
        once: one whose outputs could not all be written keeps why in its row (``export_error``).

        Returns:
            The recording ids exported in this call.
        """
        rows = [row for row in self.known.unexported() if row.recording_id is not None]
        tasks = self.service.queue.tasks_of_recordings(row.recording_id for row in rows if row.recording_id)
        done = []
        for row in rows:
            assert row.recording_id is not None
            steps = [t for t in tasks.get(row.recording_id, []) if t.type in PIPELINE_STEPS]
            if any(t.status not in FINISHED for t in steps):
                continue
            if not self.known.claim_export(row.id):
                continue
            try:
                error = export_recording(self.service, row) if steps else "the recording was deleted"
            except Exception as exc:  # it is claimed: say why in its row, not leave it exported without a word
                log.exception("export of %s failed", row.path)
                error = f"the export failed: {exc}"
            if error:
                log.warning("export of %s: %s", row.path, error)
                self.known.export_failed(row.id, error)
            done.append(row.recording_id)
        return done


def export_recording(service: Stenograph, row: Known) -> str | None:
    """Write ``row``'s recording outputs in ``export_formats`` under the source's base name.

    Returns:
        None when every format was written (``md`` only when a summary exists), else why some were not (no
        transcript: the transcription failed).
    """
    from stenograph.service import render_transcript

    settings = service.settings
    source = Path(row.path)
    folder = settings.export_dir if settings.export_dir is not None else source.parent
    assert row.recording_id is not None
    problems = []
    for fmt in settings.export_formats:
        try:
            if fmt == "md":
                text = service.summary(row.recording_id).markdown
                suffix = ".md"
            else:
                text = render_transcript(service.transcript(row.recording_id), fmt)  # type: ignore[arg-type]
                suffix = f".{fmt}"
        except NotFoundError as exc:
            if fmt != "md":  # the summary's Markdown is written when a summary exists
                problems.append(f"{fmt}: {exc}")
            continue
        try:
            written = write_atomically(folder, source.stem, suffix, text, overwrite=settings.export_overwrite)
        except OSError as exc:
            problems.append(f"{fmt}: {exc}")
            continue
        log.info("exported recording %d to %s", row.recording_id, written)
    return "; ".join(problems) or None


class WatchControl:
    """The API process's watcher: started in the app's lifespan only when folders are configured, and
    started, changed or stopped when the Settings page changes them."""

    def __init__(self, service: Stenograph) -> None:
        self.service = service
        self.watcher: FolderWatcher | None = None
        # Two Settings saves at once (requests run in a thread pool) must not both start a watcher: the one
        # not kept would watch on, never stopped.
        self._lock = threading.Lock()

    def start(self) -> None:
        """Watch the configured folders (nothing when there are none)."""
        self.reload(self.service.watched_folders())

    def reload(self, folders: Sequence[WatchFolder]) -> None:
        """Watch ``folders`` from now on: start a watcher, change its folders, or stop it when there are none
        (one call at a time)."""
        with self._lock:
            if not folders:
                self._stop()
            elif self.watcher is None:
                self.watcher = FolderWatcher(self.service, folders)
                self.watcher.start()
            else:
                self.watcher.reload(folders)

    def stop(self) -> None:
        """Stop watching."""
        with self._lock:
            self._stop()

    def _stop(self) -> None:
        if self.watcher is not None:
            self.watcher.stop()
            self.watcher = None
