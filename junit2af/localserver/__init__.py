"""The bundled local implementation of the Automated Future API.

It serves every endpoint of af-api.md with the contract's validation and limits, stores
records in SQLite and artifact bytes on disk, and can inject faults. Tests start it
in-process (:class:`LocalServer`) or as ``junit2af serve`` in a subprocess
(:class:`ServerProcess`); both expose the same admin view (``.admin``).
"""

from junit2af.localserver.admin import AdminView
from junit2af.localserver.clock import ManualClock
from junit2af.localserver.faults import FaultConfig
from junit2af.localserver.process import AdminClient, ServerProcess
from junit2af.localserver.requestlog import RequestRecord
from junit2af.localserver.server import LocalServer, default_data_dir
from junit2af.localserver.storage import TeamKeys

__all__ = [
    "AdminClient",
    "AdminView",
    "FaultConfig",
    "LocalServer",
    "ManualClock",
    "RequestRecord",
    "ServerProcess",
    "TeamKeys",
    "default_data_dir",
]
