"""The reference's "Full Example" curl script runs unchanged against the local server."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).with_name("full_example.sh")

# The script pipes through `jq -r '.field'` only; this stand-in does that much, so the
# test needs curl and bash but not jq.
JQ_SHIM = """#!{python}
import json, sys
args = [a for a in sys.argv[1:] if a != "-r"]
if len(args) != 1 or not args[0].startswith("."):
    sys.exit("jq shim: only `jq -r .field` is supported, got " + repr(sys.argv[1:]))
value = json.load(sys.stdin).get(args[0][1:])
print("null" if value is None else value)
"""


@pytest.mark.skipif(
    shutil.which("curl") is None or shutil.which("bash") is None,
    reason="the Full Example needs curl and bash",
)
def test_full_example_script(local_server, tmp_path):
    script = SCRIPT.read_text()
    values = {
        "API": local_server.base_url,
        "KEY": local_server.api_key,
        "PROJECT": local_server.project_id,
    }
    for name, value in values.items():
        script, count = re.subn(rf'^{name}=".*"$', f'{name}="{value}"', script, flags=re.M)
        assert count == 1, name
    work = tmp_path / "work"
    work.mkdir()
    (work / "example.sh").write_text(script)
    log_text = b"starting\nlogin ok \xe2\x9c\x93\n" * 40
    (work / "output.log").write_bytes(log_text)
    shim_dir = tmp_path / "bin"
    shim_dir.mkdir()
    jq = shim_dir / "jq"
    jq.write_text(JQ_SHIM.format(python=sys.executable))
    jq.chmod(0o755)

    completed = subprocess.run(
        ["bash", "example.sh"],
        cwd=work,
        env={"PATH": f"{shim_dir}:/usr/bin:/bin:/usr/local/bin", "HOME": str(tmp_path)},
        capture_output=True,
        timeout=60,
    )
    assert completed.returncode == 0, completed.stderr

    admin = local_server.admin
    (run,) = admin.runs()
    assert (run["label"], run["status"]) == ("Manual run", "Completed")
    assert run["finished_at"] is not None
    assert run["result_counts"]["Passed"] == 1
    (result,) = admin.results(run_id=run["test_run_id"])
    assert (result["test_name"], result["status"]) == ("test_login", "Passed")
    assert result["execution_time_ms"] == 420
    (artifact,) = admin.artifacts(result["test_result_id"])
    assert artifact["label"] == "output.log"
    assert artifact["size_bytes"] == len(log_text)
    assert artifact["confirmed_at"] is not None
    assert admin.artifact_bytes(artifact["artifact_id"]) == log_text
    statuses = [(r.method, r.status, r.has_authorization) for r in local_server.request_log]
    assert statuses == [
        ("POST", 200, True),
        ("POST", 200, True),
        ("POST", 200, True),
        ("PUT", 200, False),
        ("POST", 200, True),
        ("POST", 204, True),
    ]
