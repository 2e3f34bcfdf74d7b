"""What a refused JSON document's error line shows of it."""

from __future__ import annotations

import json

import pytest

from junit2af.errors import InputError
from junit2af.parsers.jsonsafe import SafeJSON


def test_a_long_duplicate_key_is_cut_whole_never_inside_an_escape():
    key = "é" * 200  # its JSON spelling is \u00e9 repeated: a cut at 80 split one
    document = json.dumps({"a": 1}).replace("}", f', "{key}": 1, "{key}": 2}}').encode()
    with pytest.raises(InputError) as caught:
        SafeJSON("r.json", warn=lambda message: None).loads(document)
    message = str(caught.value)
    assert "duplicate key" in message
    shown = message.split("duplicate key ", 1)[1].split(" in one object")[0]
    assert json.loads(shown) == "é" * 60 + "..."  # a whole JSON string, cut by characters
