"""The feature files' names and columns, defined once: the extractors write them, the schema
file declares their kinds, and callers (the umbrella, its synthetic corpus) import them."""

from __future__ import annotations

AUDIO, VISUAL, WORDS = "audio", "visual", "words"  # modality = file stem: <stem>/<modality>.parquet
TIME = "time"  # seconds on the recording's clock (0 = its first video frame)
FEATURE_SUFFIX = ".parquet"
MEDIA_JSON = "media.json"  # probe(): frame rate, duration, size, audio, timecode
SCHEMA_TOML = "schema.toml"  # featalign's schema for the files beside it
WORDS_JSON = "words.json"  # the words themselves (featalign drops strings)
EXTRACT_JSON = "extract.json"  # the per-recording summary; written last: its presence = complete

AUDIO_COLUMNS = ["rms", "loudness_db", "peak", "onset", "pitch_hz", "vad_prob", "is_speaking"]
VISUAL_COLUMNS = [
    "brightness",  # mean luma, 0..1
    "motion",  # auto-editor's measure: fraction of pixels changed between frames, 0..1
    "motion_diff",  # mean absolute grey difference between frames, 0..1
    "saliency",  # share of the frame that is salient (spectral residual), 0..1
    "saliency_x",  # salient centroid, 0 = left edge .. 1 = right edge
    "saliency_y",  # 0 = top .. 1 = bottom
    "face_count",
    "face_x",  # the largest face's centre, 0..1 (NaN without a face)
    "face_y",
    "face_size",  # its width as a share of the frame width
    "text_present",
    "text_area",  # share of the frame covered by recognised text
    "scene_cut",  # 1 on the row of the frame where a new shot starts
]
FLOW_COLUMNS = ["flow_mag"]  # mean optical-flow magnitude, share of the frame width per second
WORD_COLUMNS = ["word_active", "is_filler", "words_per_s"]

EMBEDDING_PREFIX = "emb"  # the built-in embedding: emb_0..emb_{EMBEDDING_DIM-1}
CLIP_PREFIX = "clip"
BINARY = ["is_speaking", "text_present", "scene_cut", "word_active", "is_filler"]
DISCRETE = ["face_count", "speaker_id"]


def group_columns(prefix: str, width: int) -> list[str]:
    return [f"{prefix}_{i}" for i in range(width)]
