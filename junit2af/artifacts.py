"""What gets attached to each result: the plan of artifacts for a record.

Shared by ``junit2af parse`` (which prints the plan) and the uploader (which sends it), so
the dry run shows exactly what an upload attaches. Attachment references from reports
are resolved here, and only to regular files inside the allowed roots: a report is
untrusted input and must not make junit2af upload ``/etc/shadow`` or read a FIFO forever.
"""

from __future__ import annotations

import codecs
import fnmatch
import mimetypes
import os
import re
import stat
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import BinaryIO

from junit2af.errors import AttachmentError
from junit2af.records import (
    ARTIFACT_MAX_BYTES,
    ARTIFACTS_PER_RESULT,
    ERROR_MESSAGE_MAX,
    ArtifactKind,
    AttachmentRef,
    TestRecord,
    TextArtifact,
    kind_for_content_type,
    pickled_positionally,
)

TEXT_CONTENT_TYPE = "text/plain; charset=utf-8"


@pickled_positionally
@dataclass(frozen=True, slots=True)
class PlannedArtifact:
    """One artifact to attach: in-memory bytes or a resolved file, with its declared size."""

    label: str
    kind: ArtifactKind
    content_type: str
    size_bytes: int
    role: str  # "failure", "output" or "attachment": what was kept first under the cap
    data: bytes | None = None
    path: str | None = None  # resolved real path of an attachment file
    device: int | None = None  # (st_dev, st_ino) of the file measured at planning time
    inode: int | None = None

    def describe(self) -> dict[str, object]:
        return {
            "label": self.label,
            "kind": str(self.kind),
            "content_type": self.content_type,
            "size_bytes": self.size_bytes,
        }

    @contextmanager
    def open(self, policy: AttachmentPolicy | None = None) -> Iterator[BinaryIO]:
        """A stream of exactly ``size_bytes`` bytes of this artifact's content."""
        if self.data is not None:
            import io

            yield io.BytesIO(self.data)
            return
        assert self.path is not None
        handle = _open_checked(self.path, policy)
        info = os.fstat(handle.fileno())
        if (info.st_dev, info.st_ino) != (self.device, self.inode):
            handle.close()
            raise AttachmentError("the file was replaced after it was checked")
        if info.st_size < self.size_bytes:
            handle.close()
            raise AttachmentError("the file shrank after it was measured")
        try:
            yield _ExactReader(handle, self.size_bytes)  # type: ignore[misc]
        finally:
            handle.close()


class _ExactReader:
    """Reads at most ``size`` bytes: a file that grows while uploading sends what was
    measured when it was planned (and a shrunk file fails loudly in the upload)."""

    def __init__(self, handle: BinaryIO, size: int) -> None:
        self._handle = handle
        self._left = size
        self._start = handle.tell()
        self._size = size

    def read(self, amount: int = -1) -> bytes:
        if self._left <= 0:
            return b""
        if amount < 0 or amount > self._left:
            amount = self._left
        data = self._handle.read(amount)
        if not data:
            # Content-Length promised more: fail loudly rather than hang the request.
            raise OSError(f"the file shrank while uploading ({self._left} bytes missing)")
        self._left -= len(data)
        return data

    def seek(self, offset: int, whence: int = 0) -> int:
        # requests rewinds bodies on retries; only a rewind to the start is needed.
        if offset == 0 and whence == 0:
            self._handle.seek(self._start)
            self._left = self._size
            return 0
        if whence == 2 and offset == 0:
            return self._size
        raise OSError("only rewinding to the start is supported")

    def tell(self) -> int:
        return self._size - self._left

    def __len__(self) -> int:
        return self._size


# What is never uploaded as an attachment, whatever the roots: credentials by name or by
# place. The README's Security section states these lists as they are here (a test holds
# them to it). Names are matched case-insensitively against the real path's last part.

