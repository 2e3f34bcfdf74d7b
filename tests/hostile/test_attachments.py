"""Attachment references are resolved only to regular files inside the allowed roots."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from junit2af.artifacts import AttachmentPolicy, plan_artifacts
from junit2af.cli import main
from junit2af.errors import AttachmentError
from junit2af.records import AttachmentRef, SourceRef, Status, TestRecord

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def workspace(tmp_path, monkeypatch):
    """A CI workspace ``ws`` (the cwd) with a sibling ``ws-evil`` and files outside."""
    ws = tmp_path / "ws"
    (ws / "shots").mkdir(parents=True)
    (ws / "shots" / "ok.png").write_bytes(PNG)
    (ws / "subdir").mkdir()
    (tmp_path / "outside.txt").write_text("SECRET-OUTSIDE")
    (tmp_path / "ws-evil").mkdir()
    (tmp_path / "ws-evil" / "secret.txt").write_text("SECRET-PREFIX")
    os.symlink(tmp_path / "outside.txt", ws / "link-out.txt")
    os.mkfifo(ws / "fifo")
    with open(ws / "huge.bin", "wb") as handle:
        handle.truncate(101 * 1024 * 1024)  # sparse: no disk used
    (ws / "empty.txt").write_bytes(b"")
    monkeypatch.chdir(ws)
    return ws


MARKERS = {
    "absolute outside": "{tmp}/outside.txt",
    "dot-dot escape": "../outside.txt",
    "prefix trick": "{tmp}/ws-evil/secret.txt",
    "symlink out": "link-out.txt",
    "fifo": "fifo",
    "device": "/dev/zero",
    "proc file": "/proc/self/environ",
    "directory": "subdir",
    "over 100 MB": "huge.bin",
    "empty": "empty.txt",
    "missing": "nope.png",
}


def report_with_markers(ws: Path) -> Path:
    tmp = str(ws.parent)
    lines = "\n".join(f"[[ATTACHMENT|{m.format(tmp=tmp)}]]" for m in MARKERS.values())
    report = ws / "report.xml"
    report.write_text(
        f'<testsuite name="s"><testcase name="shots"><system-out>see\n{lines}\n'
        "[[ATTACHMENT|shots/ok.png]]\n</system-out></testcase></testsuite>"
    )
    return report


def test_only_the_regular_file_inside_the_root_is_attached(workspace):
    report = report_with_markers(workspace)
    result = CliRunner().invoke(main, ["parse", str(report)])
    assert result.exit_code == 0, result.stderr
    record = json.loads(result.stdout)
    labels = [a["label"] for a in record["artifacts"]]
    assert labels == ["stdout.log", "ok.png"]
    ok = record["artifacts"][1]
    assert (ok["kind"], ok["content_type"], ok["size_bytes"]) == ("Image", "image/png", len(PNG))
    warnings = [line for line in result.stderr.splitlines() if "attachment" in line]
    assert len(warnings) == len(MARKERS)
    for marker in MARKERS.values():
        text = f"[[ATTACHMENT|{marker.format(tmp=workspace.parent)}]]"
        assert sum(text in w for w in warnings) == 1, marker
    assert "SECRET" not in result.stderr + result.stdout


def test_attachments_root_option_widens_what_is_allowed(workspace):
    report = report_with_markers(workspace)
    result = CliRunner().invoke(
        main, ["parse", "--attachments-root", str(workspace.parent / "ws-evil"), str(report)]
    )
    labels = [a["label"] for a in json.loads(result.stdout)["artifacts"]]
    assert "secret.txt" in labels and "ok.png" not in labels


def _record(ref: str) -> TestRecord:
    return TestRecord(
        test_name="t.x",
        status=Status.PASSED,
        source=SourceRef("r.xml"),
        attachments=(AttachmentRef(ref, f"[[ATTACHMENT|{ref}]]"),),
    )


def test_a_file_that_grows_sends_the_bytes_measured_at_open(workspace):
    path = workspace / "growing.log"
    path.write_bytes(b"0123456789")
    planned = plan_artifacts(_record("growing.log"), AttachmentPolicy()).artifacts[0]
    with open(path, "ab") as handle:
        handle.write(b"MORE DATA WRITTEN LATER")
    with planned.open(AttachmentPolicy()) as body:
        assert body.read() == b"0123456789"


def test_a_file_swapped_for_a_symlink_after_the_check_is_refused(workspace):
    path = workspace / "swap.log"
    path.write_text("fine")
    planned = plan_artifacts(_record("swap.log"), AttachmentPolicy()).artifacts[0]
    path.unlink()
    os.symlink(workspace.parent / "outside.txt", path)
    with (
        pytest.raises(AttachmentError, match="outside the allowed"),
        planned.open(AttachmentPolicy()),
    ):
        pass


def test_upload_attaches_only_the_allowed_file(workspace, local_server):
    report = report_with_markers(workspace)
    env = {
        "AF_API_URL": local_server.base_url,
        "AF_API_KEY": local_server.api_key,
        "AF_PROJECT_ID": local_server.project_id,
    }
    result = CliRunner().invoke(main, ["upload", "--json", str(report)], env=env)
    assert result.exit_code == 0, result.stderr
    stored = local_server.admin.artifacts()
    assert sorted(a["label"] for a in stored) == ["ok.png", "stdout.log"]
    png = next(a for a in stored if a["label"] == "ok.png")
    assert local_server.admin.artifact_bytes(png["artifact_id"]) == PNG
    assert len(json.loads(result.stdout)["warnings"]) == len(MARKERS)


# -- issue 11 item 1: a report must never make junit2af upload a secret ---------------------

#: Credentials by name or place, each created in the workspace (the attachments root).
CREDENTIALS = [
    ".git/config",
    ".netrc",
    ".pypirc",
    ".npmrc",
    ".env",
    ".env.local",
    "x.pem",
    "server.key",
    "id_rsa",
    ".docker/config.json",
    ".aws/credentials",
    ".git-credentials",
    ".kube/config",
    "kubeconfig",
    "sub/.env.production",
    "deploy/id_ed25519",
    ".ssh/known_hosts",
    ".m2/settings.xml",
    ".vault-token",
    "credentials.json",
    "infra/terraform.tfstate",
    ".config/gcloud/application_default_credentials.json",
    ".config/gh/hosts.yml",
    # credentials*, secrets, shell histories and more (audit F5)
    ".terraform.d/credentials.tfrc.json",
    "credentials.csv",
    "Credentials.CSV",
    "secrets.yaml",
    "config/app.secrets",
    "db.secret",
    ".bash_history",
    ".zsh_history",
    ".python_history",
    ".psql_history",
    ".mysql_history",
    ".local/share/fish/fish_history",
    "vault.kdbx",
    "infra/terraform.tfstate.backup",
    "certs/client.p12",
    "certs/client.pfx",
    ".pgpass",
    "deploy/id_ecdsa",
]
#: junit2af's own files: the key file, the journal and its sidecars.
OWN_FILES = [
    "af.key",
    "journal.sqlite3",
    "journal.sqlite3-journal",
    "journal.sqlite3.lock",
    "journal.sqlite3-wal",
    "state/journals/abc.sqlite3",
]


class OpenSpy:
    """Records (and refuses) every open of the named paths, so a test proves that a FIFO
    was never opened for reading, without hanging when it would have been."""

    def __init__(self, monkeypatch, *paths: Path) -> None:
        self.watched = {os.path.realpath(p) for p in paths}
        self.opened: list[str] = []
        real_os_open, real_open = os.open, open

        def check(path) -> None:
            if isinstance(path, int):
                return
            real = os.path.realpath(os.fspath(path))
            if real in self.watched:
                self.opened.append(real)
                raise OSError(f"the test refuses to open {real}")

        def os_open(path, flags, *args, **kw):
            check(path)
            return real_os_open(path, flags, *args, **kw)

        def builtin_open(file, *args, **kw):
            check(file)
            return real_open(file, *args, **kw)

        monkeypatch.setattr(os, "open", os_open)
        monkeypatch.setattr("builtins.open", builtin_open)


@pytest.fixture
def secrets_workspace(tmp_path, monkeypatch):
    """The cwd holding credentials, junit2af's own files, special files and one fine file;
    the state folder (default journals) inside it too."""
    ws = tmp_path / "ws"
    ws.mkdir()
    for name in CREDENTIALS + OWN_FILES:
        path = ws / name
        path.parent.mkdir(parents=True, exist_ok=True)
        # SQLite's own files stay empty: SQLite would read them (an empty one is a new
        # database); every other file holds a secret.
        path.write_text(
            ""
            if name.startswith("journal.sqlite3-") or name == "journal.sqlite3"
            else f"SECRET {name}\n"
        )
    for name in CREDENTIALS + OWN_FILES[:1]:
        os.symlink(ws / name, ws / ("link-" + name.replace("/", "_")))
    (tmp_path / "outside.txt").write_text("SECRET outside\n")
    os.link(tmp_path / "outside.txt", ws / "hardlink.txt")  # inside by name only
    os.mkfifo(ws / "fifo")
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(ws / "sock"))
    (ws / "fine.txt").write_text("fine\n")
    os.chmod(ws / "af.key", 0o600)
    monkeypatch.chdir(ws)
    monkeypatch.setenv("JUNIT2AF_STATE_DIR", str(ws / "state"))
    yield ws
    listener.close()


def secret_refs(ws: Path) -> list[str]:
    links = ["link-" + n.replace("/", "_") for n in CREDENTIALS + OWN_FILES[:1]]
    return [
        *CREDENTIALS,
        *OWN_FILES,
        *links,
        "hardlink.txt",
        "fifo",
        "sock",
        "/dev/zero",
        "/dev/tty",
        str(ws / "af.key"),
    ]


def secrets_report(ws: Path, refs: list[str]) -> Path:
    markers = "\n".join(f"[[ATTACHMENT|{ref}]]" for ref in refs)
    props = "".join(f'<property name="attachment" value="{ref}"/>' for ref in refs)
    report = ws / "report.xml"
    report.write_text(
        '<testsuite name="s"><testcase name="marker"><system-out>'
        f"[[ATTACHMENT|fine.txt]]\n{markers}\n</system-out></testcase>"
        f'<testcase name="property"><properties>{props}</properties></testcase></testsuite>'
    )
    return report


@pytest.mark.parametrize("roots", [(), ("/",)], ids=["cwd root", "root is /"])
def test_no_secret_is_ever_uploaded(secrets_workspace, local_server, monkeypatch, roots):
    ws = secrets_workspace
    (ws / "af.key").write_text(local_server.api_key + "\n")
    refs = secret_refs(ws)
    report = secrets_report(ws, refs)
    spy = OpenSpy(monkeypatch, ws / "fifo", ws / "sock", "/dev/tty", "/dev/zero")
    env = {"AF_API_URL": local_server.base_url, "AF_PROJECT_ID": local_server.project_id}
    args = ["upload", "--json", "--api-key-file", "af.key", "--journal", "journal.sqlite3"]
    for root in roots:
        args += ["--attachments-root", root]
    started = time.monotonic()
    result = CliRunner().invoke(main, [*args, str(report)], env=env)
    assert time.monotonic() - started < 30
    assert result.exit_code == 0, result.stderr
    assert spy.opened == []  # the FIFO, the socket and the devices were never opened
    summary = json.loads(result.stdout)
    left_out = [line for line in result.stderr.splitlines() if "left out:" in line]
    assert len(left_out) == 2 * len(refs)  # one line each, from the marker and the property
    assert summary["artifacts_left_out"] == 2 * len(refs)
    for ref in refs:
        assert sum(f"[[ATTACHMENT|{ref}]] left out: " in line for line in left_out) == 1, ref
        assert sum(f'value="{ref}"> left out: ' in line for line in left_out) == 1, ref
    for ref in OWN_FILES:
        assert f"[[ATTACHMENT|{ref}]] left out: junit2af's own" in result.stderr, ref
    stored = local_server.admin.artifacts()
    assert sorted(a["label"] for a in stored) == ["fine.txt", "stdout.log"]
    for artifact in stored:
        data = local_server.admin.artifact_bytes(artifact["artifact_id"]) or b""
        assert b"SECRET" not in data.replace(b"[[ATTACHMENT|", b"")
        assert local_server.api_key.encode() not in data


def test_the_journal_of_an_earlier_upload_is_never_attached(secrets_workspace, local_server):
    ws = secrets_workspace
    (ws / "journal.sqlite3").unlink()
    report = secrets_report(ws, ["journal.sqlite3", "journal.sqlite3.lock"])
    env = {
        "AF_API_URL": local_server.base_url,
        "AF_API_KEY": local_server.api_key,
        "AF_PROJECT_ID": local_server.project_id,
    }
    args = ["upload", "--json", "--journal", "journal.sqlite3", str(report)]
    first = CliRunner().invoke(main, args, env=env)
    assert first.exit_code == 0, first.stderr
    assert (ws / "journal.sqlite3").stat().st_size > 0  # now a real journal
    again = CliRunner().invoke(main, [*args[:-1], "--new-run", str(report)], env=env)
    assert again.exit_code == 0, again.stderr
    assert "[[ATTACHMENT|journal.sqlite3]] left out: junit2af's own" in again.stderr
    labels = {a["label"] for a in local_server.admin.artifacts()}
    assert not labels & {"journal.sqlite3", "journal.sqlite3.lock"}


def test_a_fifo_without_writer_does_not_block_an_upload(secrets_workspace, local_server):
    """End to end, in a process of its own: a blocking open of the FIFO would hang."""
    ws = secrets_workspace
    report = secrets_report(ws, ["fifo", "sock", "/dev/tty"])
    env = {
        **os.environ,
        "AF_API_URL": local_server.base_url,
        "AF_API_KEY": local_server.api_key,
        "AF_PROJECT_ID": local_server.project_id,
    }
    command = [sys.executable, "-m", "junit2af", "parse", str(report)]
    process = subprocess.Popen(
        command,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    assert process.returncode == 0, err
    assert err.count("left out: not a regular file") == 4  # fifo, socket x2 (marker, prop)
    assert "[[ATTACHMENT|/dev/tty]] left out: points outside" in err
    assert "fifo" not in "".join(a["label"] for a in json.loads(out.splitlines()[0])["artifacts"])


def test_a_flood_of_references_is_read_up_to_a_cap(tmp_path, monkeypatch):
    from junit2af.artifacts import MAX_REFERENCES

    monkeypatch.chdir(tmp_path)
    markers = "".join(f"[[ATTACHMENT|nope{i}.png]]\n" for i in range(20_000))
    report = tmp_path / "flood.xml"
    report.write_text(
        f'<testsuite name="s"><testcase classname="c" name="t"><system-out>{markers}'
        "</system-out></testcase></testsuite>"
    )
    result = CliRunner().invoke(main, ["parse", str(report)])
    assert result.exit_code == 0, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == MAX_REFERENCES + 1
    assert lines[-1] == (
        f"junit2af: warning: c.t: {20_000 - MAX_REFERENCES} more attachment reference(s) "
        f"left out unread (at most {MAX_REFERENCES} are read per result)"
    )


# -- audit F5: the names the README promises are the names refused ----------------------------

#: Names that hold credentials (each refused), and look-alikes that do not (each allowed).
REFUSED_NAMES = [
    "credentials",
    "credentials.json",
    "credentials.toml",
    "credentials.tfrc.json",
    "credentials.csv",
    "CREDENTIALS.yaml",
    "secrets",
    "secrets.yaml",
    "secrets.json",
    "app.secret",
    "app.secrets",
    ".bash_history",
    ".zsh_history",
    ".python_history",
    ".psql_history",
    ".mysql_history",
    ".node_repl_history",
    ".history",
    "fish_history",
    ".netrc",
    ".pgpass",
    ".git-credentials",
    "id_rsa",
    "id_ed25519.pub",
    "server.pem",
    "client.p12",
    "client.pfx",
    "passwords.kdbx",
    "terraform.tfstate",
    "terraform.tfstate.backup",
    ".env.ci",
    "kubeconfig.yaml",
]
ALLOWED_NAMES = [
    "report.xml",
    "screenshot.png",
    "test_credentials_view.log",  # a test about credentials, not credentials
    "history.txt",
    "build_history",
    "secret_santa.png",
    "identity.txt",
    "keys.txt",
]


@pytest.mark.parametrize("name", REFUSED_NAMES)
def test_a_credentials_name_is_refused(name):
    from junit2af.artifacts import secret_reason

    assert secret_reason(f"/ws/out/{name}") == "a credentials file is never uploaded"


@pytest.mark.parametrize("place", [".docker/config.json", ".kube/config", ".aws/config"])
def test_a_credentials_place_is_refused(place):
    from junit2af.artifacts import secret_reason

    assert secret_reason(f"/ws/{place}") is not None


@pytest.mark.parametrize("name", ALLOWED_NAMES)
def test_a_name_like_a_credential_is_not_refused(name):
    from junit2af.artifacts import secret_reason

    assert secret_reason(f"/ws/out/{name}") is None


def test_the_readme_states_exactly_the_refused_names():
    """Every folder, place and name pattern is in the README's Security section, and
    every pattern the README lists there is one the code refuses."""
    import re

    from junit2af import artifacts

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    security = readme.split("## Security", 1)[1].split("\n## ", 1)[0]
    start = security.index("not a credential by name or place")
    listed = security[start : security.index("1 byte to 100 MB", start)]
    stated = set(re.findall(r"`([^`]+)`", " ".join(listed.split())))
    expected = (
        {f"{folder}/" for folder in artifacts.SECRET_FOLDERS}
        | {f"{parent}/{name}" for parent, name in artifacts.SECRET_PLACES}
        | set(artifacts.SECRET_NAMES)
    )
    assert stated == expected
