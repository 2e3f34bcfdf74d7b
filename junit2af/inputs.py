"""From what the user named to open report streams: files, directories, globs, stdin,
gzip files and zip/tar archives, each recognised by its content.

Everything is opened here and handed to parsers as a binary stream, so no parser ever
opens a path (lxml would gunzip or fetch it). Archives are read member by member without
extracting anything to disk, under caps that stop decompression bombs.
"""

from __future__ import annotations

import glob
import gzip
import io
import lzma
import os
import re
import stat
import sys
import tarfile
import threading
import weakref
import zipfile
import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO, Any, BinaryIO

from junit2af.errors import InputError
from junit2af.parsers import SNIFF_BYTES, Detection, detect

#: Caps on what an archive or a gzip stream may expand to.
MAX_MEMBER_BYTES = 2 * 1024**3
MAX_ARCHIVE_TOTAL_BYTES = 8 * 1024**3
MAX_COMPRESSION_RATIO = 200
MIN_EXPANSION_LIMIT = 10 * 1024**2
MAX_ARCHIVE_MEMBERS = 100_000

#: What opening or reading a hostile archive, gzip stream or file can raise: zipfile's
#: RuntimeError for an encrypted member (and NotImplementedError, a RuntimeError, for an
#: unsupported compression method), BadZipFile (bad CRC, bad header), zlib's and lzma's
#: errors for corrupt data, EOFError for a stream cut short, tarfile's errors, OSError
#: (bz2 and gzip say so, and the disk). Each becomes an :class:`InputError` naming the
#: file or member, never an internal error.
READ_ERRORS: tuple[type[Exception], ...] = (
    OSError,
    EOFError,
    RuntimeError,
    zipfile.BadZipFile,
    tarfile.TarError,
    zlib.error,
    lzma.LZMAError,
)


#: What makes a member found in a folder or an archive be skipped (with a warning).
_SKIP_ERRORS: tuple[type[Exception], ...] = (InputError, *READ_ERRORS)


def _read_error(display: str, error: BaseException) -> InputError:
    """The refusal of ``display`` that ``error`` (one of :data:`READ_ERRORS`) means."""
    if isinstance(error, InputError):
        return error
    if isinstance(error, NotImplementedError):
        reason = f"compressed with a method junit2af cannot read ({error})"
    elif isinstance(error, RuntimeError) and "encrypted" in str(error):
        reason = "encrypted, and junit2af never asks for a password"
    elif isinstance(error, OSError) and error.strerror:
        reason = f"cannot read: {error.strerror}"
    else:
        reason = f"cannot read: {str(error) or type(error).__name__}"
    return InputError(display, reason)


@dataclass(frozen=True)
class ReportInput:
    """One report to parse: a file, an archive member, or stdin."""

    display: str  # what messages call it
    path: str  # the file on disk (the archive, for members)
    member: str | None = None
    mtime: datetime | None = None
    _opener: Callable[[], IO[bytes]] | None = field(default=None, compare=False, repr=False)
    #: bytes to read (a member's uncompressed size); None when unknown (stdin)
    size: int | None = None
    _peek: Callable[[int], bytes] | None = field(default=None, compare=False, repr=False)
    #: a member's place in its archive: two members may share a name, each is read
    position: int | None = None

    def peek(self, count: int) -> bytes:
        """The first ``count`` bytes, without consuming the report (stdin keeps them)."""
        if self._peek is not None:
            return self._peek(count)
        try:
            with self.open() as stream:
                return stream.read(count)
        except READ_ERRORS as error:
            raise _read_error(self.display, error) from None

    @contextmanager
    def open(self) -> Iterator[BinaryIO]:
        """The report's decompressed bytes as a binary stream."""
        assert self._opener is not None
        stream = self._opener()
        try:
            yield stream  # type: ignore[misc]
        finally:
            stream.close()