#: Folders whose whole content is private, wherever they are in the path.
SECRET_FOLDERS = (
    ".git",
    ".ssh",
    ".gnupg",
    ".aws",
    ".azure",
    ".kube",
    ".docker",
    ".password-store",
    "gcloud",
)
#: (parent folder, name): files that hold credentials in that place only.
SECRET_PLACES = (
    (".m2", "settings.xml"),  # Maven repository passwords
    (".gradle", "gradle.properties"),  # publishing tokens
    ("gh", "hosts.yml"),  # GitHub CLI token (~/.config/gh)
)
#: File names (shell-style patterns) that hold credentials, anywhere.
SECRET_NAMES = (
    # login and package-registry tokens
    ".netrc",
    "_netrc",
    ".pypirc",
    ".npmrc",
    ".yarnrc",
    ".yarnrc.yml",
    ".git-credentials",
    ".pgpass",
    ".my.cnf",
    ".dockercfg",
    ".vault-token",
    ".s3cfg",
    ".boto",
    ".htpasswd",
    ".terraformrc",
    # .aws/credentials, gcloud, .gem, .cargo/credentials.toml, credentials.tfrc.json...
    "credentials*",
    "kubeconfig*",
    ".env*",
    "id_*",  # SSH keys (id_rsa, id_ed25519...)
    "secrets",
    "secrets.*",
    "*.secret",
    "*.secrets",
    # shell and REPL histories (a token typed on a command line): .bash_history,
    # .zsh_history, .python_history, .psql_history, .mysql_history...
    ".*_history",
    ".history",
    "fish_history",
    # keys, keystores and Terraform state (it holds every secret it created)
    "*.pem",
    "*.key",
    "*.p12",
    "*.pfx",
    "*.jks",
    "*.keystore",
    "*.kdbx",
    "*.ppk",
    "*.keytab",
    "*.tfstate",
    "*.tfstate.backup",
)
_SECRET_NAME = re.compile("|".join(fnmatch.translate(pattern) for pattern in SECRET_NAMES))
#: The journal's sidecar files (SQLite's and the lock).
JOURNAL_SIDECARS = ("-journal", "-wal", "-shm", ".lock")


def secret_reason(real_path: str) -> str | None:
    """Why ``real_path`` must never be uploaded, or None: credentials by name or place."""
    parts = real_path.replace("\\", "/").split("/")
    name = parts[-1].lower()
    if any(part.lower() in SECRET_FOLDERS for part in parts[:-1]):
        return "a file under a private folder (.git, .ssh, ...) is never uploaded"
    parent = parts[-2].lower() if len(parts) > 1 else ""
    if (
        _SECRET_NAME.match(name)
        or (parent, name) in SECRET_PLACES
        or name.startswith(".junit2af-journal")
    ):
        return "a credentials file is never uploaded"
    return None


class AttachmentPolicy:
    """Which files a report may make junit2af upload.

    Only regular files inside the allowed ``roots`` (default: the working directory),
    with a single hard link (a second link can pull in a file from outside the roots),
    that are neither ``private`` (the API key file, the journals and their sidecars)
    nor credentials by name or place (:func:`secret_reason`). Devices, FIFOs and sockets
    are refused from their ``stat``, without being opened for reading.
    """

    def __init__(
        self,
        roots: Sequence[str | os.PathLike[str]] | None = None,
        private: Sequence[str | os.PathLike[str]] = (),
    ) -> None:
        chosen = list(roots) if roots else [os.getcwd()]
        self.roots = [os.path.realpath(os.fspath(r)) for r in chosen]
        self.private_paths: list[str] = []
        self.private_files: set[tuple[int, int]] = set()
        for path in private:
            real = os.path.realpath(os.fspath(path))
            names = [real] + [real + suffix for suffix in JOURNAL_SIDECARS]
            self.private_paths.extend(names)
            for name in names:
                try:
                    info = os.stat(name)
                except OSError:
                    continue
                if stat.S_ISREG(info.st_mode):
                    self.private_files.add((info.st_dev, info.st_ino))

    def contains(self, real_path: str) -> bool:
        # commonpath, not startswith: /ws-evil is not inside /ws.
        for root in self.roots:
            try:
                if os.path.commonpath([root, real_path]) == root:
                    return True
            except ValueError:  # different drives
                continue
        return False

    def refusal(self, real_path: str, info: os.stat_result) -> str | None:
        """Why the opened file ``real_path`` (``info`` from ``fstat``) is refused."""
        if not stat.S_ISREG(info.st_mode):
            return "not a regular file"
        if not self.contains(real_path):
            return "points outside the allowed attachment roots"
        if real_path.startswith(("/proc/", "/sys/", "/dev/")):
            return "a special file system"
        if (info.st_dev, info.st_ino) in self.private_files or any(
            real_path == p or _inside(real_path, p) for p in self.private_paths
        ):
            return "junit2af's own key file or journal is never uploaded"
        reason = secret_reason(real_path)
        if reason:
            return reason
        if info.st_nlink > 1:
            return "a file with several hard links is not uploaded (one may lead outside the roots)"
        if info.st_size == 0:
            return "empty file (the API refuses 0-byte artifacts)"
        if info.st_size > ARTIFACT_MAX_BYTES:
            return f"larger than {ARTIFACT_MAX_BYTES} bytes"
        return None

    def resolve(self, ref: AttachmentRef, report_dir: str | None) -> PlannedArtifact:
        """Check ``ref`` and measure it; raises :class:`AttachmentError` when refused."""
        raw = ref.path
        if raw.startswith("file://"):
            raw = raw[len("file://") :]
        if "\x00" in raw:
            raise AttachmentError("a NUL character in the path")
        candidates = [raw] if os.path.isabs(raw) else []
        if not candidates:
            if report_dir:
                candidates.append(os.path.join(report_dir, raw))
            candidates.append(os.path.join(os.getcwd(), raw))
        last_error = "file not found"
        for candidate in candidates:
            if not os.path.lexists(candidate):
                continue
            real = os.path.realpath(candidate)
            if not self.contains(real):
                last_error = "points outside the allowed attachment roots"
                continue
            handle = _open_checked(candidate, self)
            try:
                info = os.fstat(handle.fileno())
            finally:
                handle.close()
            content_type = (
                _clean_content_type(ref.content_type)
                or mimetypes.guess_type(real)[0]
                or "application/octet-stream"
            )
            label = _clean_label(ref.label) or os.path.basename(real)[:255] or "attachment"
            return PlannedArtifact(
                label=label,
                kind=kind_for_content_type(content_type),
                content_type=content_type,
                size_bytes=info.st_size,
                role="attachment",
                path=real,
                device=info.st_dev,
                inode=info.st_ino,
            )
        raise AttachmentError(last_error)


