"""Recordings -> feature files (`mediafeat`), in parallel, resumable; and what the rest of
the pipeline reads back from them: a recording's media facts (media.json) and the schema."""

from __future__ import annotations

from pathlib import Path

from xmlai.config import RunConfig
from xmlai.runlog import PipelineError, log, logging_to, write_json

FEATURES_LOG, FEATURES_SUMMARY = "features.log", "features.json"


def extract_features(recordings, out_dir, config: RunConfig, workers=None, overwrite=False,
                     progress=True) -> dict:  # fmt: skip
    """Every recording (files, or folders searched recursively) -> out_dir/<stem>/; a
    recording whose features are current is skipped unless `overwrite`."""
    from mediafeat import MediaError, extract_batch

    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise PipelineError(f"{out} exists and is not a folder")
    with logging_to(out / FEATURES_LOG):
        log.info("features: %s -> %s", [str(r) for r in recordings], out)
        try:
            summary = extract_batch(recordings, out, config.features, workers, overwrite, progress)
        except MediaError as err:
            raise PipelineError(str(err)) from None
        result = {**summary.to_dict(), "config": config.features.to_dict()}
        write_json(out / FEATURES_SUMMARY, result)
        counts = result["counts"]
        log.info("features done: %s", counts)
    if not summary.files:
        raise PipelineError(f"no recordings found in {', '.join(map(str, recordings))}")
    return result


def _side_file(features_index, video: str, name: str) -> Path | None:
    """A file mediafeat writes beside a recording's feature files, if it is there."""
    for path in features_index.lookup(video).values():
        if isinstance(path, Path) and (path.parent / name).is_file():
            return path.parent / name
    return None


def media_info(features_index, video: str):
    """The recording's media.json (mediafeat's probe, corrected by decoding), or None."""
    from mediafeat import MediaInfo
    from mediafeat.columns import MEDIA_JSON

    path = _side_file(features_index, video, MEDIA_JSON)
    return MediaInfo.load(path) if path is not None else None


def recording_schemas(features_index, video: str) -> dict:
    """One recording's schema.toml as {modality: FeatureSchema}; {} without one."""
    from mediafeat.columns import SCHEMA_TOML

    path = _side_file(features_index, video, SCHEMA_TOML)
    return _schemas([path] if path is not None else [])


def feature_schemas(features_dir) -> dict:
    """{modality: FeatureSchema} from the schema.toml files mediafeat writes beside each
    recording's features, merged; {} when there are none (featalign's defaults then apply).
    A column declared with two kinds is an error naming both files."""
    from mediafeat.columns import SCHEMA_TOML

    return _schemas(sorted(Path(features_dir).glob(f"*/{SCHEMA_TOML}")))


def _schemas(paths: list[Path]) -> dict:
    import tomllib

    from featalign import load_schema

    merged: dict = {}
    declared_in: dict[tuple[str, str], tuple[str, Path]] = {}
    for path in paths:
        modalities = tomllib.loads(path.read_text(encoding="utf-8")).get("modalities", {})
        for modality in modalities:
            schema = load_schema(path, modality)
            _check_kinds(schema, modality, path, declared_in)
            merged[modality] = _merge(merged.get(modality), schema)
    return merged


def _kinds_of(schema) -> dict[str, str]:
    plain = ("continuous", "binary", "discrete")
    kinds = {column: kind for kind in plain for column in getattr(schema, kind)}
    return kinds | {f"{prefix}_*": "embedding" for prefix in schema.embeddings}


def _check_kinds(schema, modality: str, path: Path, declared_in: dict) -> None:
    for column, kind in _kinds_of(schema).items():
        first = declared_in.setdefault((modality, column), (kind, path))
        if first[0] != kind:
            raise PipelineError(
                f"{path}: {modality} column {column!r} is {kind}, but {first[1]} says {first[0]}"
            )


def _merge(base, schema):
    if base is None:
        return schema
    for kind in ("continuous", "binary", "discrete"):
        have = getattr(base, kind)
        have += [c for c in getattr(schema, kind) if c not in have]
    base.embeddings = {**base.embeddings, **schema.embeddings}
    return base
