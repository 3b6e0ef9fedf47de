"""Editors: the rules one editor follows, drawn from broad families (`xmlai synth --styles K`).

An editor reads the features at each edit frame and decides, the same way in all of their
edits, what every track shows:
  base   V1 shows the recording; dead air (a silence `Trigger` lasting >= dead_min_s) is cut
         keeping dead_pad_s at each end; the picture may zoom (and shift) while a trigger holds
  cam    the recording again, cropped to its webcam region, small, in a corner (the webcam's
         own corner, or a fixed one)
  still  an image on an event (loud peak or action), at a place that may depend on a
         feature's value at the onset (away from the face)
  title  a title while a feature holds (text on screen)
  clip   another video, small, on the other kind of event
Overlays sit on V2, V3, ... in the editor's own order. The editor also decides how the
feature files look: column names, time column, modality names, file naming, rates, extra
columns. `DEMO_EDITOR` is the demo's editor (`style.Style`), one member of the families.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from trackcore import PARAMETER_NAMES, AssetRole
from xmlai.synth.recording import FeatureFile
from xmlai.synth.style import NEUTRAL, EditTracks, Style, clean, frames_of, runs, zoom_level

ROLE_RECORDING, ROLE_OTHER_VIDEO, ROLE_STILL, ROLE_TITLE = (
    int(role)
    for role in (
        AssetRole.MAIN_SOURCE_OVERLAY,
        AssetRole.OTHER_VIDEO,
        AssetRole.STILL_IMAGE,
        AssetRole.TEXT,
    )
)
# positions in a track's (n, 7) parameters (the layout's PARAMETER_NAMES)
SCALE = PARAMETER_NAMES.index("scale")
POSITION = slice(PARAMETER_NAMES.index("pos_x"), PARAMETER_NAMES.index("pos_y") + 1)
CANONICAL_MODALITIES = ("audio", "visual")


@dataclass(frozen=True)
class Trigger:
    """On while every condition holds: (feature, ">=" or "<", threshold)."""

    conditions: tuple[tuple[str, str, float], ...]

    def fires(self, features: dict[str, np.ndarray]) -> np.ndarray:
        on = np.ones(len(features["rms"]), dtype=bool)
        for name, op, threshold in self.conditions:
            value = features[name]
            on &= value >= threshold if op == ">=" else value < threshold
        return on


@dataclass(frozen=True)
class Overlay:
    kind: str  # cam | still | title | clip
    role: int  # asset role of what it shows
    trigger: Trigger
    scale: float
    pos: tuple[float, float]  # cam: |pos_x|, |pos_y|; others: where it sits
    crop: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)  # cam: far, far_v, near, -
    corner: str = "webcam"  # cam: "webcam" (the webcam's corner) or e.g. "top-left"
    flip_by: str | None = None  # a feature read at each segment's onset ...
    flip_at: float = 0.5  # ... at or above which the position is mirrored ...
    flip_axis: int = 0  # ... along x (0) or y (1)


@dataclass(frozen=True)
class Presentation:
    """How the editor's feature files look (not what they say)."""

    columns: tuple[tuple[str, str], ...] = ()  # canonical -> written name
    time_column: str = "time"
    embedding_prefix: str = "clip_"
    modalities: tuple[tuple[str, str], ...] = ()  # audio/visual -> written modality name
    naming: str = "{stem}/{modality}.{ext}"
    recording_name: str = "rec_{index}"  # {index}: zero-padded to the corpus's width
    distractors: int = 0  # extra columns per file that no rule reads

    def column(self, canonical: str) -> str:
        return dict(self.columns).get(canonical, canonical)

    def modality(self, canonical: str) -> str:
        return dict(self.modalities).get(canonical, canonical)


@dataclass(frozen=True)
class Editor:
    name: str = "demo"
    dead_air: Trigger = Trigger((("is_speaking", "<", 0.5), ("rms", "<", 0.1)))
    dead_min_s: float = 1.5
    dead_pad_s: float = 0.25
    zoom: Trigger | None = Trigger((("motion", ">=", 0.5),))
    zoom_scale: float = 130.0
    zoom_ramp_s: float = 0.4
    zoom_pos: tuple[float, float] = (0.0, 0.0)
    overlays: tuple[Overlay, ...] = ()
    min_gap_s: float = 0.3
    min_segment_s: float = 0.3
    presentation: Presentation = field(default_factory=Presentation)

    @property
    def n_tracks(self) -> int:
        return 1 + len(self.overlays)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Editor:
        def trigger(d):
            return None if d is None else Trigger(tuple(tuple(c) for c in d["conditions"]))

        overlays = tuple(
            Overlay(
                **{
                    **o,
                    "trigger": trigger(o["trigger"]),
                    "pos": tuple(o["pos"]),
                    "crop": tuple(o["crop"]),
                }
            )
            for o in data.get("overlays", ())
        )
        shown = data.get("presentation", {})
        presentation = Presentation(
            **{
                **shown,
                "columns": tuple(tuple(c) for c in shown.get("columns", ())),
                "modalities": tuple(tuple(m) for m in shown.get("modalities", ())),
            }
        )
        return cls(
            **{
                **data,
                "dead_air": trigger(data["dead_air"]),
                "zoom": trigger(data.get("zoom")),
                "zoom_pos": tuple(data.get("zoom_pos", (0.0, 0.0))),
                "overlays": overlays,
                "presentation": presentation,
            }
        )

    @classmethod
    def from_style(cls, style: Style) -> Editor:
        """The demo's editor: `Style`'s rules as one member of the families."""
        cam = Overlay(
            "cam",
            ROLE_RECORDING,
            Trigger((("is_speaking", ">=", 0.5), ("face_count", ">=", 1.0))),
            style.cam_scale,
            (style.cam_pos, style.cam_pos),
            (style.cam_crop_far, style.cam_crop_far_v, style.cam_crop_near, 0.0),
        )
        still = Overlay(
            "still", ROLE_STILL, Trigger((("rms", ">=", style.loud_rms),)), style.still_scale,
            style.still_pos,
        )  # fmt: skip
        title = Overlay(
            "title", ROLE_TITLE, Trigger((("text_present", ">=", 0.5),)), style.title_scale,
            style.title_pos,
        )  # fmt: skip
        return cls(
            name="demo",
            dead_air=Trigger((("is_speaking", "<", 0.5), ("rms", "<", style.dead_rms))),
            dead_min_s=style.dead_min_s,
            dead_pad_s=style.dead_pad_s,
            zoom=Trigger((("motion", ">=", style.action_motion),)),
            zoom_scale=style.zoom_scale,
            zoom_ramp_s=style.zoom_ramp_s,
            overlays=(cam, still, title),
            min_gap_s=style.min_gap_s,
            min_segment_s=style.min_segment_s,
        )


