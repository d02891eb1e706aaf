"""Writing a file a reader never sees half-written: the text goes to a hidden temporary file beside
it, then one rename puts it in place. Missing folders are created."""

from __future__ import annotations

from pathlib import Path


def write_text(out: Path, text: str) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(out)