class _CappedReader(io.RawIOBase):
    """Reads a decompressing stream, refusing to expand past a size or ratio cap; what
    reading it raises (corrupt, encrypted, cut short) is an :class:`InputError` naming
    ``display``. ``owned`` is closed with it (the file under a gzip stream)."""

    def __init__(
        self,
        inner: IO[bytes],
        display: str,
        compressed_size: int | None,
        owned: IO[bytes] | None = None,
    ) -> None:
        self._inner = inner
        self._owned = owned
        self._display = display
        self._limit = MAX_MEMBER_BYTES
        if compressed_size:
            self._limit = min(self._limit, _expansion_limit(compressed_size))
        self._read = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        try:
            data = self._inner.read(len(buffer))
        except READ_ERRORS as error:
            raise _read_error(self._display, error) from None
        self._read += len(data)
        if self._read > self._limit:
            raise InputError(
                self._display,
                f"decompresses to more than {self._limit} bytes (compression bomb?); refused",
            )
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        try:
            self._inner.close()
        finally:
            if self._owned is not None:
                self._owned.close()
            super().close()


def _expansion_limit(compressed_size: int) -> int:
    """How far ``compressed_size`` bytes may expand: a ratio, with a floor so that tiny
    archives of ordinary reports are never refused."""
    return max(compressed_size * MAX_COMPRESSION_RATIO, MIN_EXPANSION_LIMIT)


def _capped(
    inner: IO[bytes], display: str, compressed_size: int | None, owned: IO[bytes] | None = None
) -> IO[bytes]:
    return io.BufferedReader(_CappedReader(inner, display, compressed_size, owned), 256 * 1024)


# O_NONBLOCK: a FIFO swapped in after the stat check does not hang the open (it is then
# refused from fstat); Windows has neither it nor O_NOCTTY, and needs O_BINARY.
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_OPEN_FLAGS = (
    os.O_RDONLY
    | _NONBLOCK
    | getattr(os, "O_NOCTTY", 0)
    | getattr(os, "O_BINARY", 0)
    | getattr(os, "O_CLOEXEC", 0)
)


def _open_regular(path: str) -> io.FileIO:
    """``path`` opened for reading, refused unless the opened descriptor is a regular
    file (never a FIFO, device or socket swapped in since it was listed)."""
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError as error:
        raise InputError(path, f"cannot read: {error.strerror}") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise InputError(path, "not a regular file")
        if _NONBLOCK:
            os.set_blocking(fd, True)
        return io.FileIO(fd, "rb", closefd=True)
    except BaseException:
        os.close(fd)
        raise


class _Bounded(io.RawIOBase):
    """A regular file read up to the size it had when opened: a report a writer is still
    appending to is read as it was then, not until the size cap (4 GiB)."""

    def __init__(self, handle: io.FileIO) -> None:
        self._handle = handle
        self._left = os.fstat(handle.fileno()).st_size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        if self._left <= 0:
            return 0
        view = memoryview(buffer)[: self._left]
        count = self._handle.readinto(view) or 0
        self._left -= count
        return count

    def close(self) -> None:
        self._handle.close()
        super().close()


def _open_as_opened(path: str) -> io.BufferedReader:
    """``path`` as a stream of the bytes it held when opened (see :class:`_Bounded`)."""
    return io.BufferedReader(_Bounded(_open_regular(path)))


def _head(path: str, count: int) -> bytes:
    with _open_regular(path) as handle:
        return handle.read(count) or b""


def _is_gzip(path: str) -> bool:
    return _head(path, 2) == b"\x1f\x8b"


def _gzip_stream(path: str, compressed_size: int) -> IO[bytes]:
    raw = _open_as_opened(path)
    try:
        inner = gzip.GzipFile(fileobj=raw, mode="rb")
    except BaseException:
        raw.close()
        raise
    return _capped(inner, path, compressed_size, owned=raw)  # type: ignore[arg-type]


def _regular_file_input(path: str) -> ReportInput:
    info = os.stat(path)
    mtime = datetime.fromtimestamp(info.st_mtime, UTC)
    if _is_gzip(path):
        return ReportInput(
            display=path,
            path=path,
            mtime=mtime,
            _opener=lambda: _gzip_stream(path, info.st_size),
            size=info.st_size * 4,  # a guess: gzip'd reports shrink about that much
        )
    return ReportInput(
        display=path,
        path=path,
        mtime=mtime,
        _opener=lambda: _open_as_opened(path),
        size=info.st_size,
    )


