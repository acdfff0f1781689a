"""Validation of uploaded requirement documents (PDF) before they count.

``check_pdf`` runs cheap byte-level checks in the calling process and parses the file with pypdf in a
forked child process (``os.fork`` + ``os.pipe``; no ``multiprocessing`` queues, so it works in AWS Lambda
where ``/dev/shm`` is missing). The child runs under a wall-clock deadline (killed with SIGKILL when it
is exceeded) and an address-space limit (``RLIMIT_AS``), so hostile files can neither hang nor exhaust
the caller. Every problem with the file becomes a :class:`PdfVerdict`; only failures of the host itself
(``os.fork`` or ``os.pipe`` raising ``OSError``) propagate, because they say nothing about the file.

Active content is judged by an allowlist (DESIGN.md: "Allowlists, not denylists"): a file passes only when
every action in it is an internal ``/GoTo`` or a ``/URI`` to ``http``/``https`` (or a plain ``mailto:``
address), every annotation subtype is in :data:`_ALLOWED_ANNOTATIONS`, and it has no ``/AA``, JavaScript,
embedded files, multimedia, XFA or external stream data. The file must start with ``%PDF-`` and end with
``%%EOF`` (then whitespace only), and must not also be a ZIP/tar archive or start like HTML. Only parsed
names and dictionary keys are judged; text strings (a subject, a link's URL) are never read as names.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import itertools
import json
import logging
import math
import os
import re
import resource
import select
import signal
import time
import warnings
import zipfile
import zlib
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pypdf import PdfReader, apply_configuration
from pypdf.errors import LimitReachedError, PyPdfError
from pypdf.filters import ASCII85Decode, ASCIIHexDecode, LZWDecode, RunLengthDecode
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, NameObject, NullObject, StreamObject

MIB = 1024 * 1024

#: Reason code → (Bahasa Indonesia message, English message). ``{limit_size}`` and ``{max_pages}`` are
#: filled in from the :class:`PdfLimits` in force; use :func:`describe` to get the final text.
REASONS: dict[str, tuple[str, str]] = {
    "empty": (
        "Berkas kosong. Pilih ulang berkas PDF dokumen Anda, lalu unggah kembali.",
        "The file is empty. Select your PDF document again and re-upload it.",
    ),
    "too-large": (
        "Ukuran berkas melebihi batas {limit_size}. Perkecil ukuran PDF (misalnya pindai ulang dengan "
        "resolusi lebih rendah), lalu unggah kembali.",
        "The file is larger than the {limit_size} limit. Reduce the PDF size (for example, rescan at a "
        "lower resolution) and re-upload it.",
    ),
    "not-pdf": (
        "Berkas ini bukan PDF, walaupun namanya berakhiran .pdf. Simpan atau pindai dokumen sebagai PDF, "
        "lalu unggah kembali.",
        "This file is not a PDF, even though its name ends in .pdf. Save or scan the document as a PDF "
        "and re-upload it.",
    ),
    "parse-timeout": (
        "Berkas PDF terlalu rumit untuk diperiksa dalam batas waktu. Simpan ulang sebagai PDF biasa "
        "(misalnya lewat Cetak > Simpan sebagai PDF), lalu unggah kembali.",
        "The PDF is too complex to check within the time limit. Save it again as a plain PDF (for example "
        "via Print > Save as PDF) and re-upload it.",
    ),
    "parse-memory": (
        "Berkas PDF memerlukan terlalu banyak memori untuk diperiksa. Simpan ulang sebagai PDF biasa "
        "(misalnya lewat Cetak > Simpan sebagai PDF), lalu unggah kembali.",
        "The PDF needs too much memory to check. Save it again as a plain PDF (for example via Print > "
        "Save as PDF) and re-upload it.",
    ),
    "malformed": (
        "Berkas PDF rusak atau tidak lengkap sehingga tidak dapat dibaca. Pastikan berkas dapat dibuka di "
        "perangkat Anda, simpan ulang sebagai PDF, lalu unggah kembali.",
        "The PDF is damaged or incomplete and cannot be read. Make sure it opens on your device, save it "
        "again as a PDF and re-upload it.",
    ),
    "encrypted": (
        "Berkas PDF terenkripsi (dilindungi kata sandi atau dibatasi izinnya). Simpan ulang PDF tanpa kata "
        "sandi (misalnya lewat Cetak > Simpan sebagai PDF), lalu unggah kembali.",
        "The PDF is encrypted (password-protected or permission-restricted). Save it again without a "
        "password (for example via Print > Save as PDF) and re-upload it.",
    ),
    "too-many-pages": (
        "Jumlah halaman melebihi batas {max_pages} halaman. Unggah hanya halaman yang diperlukan.",
        "The document has more than {max_pages} pages. Upload only the pages that are required.",
    ),
    "javascript": (
        "Berkas PDF berisi kode program (JavaScript) yang tidak diizinkan. Simpan ulang sebagai PDF biasa "
        "(misalnya lewat Cetak > Simpan sebagai PDF), lalu unggah kembali.",
        "The PDF contains program code (JavaScript), which is not allowed. Save it again as a plain PDF "
        "(for example via Print > Save as PDF) and re-upload it.",
    ),
    "open-action": (
        "Berkas PDF menjalankan perintah otomatis saat dibuka, yang tidak diizinkan. Simpan ulang sebagai "
        "PDF biasa (misalnya lewat Cetak > Simpan sebagai PDF), lalu unggah kembali.",
        "The PDF runs an automatic command when it is opened, which is not allowed. Save it again as a "
        "plain PDF (for example via Print > Save as PDF) and re-upload it.",
    ),
    "additional-actions": (
        "Berkas PDF berisi perintah otomatis tambahan (misalnya saat halaman dibuka), yang tidak "
        "diizinkan. Simpan ulang sebagai PDF biasa (misalnya lewat Cetak > Simpan sebagai PDF), lalu "
        "unggah kembali.",
        "The PDF contains additional automatic commands (for example when a page opens), which are not "
        "allowed. Save it again as a plain PDF (for example via Print > Save as PDF) and re-upload it.",
    ),
    "launch-action": (
        "Berkas PDF berisi perintah untuk menjalankan program atau berkas lain, yang tidak diizinkan. "
        "Simpan ulang sebagai PDF biasa (misalnya lewat Cetak > Simpan sebagai PDF), lalu unggah kembali.",
        "The PDF contains a command that starts another program or file, which is not allowed. Save it "
        "again as a plain PDF (for example via Print > Save as PDF) and re-upload it.",
    ),
    "embedded-file": (
        "Berkas PDF berisi lampiran berkas lain di dalamnya. Unggah setiap dokumen sebagai PDF tersendiri "
        "tanpa lampiran.",
        "The PDF has other files attached inside it. Upload each document as its own PDF without "
        "attachments.",
    ),
    "rich-media": (
        "Berkas PDF berisi konten multimedia (video, suara, atau 3D) yang tidak diizinkan. Simpan ulang "
        "sebagai PDF biasa (misalnya lewat Cetak > Simpan sebagai PDF), lalu unggah kembali.",
        "The PDF contains multimedia content (video, sound or 3D), which is not allowed. Save it again as "
        "a plain PDF (for example via Print > Save as PDF) and re-upload it.",
    ),
    "xfa-form": (
        "Berkas PDF berisi formulir dinamis (XFA) yang tidak diizinkan. Isi formulirnya, cetak ke PDF "
        "(Cetak > Simpan sebagai PDF), lalu unggah hasilnya.",
        "The PDF contains a dynamic (XFA) form, which is not allowed. Fill in the form, print it to PDF "
        "(Print > Save as PDF) and upload the result.",
    ),
    "remote-file": (
        "Berkas PDF berisi tautan yang membuka berkas di komputer atau jaringan lain, yang tidak diizinkan. "
        "Hapus tautan tersebut atau simpan ulang sebagai PDF biasa (misalnya lewat Cetak > Simpan sebagai PDF), "
        "lalu unggah kembali.",
        "The PDF contains a link that opens a file on another computer or network, which is not allowed. Remove "
        "the link or save it again as a plain PDF (for example via Print > Save as PDF) and re-upload it.",
    ),
    "form-action": (
        "Berkas PDF berisi formulir yang mengirim, mengambil, atau menghapus data secara otomatis, yang tidak "
        "diizinkan. Isi formulirnya, cetak ke PDF (Cetak > Simpan sebagai PDF), lalu unggah hasilnya.",
        "The PDF contains a form that sends, fetches or clears data by itself, which is not allowed. Fill in the "
        "form, print it to PDF (Print > Save as PDF) and upload the result.",
    ),
    "action-not-allowed": (
        "Berkas PDF berisi perintah (aksi) yang tidak diizinkan; hanya tautan ke halaman dalam dokumen dan ke "
        "alamat web (http/https) yang diterima. Simpan ulang sebagai PDF biasa (misalnya lewat Cetak > Simpan "
        "sebagai PDF), lalu unggah kembali.",
        "The PDF contains a command (action) that is not allowed; only links to pages of the document and to web "
        "addresses (http/https) are accepted. Save it again as a plain PDF (for example via Print > Save as PDF) "
        "and re-upload it.",
    ),
    "link-scheme": (
        "Berkas PDF berisi tautan yang bukan alamat web (http/https), yang tidak diizinkan. Hapus tautan "
        "tersebut atau simpan ulang sebagai PDF biasa (misalnya lewat Cetak > Simpan sebagai PDF), lalu unggah "
        "kembali.",
        "The PDF contains a link that is not a web address (http/https), which is not allowed. Remove the link "
        "or save it again as a plain PDF (for example via Print > Save as PDF) and re-upload it.",
    ),
    "annotation-not-allowed": (
        "Berkas PDF berisi jenis anotasi (catatan atau elemen interaktif) yang tidak diizinkan. Simpan ulang "
        "sebagai PDF biasa (misalnya lewat Cetak > Simpan sebagai PDF), lalu unggah kembali.",
        "The PDF contains a kind of annotation (note or interactive element) that is not allowed. Save it again "
        "as a plain PDF (for example via Print > Save as PDF) and re-upload it.",
    ),
    "data-before-header": (
        "Berkas ini diawali data lain sebelum isi PDF (misalnya halaman web), sehingga tidak diterima. Simpan "
        "atau pindai ulang dokumen sebagai PDF, lalu unggah kembali.",
        "The file starts with other data before the PDF content (for example a web page), so it is not accepted. "
        "Save or scan the document again as a PDF and re-upload it.",
    ),
    "data-after-eof": (
        "Berkas PDF memuat data tambahan setelah akhir dokumen, sehingga tidak diterima. Simpan ulang sebagai PDF "
        "biasa (misalnya lewat Cetak > Simpan sebagai PDF), lalu unggah kembali.",
        "The PDF carries extra data after the end of the document, so it is not accepted. Save it again as a "
        "plain PDF (for example via Print > Save as PDF) and re-upload it.",
    ),
    "polyglot": (
        "Berkas ini sekaligus berisi format lain (misalnya arsip ZIP atau halaman web) selain PDF, sehingga tidak "
        "diterima. Simpan ulang sebagai PDF biasa (misalnya lewat Cetak > Simpan sebagai PDF), lalu unggah "
        "kembali.",
        "The file is at the same time another format (for example a ZIP archive or a web page) besides a PDF, so "
        "it is not accepted. Save it again as a plain PDF (for example via Print > Save as PDF) and re-upload it.",
    ),
    "decompression-bomb": (
        "Isi berkas PDF membengkak menjadi sangat besar saat dibuka sehingga tidak dapat diproses. Simpan "
        "ulang sebagai PDF biasa (misalnya lewat Cetak > Simpan sebagai PDF), lalu unggah kembali.",
        "The PDF content expands to an excessive size when opened and cannot be processed. Save it again "
        "as a plain PDF (for example via Print > Save as PDF) and re-upload it.",
    ),
}

#: Active-content codes, most severe first; when a file has several, the first one found here is reported.
ACTIVE_CONTENT_PRIORITY: tuple[str, ...] = (
    "javascript",
    "launch-action",
    "remote-file",
    "form-action",
    "embedded-file",
    "rich-media",
    "xfa-form",
    "open-action",
    "additional-actions",
    "action-not-allowed",
    "link-scheme",
    "annotation-not-allowed",
)


class PdfLimits(BaseModel):
    """Resource limits for :func:`check_pdf`."""

    model_config = ConfigDict(frozen=True)

    max_bytes: int = Field(default=10 * MIB, gt=0)
    max_pages: int = Field(default=100, gt=0)
    parse_seconds: float = Field(default=5.0, gt=0)
    #: Address space the parsing child may map on top of what it inherits from the caller at fork time.
    parse_memory_mb: int = Field(default=512, gt=0)
    #: Total bytes all stream decoding stages may produce before the file counts as a decompression bomb.
    max_stream_bytes: int = Field(default=100 * MIB, gt=0)


class PdfVerdict(BaseModel):
    """Outcome of :func:`check_pdf`; ``reason_code`` and the messages are ``None`` when accepted."""

    model_config = ConfigDict(frozen=True)

    accepted: bool
    reason_code: str | None
    message_id: str | None
    message_en: str | None
    pages: int | None
    size_bytes: int
    sha256: str


def describe(code: str, limits: PdfLimits | None = None) -> tuple[str, str]:
    """Return the (Bahasa Indonesia, English) message for ``code`` with limit values filled in."""
    limits = limits or PdfLimits()
    message_id, message_en = REASONS[code]
    size_en = _format_size(limits.max_bytes)
    return (
        message_id.format(limit_size=size_en.replace(".", ","), max_pages=limits.max_pages),
        message_en.format(limit_size=size_en, max_pages=limits.max_pages),
    )


def _format_size(size: int) -> str:
    """Human-readable size in English notation, e.g. ``10 MB`` or ``500 KB``."""
    if size >= MIB:
        return f"{size / MIB:g} MB"
    return f"{size / 1024:g} KB"


def check_pdf(data: bytes, limits: PdfLimits = PdfLimits()) -> PdfVerdict:
    """Validate an uploaded PDF and return a verdict; never raises because of the file's content.

    ``data`` is the whole file. Cheap byte-level checks (size, header at offset 0, polyglot signatures, nothing
    but whitespace after the last ``%%EOF``) run here; the parse and the allowlist walk of the object graph run
    in a forked child under ``limits``. The verdict carries a reason code from :data:`REASONS` when rejected.
    Raises ``OSError`` only when the host cannot fork or create a pipe.
    """
    size = len(data)
    digest = hashlib.sha256(data).hexdigest()
    pages: int | None = None
    if size == 0:
        code: str | None = "empty"
    elif size > limits.max_bytes:
        code = "too-large"
    else:
        code = _byte_problem(data)
        if code is None:
            code, pages = _run_isolated(data, limits)
    if code is None:
        return PdfVerdict(
            accepted=True, reason_code=None, message_id=None, message_en=None,
            pages=pages, size_bytes=size, sha256=digest,
        )
    message_id, message_en = describe(code, limits)
    return PdfVerdict(
        accepted=False, reason_code=code, message_id=message_id, message_en=message_en,
        pages=pages, size_bytes=size, sha256=digest,
    )


# --------------------------------------------------------------------------------------------------
# Byte-level checks (in the caller; cheap, no parsing)
# --------------------------------------------------------------------------------------------------

_HEADER = re.compile(rb"%PDF-[12]\.[0-9]")
_PDF_WHITESPACE = b"\x00\t\n\x0c\r "
#: Markup that makes browsers or old MIME sniffers treat the start of a file as HTML/SVG.
_MARKUP = re.compile(rb"<(?:!doctype|html|head|body|script|iframe|svg|object|embed|meta)[\s>/]?", re.I)
_SNIFF_WINDOW = 1024
_ZIP_EOCD = b"PK\x05\x06"
_ZIP_SEARCH_WINDOW = 22 + 65535  # end-of-central-directory record + the longest archive comment


def _byte_problem(data: bytes) -> str | None:
    """Reason code for problems visible without parsing, in this order: header, polyglot, tail."""
    header = data.find(b"%PDF-", 0, _SNIFF_WINDOW)
    if header < 0 or not _HEADER.match(data, header):
        return "not-pdf"
    if header > 0:
        return "data-before-header"
    if _is_polyglot(data):
        return "polyglot"
    end = data.rfind(b"%%EOF")
    if end < 0:
        return "malformed"  # truncated: no end-of-file marker at all
    if data[end + len(b"%%EOF"):].strip(_PDF_WHITESPACE):
        return "data-after-eof"
    return None


def _is_polyglot(data: bytes) -> bool:
    """True when ``data`` is also a ZIP archive, a tar archive, or starts like an HTML/SVG document.

    Markup counts only in the PDF's own syntax of the first bytes, where a content sniffer would see it:
    a document's text (a string such as the Subject, or a content stream) that merely mentions ``<html>``
    is no polyglot."""
    if any(_MARKUP.search(piece) for piece in _outside_strings_and_streams(data[:_SNIFF_WINDOW])):
        return True
    if data[257:262] == b"ustar":
        return True
    return _is_zip(data)


def _is_zip(data: bytes) -> bool:
    """True when a ZIP reader (which looks for the end record near the end of the file) finds entries."""
    if data.find(_ZIP_EOCD, max(0, len(data) - _ZIP_SEARCH_WINDOW)) < 0:
        return False
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return bool(archive.infolist())
    except Exception:  # noqa: BLE001 - any failure to read it as an archive means it is not one
        return False


# --------------------------------------------------------------------------------------------------
# Process isolation
# --------------------------------------------------------------------------------------------------

# Pre-built so the child can report exhaustion without allocating.
_MEMORY_RESULT = b'{"code": "parse-memory", "pages": null}\n'
_CRASH_RESULT = b'{"code": "malformed", "pages": null}\n'


def _run_isolated(data: bytes, limits: PdfLimits) -> tuple[str | None, int | None]:
    """Run :func:`_inspect` in a forked child under the time and memory limits."""
    read_fd, write_fd = os.pipe()
    try:
        pid = os.fork()
    except BaseException:
        os.close(read_fd)
        os.close(write_fd)
        raise
    if pid == 0:  # child: never returns
        os.close(read_fd)
        _child_main(data, limits, write_fd)
    os.close(write_fd)
    reaped = False
    try:
        raw, timed_out = _read_result(read_fd, time.monotonic() + limits.parse_seconds)
        if timed_out:
            _kill(pid)
            return "parse-timeout", None
        status = _reap(pid)
        reaped = True
        return _decode_result(raw, status)
    finally:
        os.close(read_fd)
        if not reaped:
            _kill(pid)
            _reap(pid)


def _read_result(fd: int, deadline: float) -> tuple[bytes, bool]:
    """Read one newline-terminated message from ``fd``; return (data, timed_out)."""
    poller = select.poll()  # unlike select.select, works for descriptors above FD_SETSIZE
    poller.register(fd, select.POLLIN | select.POLLHUP | select.POLLERR)
    chunks: list[bytes] = []
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not poller.poll(math.ceil(remaining * 1000)):
            return b"".join(chunks), True
        chunk = os.read(fd, 4096)
        if not chunk:
            return b"".join(chunks), False
        chunks.append(chunk)
        if chunk.endswith(b"\n"):
            return b"".join(chunks), False


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def _reap(pid: int) -> int | None:
    """Wait for the child; ``None`` if it was already reaped elsewhere (e.g. SIGCHLD set to SIG_IGN)."""
    try:
        return os.waitpid(pid, 0)[1]
    except ChildProcessError:
        return None


def _decode_result(raw: bytes, status: int | None) -> tuple[str | None, int | None]:
    """Turn the child's message and exit status into (reason code, pages)."""
    if raw.endswith(b"\n"):
        try:
            message = json.loads(raw)
            code, pages = message["code"], message["pages"]
        except (ValueError, KeyError, TypeError):
            return "malformed", None
        if (code is None or code in REASONS) and (pages is None or isinstance(pages, int)):
            return code, pages
        return "malformed", None
    if status is not None and os.WIFSIGNALED(status):
        if os.WTERMSIG(status) == signal.SIGXCPU:
            return "parse-timeout", None  # the RLIMIT_CPU backstop fired
        if os.WTERMSIG(status) == signal.SIGKILL:
            return "parse-memory", None  # killed from outside without a report: the OOM killer
    return "malformed", None


