"""What a document holds, for people checking an export before converting it."""

from __future__ import annotations

from pathlib import Path

from xml2csv.reader import read_xmeml
from xml2csv.roles import DEFAULT_RULES, AssetRole


def describe(path: str | Path, sequence: str | None = None) -> dict:
    timeline = read_xmeml(path, sequence=sequence)
    seq = timeline.sequence
    main_id = timeline.main_source.file_id if timeline.main_source else None
    tracks = []
    for track in seq.tracks:
        roles: dict[str, int] = {}
        for item in track.items:
            if item.enabled:
                role = DEFAULT_RULES.role_of(item, main_id, track.index == timeline.base_track)
                roles[AssetRole(role).name.lower()] = roles.get(AssetRole(role).name.lower(), 0) + 1
        tracks.append(
            {
                "track": f"V{track.index}",
                "enabled": track.enabled,
                "clipitems": sum(i.kind == "clip" for i in track.items),
                "generatoritems": sum(i.kind == "generator" for i in track.items),
                "transitions": len(track.transitions),
                "disabled_items": sum(not i.enabled for i in track.items),
                "roles": roles,
            }
        )
    fps = seq.fps
    return {
        "file": str(path),
        "sequences": timeline.top_level_names,
        "sequence": seq.name,
        "rate": {
            "timebase": seq.rate.timebase,
            "ntsc": seq.rate.ntsc,
            "fps": f"{fps.numerator}/{fps.denominator}",
            "fps_float": float(fps),
        },
        "frames": seq.duration,
        "seconds": round(seq.duration / float(fps), 3),
        "frame_size": [seq.width, seq.height],
        "video_tracks": tracks,
        "main_source": timeline.source_video_name or None,
        "main_source_base_track": f"V{timeline.base_track}" if timeline.base_track else None,
        "files": len(timeline.files),
        "guesses": timeline.warnings,
    }


def render(info: dict) -> str:
    rate = info["rate"]
    lines = [
        f"file        {info['file']}",
        f"sequence    {info['sequence']!r} (top-level: {', '.join(map(repr, info['sequences']))})",
        f"rate        {rate['fps']} fps ({rate['fps_float']:.3f}; timebase {rate['timebase']}"
        f"{', NTSC' if rate['ntsc'] else ''})",
        f"length      {info['frames']} frames, {info['seconds']} s",
        f"frame size  {info['frame_size'][0]}x{info['frame_size'][1]}",
        f"main source {info['main_source']} (base track {info['main_source_base_track']})",
        f"files       {info['files']}",
        "tracks (bottom to top):",
    ]
    for t in info["video_tracks"]:
        roles = ", ".join(f"{k} {v}" for k, v in t["roles"].items()) or "empty"
        state = "" if t["enabled"] else " [disabled]"
        lines.append(
            f"  {t['track']:<4} {t['clipitems']} clips, {t['generatoritems']} generators, "
            f"{t['transitions']} transitions, {t['disabled_items']} disabled{state}: {roles}"
        )
    lines.append(f"guesses     {len(info['guesses'])}")
    lines += [f"  - {g}" for g in info["guesses"]]
    return "\n".join(lines)
