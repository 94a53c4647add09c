"""One entry of a model's JSON card, written in place (the card beside the ONNX file)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def write_card_entry(model: Path, key: str, entry: Any) -> None:
    """Set ``key`` of the card of ``model`` (``model.json``) to ``entry``; every other
    entry stays as it was."""
    card_path = model.with_suffix(".json")
    card = json.loads(card_path.read_text(encoding="utf-8"))
    card[key] = entry
    card_path.write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
