"""Editors drawn from broad families of rules (`xmlai synth --styles K`).

Each draw is one editor, consistent across all of their edits: which features drive which
track, thresholds, how long a silence lasts before it is cut and how much is kept, ramp
lengths, zoom levels, overlay corners, sizes and crops, still and title placement (fixed, or
mirrored by a feature's value at the onset), track order and count, frame rates, feature
rates, column names, time column, modality names and file naming. The ranges keep each rule
a function of what the features show, so a model that reads them can learn it.
"""

from __future__ import annotations

import numpy as np

from xmlai.synth.editors import (
    ROLE_OTHER_VIDEO,
    ROLE_RECORDING,
    ROLE_STILL,
    ROLE_TITLE,
    Editor,
    Overlay,
    Presentation,
    Trigger,
)

# Written names per canonical column, all of the kind featalign's default schema gives the
# canonical name (binary flags stay binary, counts discrete), as extractors name them.
COLUMN_NAMES = {
    "is_speaking": ("is_speaking", "speech", "vad", "voice_detected", "has_voice", "is_talking"),
    "rms": ("rms", "loudness", "energy", "volume", "audio_level"),
    "pitch": ("pitch", "f0", "pitch_hz"),
    "onset": ("onset", "onset_strength", "flux"),
    "motion": ("motion", "frame_diff", "activity", "flow_magnitude"),
    "saliency": ("saliency", "salience", "attention"),
    "face_count": ("face_count", "faces_count", "person_count"),
    "text_present": ("text_present", "ocr_detected", "has_text", "is_text"),
}
FACE_CENTRE = (("face_x", "face_y"), ("face_cx", "face_cy"), ("face_center_x", "face_center_y"))
TIME_COLUMNS = ("time", "timestamp", "time_s", "seconds", "t", "sec")
EMBEDDING_PREFIXES = ("clip_", "emb_", "embedding_", "img")
DISTRACTOR_PREFIXES = ("aux_", "extra", "f_", "misc")
MODALITY_NAMES = (
    ("audio", "visual"), ("sound", "video"), ("aud", "vis"), ("mic", "screen"),
    ("audio_feats", "frame_feats"),
)  # fmt: skip
# (how files are written, the data.feature_naming that reads them back: [] = the defaults)
NAMINGS = (
    ("{stem}/{modality}.{ext}", []),
    ("{stem}.{modality}.{ext}", []),
    ("{stem}/{stem}_{modality}.{ext}", []),
    ("{stem}_{modality}.{ext}", ["{stem}_{modality}.{ext}"]),
    ("{stem}-{modality}.{ext}", ["{stem}-{modality}.{ext}"]),
)
RECORDING_NAMES = ("rec_{index}", "stream-{index}", "Session {index}", "take{index}", "VOD_{index}")
FRAME_RATES = ("24000/1001", "24", "25", "30000/1001", "30")
AUDIO_RATES = (10.0, 16.0, 20.0, 25.0, 40.0, 50.0, 100.0)
VISUAL_RATES = (1.0, 2.0, 4.0, 5.0, 8.0, 10.0, 15.0)
CORNERS = ("top-left", "top-right", "bottom-left", "bottom-right")


def draw_editor(seed: int, index: int) -> tuple[Editor, dict]:
    """One editor of the families, and the `SynthConfig` options their recordings take
    (frame and feature rates, how often a webcam or text is absent)."""
    rng = np.random.default_rng([seed, 7, index])
    still_event, other_event = _events(rng)
    kinds = [k for k, p in (("cam", .85), ("still", .8), ("title", .7), ("clip", .35))
             if rng.random() < p] or ["still"]  # fmt: skip
    rng.shuffle(kinds)
    make = {
        "cam": lambda: _cam(rng),
        "still": lambda: _still(rng, still_event),
        "title": lambda: _title(rng),
        "clip": lambda: _clip(rng, other_event),
    }
    dead_min = float(rng.uniform(0.8, 2.5))
    zoom = _zoom(rng)
    editor = Editor(
        name=f"editor_{index:02d}",
        dead_air=_dead_air(rng),
        dead_min_s=dead_min,
        dead_pad_s=float(rng.uniform(0.05, min(0.5, dead_min / 3))),
        zoom=zoom,
        zoom_scale=float(rng.uniform(110.0, 160.0)),
        zoom_ramp_s=float(rng.uniform(0.15, 1.0)),
        zoom_pos=tuple(rng.uniform(-0.1, 0.1, 2).round(3)) if rng.random() < 0.5 else (0.0, 0.0),
        overlays=tuple(make[k]() for k in kinds),
        min_gap_s=float(rng.uniform(0.15, 0.6)),
        min_segment_s=float(rng.uniform(0.15, 0.6)),
        presentation=_presentation(rng),
    )
    options = {
        "fps": tuple(_some(rng, FRAME_RATES, 1, 2)),
        "audio_rates": tuple(float(r) for r in _some(rng, AUDIO_RATES, 1, 3)),
        "visual_rates": tuple(float(r) for r in _some(rng, VISUAL_RATES, 1, 3)),
        "no_webcam": float(rng.uniform(0.0, 0.2)),
        "no_text": float(rng.uniform(0.1, 0.4)),
    }
    return editor, options