def _child_main(data: bytes, limits: PdfLimits, fd: int) -> None:
    """Body of the forked child: apply limits, inspect, report on ``fd``, and ``_exit``."""
    exit_code = 0
    try:
        hard = _apply_child_limits(limits)
        try:
            code, pages = _inspect(data, limits)
            os.write(fd, json.dumps({"code": code, "pages": pages}).encode() + b"\n")
        except MemoryError:
            with contextlib.suppress(BaseException):
                resource.setrlimit(resource.RLIMIT_AS, (hard, hard))
            os.write(fd, _MEMORY_RESULT)
    except BaseException:  # the child must never unwind into the caller's stack
        exit_code = 1
        with contextlib.suppress(BaseException):
            os.write(fd, _CRASH_RESULT)
    finally:
        os._exit(exit_code)


def _apply_child_limits(limits: PdfLimits) -> int:
    """Limit the child's address space and CPU time; return the original hard RLIMIT_AS."""
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(ValueError, OSError):
            signal.signal(signum, signal.SIG_DFL)
    warnings.simplefilter("ignore")
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    target = _current_address_space() + limits.parse_memory_mb * MIB
    for bound in (soft, hard):
        if bound != resource.RLIM_INFINITY:
            target = min(target, bound)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_AS, (target, hard))
    cpu_soft, cpu_hard = resource.getrlimit(resource.RLIMIT_CPU)
    cpu_target = math.ceil(limits.parse_seconds) + 1
    if cpu_hard != resource.RLIM_INFINITY:
        cpu_target = min(cpu_target, cpu_hard)
    if cpu_soft == resource.RLIM_INFINITY or cpu_target < cpu_soft:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_CPU, (cpu_target, cpu_hard))
    return hard


