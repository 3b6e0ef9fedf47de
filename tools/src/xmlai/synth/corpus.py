"""A synthetic corpus: recordings, their feature files, and an edit of each as xmeml.

    OUT/xml/<name>.xml                  the edit (xml2csv.write_xmeml)
    OUT/features/<name>/audio.csv|.parquet, visual.parquet
    OUT/truth/<name>.csv                the track table the edit was written from
    OUT/media/<name>.mp4                with media=True: the recording as video (`media`)
    OUT/synth.json                      parameters, seed, per-recording facts
    OUT/synth.log
The corpus is built in a hidden sibling folder and renamed into place, so OUT is either the
old corpus or the complete new one, never half of each.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import math
import os
import shutil
import time
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from urllib.parse import quote

import numpy as np
import pandas as pd

from trackcore import DEFAULT_N_TRACKS, count_tracks, parse_track_column, track_column
from trackcore.atomic import atomic_path, replace_dir
from xmlai.__about__ import __version__
from xmlai.synth.editors import Editor, Presentation, dead_air_cuts, editor_tracks, presented
from xmlai.synth.lookup import plan_lookup
from xmlai.synth.recording import (
    FeatureFile,
    Gap,
    HiddenEvents,
    RecordingPlan,
    audio_features,
    distractors,
    drop_range,
    hidden_events,
    scene_prototypes,
    truncate,
    visual_features,
    write_feature_file,
)
from xmlai.synth.style import (
    META_COLUMNS,
    ROLE_FIELDS,
    RULE_FEATURES,
    Style,
    frames_of,
    track_table,
)

log = logging.getLogger("xmlai.synth")
SOURCE_FOLDER = "file://localhost/synth-recordings/"
_SOURCE_SLACK = 1.8  # source frames generated per edit frame; dead air is cut from them


MAX_SECONDS = 6 * 3600  # long streams are what editors predict on (bench_predict: 3 h)


class SynthError(ValueError):
    """Bad options or an output folder that cannot be used; the message says which."""


@dataclass
class SynthConfig:
    n_edits: int = 110
    seconds: float = 30.0  # length of each edit
    seed: int = 0
    n_tracks: int = DEFAULT_N_TRACKS  # track table width (truth CSVs)
    fps: tuple[str, ...] = ("30", "30000/1001", "25", "24")  # dealt round-robin, shuffled
    audio_rates: tuple[float, ...] = (50.0, 50.0, 40.0, 60.0)
    visual_rates: tuple[float, ...] = (2.0, 3.0, 4.0, 5.0, 6.0, 7.5, 8.0, 10.0)
    missing_visual: float = 0.08  # fraction of recordings without a visual file
    missing_audio: float = 0.03  # ... without an audio file (disjoint from the above)
    gaps: float = 0.25  # fraction of recordings with a time range dropped from one file
    audio_csv: float = 0.5  # fraction of audio files written as CSV (else Parquet)
    clip_float16: float = 0.5  # fraction of visual files with float16 CLIP columns
    no_webcam: float = 0.1  # fraction of recordings without a facecam (V2 never used)
    no_text: float = 0.25  # fraction without on-screen text (V4 never used)
    dissolves: float = 0.3  # fraction of cuts planned as dissolves (written where they fit)
    clip_dim: int = 512
    n_scene_kinds: int = 12
    style: Style = field(default_factory=Style)
    editor: Editor | None = None  # another editor's rules and files (None: `style`'s, the demo's)
    media: bool = False  # also render each recording as OUT/media/<name>.mp4
    media_size: tuple[int, int] = (640, 360)  # its width, height

    def __post_init__(self) -> None:
        if isinstance(self.style, dict):
            self.style = Style(**self.style)
        if isinstance(self.editor, dict):
            self.editor = Editor.from_dict(self.editor)
        if not (isinstance(self.n_edits, int) and self.n_edits >= 1):
            raise SynthError(f"n_edits must be a whole number >= 1, not {self.n_edits!r}")
        if not (isinstance(self.seed, int) and self.seed >= 0):
            raise SynthError(f"seed must be a whole number >= 0, not {self.seed!r}")
        if not (isinstance(self.seconds, int | float) and 1.0 <= self.seconds <= MAX_SECONDS):
            raise SynthError(f"seconds must lie in [1, {MAX_SECONDS}], not {self.seconds!r}")
        for name in (
            "missing_visual",
            "missing_audio",
            "gaps",
            "audio_csv",
            "clip_float16",
            "no_webcam",
            "no_text",
            "dissolves",
        ):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and 0.0 <= value <= 1.0):
                raise SynthError(f"{name} must be a fraction in [0, 1], not {value!r}")
        if self.missing_visual + self.missing_audio > 1.0:
            raise SynthError("missing_visual + missing_audio must not exceed 1")
        if self.n_tracks < self.rules.n_tracks:
            raise SynthError(
                f"n_tracks must be >= {self.rules.n_tracks} (the editor uses "
                f"V1-V{self.rules.n_tracks}), not {self.n_tracks}"
            )
        for rate in self.fps:
            try:
                Fraction(rate)
            except (ValueError, ZeroDivisionError):
                raise SynthError(f"fps {rate!r} is not a number or a fraction") from None
        if not isinstance(self.media, bool):
            raise SynthError(f"media must be true or false, not {self.media!r}")
        size = tuple(self.media_size) if isinstance(self.media_size, list | tuple) else ()
        if not (
            len(size) == 2
            and all(isinstance(v, int) and not isinstance(v, bool) for v in size)
            and all(v >= 64 and v % 2 == 0 and v <= 7680 for v in size)
        ):
            raise SynthError(
                f"media_size must be (width, height), even numbers in [64, 7680], "
                f"not {self.media_size!r}"
            )
        self.media_size = size

    @property
    def rules(self) -> Editor:
        return self.editor if self.editor is not None else Editor.from_style(self.style)

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["style"] = self.style.to_dict()
        if self.editor is None:  # the demo's corpus is described exactly as before
            del d["editor"]
        if not self.media:  # a corpus without media is described exactly as before
            del d["media"], d["media_size"]
        return d


@dataclass
class SynthEdit:
    """One recording and its edit, in memory (`make_edit`)."""

    plan: RecordingPlan
    hidden: HiddenEvents  # over the recording's n_source_frames
    features: dict[str, FeatureFile]  # modality -> table (missing modalities absent)
    table: pd.DataFrame  # the truth track table
    source_frames: np.ndarray  # (n,) source frame shown at each edit frame
    cuts: list[dict]  # removed source ranges; "dissolve": planned, then as written
    edit_features: dict[str, np.ndarray]  # RULE_FEATURES at each edit frame

    @property
    def source_video_name(self) -> str:
        return f"{self.plan.name}.mp4"

    @property
    def source_pathurl(self) -> str:
        return SOURCE_FOLDER + quote(self.source_video_name)


@dataclass
class SynthSummary:
    out_dir: Path
    n_edits: int
    n_frames: int  # edit frames over all edits
    edit_seconds: float  # total edit duration
    seed: int
    elapsed_s: float
    recordings: list[dict]
    warnings: list[str]

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["out_dir"] = str(self.out_dir)
        return d


def _deal(rng: np.random.Generator, n: int, fraction: float) -> np.ndarray:
    """Exactly round(fraction * n) recordings get the property, chosen at random."""
    chosen = np.zeros(n, dtype=bool)
    chosen[rng.permutation(n)[: round(fraction * n)]] = True
    return chosen


def plan_corpus(config: SynthConfig) -> list[RecordingPlan]:
    """The per-recording choices, dealt so each variant occurs in the stated proportion."""
    n = config.n_edits
    rng = np.random.default_rng([config.seed, 0])
    fps = [Fraction(config.fps[k % len(config.fps)]) for k in rng.permutation(n)]
    missing = rng.permutation(n)
    no_visual = np.zeros(n, dtype=bool)
    no_audio = np.zeros(n, dtype=bool)
    n_vis, n_aud = round(config.missing_visual * n), round(config.missing_audio * n)
    no_visual[missing[:n_vis]] = True
    no_audio[missing[n_vis : n_vis + n_aud]] = True
    gapped = _deal(rng, n, config.gaps)
    csv = _deal(rng, n, config.audio_csv)
    half = _deal(rng, n, config.clip_float16)
    no_cam = _deal(rng, n, config.no_webcam)
    no_text = _deal(rng, n, config.no_text)
    width = max(4, len(str(n - 1)))
    naming = config.rules.presentation.recording_name
    plans = []
    for i in range(n):
        r = np.random.default_rng([config.seed, 1, i])
        plan = RecordingPlan(
            name=naming.format(index=f"{i:0{width}d}"),
            fps=fps[i],
            audio_rate=None if no_audio[i] else float(r.choice(config.audio_rates)),
            visual_rate=None if no_visual[i] else float(r.choice(config.visual_rates)),
            audio_format="csv" if csv[i] else "parquet",
            clip_dtype="float16" if half[i] else "float32",
            webcam=None if no_cam[i] else (bool(r.random() < 0.5), bool(r.random() < 0.5)),
            has_text=not no_text[i],
            dissolve_fraction=config.dissolves,
        )
        present = [
            m
            for m, rate in (("audio", plan.audio_rate), ("visual", plan.visual_rate))
            if rate is not None
        ]
        if gapped[i] and present:
            length = min(r.uniform(3.0, 6.0), max(2.0, 0.4 * config.seconds))
            latest = max(1.0, 0.6 * config.seconds - length)
            start = r.uniform(1.0, latest)
            plan.gaps.append(Gap(str(r.choice(present)), float(start), float(start + length)))
        plans.append(plan)
    return plans


def scene_kinds(config: SynthConfig) -> np.ndarray:
    """(n_scene_kinds, clip_dim) unit vectors shared by the whole corpus."""
    rng = np.random.default_rng([config.seed, 2])
    kinds = rng.standard_normal((config.n_scene_kinds, config.clip_dim))
    return kinds / np.linalg.norm(kinds, axis=1, keepdims=True)


def _rule_inputs(features: dict[str, FeatureFile], frames_s: np.ndarray) -> dict:
    """RULE_FEATURES at the given source times, as featalign would align them."""
    out = {name: np.zeros(len(frames_s), dtype=np.float32) for name in RULE_FEATURES}
    out["audio_mask"] = np.zeros(len(frames_s), dtype=bool)
    out["visual_mask"] = np.zeros(len(frames_s), dtype=bool)
    if "audio" in features:
        f = features["audio"]
        at = plan_lookup(f.times, frames_s)
        out["is_speaking"] = at.hold(f.columns["is_speaking"]).astype(np.float32)
        out["rms"] = at.interpolate(f.columns["rms"])
        out["audio_mask"] = at.mask
    if "visual" in features:
        f = features["visual"]
        at = plan_lookup(f.times, frames_s)
        for name in ("motion", "face_x", "face_y"):
            out[name] = at.interpolate(f.columns[name])
        for name in ("face_count", "text_present"):
            out[name] = at.hold(f.columns[name]).astype(np.float32)
        out["visual_mask"] = at.mask
    return out


def _recording(config, plan, kinds, index, n_long):
    """Hidden events and feature tables of a recording n_long frames long."""
    extra = config.rules.presentation.distractors
    rng = np.random.default_rng([config.seed, 3, index])
    hidden = hidden_events(rng, n_long, plan)
    features: dict[str, FeatureFile] = {}
    if plan.audio_rate is not None:
        features["audio"] = audio_features(rng, hidden, plan.audio_rate)
    if plan.visual_rate is not None:
        protos = scene_prototypes(rng, hidden, kinds)
        features["visual"] = visual_features(
            rng, hidden, plan.visual_rate, plan.webcam, protos, plan.clip_dtype
        )
    if extra:
        features = {m: distractors(rng, f, extra) for m, f in features.items()}
    for gap in plan.gaps:
        features[gap.modality] = drop_range(features[gap.modality], gap.start_s, gap.end_s)
    return rng, hidden, features


def make_edit(
    config: SynthConfig, plan: RecordingPlan, kinds: np.ndarray, index: int = 0
) -> SynthEdit:
    """Generate one recording, its features and its edit (in memory, deterministic)."""
    fps, editor = plan.fps, config.rules
    seconds_per_frame = fps.denominator / fps.numerator
    n_edit = max(2, round(config.seconds * float(fps)))
    for slack in (_SOURCE_SLACK, 2 * _SOURCE_SLACK, 4 * _SOURCE_SLACK):
        # Rule 1 on the source: cut dead air, then keep the first n_edit frames that remain;
        # a recording with unusually much dead air is generated again, longer.
        n_long = math.ceil(n_edit * slack) + round(2 * float(fps))
        rng, hidden, features = _recording(config, plan, kinds, index, n_long)
        src = _rule_inputs(features, np.arange(n_long) * seconds_per_frame)
        cut_ranges = dead_air_cuts(src, fps, editor)
        kept = np.ones(n_long, dtype=bool)
        for s, e in cut_ranges:
            kept[s:e] = False
        if kept.sum() >= n_edit:
            break
    source_frames = np.flatnonzero(kept)[:n_edit]
    if len(source_frames) < n_edit:
        log.warning("%s: only %d frames left after cuts", plan.name, len(source_frames))
    # The recording ends where the edit does, unless the edit ends in the kept tail of a
    # dead-air run: then at the end of that run, so the rule finds the same run again.
    last = int(source_frames[-1])
    pad = frames_of(editor.dead_pad_s, fps)
    n_source = last + 1
    for _, end in cut_ranges:
        if end <= last < end + pad:
            n_source = min(n_long, end + pad)
    hidden = HiddenEvents(
        fps,
        *(
            getattr(hidden, f.name)[:n_source]
            for f in dataclasses.fields(HiddenEvents)
            if f.name != "fps"
        ),
    )
    features = {m: truncate(f, n_source, fps) for m, f in features.items()}

    at_edit = _rule_inputs(features, source_frames * seconds_per_frame)
    tracks = editor_tracks(at_edit, fps, editor)
    table = track_table(
        tracks, plan.name, f"{plan.name}.mp4", fps, source_frames, n_tracks=config.n_tracks
    )
    jumps = np.flatnonzero(np.diff(source_frames) > 1) + 1  # edit frames that start after a cut
    dissolve = rng.random(len(jumps)) < plan.dissolve_fraction
    cuts = [
        {
            "edit_frame": int(f),
            "source_start_frame": int(source_frames[f - 1]) + 1,
            "source_end_frame": int(source_frames[f]),
            "source_start_s": float((source_frames[f - 1] + 1) * seconds_per_frame),
            "source_end_s": float(source_frames[f] * seconds_per_frame),
            "dissolve": bool(d),
        }
        for f, d in zip(jumps.tolist(), dissolve.tolist(), strict=True)
    ]
    return SynthEdit(plan, hidden, features, table, source_frames, cuts, at_edit)


def facts(edit: SynthEdit, files: dict[str, str]) -> dict:
    """What synth.json says about one recording."""
    plan, table = edit.plan, edit.table
    used = range(1, count_tracks(table.columns) + 1)
    active = {str(k): int(table[track_column(k, "active")].sum()) for k in used}
    corner = None
    if plan.webcam is not None:
        corner = (
            ("bottom" if plan.webcam[1] else "top") + "-" + ("right" if plan.webcam[0] else "left")
        )
    n = len(table)
    return {
        "name": plan.name,
        "edit_id": plan.name,
        **files,
        "source_video_name": edit.source_video_name,
        "source_pathurl": edit.source_pathurl,
        "fps": float(plan.fps),
        "fps_fraction": f"{plan.fps.numerator}/{plan.fps.denominator}",
        "n_frames": n,
        "seconds": n * plan.fps.denominator / plan.fps.numerator,
        "n_source_frames": edit.hidden.n_frames,
        "audio_rate": plan.audio_rate,
        "visual_rate": plan.visual_rate,
        "audio_format": plan.audio_format if plan.audio_rate is not None else None,
        "clip_dtype": plan.clip_dtype if plan.visual_rate is not None else None,
        "missing_modalities": [m for m in ("audio", "visual") if m not in edit.features],
        "gaps": [dataclasses.asdict(g) for g in plan.gaps],
        "webcam_corner": corner,
        "cuts": [dict(c) for c in edit.cuts],  # `write_edit` has set what the file holds
        "tracks_used": [int(k) for k, v in active.items() if v],
        "active_frames": {k: v for k, v in active.items() if v},
        "events": edit.hidden.counts(),
    }


def _truth_csv(table: pd.DataFrame, path: Path) -> None:
    """Shortest round-trip floats, 0/1 and role ids as integers."""
    import pyarrow as pa
    import pyarrow.csv as pcsv

    tracks = [c for c in table.columns if c not in META_COLUMNS]  # the layout's, after the meta
    body = np.asfortranarray(table[tracks].to_numpy(np.float64))  # column slices
    text = ("edit_id", "source_video_name")
    arrays = [pa.array(table[c].astype(str).to_numpy()) for c in META_COLUMNS if c in text]
    arrays += [pa.array(table[c].to_numpy()) for c in META_COLUMNS if c not in text]
    for k, name in enumerate(tracks):
        column = body[:, k]
        is_role = parse_track_column(name)[1] in ROLE_FIELDS
        arrays.append(pa.array(column.astype(np.int8) if is_role else column))
    with atomic_path(path) as tmp:
        pcsv.write_csv(
            pa.Table.from_arrays(arrays, names=[*META_COLUMNS, *tracks]),
            tmp,
            pcsv.WriteOptions(quoting_style="none"),
        )


def _writer():
    try:
        from xml2csv import write_xmeml
    except ImportError:  # exported from the package root in a later xml2csv release
        from xml2csv.writer import write_xmeml
    return write_xmeml


def _dissolve_cuts(xml: Path) -> set[int]:
    """Edit frames at which the written file dissolves from one clip to the next, as the
    reader sees them (the frame the incoming clip is shown from)."""
    from xml2csv import read_xmeml

    tracks = read_xmeml(xml).sequence.tracks
    return {t.cut for track in tracks for t in track.transitions}


def write_edit(edit: SynthEdit, root: Path, shown: Presentation | None = None) -> dict:
    """Write one edit's files under `root`; returns their paths relative to it. The planned
    dissolves go to the writer, and each cut's "dissolve" then says whether the file holds
    one there (the writer leaves a plain cut where a dissolve does not fit). `shown`: how
    the feature files look (the demo editor's by default)."""
    write_xmeml = _writer()
    shown = shown or Presentation()
    name = edit.plan.name
    files: dict[str, str] = {"xml": f"xml/{name}.xml", "truth": f"truth/{name}.csv"}
    feature_files = {}
    for modality, table in edit.features.items():
        fmt = edit.plan.audio_format if modality == "audio" else "parquet"
        written = shown.modality(modality)
        path = root / "features" / shown.naming.format(stem=name, modality=written, ext=fmt)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_feature_file(presented(table, shown), path, fmt)
        feature_files[written] = path.relative_to(root).as_posix()
    xml = write_xmeml(
        edit.table,
        root / files["xml"],
        fps=edit.plan.fps,
        sequence_name=name,
        source_pathurl=edit.source_pathurl,
        source_duration_frames=edit.hidden.n_frames,
        transitions=[c["edit_frame"] for c in edit.cuts if c["dissolve"]],
    )
    if any(c["dissolve"] for c in edit.cuts):
        written = _dissolve_cuts(xml)
        for cut in edit.cuts:
            cut["dissolve"] = cut["dissolve"] and cut["edit_frame"] in written
    _truth_csv(edit.table, root / files["truth"])
    return {**files, "features": feature_files}


def check_out_dir(out: Path, overwrite: bool, manifest: str = "synth.json") -> None:
    if out.exists() and not out.is_dir():
        raise SynthError(f"{out}: exists and is not a folder")
    if out.is_dir() and any(out.iterdir()):
        if not overwrite:
            raise SynthError(f"{out}: folder exists and is not empty (pass overwrite=True)")
        if not (out / manifest).is_file():
            raise SynthError(
                f"{out}: not a synthetic corpus (no {manifest}); refusing to replace it "
                "even with overwrite"
            )


def move_into_place(work: Path, out: Path) -> None:
    """Rename the finished `work` folder to `out`; an existing `out` (empty, or one we may
    replace) is moved aside first and removed after, so `out` is never half of each."""
    replace_dir(work, out)


def _progress(enabled: bool):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    return Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        disable=not enabled,
        transient=False,
    )


