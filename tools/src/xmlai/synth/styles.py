"""Many editors at once: OUT/<editor>/ is one editor's corpus (as `synthesize` writes it) and
OUT/styles.json lists them, each with the data.feature_naming that reads its feature files.
OUT is built in a hidden sibling and renamed into place, like a single corpus."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from xmlai.__about__ import __version__
from xmlai.synth.corpus import SynthError, check_out_dir, move_into_place, synthesize
from xmlai.synth.families import draw_editor, reading_naming

STYLES_MANIFEST = "styles.json"
MAX_STYLES = 100


def synthesize_styles(
    out_dir: str | Path,
    styles: int,
    n_edits: int = 110,
    seconds: float = 30.0,
    seed: int = 0,
    overwrite: bool = False,
    progress: bool = True,
    **options,
) -> dict:
    """`styles` editors drawn from the families (seed `seed`), `n_edits` recordings each;
    returns what styles.json says. `options` go to every editor's `synthesize`."""
    if not (isinstance(styles, int) and 1 <= styles <= MAX_STYLES):
        raise SynthError(f"styles must be a whole number in [1, {MAX_STYLES}], not {styles!r}")
    out = Path(out_dir)
    check_out_dir(out, overwrite, STYLES_MANIFEST)
    out.parent.mkdir(parents=True, exist_ok=True)
    work = out.parent / f".{out.name}.partial-{os.getpid()}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    try:
        editors = []
        for index in range(styles):
            editor, drawn = draw_editor(seed, index)
            summary = synthesize(
                work / editor.name, n_edits, seconds, seed=seed * MAX_STYLES + index,
                progress=progress, editor=editor, n_tracks=editor.n_tracks,
                **{**drawn, **options},
            )  # fmt: skip
            editors.append(
                {
                    "name": editor.name,
                    "folder": editor.name,
                    "feature_naming": reading_naming(editor),
                    "n_tracks": editor.n_tracks,
                    "tracks": ["base"] + [o.kind for o in editor.overlays],
                    "edits": summary.n_edits,
                    "frames": summary.n_frames,
                }
            )
        manifest = {
            "format": "xmlai-synth-styles",
            "version": 1,
            "generator": f"xmlai {__version__}",
            "seed": seed,
            "editors": editors,
        }
        (work / STYLES_MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", "utf-8")
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    move_into_place(work, out)
    return manifest
