"""Fixtures shared by the whole suite."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from junit2af.localserver import LocalServer, ServerProcess


@pytest.fixture(autouse=True)
def private_state_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """Journals of the tests go to a temporary state folder, never the user's."""
    state = tmp_path_factory.mktemp("state")
    monkeypatch.setenv("JUNIT2AF_STATE_DIR", str(state))
    return state


@pytest.fixture
def local_server(tmp_path: Path) -> Iterator[LocalServer]:
    """The local AF API on a free loopback port, in this process, with its own data dir."""
    with LocalServer(tmp_path / "af-data") as server:
        yield server


@pytest.fixture
def server_process(tmp_path: Path) -> Iterator[Callable[..., ServerProcess]]:
    """Start ``junit2af serve`` in a subprocess: ``server_process(data_dir=None)``.

    Every process started is stopped at the end of the test, killed if it must be.
    """
    started: list[ServerProcess] = []

    def start(data_dir: Path | None = None) -> ServerProcess:
        process = ServerProcess(data_dir or tmp_path / "af-data").start()
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()
