"""A text that grows piece by piece (log lines, output events) under a byte cap.

Native formats hand over captured output in many small pieces (Robot's ``<msg>`` lines,
libtest's ``stdout`` fields, Allure's step names): appending them to one string would be
quadratic, and keeping them all would let one test's output fill memory. :class:`CappedLog`
keeps the pieces until the cap, then only counts what it drops, and renders the usual
``[truncated N bytes]`` marker.
"""

from __future__ import annotations

from junit2af.records import TextArtifact


def clip_text(text: str, limit: int) -> tuple[str, int]:
    """``text`` cut to about ``limit`` bytes, and how many bytes were cut (0 if none)."""
    if len(text) <= limit // 4:  # at most 4 bytes a code point: cannot exceed
        return text, 0
    encoded = text.encode("utf-8", "surrogatepass")
    if len(encoded) <= limit:
        return text, 0
    kept = encoded[:limit].decode("utf-8", "ignore")
    return kept, len(encoded) - len(kept.encode("utf-8", "surrogatepass"))


def capped_artifact(label: str, text: str, limit: int) -> TextArtifact:
    """A text artifact of at most ``limit`` bytes, with the marker when it was cut."""
    kept, cut = clip_text(text, limit)
    if not cut:
        return TextArtifact(label=label, text=text)
    return TextArtifact(
        label=label, text=kept + f"\n[truncated {cut} bytes]\n", truncated_bytes=cut
    )


class CappedLog:
    """Pieces of text joined at the end, at most ``limit`` bytes kept."""

    __slots__ = ("_limit", "_parts", "_size", "dropped")

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._parts: list[str] = []
        self._size = 0
        self.dropped = 0  # bytes not kept

    def __bool__(self) -> bool:
        return bool(self._parts) or self.dropped > 0

    @property
    def size(self) -> int:
        """Bytes kept so far."""
        return self._size

    def append(self, text: str) -> None:
        if not text:
            return
        if self.dropped:
            self.dropped += len(text.encode("utf-8", "surrogatepass"))
            return
        room = self._limit - self._size
        kept, cut = clip_text(text, room)
        if kept:
            self._parts.append(kept)
            self._size += len(kept.encode("utf-8", "surrogatepass"))
        self.dropped += cut

    def text(self) -> str:
        joined = "".join(self._parts)
        if self.dropped:
            joined += f"\n[truncated {self.dropped} bytes]\n"
        return joined

    def artifact(self, label: str) -> TextArtifact | None:
        """The text as an artifact; None when nothing was logged."""
        if not self:
            return None
        return TextArtifact(label=label, text=self.text(), truncated_bytes=self.dropped)