DEMO_EDITOR = Editor.from_style(Style())


def presented(table: FeatureFile, shown: Presentation) -> FeatureFile:
    """The table as the editor's extractor writes it: its column and time names."""
    return dataclasses.replace(
        table,
        columns={shown.column(k): v for k, v in table.columns.items()},
        time_column=shown.time_column,
        embedding_prefix=shown.embedding_prefix,
    )


def dead_air_cuts(src: dict[str, np.ndarray], fps: Fraction, editor: Editor):
    """Source frame ranges [start, end) the editor removes (per source frame inputs)."""
    dead = src["audio_mask"] & editor.dead_air.fires(src)
    pad = frames_of(editor.dead_pad_s, fps)
    shortest = frames_of(editor.dead_min_s, fps)
    return [(s + pad, e - pad) for s, e in runs(dead) if e - s >= shortest]


def editor_tracks(features: dict[str, np.ndarray], fps: Fraction, editor: Editor) -> EditTracks:
    """The editor's rules on edit frames. `features`: RULE_FEATURES -> (n,) values at each
    edit frame (0 where the modality is missing)."""
    n = len(features["rms"])
    gap, shortest = frames_of(editor.min_gap_s, fps), frames_of(editor.min_segment_s, fps)
    base = np.tile(np.array(NEUTRAL), (n, 1))
    if editor.zoom is not None:
        level = zoom_level(
            clean(editor.zoom.fires(features), gap, shortest), fps, editor.zoom_ramp_s
        )
        base[:, SCALE] = 100.0 + (editor.zoom_scale - 100.0) * level
        base[:, POSITION] = np.outer(level, editor.zoom_pos)
    main = int(AssetRole.MAIN_SOURCE)  # V1 shows the recording
    tracks = EditTracks(active={1: np.ones(n, dtype=bool)}, asset={1: main}, params={1: base})
    for k, overlay in enumerate(editor.overlays, start=2):
        on = clean(overlay.trigger.fires(features), gap, shortest)
        tracks.active[k], tracks.asset[k] = on, overlay.role
        tracks.params[k] = (
            _cam_params(overlay, features)
            if overlay.kind == "cam"
            else _placed(overlay, on, features)
        )
    return tracks


def _cam_params(overlay: Overlay, features: dict[str, np.ndarray]) -> np.ndarray:
    """(n, 7): the webcam region cropped out wherever it is in the source, placed in the
    webcam's own corner or in the editor's fixed one."""
    right, bottom = features["face_x"] >= 0.5, features["face_y"] >= 0.5
    if overlay.corner == "webcam":
        place_right, place_bottom = right, bottom
    else:
        vertical, horizontal = overlay.corner.split("-")
        place_right = np.full(len(right), horizontal == "right")
        place_bottom = np.full(len(right), vertical == "bottom")
    far, far_v, near, _ = overlay.crop
    return np.stack(
        [
            np.full(len(right), overlay.scale),
            overlay.pos[0] * np.where(place_right, 1.0, -1.0),
            overlay.pos[1] * np.where(place_bottom, 1.0, -1.0),
            np.where(right, far, near),  # crop_left: a webcam on the right loses the left
            np.where(right, near, far),
            np.where(bottom, far_v, near),  # crop_top
            np.where(bottom, near, far_v),
        ],
        axis=1,
    )


def _placed(overlay: Overlay, on: np.ndarray, features: dict[str, np.ndarray]) -> np.ndarray:
    """(n, 7): a fixed place, mirrored for a whole segment when the flip feature is at or
    above its mark at the segment's first frame."""
    n = len(on)
    params = np.tile(np.array([overlay.scale, *overlay.pos, *overlay.crop], float), (n, 1))
    if overlay.flip_by is not None:
        axis = POSITION.start + overlay.flip_axis
        for start, end in runs(on):
            if features[overlay.flip_by][start] >= overlay.flip_at:
                params[start:end, axis] *= -1.0
    return params


def edit_tracks(features: dict[str, np.ndarray], fps: Fraction, style: Style) -> EditTracks:
    """The demo editor's tracks with `style`'s parameters."""
    return editor_tracks(features, fps, Editor.from_style(style))
