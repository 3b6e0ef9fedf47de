"""Synthetic corpus: streamer-style recordings, their feature files, and an edit of each
written as xmeml by rules that are functions of the features (see `style`).

>>> from xmlai.synth import synthesize
>>> summary = synthesize("corpus", n_edits=6, seconds=8.0, seed=0)
"""

from xmlai.synth.corpus import (
    SynthConfig,
    SynthEdit,
    SynthError,
    SynthSummary,
    make_edit,
    plan_corpus,
    scene_kinds,
    synthesize,
    write_edit,
)
from xmlai.synth.editors import DEMO_EDITOR, Editor, edit_tracks, editor_tracks
from xmlai.synth.lookup import plan_lookup
from xmlai.synth.style import RULE_FEATURES, Style, clean, track_table

__all__ = [
    "DEMO_EDITOR",
    "RULE_FEATURES",
    "Editor",
    "Style",
    "SynthConfig",
    "SynthEdit",
    "SynthError",
    "SynthSummary",
    "clean",
    "edit_tracks",
    "editor_tracks",
    "make_edit",
    "plan_corpus",
    "plan_lookup",
    "scene_kinds",
    "synthesize",
    "track_table",
    "write_edit",
]