def _current_address_space() -> int:
    """Virtual memory size of this process in bytes (0 when /proc is unavailable)."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


# --------------------------------------------------------------------------------------------------
# Inspection (runs in the child)
# --------------------------------------------------------------------------------------------------

_FLATE = frozenset({"/FlateDecode", "/Fl"})
_PYPDF_DECODERS: dict[str, Any] = {
    "/ASCIIHexDecode": ASCIIHexDecode, "/AHx": ASCIIHexDecode,
    "/ASCII85Decode": ASCII85Decode, "/A85": ASCII85Decode,
    "/LZWDecode": LZWDecode, "/LZW": LZWDecode,
    "/RunLengthDecode": RunLengthDecode, "/RL": RunLengthDecode,
}
_DECODABLE = _FLATE | frozenset(_PYPDF_DECODERS)
_MAX_FILTERS = 16
_INFLATE_CHUNK = 4 * MIB
_MEDIA_SUBTYPES = frozenset({"/RichMedia", "/Screen", "/Movie", "/Sound", "/3D"})

#: The allowlist. Actions: only these two types, and a /URI action only with an allowed scheme.
_ALLOWED_ACTIONS = frozenset({"/GoTo", "/URI"})
#: URI schemes a link may use; ``mailto`` only without a ``?`` query (no attachments, no extra headers).
_ALLOWED_SCHEMES = frozenset({"http", "https"})
#: Annotation subtypes that only mark up or link (Widget: form fields and signature fields, whose actions
#: are checked like any other; their /AA is refused).
_ALLOWED_ANNOTATIONS = frozenset({
    "/Link", "/Text", "/Highlight", "/Underline", "/StrikeOut", "/Squiggly", "/FreeText", "/Stamp", "/Popup",
    "/Ink", "/Square", "/Circle", "/Line", "/Polygon", "/PolyLine", "/Caret", "/Widget", "/Watermark",
})
#: Reason codes for refused action types that deserve a specific message; any other type (or none) is
#: ``action-not-allowed``.
_ACTION_CODES: dict[str, str] = {
    "/JavaScript": "javascript",
    "/Launch": "launch-action",
    "/GoToR": "remote-file",
    "/GoToE": "embedded-file",
    "/SubmitForm": "form-action",
    "/ResetForm": "form-action",
    "/ImportData": "form-action",
    "/Rendition": "rich-media",
    "/Movie": "rich-media",
    "/Sound": "rich-media",
    "/RichMediaExecute": "rich-media",
    "/GoTo3DView": "rich-media",
}
#: Every action type of ISO 32000-2: a dictionary whose /S is one of these is checked as an action wherever
#: it is found (none of them is a structure type, transition style, border style or page-label style).
_ACTION_TYPES = _ALLOWED_ACTIONS | frozenset(_ACTION_CODES) | frozenset({
    "/GoToDp", "/Thread", "/Hide", "/Named", "/SetOCGState", "/Trans",
})
_ANNOTATION_CODES: dict[str, str] = {"/FileAttachment": "embedded-file"} | {s: "rich-media" for s in _MEDIA_SUBTYPES}
_SCHEME_CODES: dict[str, str] = {
    "javascript": "javascript", "vbscript": "javascript",
    "file": "remote-file", "smb": "remote-file", "cifs": "remote-file", "afp": "remote-file", "nfs": "remote-file",
}
_URI_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")
_URI_IGNORED = re.compile(r"[\t\n\r]")  # browsers drop these anywhere in a URL
_URI_TRIMMED = "".join(chr(c) for c in range(0x21))  # and trim C0 controls and spaces at both ends


class _BombError(Exception):
    """Raised when stream decoding exceeds the decompression budget."""


def _inspect(data: bytes, limits: PdfLimits) -> tuple[str | None, int | None]:
    """Parse ``data`` and return (reason code or ``None``, page count or ``None``)."""
    budget = limits.max_stream_bytes
    try:
        with apply_configuration(
            zlib_maximum_output_length=budget,
            lzw_maximum_output_length=budget,
            run_length_maximum_output_length=budget,
            brotli_maximum_output_length=budget,
        ), _damage_monitor() as damage:
            code, pages = _inspect_reader(data, limits, damage)
    except MemoryError:
        raise
    except (_BombError, LimitReachedError) as error:
        if isinstance(error, _BombError) or _is_decompression_limit(error):
            return "decompression-bomb", None
        return "malformed", None
    except Exception as error:
        if _caused_by_memory_error(error):
            raise MemoryError from error  # pypdf re-raises MemoryError as PdfReadError
        return "malformed", None
    return code, pages


def _caused_by_memory_error(error: BaseException) -> bool:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, MemoryError):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def _inspect_reader(data: bytes, limits: PdfLimits, damage: _DamageMonitor) -> tuple[str | None, int | None]:
    """Checks of :func:`_inspect` in order; exceptions are mapped to codes by the caller."""
    budget = limits.max_stream_bytes
    reader = PdfReader(io.BytesIO(data), strict=False)
    if reader.is_encrypted:
        return "encrypted", None
    pages = len(reader.pages)
    if pages == 0:
        return "malformed", None
    if pages > limits.max_pages:
        return "too-many-pages", pages
    segments = _outside_streams(data)
    _register_unlisted_objects(reader, segments)
    walker = _Walker()
    streams = walker.scan(reader)
    walker.check_structure(reader)
    findings = walker.findings | _raw_findings(data, [text for _, text in segments])
    for stream in streams:
        if _name(dict.get(stream, "/Type")) == "/ObjStm":
            # Members of an object stream that the xref no longer lists are invisible to the walk.
            with contextlib.suppress(PyPdfError, ValueError, zlib.error):
                findings |= _raw_findings(stream.get_data())
    for code in ACTIVE_CONTENT_PRIORITY:
        if code in findings:
            return code, pages
    if damage.damaged:
        return "malformed", pages
    used = 0
    for stream in streams:
        used += _decoded_size(stream, budget - used)
        if used > budget:
            return "decompression-bomb", pages
    return None, pages


def _is_decompression_limit(error: LimitReachedError) -> bool:
    text = str(error).lower()
    return "decompress" in text or "decoding" in text


def _indirect_objects(reader: PdfReader) -> Iterator[Any]:
    """Yield every live object listed in the cross-reference data, including object-stream members."""
    refs: set[tuple[int, int]] = set()
    for generation, table in reader.xref.items():
        free = reader.xref_free_entry.get(generation, {})
        refs.update((number, generation) for number in table if not free.get(number, False))
    refs.update((number, 0) for number in reader.xref_objStm)
    for number, generation in sorted(refs):
        yield reader.get_object(IndirectObject(number, generation, reader))


class _Walker:
    """Walks the parsed object graph and records reason codes for everything not on the allowlist.

    Two passes share the findings: :meth:`scan` visits every dictionary of every object in the file (whatever
    refers to it) and judges it by its own keys and names; :meth:`check_structure` follows the places where a
    viewer looks for actions whose dictionaries carry no telling name (outline items, form fields). Only keys
    and name objects are judged; string values are never read as names (a URI's text is only parsed as a URI).
    """

    def __init__(self) -> None:
        self.findings: set[str] = set()
        self._actions: set[int] = set()
        self._annotations: set[int] = set()

    def scan(self, reader: PdfReader) -> list[StreamObject]:
        """Check every dictionary reachable from the trailer and the xref; return every stream seen."""
        streams: dict[int, StreamObject] = {}
        for top in itertools.chain([reader.trailer], _indirect_objects(reader)):
            stack: list[Any] = [top]
            while stack:
                node = stack.pop()
                if isinstance(node, DictionaryObject):
                    if isinstance(node, StreamObject):
                        streams[id(node)] = node
                    self._check_dictionary(node)
                    stack.extend(v for v in dict.values(node) if isinstance(v, (DictionaryObject, ArrayObject)))
                elif isinstance(node, ArrayObject):
                    stack.extend(v for v in list.__iter__(node) if isinstance(v, (DictionaryObject, ArrayObject)))
        return list(streams.values())

    def check_structure(self, reader: PdfReader) -> None:
        """Check the actions of outline items and of form fields (reached from the catalog)."""
        catalog = _resolve(dict.get(reader.trailer, "/Root"))
        if not isinstance(catalog, DictionaryObject):
            return
        seen: set[int] = set()
        outlines = _resolve(dict.get(catalog, "/Outlines"))
        pending: list[Any] = [dict.get(outlines, "/First")] if isinstance(outlines, DictionaryObject) else []
        while pending:
            item = _resolve(pending.pop())
            if not isinstance(item, DictionaryObject) or id(item) in seen:
                continue
            seen.add(id(item))
            if "/A" in item:
                self.check_action(dict.get(item, "/A"))
            pending.extend((dict.get(item, "/Next"), dict.get(item, "/First")))
        form = _resolve(dict.get(catalog, "/AcroForm"))
        fields = _as_list(dict.get(form, "/Fields")) if isinstance(form, DictionaryObject) else []
        while fields:
            field = _resolve(fields.pop())
            if not isinstance(field, DictionaryObject) or id(field) in seen:
                continue
            seen.add(id(field))
            if _name(dict.get(field, "/Subtype")) == "/Widget" or "/Rect" in field:
                self.check_annotation(field)
            elif "/A" in field:
                self.check_action(dict.get(field, "/A"))
            fields.extend(_as_list(dict.get(field, "/Kids")))

    def check_annotation(self, value: Any) -> None:
        """Subtype on the allowlist; its /A and /PA actions (with their /Next chains) on the allowlist."""
        annotation = _resolve(value)
        if not isinstance(annotation, DictionaryObject) or id(annotation) in self._annotations:
            return
        self._annotations.add(id(annotation))
        subtype = _name(dict.get(annotation, "/Subtype"))
        if subtype not in _ALLOWED_ANNOTATIONS:
            self.findings.add(_ANNOTATION_CODES.get(subtype or "", "annotation-not-allowed"))
        for key in ("/A", "/PA"):
            if key in annotation:
                self.check_action(dict.get(annotation, key))

    def check_action(self, value: Any) -> None:
        """Check an action (dictionary), or an array of them, and everything its /Next entries chain to."""
        pending = [value]
        while pending:
            item = _resolve(pending.pop())
            if item is None or isinstance(item, NullObject) or id(item) in self._actions:
                continue
            if isinstance(item, ArrayObject):
                self._actions.add(id(item))
                pending.extend(list.__iter__(item))
            elif isinstance(item, DictionaryObject):
                self._actions.add(id(item))
                code = _action_code(item)
                if code is not None:
                    self.findings.add(code)
                pending.append(dict.get(item, "/Next"))
            else:
                self.findings.add("action-not-allowed")

    def _check_open_action(self, value: Any) -> None:
        value = _resolve(value)
        if isinstance(value, DictionaryObject):
            self.check_action(value)
        if not _is_benign_open_action(value) and not isinstance(value, str):  # a string names a destination
            self.findings.add("open-action")

    def _check_dictionary(self, node: DictionaryObject) -> None:
        """Record the reason codes that a single dictionary reveals by its keys and names."""
        keys = set(dict.keys(node))
        action = _name(dict.get(node, "/S"))
        subtype = _name(dict.get(node, "/Subtype"))
        kind = _name(dict.get(node, "/Type"))
        findings = self.findings
        if keys & {"/JS", "/JavaScript"}:
            findings.add("javascript")
        if keys & {"/EmbeddedFiles", "/EF", "/Collection"} or kind == "/EmbeddedFile" or subtype == "/FileAttachment":
            findings.add("embedded-file")
        if keys & {"/RichMediaContent", "/RichMediaSettings", "/Renditions", "/AlternatePresentations"} or (
            subtype in _MEDIA_SUBTYPES
        ):
            findings.add("rich-media")
        if "/XFA" in keys:
            findings.add("xfa-form")
        if isinstance(node, StreamObject) and (keys & {"/F", "/FFilter"} or (subtype == "/Form" and "/Ref" in keys)):
            findings.add("remote-file")  # stream data or a reference XObject fetched from another file
        if "/AA" in keys:
            additional = _resolve(dict.get(node, "/AA"))
            if not isinstance(additional, DictionaryObject) or len(additional) > 0:
                findings.add("additional-actions")
            if isinstance(additional, DictionaryObject):
                for trigger in dict.values(additional):
                    self.check_action(trigger)
        if kind == "/Action" or action in _ACTION_TYPES:
            self.check_action(node)
        if kind == "/Annot":
            self.check_annotation(node)
        if "/Annots" in keys:
            for annotation in _as_list(dict.get(node, "/Annots")):
                self.check_annotation(annotation)
        if "/OpenAction" in keys:
            self._check_open_action(dict.get(node, "/OpenAction"))


def _action_code(action: DictionaryObject) -> str | None:
    """``None`` for an allowed action (internal /GoTo, /URI with an allowed scheme), else its reason code."""
    kind = _name(dict.get(action, "/S"))
    if kind == "/GoTo":
        return None
    if kind == "/URI":
        return _uri_code(_resolve(dict.get(action, "/URI")))
    return _ACTION_CODES.get(kind or "", "action-not-allowed")


def _uri_code(value: Any) -> str | None:
    """``None`` for an ``http``/``https`` URI (or a plain ``mailto:`` address), else a reason code.

    The text is normalised the way browsers do (tabs and line breaks removed, controls and spaces trimmed)
    so that ``java<TAB>script:`` counts as ``javascript:``. A URI without a scheme is refused: it resolves against
    a base the applicant controls, and ``\\\\server\\share`` or ``//server/share`` reach a network share.
    """
    if isinstance(value, bytes):
        text = value.decode("latin-1")
    elif isinstance(value, str):
        text = str(value)
    else:
        return "link-scheme"
    text = _URI_IGNORED.sub("", text).strip(_URI_TRIMMED)
    if text[:2] in ("\\\\", "//", "\\/", "/\\"):
        return "remote-file"
    match = _URI_SCHEME.match(text)
    if match is None:
        return "link-scheme"
    scheme = match.group(1).lower()
    if scheme in _ALLOWED_SCHEMES or (scheme == "mailto" and "?" not in text):
        return None
    return _SCHEME_CODES.get(scheme, "link-scheme")


class _DamageMonitor(logging.Handler):
    """Notices pypdf's non-strict recoveries that silently drop parts of an object."""

    # (logger, message template prefix) of pypdf 7.1 warnings: a dictionary cut short, a key skipped, a
    # repeated key (pypdf keeps the first value, other readers may use the last), an unreadable member of
    # an object stream.
    SIGNS = (
        ("pypdf.generic._data_structures", ("%(exception)r", "%(exception)s", "Multiple definitions in dictionary")),
        ("pypdf._reader", ("Invalid stream (index",)),
    )

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.damaged = False

    def emit(self, record: logging.LogRecord) -> None:
        message = str(record.msg)
        if any(record.name == name and message.startswith(prefixes) for name, prefixes in self.SIGNS):
            self.damaged = True


@contextlib.contextmanager
def _damage_monitor() -> Iterator[_DamageMonitor]:
    """Route pypdf's warnings to a :class:`_DamageMonitor` (and nowhere else) for the duration."""
    logger = logging.getLogger("pypdf")
    monitor = _DamageMonitor()
    saved = (logger.level, logger.propagate)
    logger.setLevel(logging.WARNING)
    logger.propagate = False
    logger.addHandler(monitor)
    try:
        yield monitor
    finally:
        logger.removeHandler(monitor)
        logger.setLevel(saved[0])
        logger.propagate = saved[1]


_DELIMITERS = rb"\x00\t\n\x0c\r ()<>\[\]{}/%"
#: Names that have no use in an acceptable file, whatever dictionary holds them.
_RAW_NAMES: dict[bytes, str] = {
    b"JavaScript": "javascript",
    b"JS": "javascript",
    b"Launch": "launch-action",
    b"GoToR": "remote-file",
    b"SubmitForm": "form-action",
    b"ResetForm": "form-action",
    b"ImportData": "form-action",
    b"EmbeddedFile": "embedded-file",
    b"EmbeddedFiles": "embedded-file",
    b"FileAttachment": "embedded-file",
    b"GoToE": "embedded-file",
    b"RichMedia": "rich-media",
    b"RichMediaContent": "rich-media",
    b"RichMediaExecute": "rich-media",
    b"Rendition": "rich-media",
    b"GoTo3DView": "rich-media",
    b"XFA": "xfa-form",
    b"Named": "action-not-allowed",
    b"SetOCGState": "action-not-allowed",
}
#: The lexemes that matter for finding names: comments, names, hex strings, the start of a literal string
#: (its end is found by :func:`_string_end`, since parentheses nest) and the ``stream`` keyword.
_LEXEME = re.compile(
    rb"%[^\r\n]*"
    rb"|/[^" + _DELIMITERS + rb"]*"
    rb"|<[0-9A-Fa-f\x00\t\n\x0c\r ]*>"
    rb"|\("
    rb"|stream[ \t]*(?:\r\n|\r|\n)"  # the keyword only after whitespace or ">>" (checked in code: fast search)
)
_BEFORE_STREAM = frozenset(b"\x00\t\n\x0c\r >")
_RAW_ALTERNATIVES: list[bytes] = sorted(_RAW_NAMES, key=len, reverse=True)
#: Over-approximates the refused names (it also matches inside strings); lexing runs only when it matches.
_CANDIDATE = re.compile(
    rb"/(?:" + b"|".join(_RAW_ALTERNATIVES) + rb"|[^" + _DELIMITERS + rb"]*#)"
)
_STRING_PART = re.compile(rb"\\.|[()]", re.S)
_HEX_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")
_STREAM_START = re.compile(rb"(?<![A-Za-z])stream\r?\n")
_OBJECT_HEADER = re.compile(rb"(?<![0-9])([0-9]{1,10})[\x00\t\n\x0c\r ]+([0-9]{1,5})[\x00\t\n\x0c\r ]+obj(?![A-Za-z])")


def _raw_findings(text: bytes, outside_streams: list[bytes] | None = None) -> set[str]:
    """Backstop: refused names anywhere in ``text`` (file bytes or a decoded object stream).

    Catches names in objects that pypdf could not parse (and so never showed to :class:`_Walker`) but a more
    lenient viewer might still act on, including names obfuscated with ``#xx`` escapes. The text is lexed:
    names inside strings, comments and stream data are not names and are never reported. ``outside_streams``
    (the pieces of ``text`` between stream bodies, when known) only makes the fast path faster.
    """
    found: set[str] = set()
    if not any(_CANDIDATE.search(piece) for piece in (outside_streams or [text])):
        return found  # fast path: no refused name can be spelt here, not even inside a string
    for name in _names(text):
        code = _RAW_NAMES.get(name)
        if code is not None:
            found.add(code)
    return found


def _names(text: bytes) -> Iterator[bytes]:
    """Every name token of ``text`` (without the slash, ``#xx`` escapes decoded), in linear time."""
    position = 0
    while (match := _LEXEME.search(text, position)) is not None:
        token = match.group()
        position = match.end()
        if token[:1] == b"/":
            yield _HEX_ESCAPE.sub(lambda escape: bytes([int(escape.group(1), 16)]), token[1:])
        elif token == b"(":
            position = _string_end(text, position)
        elif token[:1] == b"s" and (match.start() == 0 or text[match.start() - 1] in _BEFORE_STREAM):
            end = text.find(b"endstream", position)
            position = len(text) if end < 0 else end + len(b"endstream")


def _outside_strings_and_streams(text: bytes) -> Iterator[bytes]:
    """The pieces of ``text`` that are neither literal strings nor stream data (lexed as in `_names`)."""
    position = last = 0
    while (match := _LEXEME.search(text, position)) is not None:
        token = match.group()
        position = match.end()
        if token == b"(":
            yield text[last:match.start()]
            position = last = _string_end(text, position)
        elif token[:1] == b"s" and (match.start() == 0 or text[match.start() - 1] in _BEFORE_STREAM):
            yield text[last:position]
            end = text.find(b"endstream", position)
            position = last = len(text) if end < 0 else end + len(b"endstream")
    yield text[last:]


def _string_end(text: bytes, position: int) -> int:
    """Offset just past the literal string whose opening parenthesis ends at ``position``."""
    depth = 1
    for part in _STRING_PART.finditer(text, position):
        if part.group() == b"(":
            depth += 1
        elif part.group() == b")":
            depth -= 1
            if depth == 0:
                return part.end()
    return len(text)  # unterminated: a reader takes the rest of the text as the string


def _outside_streams(data: bytes) -> list[tuple[int, bytes]]:
    """(offset, bytes) pieces of ``data`` between ``stream … endstream`` bodies (linear time)."""
    segments: list[tuple[int, bytes]] = []
    position = 0
    while (start := _STREAM_START.search(data, position)) is not None:
        end = data.find(b"endstream", start.end())
        if end < 0:
            break
        segments.append((position, data[position:start.start()]))
        position = end + len(b"endstream")
    segments.append((position, data[position:]))
    return segments


def _register_unlisted_objects(reader: PdfReader, segments: list[tuple[int, bytes]]) -> None:
    """Add ``N G obj`` definitions found in the file text to pypdf's xref when it lacks them.

    pypdf's repair of a damaged cross-reference table can stop short; repairing viewers scan the whole
    file, so every object they could find must be inspected too.
    """
    known = {number for table in reader.xref.values() for number in table} | set(reader.xref_objStm)
    for offset, text in segments:
        for match in _OBJECT_HEADER.finditer(text):
            number, generation = int(match.group(1)), int(match.group(2))
            if number not in known:
                reader.xref.setdefault(generation, {})[number] = offset + match.start()


def _resolve(value: Any) -> Any:
    return value.get_object() if isinstance(value, IndirectObject) else value


def _name(value: Any) -> str | None:
    """The resolved value if it is a name object (never a string), else ``None``."""
    value = _resolve(value)
    return str(value) if isinstance(value, NameObject) else None


def _is_benign_open_action(value: Any) -> bool:
    """True for an open action that only shows a destination (array, or a chain of /GoTo actions)."""
    if value is None or isinstance(value, (ArrayObject, NullObject)):
        return True
    seen: set[int] = set()
    pending = [value]
    while pending:
        item = _resolve(pending.pop())
        if item is None or isinstance(item, NullObject) or id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, ArrayObject):  # /Next may hold an array of actions
            pending.extend(list.__iter__(item))
        elif isinstance(item, DictionaryObject) and _name(dict.get(item, "/S")) == "/GoTo":
            pending.append(dict.get(item, "/Next"))
        else:
            return False
    return True


