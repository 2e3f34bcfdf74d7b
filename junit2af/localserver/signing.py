"""HMAC signatures: presigned storage URLs and opaque page tokens.

A presigned URL names the artifact, the HTTP method it allows and its expiry, signed
with the data directory's secret, so URLs stay valid across a restart of the server and
a GET URL cannot be replayed as a PUT. The content type and size the PUT must carry are
not in the URL: the storage handler checks them against the artifact record.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from urllib.parse import quote


class Signer:
    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def _mac(self, message: str) -> str:
        return hmac.new(self._secret, message.encode("utf-8"), hashlib.sha256).hexdigest()

    # -- presigned storage URLs ------------------------------------------------------

    def storage_query(self, method: str, artifact_id: str, expires: int) -> str:
        """The query string of a presigned URL (``expires`` is a Unix time)."""
        signature = self._mac(f"storage\n{method}\n{artifact_id}\n{expires}")
        return f"expires={expires}&signature={signature}"

    def storage_path(self, artifact_id: str) -> str:
        return f"/_storage/artifacts/{quote(artifact_id, safe='')}"

    def check_storage(
        self, method: str, artifact_id: str, expires: str | None, signature: str | None
    ) -> int | None:
        """The expiry of a valid signature, or ``None`` if the signature is wrong."""
        # compare_digest refuses non-ASCII str, and a forged query may hold anything.
        if not (expires and signature and expires.isascii() and signature.isascii()):
            return None
        if not expires.isdigit():
            return None
        expected = self._mac(f"storage\n{method}\n{artifact_id}\n{expires}")
        if not hmac.compare_digest(expected, signature):
            return None
        return int(expires)

    # -- page tokens -----------------------------------------------------------------

    def page_token(self, state: dict[str, object]) -> str:
        """An opaque cursor: the state, base64url, with a MAC so it cannot be forged."""
        payload = base64.urlsafe_b64encode(json.dumps(state).encode()).decode().rstrip("=")
        mac = self._mac("page\n" + payload)[:24]
        return f"{payload}.{mac}"

    def read_page_token(self, token: str) -> dict[str, object] | None:
        if not token.isascii():
            return None
        payload, _, mac = token.partition(".")
        if not mac or not hmac.compare_digest(self._mac("page\n" + payload)[:24], mac):
            return None
        try:
            state = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        except ValueError:
            return None
        return state if isinstance(state, dict) else None
