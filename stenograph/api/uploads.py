"""Streaming multipart uploads straight to the data directory.

The request body is parsed as it arrives (python-multipart's ``MultipartParser``) and each file part is
written in chunks to a file with a generated name, so memory does not grow with the upload's size and no
temporary copy is made. A part over the size limit ends the request with 413, a full disk with 507; in
both cases, and on any other error, every file written by the request is removed.
"""

from __future__ import annotations

import contextlib
import errno
import os
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import Request
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import DEFAULT_MAX_HEADER_SIZE, MultipartParser, parse_options_header

from stenograph.api.errors import APIError
from stenograph.service import StoredFile
from stenograph.steps.submit import new_stored_name

#: Most bytes of all non-file form fields together.
MAX_FIELDS_BYTES = 1024 * 1024


#: A file part written to ``path``. ``filename`` is the client's name: data, never a path. ``submitted``:
#: its recording exists (the service says so), so :meth:`ReceivedForm.discard` keeps it.
ReceivedFile = StoredFile


@dataclass
class ReceivedForm:
    files: list[ReceivedFile] = field(default_factory=list)
    fields: dict[str, list[str]] = field(default_factory=dict)

    def first(self, name: str) -> str | None:
        values = self.fields.get(name)
        return values[0] if values else None

    def discard(self) -> None:
        """Remove the files not yet submitted as recordings."""
        for received in self.files:
            if received.submitted:
                continue
            with contextlib.suppress(FileNotFoundError):
                received.path.unlink()


def _write(handle: int, data: bytes) -> None:
    """Write all of ``data`` (the seam tests use to simulate a full disk)."""
    view = memoryview(data)
    while view:
        written = os.write(handle, view)
        view = view[written:]


async def receive_form(
    request: Request, directory: Path, max_file_bytes: int, file_field: str = "file"
) -> ReceivedForm:
    # Long because the parser's callbacks share the closure's per-part state (headers, current part, field bytes).
    """Parse a ``multipart/form-data`` request, writing each ``file_field`` part into ``directory``.

    Raises:
        APIError: 400 not multipart or malformed (a part's header, its file name included, over
            ``DEFAULT_MAX_HEADER_SIZE`` bytes among them), 413 a file over ``max_file_bytes``, 507 no space
            left.
    """
    content_type, options = parse_options_header(request.headers.get("content-type", ""))
    boundary = options.get(b"boundary")
    if content_type != b"multipart/form-data" or not boundary:
        raise APIError(400, "not_multipart", "send the recording as multipart/form-data with a 'file' field")
    directory.mkdir(parents=True, exist_ok=True)
    form = ReceivedForm()
    header_field = bytearray()
    header_value = bytearray()
    headers: dict[str, bytes] = {}
    field_bytes = 0
    current: dict[str, object] = {}

    def on_part_begin() -> None:
        headers.clear()
        current.clear()

    def on_header_field(data: bytes, start: int, end: int) -> None:
        header_field.extend(data[start:end])

    def on_header_value(data: bytes, start: int, end: int) -> None:
        header_value.extend(data[start:end])

    def on_header_end() -> None:
        headers[header_field.decode("latin-1").lower()] = bytes(header_value)
        header_field.clear()
        header_value.clear()

    def on_headers_finished() -> None:
        _, disposition = parse_options_header(headers.get("content-disposition", b""))
        name = disposition.get(b"name", b"").decode("utf-8", errors="replace")
        filename = disposition.get(b"filename")
        current["name"] = name
        if filename is not None and name == file_field:
            received = ReceivedFile(filename.decode("utf-8", errors="replace"), directory / new_stored_name())
            form.files.append(received)
            current["file"] = received
            current["fd"] = os.open(received.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
        else:
            current["value"] = bytearray()

    def on_part_data(data: bytes, start: int, end: int) -> None:
        nonlocal field_bytes
        chunk = data[start:end]
        received = current.get("file")
        if isinstance(received, ReceivedFile):
            received.size_bytes += len(chunk)
            if received.size_bytes > max_file_bytes:
                raise APIError(
                    413,
                    "too_large",
                    f"{received.filename!r} is larger than the {max_file_bytes:,} byte limit "
                    "(STENOGRAPH_MAX_UPLOAD_BYTES)",
                )
            fd = current["fd"]
            assert isinstance(fd, int)
            _write(fd, chunk)
        else:
            field_bytes += len(chunk)
            if field_bytes > MAX_FIELDS_BYTES:
                raise APIError(413, "too_large", "the form fields are too large")
            value = current["value"]
            assert isinstance(value, bytearray)
            value.extend(chunk)

    def on_part_end() -> None:
        fd = current.pop("fd", None)
        if isinstance(fd, int):
            os.close(fd)
        value = current.get("value")
        if isinstance(value, bytearray):
            form.fields.setdefault(str(current["name"]), []).append(value.decode("utf-8", errors="replace"))

    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": on_part_begin,
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_headers_finished": on_headers_finished,
            "on_part_data": on_part_data,
            "on_part_end": on_part_end,
        },
    )
    try:
        async for chunk in request.stream():
            parser.write(chunk)
        parser.finalize()
    except OSError as exc:
        form.discard()
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise APIError(507, "insufficient_storage", "the server's disk is full; nothing was kept") from exc
        raise
    except MultipartParseError as exc:
        form.discard()
        if "header size" in str(exc):
            raise APIError(
                400,
                "header_too_large",
                f"a part's header is over {DEFAULT_MAX_HEADER_SIZE:,} bytes: the file name is probably too long "
                "(rename the file; names are kept to 255 characters); nothing was kept",
            ) from exc
        raise APIError(400, "malformed_multipart", f"the multipart/form-data body is malformed: {exc}") from exc
    except BaseException:
        form.discard()
        raise
    finally:
        fd = current.pop("fd", None)
        if isinstance(fd, int):
            os.close(fd)
    return form
