"""Validation of uploaded requirement documents (PDF) before they count.

``check_pdf`` runs cheap byte-level checks in the calling process and parses the file with pypdf in a
forked child process (``os.fork`` + ``os.pipe``; no ``multiprocessing`` queues, so it works in AWS Lambda
where ``/dev/shm`` is missing). The child runs under a wall-clock deadline (killed with SIGKILL when it
is exceeded) and an address-space limit (``RLIMIT_AS``), so hostile files can neither hang nor exhaust
the caller. Every problem with the file becomes a :class:`PdfVerdict`; only failures of the host itself
(``os.fork`` or ``os.pipe`` raising ``OSError``) propagate, because they say nothing about the file.
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
import zlib
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pypdf import PdfReader, apply_configuration
from pypdf.errors import LimitReachedError, PyPdfError
from pypdf.filters import ASCII85Decode, ASCIIHexDecode, LZWDecode, RunLengthDecode
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, NullObject, StreamObject

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
    "embedded-file",
    "rich-media",
    "xfa-form",
    "open-action",
    "additional-actions",
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
    """Validate an uploaded PDF and return a verdict; never raises because of the file's content."""
    size = len(data)
    digest = hashlib.sha256(data).hexdigest()
    pages: int | None = None
    if size == 0:
        code: str | None = "empty"
    elif size > limits.max_bytes:
        code = "too-large"
    elif b"%PDF-" not in data[:1024]:
        code = "not-pdf"
    else:
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
_MEDIA_ACTIONS = frozenset({"/Rendition", "/Movie", "/Sound", "/RichMediaExecute"})


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
    findings, streams = _scan(reader)
    findings |= _raw_findings(segments)
    for stream in streams:
        if _name(dict.get(stream, "/Type")) == "/ObjStm":
            # Members of an object stream that the xref no longer lists are invisible to _scan.
            with contextlib.suppress(PyPdfError, ValueError, zlib.error):
                findings |= _raw_findings([(0, stream.get_data())])
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


def _scan(reader: PdfReader) -> tuple[set[str], list[StreamObject]]:
    """Collect active-content findings and all streams from every object in the file."""
    findings: set[str] = set()
    streams: dict[int, StreamObject] = {}
    for top in itertools.chain([reader.trailer], _indirect_objects(reader)):
        stack: list[Any] = [top]
        while stack:
            node = stack.pop()
            if isinstance(node, DictionaryObject):
                if isinstance(node, StreamObject):
                    streams[id(node)] = node
                _check_dictionary(node, findings)
                stack.extend(v for v in dict.values(node) if isinstance(v, (DictionaryObject, ArrayObject)))
            elif isinstance(node, ArrayObject):
                stack.extend(v for v in list.__iter__(node) if isinstance(v, (DictionaryObject, ArrayObject)))
    return findings, list(streams.values())


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
_RAW_NAMES: dict[bytes, str] = {
    b"JavaScript": "javascript",
    b"JS": "javascript",
    b"Launch": "launch-action",
    b"EmbeddedFile": "embedded-file",
    b"EmbeddedFiles": "embedded-file",
    b"FileAttachment": "embedded-file",
    b"RichMedia": "rich-media",
    b"RichMediaContent": "rich-media",
    b"XFA": "xfa-form",
}
_PLAIN_NAME = re.compile(
    rb"/(" + b"|".join(_RAW_NAMES) + rb")(?=[" + _DELIMITERS + rb"]|$)"
)
_ESCAPED_NAME = re.compile(rb"/([^" + _DELIMITERS + rb"]*#[^" + _DELIMITERS + rb"]*)")
_HEX_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")
_STREAM_START = re.compile(rb"(?<![A-Za-z])stream\r?\n")
_OBJECT_HEADER = re.compile(rb"(?<![0-9])([0-9]{1,10})[\x00\t\n\x0c\r ]+([0-9]{1,5})[\x00\t\n\x0c\r ]+obj(?![A-Za-z])")


def _raw_findings(segments: list[tuple[int, bytes]]) -> set[str]:
    """Backstop: active-content names anywhere in the given bytes (file text outside stream data).

    Catches names in objects that pypdf could not parse (and so never showed to :func:`_scan`) but a more
    lenient viewer might still act on, including names obfuscated with ``#xx`` escapes.
    """
    found: set[str] = set()
    for _, text in segments:
        found.update(_RAW_NAMES[match.group(1)] for match in _PLAIN_NAME.finditer(text))
        for match in _ESCAPED_NAME.finditer(text):
            name = _HEX_ESCAPE.sub(lambda escape: bytes([int(escape.group(1), 16)]), match.group(1))
            if name in _RAW_NAMES:
                found.add(_RAW_NAMES[name])
    return found


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


def _check_dictionary(node: DictionaryObject, findings: set[str]) -> None:
    """Record the active-content codes that a single dictionary reveals."""
    keys = set(dict.keys(node))
    action = _name(dict.get(node, "/S"))
    subtype = _name(dict.get(node, "/Subtype"))
    kind = _name(dict.get(node, "/Type"))
    if "/JS" in keys or "/JavaScript" in keys or action == "/JavaScript":
        findings.add("javascript")
    if action == "/Launch":
        findings.add("launch-action")
    if (
        keys & {"/EmbeddedFiles", "/EF"}
        or kind == "/EmbeddedFile"
        or subtype == "/FileAttachment"
        or action == "/GoToE"
    ):
        findings.add("embedded-file")
    if "/RichMediaContent" in keys or subtype in _MEDIA_SUBTYPES or action in _MEDIA_ACTIONS:
        findings.add("rich-media")
    if "/XFA" in keys:
        findings.add("xfa-form")
    if "/OpenAction" in keys and not _is_benign_open_action(_resolve(dict.get(node, "/OpenAction"))):
        findings.add("open-action")
    if "/AA" in keys:
        additional = _resolve(dict.get(node, "/AA"))
        if not isinstance(additional, DictionaryObject) or len(additional) > 0:
            findings.add("additional-actions")


def _name(value: Any) -> str | None:
    """The resolved value if it is a name (or string), else ``None``; safe for set membership tests."""
    value = _resolve(value)
    return str(value) if isinstance(value, str) else None


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
