"""The one rule for a modality name ("audio", "visual", "face_mesh").

A modality name becomes a file name in the frame store (`<modality>.npy`), a key of a window
item beside `tracks` and `frame_mask`, and a model input name, so every library holds it to
the same rule: a lower-case letter, then lower-case letters, digits or '_', and none of the
names a window item already uses (`RESERVED_NAMES`).

Where names enter (featalign reading feature file names), they are canonicalised first:
Unicode NFC, surrounding spaces dropped, case folded, '-' and spaces read as '_'; so
`x.Face-Mesh.csv` is the modality `face_mesh`. Everywhere after that (a store's manifest, a
model's config) a name must already be canonical: `check_modality_name` refuses `face-mesh`.
"""

from __future__ import annotations

import re
import unicodedata

from trackcore.errors import ModalityNameError

MODALITY_NAME = re.compile(r"[a-z][a-z0-9_]*")
MODALITY_NAME_RULE = "a letter, then letters, digits or '_' ('-' and spaces read as '_')"
# keys of a window item (seqwin) and of a model's inputs (mttransformer)
RESERVED_NAMES = frozenset(
    {
        "tracks",
        "modality_mask",
        "frame_mask",
        "start_frame",
        "edit_index",
        "timestamps",
        "given_tracks",
    }
)
MODALITY_RULE = f"{MODALITY_NAME_RULE}, not " + "/".join(sorted(RESERVED_NAMES))


def canonical_modality_name(raw: str) -> str | None:
    """'Face-Mesh' -> 'face_mesh'; None when no canonical name follows the rule ('2d', '../x').
    A reserved name ('tracks') comes back as it is: `is_modality_name` tells it apart."""
    name = re.sub(r"[- ]", "_", unicodedata.normalize("NFC", str(raw)).strip().casefold())
    return name if MODALITY_NAME.fullmatch(name) else None


def is_modality_name(name: object) -> bool:
    """A canonical, unreserved name."""
    return (
        isinstance(name, str)
        and bool(MODALITY_NAME.fullmatch(name))
        and (name not in RESERVED_NAMES)
    )


def check_modality_name(name: object, source: str | None = None) -> str:
    """`name` when it follows the rule, else ModalityNameError (which suggests the canonical
    spelling when there is one)."""
    if is_modality_name(name):
        return name  # type: ignore[return-value]
    if isinstance(name, str) and name in RESERVED_NAMES:
        raise ModalityNameError(f"modality name {name!r} is reserved ({MODALITY_RULE})", source)
    hint = canonical_modality_name(name) if isinstance(name, str) else None
    also = f"; did you mean {hint!r}?" if hint and hint not in RESERVED_NAMES else ""
    raise ModalityNameError(f"modality name {name!r} is not {MODALITY_RULE}{also}", source)