class _Unclosable(io.RawIOBase):
    """stdin as a report stream: read once, never closed (the process owns it)."""

    def __init__(self, inner: BinaryIO) -> None:
        self._inner = inner

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self._inner.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def _stdin_input() -> ReportInput:
    # Read once, by the one pass over the reports (junit2af.reports.ReportSet.scan): no
    # copy of it is kept, and the size cap of every report applies as it is read. Its
    # first bytes are kept when peeked, so that a stream of garbage is refused from them
    # before anything else happens.
    source = sys.stdin.buffer
    head = bytearray()
    opened: list[bool] = []

    def peek(count: int) -> bytes:
        while len(head) < count:
            chunk = source.read(count - len(head))
            if not chunk:
                break
            head.extend(chunk)
        return bytes(head[:count])

    def opener() -> IO[bytes]:
        if opened:
            raise InputError("<stdin>", "stdin can be read only once")
        opened.append(True)
        raw = _Replay(bytes(head), _Unclosable(source))
        return io.BufferedReader(raw, 256 * 1024)

    return ReportInput(
        display="<stdin>", path="-", mtime=datetime.now(UTC), _opener=opener, _peek=peek
    )


class _Replay(io.RawIOBase):
    """Bytes already read, then the rest of the stream."""

    def __init__(self, head: bytes, rest: io.RawIOBase) -> None:
        self._head = head
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        if self._head:
            count = min(len(buffer), len(self._head))
            buffer[:count] = self._head[:count]
            self._head = self._head[count:]
            return count
        return self._rest.readinto(buffer)


class _Archive:
    """One archive's open handle, shared by all its members' streams.

    Opening a zip reads its whole central directory, and finding a tar member by name
    reads every header before it: reopening the archive for each member made an archive
    of n members cost O(n^2) (100 000 tiny members: hours). The handle is opened on first
    use and kept while a few archives are being read (:data:`_OPEN_ARCHIVES`); the least
    recently used is closed, so a folder of thousands of archives holds a few descriptors.
    A member stream still being read keeps its own reference to the file.
    """

    def __init__(self, path: str, kind: str, handle: zipfile.ZipFile | tarfile.TarFile) -> None:
        self.path = path
        self.kind = kind
        self._handle: zipfile.ZipFile | tarfile.TarFile | None = handle
        _remember(self)

    def open(self, member: Callable[[Any], IO[bytes]]) -> IO[bytes]:
        """``member(handle)``: a member's stream, opened while no other thread can close
        the handle (the stream then holds the file itself)."""
        with _ARCHIVES_LOCK:
            if self._handle is None:
                if self.kind == "zip":
                    self._handle = zipfile.ZipFile(self.path)
                else:
                    self._handle = tarfile.open(self.path, "r:*")  # noqa: SIM115
            stream = member(self._handle)
            _remember(self)
        return stream

    def close(self) -> None:
        with _ARCHIVES_LOCK:
            handle, self._handle = self._handle, None
        if handle is not None:
            handle.close()

    def __del__(self) -> None:
        # The last member input is gone: nothing will read this archive again.
        handle, self._handle = self._handle, None
        if handle is not None:
            handle.close()


#: How many archives stay open at once (least recently used closed first).
MAX_OPEN_ARCHIVES = 4
#: Weak references: an archive no input refers to any more closes itself (``__del__``).
_OPEN_ARCHIVES: list[weakref.ref[_Archive]] = []
_ARCHIVES_LOCK = threading.RLock()


def _remember(archive: _Archive) -> None:
    with _ARCHIVES_LOCK:
        _OPEN_ARCHIVES[:] = [
            ref for ref in _OPEN_ARCHIVES if ref() is not None and ref() is not archive
        ]
        _OPEN_ARCHIVES.append(weakref.ref(archive))
        evicted = [ref() for ref in _OPEN_ARCHIVES[:-MAX_OPEN_ARCHIVES]]
        del _OPEN_ARCHIVES[:-MAX_OPEN_ARCHIVES]
        for old in evicted:
            if old is not None:
                old.close()


def _member_displays(path: str, names: Sequence[str]) -> list[str]:
    """What messages call each member: ``archive!name``, and ``archive!name (#2)`` for the
    second member of the same name (an archive may hold several, each is read)."""
    seen: dict[str, int] = {}
    displays = []
    for name in names:
        count = seen[name] = seen.get(name, 0) + 1
        displays.append(f"{path}!{name}" + (f" (#{count})" if count > 1 else ""))
    return displays


def _member_opener(
    archive: _Archive, member: Callable[[Any], IO[bytes]], display: str, size: int | None
) -> Callable[[], IO[bytes]]:
    """Opens one member, capped; what opening it raises (encrypted, an unknown method, a
    bad header, the archive gone) is an :class:`InputError` naming the member."""

    def opener() -> IO[bytes]:
        try:
            stream = archive.open(member)
        except READ_ERRORS as error:
            raise _read_error(display, error) from None
        return _capped(stream, display, size)

    return opener