def _media_queue(config: SynthConfig, work: Path, bar, total: int):
    """A `MediaQueue` that advances a "media" task on `bar`, or a null context."""
    if not config.media:
        return contextlib.nullcontext()
    from xmlai.synth.media import MediaQueue

    task = bar.add_task("media", total=total)
    return MediaQueue(work, config.seed, config.media_size, on_done=lambda: bar.advance(task))


def synthesize(
    out_dir: str | Path,
    n_edits: int = 110,
    seconds: float = 30.0,
    seed: int = 0,
    overwrite: bool = False,
    progress: bool = True,
    **options,
) -> SynthSummary:
    """Write a synthetic corpus to `out_dir` (see the module docstring for the layout).

    `options` are the other `SynthConfig` fields (fractions of variants, rates, `style`).
    Refuses an existing non-empty `out_dir` unless `overwrite=True`, and even then replaces
    only a folder that holds a synth.json."""
    unknown = sorted(set(options) - {f.name for f in dataclasses.fields(SynthConfig)})
    if unknown:
        known = sorted(f.name for f in dataclasses.fields(SynthConfig))
        raise SynthError(f"unknown option(s) {unknown}; known: {known}")
    try:
        config = SynthConfig(n_edits=n_edits, seconds=seconds, seed=seed, **options)
    except TypeError as exc:
        raise SynthError(str(exc)) from None
    out = Path(out_dir)
    check_out_dir(out, overwrite)
    if config.media:
        from xmlai.synth.media import check_media

        try:
            check_media()
        except ImportError as exc:
            raise SynthError(str(exc)) from None
    out.parent.mkdir(parents=True, exist_ok=True)
    work = out.parent / f".{out.name}.partial-{os.getpid()}"
    shutil.rmtree(work, ignore_errors=True)
    for sub in ("xml", "features", "truth") + (("media",) if config.media else ()):
        (work / sub).mkdir(parents=True)

    handler = logging.FileHandler(work / "synth.log", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    started = time.perf_counter()
    try:
        log.info("xmlai %s synth: %s", __version__, json.dumps(config.to_dict()))
        plans = plan_corpus(config)
        kinds = scene_kinds(config)
        records, warnings = [], []
        with _progress(progress) as bar, contextlib.ExitStack() as stack:
            task = bar.add_task("synth", total=len(plans))
            media = stack.enter_context(_media_queue(config, work, bar, len(plans)))
            for index, plan in enumerate(plans):
                edit = make_edit(config, plan, kinds, index)
                files = write_edit(edit, work, config.rules.presentation)
                if media is not None:
                    files["media"] = media.submit(edit, index)  # rendered on a worker thread
                record = facts(edit, files)
                records.append(record)
                log.info(
                    "%s: %d frames at %s fps, tracks %s, %d cuts (%d dissolves), features %s",
                    plan.name,
                    record["n_frames"],
                    record["fps_fraction"],
                    record["tracks_used"],
                    len(edit.cuts),
                    sum(c["dissolve"] for c in edit.cuts),
                    sorted(files["features"]),
                )
                if len(edit.table) < round(config.seconds * float(plan.fps)):
                    warnings.append(f"{plan.name}: shorter than requested ({len(edit.table)})")
                bar.advance(task)
            for info in media.finish() if media is not None else ():
                log.info(
                    "%s: %d frames in %.2f s (%.0f frames/s)",
                    info.path.relative_to(work).as_posix(),
                    info.n_frames,
                    info.elapsed_s,
                    info.frames_per_s,
                )
        manifest = {
            "format": "xmlai-synth",
            "version": 1,
            "generator": f"xmlai {__version__}",
            "seed": config.seed,
            "config": config.to_dict(),
            "dissolves_written": True,
            **(
                {"editor": config.rules.name} if config.editor is not None else {}
            ),  # each cut's "dissolve" says what its file holds
            "layout": {
                "xml": "xml/<name>.xml",
                "features": "features/"
                + config.rules.presentation.naming.format(
                    stem="<name>", modality="<modality>", ext="<csv|parquet>"
                ),
                "truth": "truth/<name>.csv",
                **({"media": "media/<name>.mp4"} if config.media else {}),
            },
            "recordings": records,
        }
        (work / "synth.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        elapsed = time.perf_counter() - started
        log.info("done: %d edits in %.2f s", len(records), elapsed)
    except BaseException:
        log.removeHandler(handler)
        handler.close()
        shutil.rmtree(work, ignore_errors=True)
        raise
    log.removeHandler(handler)
    handler.close()

    move_into_place(work, out)
    return SynthSummary(
        out_dir=out,
        n_edits=len(records),
        n_frames=sum(r["n_frames"] for r in records),
        edit_seconds=sum(r["seconds"] for r in records),
        seed=config.seed,
        elapsed_s=elapsed,
        recordings=records,
        warnings=warnings,
    )
