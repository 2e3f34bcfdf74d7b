"""Hostile archives, compressed files and report files that change while read: whatever
zipfile, tarfile, gzip, zlib, bz2 or lzma raise ends as one line naming the file or the
member (``a.zip!member``), a skipped member with a warning, never an internal error."""

from __future__ import annotations

import bz2
import gzip
import hashlib
import io
import json
import lzma
import os
import random
import tarfile
import threading
import zipfile
from pathlib import Path

import pytest
from hostile_helpers import assert_clean_output, invoke, one_error_line

from junit2af.errors import ExitStatus, InputError
from junit2af.inputs import expand_inputs
from junit2af.parsers.base import ParseOptions
from junit2af.reports import ReportDigest, read_records

GOOD = b'<testsuite name="s"><testcase classname="c" name="good"/></testsuite>'


def big_report(name: str = "big") -> bytes:
    """A report longer than the sniffed head (so that a late error is met while parsing),
    that compresses badly (so that corrupting its middle breaks the data, not a header)."""
    noise = random.Random(name).randbytes(700_000).hex()  # 1.4 MB of hex
    return (
        f'<testsuite name="s"><testcase classname="c" name="{name}">'
        f"<system-out>{noise}</system-out></testcase></testsuite>"
    ).encode()


def zip_of(path: Path, members: list[tuple[str, bytes]], method: int = zipfile.ZIP_DEFLATED):
    with zipfile.ZipFile(path, "w", compression=method) as archive:
        for name, data in members:
            archive.writestr(name, data)
    return path


def patch_headers(path: Path, member: str, *, flags: int = 0, method: int | None = None) -> None:
    """Set general-purpose flag bits and/or the compression method of ``member``, in its
    local header and in the central directory, as a tool that wrote it so would have."""
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(member)
    local = info.header_offset
    assert data[local : local + 4] == b"PK\x03\x04"
    central = data.index(b"PK\x01\x02")
    while data[central + 46 : central + 46 + len(member)] != member.encode():
        central = data.index(b"PK\x01\x02", central + 4)
    for offset, position in ((local + 6, local + 8), (central + 8, central + 10)):
        if flags:
            value = int.from_bytes(data[offset : offset + 2], "little") | flags
            data[offset : offset + 2] = value.to_bytes(2, "little")
        if method is not None:
            data[position : position + 2] = method.to_bytes(2, "little")
    path.write_bytes(bytes(data))


def corrupt_middle(path: Path, start: int, length: int = 64) -> None:
    data = bytearray(path.read_bytes())
    data[start : start + length] = b"\x00" * length
    path.write_bytes(bytes(data))


def parse(*paths: Path):
    return invoke(["parse", *map(str, paths)])


def records_of(result) -> list[dict]:
    return [json.loads(line) for line in result.stdout.splitlines()]


# -- F4: a member that cannot be read is skipped, named, never an internal error -------------


def test_an_encrypted_member_is_skipped_with_a_warning_naming_it(tmp_path):
    archive = zip_of(tmp_path / "a_enc.zip", [("a.xml", GOOD), ("b.xml", GOOD)])
    patch_headers(archive, "a.xml", flags=0x1)  # "encrypted": zipfile asks for a password
    result = parse(archive)
    assert_clean_output(result)
    assert result.exit_code == 0, result.stderr
    assert [r["metadata"]["archive_member"] for r in records_of(result)] == ["b.xml"]
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"junit2af: warning: {archive}!a.xml: skipped: cannot read it (")
    assert "encrypted" in line


def test_an_archive_of_encrypted_members_only_is_as_one_of_no_report(tmp_path):
    """As an archive of members that are no reports: each said, nothing read, exit 0."""
    archive = zip_of(tmp_path / "a_enc.zip", [("a.xml", GOOD), ("b.xml", GOOD)])
    patch_headers(archive, "a.xml", flags=0x1)
    patch_headers(archive, "b.xml", flags=0x1)
    result = parse(archive)
    assert_clean_output(result)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert [line.split(": skipped: ")[0] for line in lines] == [
        f"junit2af: warning: {archive}!a.xml",
        f"junit2af: warning: {archive}!b.xml",
    ]