def _zip_inputs(path: str) -> Iterator[ReportInput]:
    try:
        handle = zipfile.ZipFile(path)  # noqa: SIM115 - kept open for the members
        listed = handle.infolist()
    except READ_ERRORS as error:
        raise InputError(path, f"not a readable zip archive: {error}") from None
    infos = [(index, info) for index, info in enumerate(listed) if not info.is_dir()]
    if len(infos) > MAX_ARCHIVE_MEMBERS:
        handle.close()
        raise InputError(path, f"archive has more than {MAX_ARCHIVE_MEMBERS} members; refused")
    total = sum(info.file_size for _, info in infos)
    if total > MAX_ARCHIVE_TOTAL_BYTES:
        handle.close()
        raise InputError(path, f"archive expands to {total} bytes; refused")
    archive = _Archive(path, "zip", handle)
    mtime = datetime.fromtimestamp(os.stat(path).st_mtime, UTC)
    # Stable sort: members of the same name stay in archive order (#2 is the later one).
    infos.sort(key=lambda item: item[1].filename)
    displays = _member_displays(path, [info.filename for _, info in infos])
    for (index, info), display in zip(infos, displays, strict=True):

        def member(owner: zipfile.ZipFile, info: zipfile.ZipInfo = info) -> IO[bytes]:
            # By its ZipInfo (its header's offset), not by name: a name finds the last
            # member of that name. Member names are only labels: nothing is written.
            return owner.open(info)

        yield ReportInput(
            display=display,
            path=path,
            member=info.filename,
            mtime=mtime,
            _opener=_member_opener(archive, member, display, info.compress_size),
            size=info.file_size,
            position=index,
        )


def _tar_inputs(path: str) -> Iterator[ReportInput]:
    try:
        handle = tarfile.open(path, "r:*")  # noqa: SIM115 - kept open for the members
        listed = handle.getmembers()
    except READ_ERRORS as error:
        raise InputError(path, f"not a readable tar archive: {error}") from None
    # Regular files only: devices, FIFOs, links (to /etc/passwd...) are never read.
    members = [(index, m) for index, m in enumerate(listed) if m.isfile()]
    if len(members) > MAX_ARCHIVE_MEMBERS:
        handle.close()
        raise InputError(path, f"archive has more than {MAX_ARCHIVE_MEMBERS} members; refused")
    compressed = os.stat(path).st_size
    total = sum(m.size for _, m in members)
    if total > MAX_ARCHIVE_TOTAL_BYTES or total > _expansion_limit(compressed):
        handle.close()
        raise InputError(path, f"archive expands to {total} bytes (compression bomb?); refused")
    archive = _Archive(path, "tar", handle)
    mtime = datetime.fromtimestamp(compressed and os.stat(path).st_mtime, UTC)
    # By name, as zip members are; but a compressed tar is read in its own order: a
    # gzip/bz2/xz stream seeks backwards by decompressing again from the start, and name
    # order on 100 000 members made that quadratic.
    if not _is_compressed(path):
        members.sort(key=lambda item: item[1].name)
    displays = _member_displays(path, [member.name for _, member in members])
    for (index, member), display in zip(members, displays, strict=True):

        def extract(owner: tarfile.TarFile, index: int = index) -> IO[bytes]:
            # By position, not by name: a name lookup scans every header (and two members
            # may share a name).
            listed = owner.getmembers()
            if index >= len(listed) or not listed[index].isfile():
                raise tarfile.TarError("the archive changed since it was listed")
            extracted = owner.extractfile(listed[index])
            if extracted is None:  # pragma: no cover - a regular file, checked above
                raise tarfile.TarError("not a regular file in the archive")
            return extracted

        yield ReportInput(
            display=display,
            path=path,
            member=member.name,
            mtime=mtime,
            _opener=_member_opener(archive, extract, display, None),
            size=member.size,
            position=index,
        )


def _is_compressed(path: str) -> bool:
    head = _head(path, 6)
    return head.startswith((b"\x1f\x8b", b"BZh", b"\xfd7zXZ"))


