"""The featalign schema of the files mediafeat writes, as TOML beside them: binary columns as
binary, counts and ids as discrete, embeddings as groups, everything else continuous. With it
`featalign` (and `xmlai build`) needs no hand-written schema."""

from __future__ import annotations

import re

from mediafeat.columns import BINARY, CLIP_PREFIX, DISCRETE, EMBEDDING_PREFIX, TIME

GROUPS = (EMBEDDING_PREFIX, CLIP_PREFIX)


def _group_width(columns: list[str], prefix: str) -> int:
    pattern = re.compile(rf"{prefix}_(\d+)")
    return sum(1 for c in columns if pattern.fullmatch(c))


def modality_schema(columns: list[str]) -> dict:
    """One modality's section: its columns by kind (the time column excluded)."""
    in_group = {c for p in GROUPS for c in columns if re.fullmatch(rf"{p}_\d+", c)}
    plain = [c for c in columns if c != TIME and c not in in_group]
    section = {
        "continuous": [c for c in plain if c not in BINARY and c not in DISCRETE],
        "binary": [c for c in plain if c in BINARY],
        "discrete": [c for c in plain if c in DISCRETE],
    }
    widths = {p: _group_width(columns, p) for p in GROUPS}
    section["embeddings"] = {p: w for p, w in widths.items() if w}
    return section


def _toml_list(items: list[str]) -> str:
    return "[" + ", ".join(f'"{i}"' for i in items) + "]"


def schema_toml(tables: dict[str, list[str]]) -> str:
    """{modality: its columns} -> featalign schema TOML (`[modalities.<name>]` sections)."""
    lines = [
        "# featalign schema of the feature files beside this one (written by mediafeat)",
        f'time_column = "{TIME}"',
    ]
    for modality, columns in tables.items():
        section = modality_schema(columns)
        lines += ["", f"[modalities.{modality}]"]
        for kind in ("continuous", "binary", "discrete"):
            lines.append(f"{kind} = {_toml_list(section[kind])}")
        if section["embeddings"]:
            lines.append(f"[modalities.{modality}.embeddings]")
            lines += [f"{prefix} = {width}" for prefix, width in section["embeddings"].items()]
    return "\n".join(lines) + "\n"