def _as_list(value: Any) -> list[Any]:
    value = _resolve(value)
    if value is None or isinstance(value, NullObject):
        return []
    if isinstance(value, ArrayObject):
        return [_resolve(item) for item in list.__iter__(value)]
    return [value]


def _decoded_size(stream: StreamObject, remaining: int) -> int:
    """Bytes produced by decoding ``stream``; stops early once more than ``remaining`` were produced."""
    data: bytes = getattr(stream, "_data", b"") or b""
    filters = [_name(item) for item in _as_list(dict.get(stream, "/Filter"))]
    if len(filters) > _MAX_FILTERS:
        raise _BombError("too many filters")
    parameters = _as_list(dict.get(stream, "/DecodeParms"))
    produced = 0
    decoded_any = False
    for index, name in enumerate(filters):
        if name not in _DECODABLE:
            break  # image codecs, /Crypt or unknown filters end the chain
        decoded_any = True
        keep = any(later in _DECODABLE for later in filters[index + 1:])
        try:
            if name in _FLATE:
                data, size = _inflate(data, remaining - produced, keep)
            else:
                params = parameters[index] if index < len(parameters) else None
                data = _PYPDF_DECODERS[name].decode(
                    data, params if isinstance(params, DictionaryObject) else DictionaryObject()
                )
                size = len(data)
        except LimitReachedError as error:
            if _is_decompression_limit(error):
                return remaining + 1
            break
        except (PyPdfError, ValueError, TypeError, zlib.error, ArithmeticError, LookupError):
            break  # undecodable data: readers render nothing from here on, so nothing more is produced
        produced += size
        if produced > remaining:
            return produced
    return produced if decoded_any else len(data)


def _inflate(data: bytes, limit: int, keep: bool) -> tuple[bytes, int]:
    """Inflate zlib (or raw deflate) ``data`` in bounded steps; stop once output exceeds ``limit``."""
    for wbits in (zlib.MAX_WBITS | 32, -zlib.MAX_WBITS):
        decompressor = zlib.decompressobj(wbits)
        parts: list[bytes] = []
        produced = 0
        pending = data
        try:
            while True:
                out = decompressor.decompress(pending, _INFLATE_CHUNK)
                produced += len(out)
                if keep:
                    parts.append(out)
                if produced > limit:
                    return b"", produced
                pending = decompressor.unconsumed_tail
                if decompressor.eof or (not pending and not out):
                    break
        except zlib.error:
            if produced == 0 and wbits > 0:
                continue  # no zlib header: retry as raw deflate
        return b"".join(parts), produced
    return b"", 0