def _archive_kind(path: str) -> str | None:
    lower = path.lower()
    if lower.endswith(".zip") or lower.endswith(".jar"):
        return "zip"
    if lower.endswith((".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz")):
        return "tar"
    return "zip" if _head(path, 4) == b"PK\x03\x04" else None


def _file_inputs(path: str) -> Iterator[ReportInput]:
    kind = _archive_kind(path)
    if kind == "zip":
        yield from _zip_inputs(path)
    elif kind == "tar":
        yield from _tar_inputs(path)
    else:
        yield _regular_file_input(path)


#: Called for each file a folder, glob or archive held that is not read: (name, why).
OnSkip = Callable[[str, str], None]


def expand_inputs(
    patterns: Sequence[str],
    *,
    recognise: bool = True,
    on_skip: OnSkip | None = None,
) -> Iterator[ReportInput]:
    """The reports named by ``patterns``: files, directories (recursively), globs, ``-``.

    A file named explicitly is always returned (and refused later if it is no report); a
    file found by walking a directory, a glob or an archive is returned only when its
    content looks like a report junit2af reads, so a directory of CI artifacts can be
    given as is. Each file left out that way is passed to ``on_skip`` with what it looks
    like, so that an NUnit file beside JUnit ones does not vanish without a word.
    """
    seen: set[tuple[str, str | None, int | None]] = set()
    for pattern in patterns:
        if pattern == "-":
            yield _stdin_input()
            continue
        if any(ch in pattern for ch in "*?[") and not os.path.exists(pattern):
            matches = sorted(glob.glob(pattern, recursive=True))
            if not matches:
                raise InputError(pattern, "no file matches this pattern")
            candidates = [(m, True) for m in matches]
        else:
            candidates = [(pattern, False)]
        for candidate, from_glob in candidates:
            found_here = _expand_one(
                candidate, explicit=not from_glob, recognise=recognise, on_skip=on_skip
            )
            for found in found_here:
                key = (os.path.realpath(found.path), found.member, found.position)
                if key not in seen:
                    seen.add(key)
                    yield found


def _expand_one(
    path: str, *, explicit: bool, recognise: bool, on_skip: OnSkip | None
) -> Iterator[ReportInput]:
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise InputError(path, "no such file or directory") from None
    except OSError as error:
        raise InputError(path, f"cannot read: {error.strerror}") from None
    if stat.S_ISDIR(info.st_mode):
        for root, dirs, files in os.walk(path):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in sorted(files):
                full = os.path.join(root, name)
                if not os.path.isfile(full):
                    continue
                yield from _recognised(_file_inputs(full), recognise, on_skip)
        return
    if not stat.S_ISREG(info.st_mode):
        raise InputError(path, "not a regular file")
    inputs = _file_inputs(path)
    if _archive_kind(path) is not None:
        yield from _recognised(inputs, recognise, on_skip)
    elif explicit:
        yield from inputs
    else:
        yield from _recognised(inputs, recognise, on_skip)


#: Allure keeps attachments beside its results as ``<uuid>-attachment.<ext>``.
_ALLURE_ATTACHMENT = re.compile(r"^[0-9a-fA-F-]{36}-attachment(\.[\w.-]+)?$")


def _recognised(
    inputs: Iterator[ReportInput], recognise: bool, on_skip: OnSkip | None
) -> Iterator[ReportInput]:
    for report in inputs:
        if not recognise:
            yield report
            continue
        if _ALLURE_ATTACHMENT.match(os.path.basename(report.member or report.path)):
            # Files a test attached, kept beside Allure's results: never reports of
            # their own (one may even be a report a test attached), and not worth a word.
            continue
        try:
            with report.open() as stream:
                head = stream.read(SNIFF_BYTES)
        except _SKIP_ERRORS as error:
            if on_skip is not None:
                reason = _read_error(report.display, error).reason.removeprefix("cannot read: ")
                on_skip(report.display, f"cannot read it ({reason})")
            continue
        detection = detect(head)
        if detection.format is not None:
            yield report
        elif on_skip is not None:
            on_skip(report.display, _what_it_looks_like(detection, head))


def _what_it_looks_like(detection: Detection, head: bytes) -> str:
    if detection.looks_like is not None:
        return detection.looks_like.message()
    if detection.xml_root is not None:
        return f"XML whose root element is <{detection.xml_root.local}>, not a test report"
    if not head.strip():
        return "an empty file"
    return "not a test report junit2af reads"