_CONTENT_TYPE = re.compile(r"^[A-Za-z0-9!#$&^_.+-]{1,100}/[A-Za-z0-9!#$&^_.+-]{1,100}$")


def _clean_content_type(value: str | None) -> str | None:
    """A report's declared type, when it is a plain ``type/subtype`` (else guess)."""
    value = (value or "").split(";", 1)[0].strip()
    return value.lower() if _CONTENT_TYPE.match(value) else None


def _clean_label(value: str | None) -> str | None:
    """A report's name for an attachment, on one line and within the API's 255."""
    text = " ".join((value or "").split())
    return text[:255] if text else None


def _inside(path: str, folder: str) -> bool:
    try:
        return os.path.commonpath([folder, path]) == folder
    except ValueError:
        return False


# O_NONBLOCK and O_NOCTTY are POSIX (a FIFO that slips past the stat check does not hang
# the open); Windows has neither, and needs O_BINARY or CRLF is translated and ^Z ends it.
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_OPEN_FLAGS = _NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_BINARY", 0)


def _open_checked(path: str, policy: AttachmentPolicy | None) -> BinaryIO:
    """Open ``path`` and check the opened descriptor, not just the name: a symlink swapped
    in between the check and the open cannot lead outside the roots. A device, FIFO or
    socket is refused from ``stat`` before any open (opening a FIFO for reading blocks
    or steals a writer's data)."""
    try:
        before = os.stat(path)
    except OSError as error:
        raise AttachmentError(f"cannot open: {error.strerror}") from None
    if not stat.S_ISREG(before.st_mode):
        raise AttachmentError("not a regular file")
    try:
        fd = os.open(path, os.O_RDONLY | _OPEN_FLAGS)
    except OSError as error:
        raise AttachmentError(f"cannot open: {error.strerror}") from None
    try:
        info = os.fstat(fd)
        real = _fd_path(fd) or os.path.realpath(path)
        reason = (
            policy.refusal(real, info)
            if policy is not None
            else (None if stat.S_ISREG(info.st_mode) else "not a regular file")
        )
        if reason:
            raise AttachmentError(reason)
        if _NONBLOCK:
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _fd_path(fd: int) -> str | None:
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return None


def _encoded(artifact: TextArtifact) -> bytes:
    """The artifact's UTF-8 bytes, whatever its text holds: a lone surrogate (a JSON
    report's ``"\\ud800"``) cannot be encoded and becomes U+FFFD; bytes a report held that
    were not UTF-8 (``surrogateescape``) are given back as they were."""
    try:
        return artifact.encoded()
    except UnicodeEncodeError:
        return artifact.text.encode("utf-8", _SURROGATES)


