"""Receiving a multipart form into one folder, with limits checked while the bytes arrive.

:func:`receive_form` parses a ``multipart/form-data`` body chunk by chunk
(python-multipart's streaming parser) and writes each uploaded file straight
into the request's own temporary folder under a neutral name
(``<field>_<n>.part``), so no upload is ever written anywhere else (no spooled
temporary file in the system's temporary folder) and an oversized file is
refused at the byte that crosses the limit, not after it has been stored.
"""
from __future__ import annotations

import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

from lnfusion.serve.form import InputError, PatientForm

__all__ = ["UploadLimits", "UploadedFile", "ReceivedForm", "receive_form"]


@dataclass(frozen=True)
class UploadLimits:
    """Limits on what one request may send.

    Parameters
    ----------
    max_file_bytes : int, default 20,000,000 (20 MB)
        Largest uploaded file.
    max_images : int, default 8
        Most images per image field.
    max_value_bytes : int, default 4096
        Longest text value of a descriptor field.
    max_parts : int, default 200
        Most parts (fields and files) in one request.
    """

    max_file_bytes: int = 20_000_000
    max_images: int = 8
    max_value_bytes: int = 4096
    max_parts: int = 200


@dataclass
class UploadedFile:
    """One uploaded file, as stored in the request's folder."""

    field: str
    index: int          #: 1-based position among the field's files
    filename: str       #: the name the client gave (never logged)
    path: Path
    size: int = 0

    @property
    def label(self) -> str:
        """How messages name the file: ``field 'bmode', image 2 ('scan.png')``."""
        name = f" ({self.filename!r})" if self.filename else ""
        return f"field {self.field!r}, image {self.index}{name}"


@dataclass
class ReceivedForm:
    """The text values and stored files of one request, per field name."""

    values: dict[str, list[str]] = field(default_factory=dict)
    files: dict[str, list[UploadedFile]] = field(default_factory=dict)


class _Receiver:
    def __init__(self, folder: Path, form: PatientForm, limits: UploadLimits):
        self.folder, self.form, self.limits = folder, form, limits
        self.result = ReceivedForm()
        self.parts = 0
        self._header_name = b""
        self._header_value = b""
        self._disposition = b""
        self._name = ""
        self._file: UploadedFile | None = None
        self._handle = None
        self._text = bytearray()

    # python-multipart callbacks ----------------------------------------------------------
    def on_part_begin(self) -> None:
        self._disposition = b""
        self._file = None
        self._text = bytearray()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def on_header_end(self) -> None:
        if self._header_name.lower() == b"content-disposition":
            self._disposition = self._header_value
        self._header_name = self._header_value = b""

    def on_headers_finished(self) -> None:
        from python_multipart.multipart import parse_options_header

        self.parts += 1
        if self.parts > self.limits.max_parts:
            raise InputError(f"too many form parts (more than {self.limits.max_parts})", status=413)
        _, options = parse_options_header(self._disposition)
        if b"name" not in options:
            raise InputError("a form part has no field name (Content-Disposition name=...)",
                             status=400)
        self._name = options[b"name"].decode("utf-8", "replace")
        is_file = b"filename" in options
        self.form.check_field_name(self._name, is_file)
        if not is_file:
            return
        filename = options[b"filename"].decode("utf-8", "replace")
        files = self.result.files.setdefault(self._name, [])
        index = len(files) + 1
        if index > self.limits.max_images:
            raise InputError(f"field {self._name!r}: too many images (more than "
                             f"{self.limits.max_images})", field=self._name, status=422)
        path = self.folder / f"{self._name}_{index}.part"
        self._file = UploadedFile(self._name, index, os.path.basename(filename), path)
        self._handle = open(path, "wb")  # noqa: SIM115 -- closed in on_part_end / close()
        files.append(self._file)

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        n = end - start
        if self._file is None:
            if len(self._text) + n > self.limits.max_value_bytes:
                raise InputError(f"field {self._name!r}: value longer than "
                                 f"{self.limits.max_value_bytes} bytes", field=self._name, status=413)
            self._text += data[start:end]
            return
        self._file.size += n
        if self._file.size > self.limits.max_file_bytes:
            raise InputError(f"{self._file.label}: file larger than the limit of "
                             f"{self.limits.max_file_bytes / 1e6:g} MB", field=self._name, status=413)
        self._handle.write(data[start:end])

    def on_part_end(self) -> None:
        if self._file is None:
            self.result.values.setdefault(self._name, []).append(
                self._text.decode("utf-8", "replace"))
            return
        self._handle.close()
        self._handle = None
        if self._file.size == 0 and not self._file.filename:
            # a browser sends an empty, nameless part for a file input left empty
            self.result.files[self._name].remove(self._file)
            self._file.path.unlink(missing_ok=True)

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


async def receive_form(content_type: str, chunks: AsyncIterator[bytes], folder: str | os.PathLike,
                       form: PatientForm, limits: UploadLimits) -> ReceivedForm:
    """Parse a multipart body, storing its files in ``folder``.

    Parameters
    ----------
    content_type : str
        The request's ``Content-Type`` header (``multipart/form-data; boundary=...``).
    chunks : async iterator of bytes
        The request body as it arrives.
    folder : path-like
        An existing folder owned by this request (emptied by its caller).
    form : PatientForm
        The fields the model knows (anything else is refused as it arrives).
    limits : UploadLimits

    Returns
    -------
    ReceivedForm

    Raises
    ------
    InputError
        Not a multipart body, an unknown field, a file in a value field, too
        many images, a file or value over its limit, a malformed body.
    """
    from python_multipart import MultipartParser
    from python_multipart.exceptions import FormParserError
    from python_multipart.multipart import parse_options_header

    kind, params = parse_options_header(content_type or "")
    if kind != b"multipart/form-data" or b"boundary" not in params:
        raise InputError("expected a multipart/form-data body (the form's fields and image files)",
                         status=415)
    receiver = _Receiver(Path(folder), form, limits)
    callbacks = {name: getattr(receiver, name) for name in (
        "on_part_begin", "on_header_field", "on_header_value", "on_header_end",
        "on_headers_finished", "on_part_data", "on_part_end")}
    parser = MultipartParser(params[b"boundary"], callbacks)
    try:
        async for chunk in chunks:
            parser.write(chunk)
        parser.finalize()
    except FormParserError as exc:
        raise InputError(f"malformed multipart body ({exc})", status=400) from None
    finally:
        receiver.close()
    return receiver.result