def reading_naming(editor: Editor) -> list[str]:
    """The data.feature_naming that finds this editor's feature files."""
    return next(read for written, read in NAMINGS if written == editor.presentation.naming)


def _some(rng, options, least: int, most: int) -> list:
    count = int(rng.integers(least, most + 1))
    return [options[i] for i in sorted(rng.choice(len(options), count, replace=False))]


def _events(rng) -> tuple[Trigger, Trigger]:
    loud = Trigger((("rms", ">=", round(float(rng.uniform(0.55, 0.7)), 3)),))
    action = Trigger((("motion", ">=", round(float(rng.uniform(0.5, 0.6)), 3)),))
    return (loud, action) if rng.random() < 0.6 else (action, loud)


def _dead_air(rng) -> Trigger:
    level = ("rms", "<", round(float(rng.uniform(0.09, 0.105)), 3))
    silent = ("is_speaking", "<", 0.5)
    family = int(rng.integers(3))
    return Trigger(((silent, level), (level,), (silent, level))[family])


def _zoom(rng) -> Trigger | None:
    family = int(rng.integers(4))
    if family == 0:
        return None
    if family == 1:
        return Trigger((("is_speaking", ">=", 0.5),))
    threshold = round(float(rng.uniform(0.45, 0.6)), 3)
    return Trigger((("motion", ">=", threshold),))


def _cam(rng) -> Overlay:
    speaking, face = ("is_speaking", ">=", 0.5), ("face_count", ">=", 1.0)
    trigger = Trigger(((speaking, face), (face,), (speaking, face))[int(rng.integers(3))])
    corner = "webcam" if rng.random() < 0.5 else str(rng.choice(CORNERS))
    crop = (rng.uniform(40, 55), rng.uniform(30, 45), rng.uniform(0, 5), 0.0)
    return Overlay(
        "cam", ROLE_RECORDING, trigger, round(float(rng.uniform(22, 45)), 2),
        tuple(rng.uniform(0.25, 0.38, 2).round(3)), tuple(round(float(c), 2) for c in crop),
        corner=corner,
    )  # fmt: skip


def _still(rng, event: Trigger) -> Overlay:
    crop = tuple(rng.uniform(0, 10, 4).round(2)) if rng.random() < 0.3 else (0.0,) * 4
    return Overlay(
        "still", ROLE_STILL, event, round(float(rng.uniform(40, 80)), 2),
        tuple(rng.uniform(-0.3, 0.3, 2).round(3)), crop,
        flip_by="face_x" if rng.random() < 0.4 else None,
    )  # fmt: skip


def _title(rng) -> Overlay:
    y = rng.uniform(0.25, 0.4) * (1 if rng.random() < 0.7 else -1)
    return Overlay(
        "title", ROLE_TITLE, Trigger((("text_present", ">=", 0.5),)),
        round(float(rng.uniform(70, 100)), 2), (round(float(rng.uniform(-0.1, 0.1)), 3),
                                                round(float(y), 3)),
        flip_by="face_y" if rng.random() < 0.3 else None, flip_axis=1,
    )  # fmt: skip


def _clip(rng, event: Trigger) -> Overlay:
    signs = rng.choice([-1.0, 1.0], 2)
    return Overlay(
        "clip", ROLE_OTHER_VIDEO, event, round(float(rng.uniform(12, 30)), 2),
        tuple((signs * rng.uniform(0.3, 0.4, 2)).round(3)),
        flip_by="face_x" if rng.random() < 0.3 else None,
    )  # fmt: skip


def _presentation(rng) -> Presentation:
    columns = [(k, str(rng.choice(names))) for k, names in COLUMN_NAMES.items()]
    face_x, face_y = FACE_CENTRE[int(rng.integers(len(FACE_CENTRE)))]
    columns += [("face_x", face_x), ("face_y", face_y)]
    naming = NAMINGS[int(rng.integers(len(NAMINGS)))][0]
    # a modality name with '_' is ambiguous in "{stem}_{modality}" names
    fits = [m for m in MODALITY_NAMES if "_" not in "".join(m) or "}_{" not in naming]
    audio, visual = fits[int(rng.integers(len(fits)))]
    extra = int(rng.integers(0, 4))
    prefix = str(rng.choice(DISTRACTOR_PREFIXES))
    columns += [(f"extra_{k}", f"{prefix}{k}") for k in range(extra)]
    return Presentation(
        columns=tuple(columns),
        time_column=str(rng.choice(TIME_COLUMNS)),
        embedding_prefix=str(rng.choice(EMBEDDING_PREFIXES)),
        modalities=(("audio", audio), ("visual", visual)),
        naming=naming,
        recording_name=str(rng.choice(RECORDING_NAMES)),
        distractors=extra,
    )