def _surrogates(error: UnicodeError) -> tuple[bytes, int]:
    assert isinstance(error, UnicodeEncodeError)
    out = bytearray()
    for char in error.object[error.start : error.end]:
        code = ord(char)
        out += bytes([code - 0xDC00]) if 0xDC80 <= code <= 0xDCFF else "\ufffd".encode()
    return bytes(out), error.end


_SURROGATES = "junit2af-surrogates"
codecs.register_error(_SURROGATES, _surrogates)


def _text_planned(artifact: TextArtifact, role: str) -> PlannedArtifact | None:
    data = _encoded(artifact)
    if not data:
        return None
    if len(data) > ARTIFACT_MAX_BYTES:
        cut = len(data) - ARTIFACT_MAX_BYTES + 64
        data = data[: ARTIFACT_MAX_BYTES - 64] + f"\n[truncated {cut} bytes]\n".encode()
    return PlannedArtifact(
        artifact.label, artifact.kind, artifact.content_type, len(data), role, data
    )


def failure_needs_artifact(record: TestRecord) -> bool:
    """True when the full failure text holds more than ``error_message`` shows."""
    text = (record.failure_text or "").strip()
    if not text:
        return False
    return len(text) > ERROR_MESSAGE_MAX or text != (record.error_message or "").strip()


#: Attachment references resolved per result (twice what the API keeps); the rest are
#: left out with one warning.
MAX_REFERENCES = 2 * ARTIFACTS_PER_RESULT


@dataclass
class ArtifactPlan:
    artifacts: list[PlannedArtifact]
    warnings: list[str]
    left_out: int = 0


def plan_artifacts(record: TestRecord, policy: AttachmentPolicy | None) -> ArtifactPlan:
    """The artifacts to attach to ``record``, most useful first, at most 50.

    Failure text first, then captured output, then attachment files. With
    ``policy=None`` attachments are not resolved at all (each is left out, with a warning).
    Every attachment left out (refused, or past the 50 the API takes) is one warning and
    counts in ``left_out``.
    """
    warnings: list[str] = []
    planned: list[PlannedArtifact] = []
    if failure_needs_artifact(record):
        item = _text_planned(TextArtifact("failure.txt", record.failure_text or ""), "failure")
        if item:
            planned.append(item)
    for output in record.outputs:
        item = _text_planned(output, "output")
        if item:
            planned.append(item)
    report_dir: str | None = None  # where relative references start (a file's folder)
    if record.attachments and record.source.member is None and record.source.path != "-":
        report_dir = os.path.dirname(os.path.abspath(record.source.path))
    refused = 0
    for ref in record.attachments[:MAX_REFERENCES]:
        try:
            if policy is None:
                raise AttachmentError("attachments are not read here")
            planned.append(policy.resolve(ref, report_dir))
        except AttachmentError as error:
            refused += 1
            warnings.append(f"{record.test_name}: attachment {ref.marker} left out: {error}")
    unread = len(record.attachments) - MAX_REFERENCES
    if unread > 0:
        # A report of a million markers would otherwise stat a million paths and print a
        # million lines; the API keeps 50 artifacts a result anyway.
        refused += unread
        warnings.append(
            f"{record.test_name}: {unread} more attachment reference(s) left out unread "
            f"(at most {MAX_REFERENCES} are read per result)"
        )
    if len(planned) > 1:
        planned = _unique_labels(planned)
    left_out = max(0, len(planned) - ARTIFACTS_PER_RESULT)
    if left_out:
        dropped = ", ".join(a.label for a in planned[ARTIFACTS_PER_RESULT:][:5])
        warnings.append(
            f"{record.test_name}: {left_out} artifact(s) left out (the API takes at most "
            f"{ARTIFACTS_PER_RESULT} per result): {dropped}{'...' if left_out > 5 else ''}"
        )
        planned = planned[:ARTIFACTS_PER_RESULT]
    return ArtifactPlan(planned, warnings, left_out + refused)


def _unique_labels(planned: list[PlannedArtifact]) -> list[PlannedArtifact]:
    from dataclasses import replace

    seen: dict[str, int] = {}
    result = []
    for item in planned:
        count = seen.get(item.label, 0) + 1
        seen[item.label] = count
        if count > 1:
            stem, dot, ext = item.label.rpartition(".")
            label = f"{stem}-{count}.{ext}" if dot else f"{item.label}-{count}"
            item = replace(item, label=label[:255])
        result.append(item)
    return result