def test_an_unsupported_compression_method_is_skipped_naming_the_member(tmp_path):
    archive = zip_of(tmp_path / "aes.zip", [("a.xml", GOOD), ("b.xml", GOOD)])
    patch_headers(archive, "a.xml", method=99)  # WinZip AES: NotImplementedError
    result = parse(archive)
    assert_clean_output(result)
    assert result.exit_code == 0, result.stderr
    assert f"{archive}!a.xml: skipped: cannot read it (compressed with a method" in result.stderr


ZIP_METHODS = {
    "deflate (zlib.error)": zipfile.ZIP_DEFLATED,
    "bzip2 (OSError)": zipfile.ZIP_BZIP2,
    "lzma (LZMAError)": zipfile.ZIP_LZMA,
    "stored (bad CRC)": zipfile.ZIP_STORED,
}


@pytest.mark.parametrize("method", ZIP_METHODS.values(), ids=ZIP_METHODS.keys())
def test_a_member_corrupt_past_its_head_is_refused_naming_it(tmp_path, method):
    """The head reads well (the member is a report), the data breaks while it is parsed:
    exit 3, one line naming ``archive!member``."""
    archive = zip_of(tmp_path / "bad.zip", [("m.xml", big_report())], method)
    with zipfile.ZipFile(archive) as opened:
        info = opened.getinfo("m.xml")
    data_start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    # Near the end: the sniffed head (bzip2 reads a 900 kB block) is still whole.
    corrupt_middle(archive, data_start + info.compress_size * 9 // 10)
    result = parse(archive)
    assert_clean_output(result)
    assert result.exit_code == ExitStatus.BAD_INPUT, result.stderr
    assert one_error_line(result).startswith(f"junit2af: error: {archive}!m.xml: ")


@pytest.mark.parametrize("method", ZIP_METHODS.values(), ids=ZIP_METHODS.keys())
def test_a_member_corrupt_from_its_start_is_skipped_naming_it(tmp_path, method):
    archive = zip_of(tmp_path / "bad.zip", [("m.xml", big_report()), ("ok.xml", GOOD)], method)
    with zipfile.ZipFile(archive) as opened:
        info = opened.getinfo("m.xml")
    data_start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    corrupt_middle(archive, data_start, 16 if method != zipfile.ZIP_STORED else 1)
    result = parse(archive)
    assert_clean_output(result)
    assert result.exit_code in (0, ExitStatus.BAD_INPUT), result.stderr
    assert f"{archive}!m.xml: " in result.stderr


COMPRESSED_TARS = {"gz": ".tar.gz", "bz2": ".tar.bz2", "xz": ".tar.xz"}


@pytest.mark.parametrize("kind", COMPRESSED_TARS, ids=COMPRESSED_TARS.values())
def test_a_corrupt_compressed_tar_is_refused_in_one_line(tmp_path, kind):
    """zlib.error, bz2's OSError, LZMAError or EOFError while the headers are listed."""
    path = tmp_path / f"bad{COMPRESSED_TARS[kind]}"
    with tarfile.open(path, f"w:{kind}") as archive:
        for name in ("a.xml", "b.xml"):
            data = big_report(name)
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    corrupt_middle(path, path.stat().st_size // 2)
    result = parse(path)
    assert_clean_output(result)
    assert result.exit_code == ExitStatus.BAD_INPUT, result.stderr
    assert one_error_line(result).startswith(f"junit2af: error: {path}")


@pytest.mark.parametrize("cut", [0.5, 0.99], ids=["half", "trailer"])
def test_a_truncated_compressed_tar_is_refused_in_one_line(tmp_path, cut):
    path = tmp_path / "cut.tar.xz"
    with tarfile.open(path, "w:xz") as archive:
        data = big_report()
        info = tarfile.TarInfo("a.xml")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    whole = path.read_bytes()
    path.write_bytes(whole[: int(len(whole) * cut)])
    result = parse(path)
    assert_clean_output(result)
    if cut < 0.9:
        assert result.exit_code == ExitStatus.BAD_INPUT, result.stderr
        one_error_line(result)
    else:  # only the end of the xz stream lost: the member is whole, and read
        assert result.exit_code in (0, ExitStatus.BAD_INPUT), result.stderr


COMPRESSED_FILES = {
    "gzip corrupt data": ("r.xml.gz", lambda d: gzip.compress(d), "corrupt"),
    "gzip cut short (EOFError)": ("r.xml.gz", lambda d: gzip.compress(d), "cut"),
    "gzip bad CRC (BadGzipFile)": ("r.xml.gz", lambda d: gzip.compress(d), "crc"),
}


@pytest.mark.parametrize(
    ("name", "compress", "damage"), COMPRESSED_FILES.values(), ids=COMPRESSED_FILES.keys()
)
def test_a_damaged_gzip_report_is_refused_naming_it(tmp_path, name, compress, damage):
    path = tmp_path / name
    data = bytearray(compress(big_report()))
    if damage == "corrupt":
        data[len(data) // 2 : len(data) // 2 + 64] = b"\xff" * 64
    elif damage == "cut":
        del data[len(data) // 2 :]
    else:
        data[-8] ^= 0xFF  # the CRC-32 in the trailer
    path.write_bytes(bytes(data))
    result = parse(path)
    assert_clean_output(result)
    assert result.exit_code == ExitStatus.BAD_INPUT, result.stderr
    assert one_error_line(result).startswith(f"junit2af: error: {path}: ")


def test_a_member_of_a_tar_that_changed_since_listed_is_refused_naming_it(tmp_path):
    """The archive is listed, then replaced by a shorter one (a member's position is gone):
    reading the member is an InputError naming it, never IndexError."""
    path = tmp_path / "t.tar"
    with tarfile.open(path, "w") as archive:
        for name in ("a.xml", "b.xml"):
            info = tarfile.TarInfo(name)
            info.size = len(GOOD)
            archive.addfile(info, io.BytesIO(GOOD))
    inputs = list(expand_inputs([str(path)]))
    assert [i.display for i in inputs] == [f"{path}!a.xml", f"{path}!b.xml"]
    from junit2af import inputs as inputs_module

    for ref in list(inputs_module._OPEN_ARCHIVES):  # the next open reopens the file
        archive_handle = ref()
        if archive_handle is not None:
            archive_handle.close()
    with tarfile.open(path, "w") as archive:
        info = tarfile.TarInfo("a.xml")
        info.size = len(GOOD)
        archive.addfile(info, io.BytesIO(GOOD))
    with pytest.raises(InputError) as caught, inputs[1].open() as stream:
        stream.read()
    assert caught.value.path == f"{path}!b.xml"


# -- F6: members of the same name are each read as themselves --------------------------------


def test_zip_members_of_the_same_name_are_each_read(tmp_path):
    path = tmp_path / "dup.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("a.xml", GOOD)
        with pytest.warns(UserWarning, match="Duplicate name"):
            archive.writestr("a.xml", b"<bad")
    result = parse(path)
    assert_clean_output(result)
    assert result.exit_code == 0, result.stderr
    records = records_of(result)
    assert [r["metadata"]["name"] for r in records] == ["good"]
    assert records[0]["metadata"]["report"] == f"{path}!a.xml"
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"junit2af: warning: {path}!a.xml (#2): skipped: ")


def test_zip_members_of_the_same_name_both_valid_give_both_records(tmp_path):
    path = tmp_path / "dup.zip"
    second = GOOD.replace(b'name="good"', b'name="second"')
    with zipfile.ZipFile(path, "w") as archive, pytest.warns(UserWarning):
        archive.writestr("a.xml", GOOD)
        archive.writestr("a.xml", second)
    result = parse(path)
    assert result.exit_code == 0, result.stderr
    assert sorted(r["metadata"]["name"] for r in records_of(result)) == ["good", "second"]
    displays = [i.display for i in expand_inputs([str(path)])]
    assert displays == [f"{path}!a.xml", f"{path}!a.xml (#2)"]


def test_tar_members_of_the_same_name_are_each_read(tmp_path):
    path = tmp_path / "dup.tar"
    second = GOOD.replace(b'name="good"', b'name="second"')
    with tarfile.open(path, "w") as archive:
        for data in (GOOD, second):
            info = tarfile.TarInfo("a.xml")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    result = parse(path)
    assert result.exit_code == 0, result.stderr
    assert sorted(r["metadata"]["name"] for r in records_of(result)) == ["good", "second"]
    displays = [i.display for i in expand_inputs([str(path)])]
    assert displays == [f"{path}!a.xml", f"{path}!a.xml (#2)"]


def test_an_archive_named_twice_is_still_listed_once(tmp_path, monkeypatch):
    zip_of(tmp_path / "a.zip", [("a.xml", GOOD)])
    monkeypatch.chdir(tmp_path)
    assert [i.display for i in expand_inputs(["a.zip", "./a.zip", str(tmp_path)])] == [
        "a.zip!a.xml"
    ]


# -- F7: a report file is read up to the size it had when opened ------------------------------


def test_a_report_growing_while_read_is_read_as_it_was_when_opened(tmp_path):
    path = tmp_path / "growing.xml"
    path.write_bytes(GOOD)
    digests: list[ReportDigest] = []
    records = read_records(
        list(expand_inputs([str(path)])),
        ParseOptions(warn=lambda m: None),
        on_digest=digests.append,
    )
    first = next(records)  # the file is open now
    with open(path, "ab") as writer:  # a writer still appending (after the root: legal XML)
        writer.write(b"\n<!-- more -->" * 100_000)
    assert list(records) == []
    assert first.test_name == "c.good"
    assert [d.size for d in digests] == [len(GOOD)]
    assert digests[0].sha256 == hashlib.sha256(GOOD).hexdigest()


def test_a_gzip_report_growing_while_read_is_read_as_it_was_when_opened(tmp_path):
    path = tmp_path / "growing.xml.gz"
    path.write_bytes(gzip.compress(GOOD))
    (report,) = expand_inputs([str(path)])
    with report.open() as stream:
        with open(path, "ab") as writer:  # a second gzip member, appended after the open
            writer.write(gzip.compress(b"<!-- appended -->"))
        assert stream.read() == GOOD


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX FIFOs")
def test_a_fifo_swapped_in_after_listing_is_refused_without_hanging(tmp_path):
    path = tmp_path / "r.xml"
    path.write_bytes(GOOD)
    (report,) = expand_inputs([str(path)])
    path.unlink()
    os.mkfifo(path)
    outcome: list[BaseException | bytes] = []

    def read() -> None:
        try:
            with report.open() as stream:
                outcome.append(stream.read())
        except BaseException as error:  # noqa: BLE001 - handed to the test
            outcome.append(error)

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    thread.join(10)
    if thread.is_alive():  # unblock it: a writer end opened, then closed
        os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
        pytest.fail("opening the report blocked on a FIFO")
    (error,) = outcome
    assert isinstance(error, InputError), error
    assert error.path == str(path)
    assert "not a regular file" in error.reason


def test_a_bz2_or_xz_file_is_not_read_as_an_archive(tmp_path):
    """Neither is decompressed (only gzip is): refused as no report, in one line."""
    for name, data in (("r.xml.bz2", bz2.compress(GOOD)), ("r.xml.xz", lzma.compress(GOOD))):
        path = tmp_path / name
        path.write_bytes(data)
        result = parse(path)
        assert_clean_output(result)
        assert result.exit_code == ExitStatus.BAD_INPUT
        one_error_line(result)
