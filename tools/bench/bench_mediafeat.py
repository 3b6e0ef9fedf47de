"""Benchmark: mediafeat's default extraction against PyAV's plain decode of the same file,
measured in the same run, as realtime factors (media seconds per wall second).

Clips are made here (PyAV + libx264): a moving scene with a face photo, a caption and hard
cuts, with speech-like audio (tone bursts and pauses). Per clip: plain decode (every packet
decoded, nothing converted), then the extraction with audio only, visual only, and both
(the default). Then several 1080p clips through the batch with two worker processes, and
the peak memory of one extraction process on a short and a four-times-longer clip (flat in
the recording's length is the target; `--hour` also runs a one-hour 360p clip).

    python tools/bench/bench_mediafeat.py            # 60 s clips at 1080p30 and 360p30
    python tools/bench/bench_mediafeat.py --quick    # 10 s clips, a smoke run
Targets on 2 cores: 1080p30 >= 3x realtime in one process, >= 5x with two workers.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import av
import numpy as np

from mediafeat import ExtractConfig, extract, extract_batch


def _face() -> np.ndarray | None:
    try:
        from skimage import data
    except ImportError:
        return None
    return data.astronaut()[20:220, 150:330]


def _scene(kind: int, w: int, h: int) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.array([(70 * kind) % 256, (130 + 50 * kind) % 256, (200 - 40 * kind) % 256])
    stripes = ((xx // (20 + 10 * kind) + yy // 40) % 2)[..., None] * 60
    return np.clip(base + stripes, 0, 255).astype(np.uint8)


def make_clip(path: Path, seconds: float, size: tuple[int, int], fps: int = 30) -> Path:
    import cv2

    w, h = size
    scenes = [_scene(k, w, h) for k in range(3)]
    face = _face()
    if face is not None:
        face = cv2.resize(face, (w // 6, round(w / 6 * face.shape[0] / face.shape[1])))
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=fps, options={"preset": "ultrafast"})
        video.width, video.height, video.pix_fmt = w, h, "yuv420p"
        sound = out.add_stream("aac", rate=48000, layout="stereo")
        for i in range(round(seconds * fps)):
            frame = scenes[(i // (fps * 7)) % 3].copy()
            x = (i * 12) % max(1, w - w // 5)  # a fast-moving block
            frame[h // 3 : h // 3 + h // 6, x : x + w // 5] = 255
            if face is not None and (i // (fps * 4)) % 2 == 0:
                frame[-face.shape[0] - 10 : -10, -face.shape[1] - 10 : -10] = face
            cv2.putText(frame, f"LIVE {i // fps}", (w // 20, h // 8), cv2.FONT_HERSHEY_SIMPLEX,
                        h / 400, (255, 255, 255), max(2, h // 200))  # fmt: skip
            image = av.VideoFrame.from_ndarray(frame, format="rgb24")
            image.pts = i
            out.mux(video.encode(image))
        out.mux(video.encode())
        _audio(out, sound, seconds)
    return path


def _audio(out, stream, seconds: float, rate: int = 48000) -> None:
    t = np.arange(int(seconds * rate)) / rate
    voiced = (np.sin(2 * np.pi * 0.4 * t) > -0.3) & ((t * 4) % 1 < 0.8)  # phrases, pauses
    pitch = 140 + 30 * np.sin(2 * np.pi * 0.7 * t)
    wave = sum(np.sin(2 * np.pi * k * np.cumsum(pitch) / rate) / k for k in range(1, 6))
    mono = 0.2 * wave * voiced + 0.01 * np.random.default_rng(0).standard_normal(len(t))
    stereo = np.tile(mono.astype(np.float32), (2, 1))
    for start in range(0, stereo.shape[1], 1024):
        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(stereo[:, start : start + 1024]), format="fltp", layout="stereo"
        )
        frame.sample_rate, frame.pts = rate, start
        out.mux(stream.encode(frame))
    out.mux(stream.encode())


def plain_decode(path: Path, threads: int) -> float:
    """Seconds to decode every video and audio packet, converting nothing."""
    started = time.perf_counter()
    with av.open(str(path)) as container:
        streams = [*container.streams.video[:1], *container.streams.audio[:1]]
        for stream in streams:
            stream.thread_type = "AUTO"
        if threads and container.streams.video:
            container.streams.video[0].codec_context.thread_count = threads
        for packet in container.demux(*streams):
            packet.decode()
    return time.perf_counter() - started


def _extract_seconds(path: Path, out: Path, config: ExtractConfig) -> float:
    result = extract(path, out, config, overwrite=True)
    return result.seconds


def clip_rows(path: Path, seconds: float, threads: int, out: Path) -> list[tuple[str, float]]:
    default = ExtractConfig(decode_threads=threads)
    rows = [("plain decode (PyAV)", plain_decode(path, threads))]
    rows.append(("audio only", _extract_seconds(path, out, replace(default, visual=False))))
    rows.append(("visual only", _extract_seconds(path, out, replace(default, audio=False))))
    for name, flag in (("  - no OCR", "text"), ("  - no faces", "faces"),
                       ("  - no embedding", "embedding")):  # fmt: skip
        config = replace(default, audio=False, **{flag: False})
        rows.append((name, _extract_seconds(path, out, config)))
    rows.append(("default (all)", _extract_seconds(path, out, default)))
    return [(name, seconds / wall) for name, wall in rows]


def peak_memory_mb(path: Path, out: Path) -> float:
    """Peak RSS of a fresh process that extracts `path` with the defaults."""
    code = (
        "import resource, sys\n"
        "from mediafeat import ExtractConfig, extract\n"
        "extract(sys.argv[1], sys.argv[2], ExtractConfig(decode_threads=1), overwrite=True)\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
    )
    done = subprocess.run([sys.executable, "-c", code, str(path), str(out)], check=True,
                          capture_output=True, text=True)  # fmt: skip
    return int(done.stdout.split()[-1]) / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="10 s clips instead of 60 s")
    ap.add_argument("--hour", action="store_true", help="also a one-hour 360p clip (memory)")
    ap.add_argument("--threads", type=int, default=0, help="decoder threads (0: FFmpeg's)")
    args = ap.parse_args()
    seconds = 10.0 if args.quick else 60.0
    report: dict = {"seconds": seconds, "clips": {}}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for label, size in (("1080p30", (1920, 1080)), ("360p30", (640, 360))):
            clip = make_clip(tmp / f"{label}.mp4", seconds, size)
            rows = clip_rows(clip, seconds, args.threads, tmp / "features")
            report["clips"][label] = dict(rows)
            print(f"{label} ({seconds:g} s):")
            decode = rows[0][1]
            for name, factor in rows:
                print(f"  {name:22s} {factor:7.2f}x realtime   {factor / decode:5.2f} of decode")
        clips = [make_clip(tmp / f"batch{k}.mp4", seconds, (1920, 1080)) for k in range(4)]
        started = time.perf_counter()
        summary = extract_batch(clips, tmp / "batch", ExtractConfig(), workers=2, progress=False)
        wall = time.perf_counter() - started
        assert not summary.failed, summary.failed
        report["batch_2_workers_1080p"] = 4 * seconds / wall
        print(f"4 x 1080p30 clips, 2 worker processes: {4 * seconds / wall:.2f}x realtime "
              f"(target >= 5x; one process above: target >= 3x)")  # fmt: skip
        short = make_clip(tmp / "short.mp4", seconds / 2, (640, 360))
        long = make_clip(tmp / "long.mp4", seconds * 2, (640, 360))
        memory = {f"{seconds / 2:g} s": peak_memory_mb(short, tmp / "mem"),
                  f"{seconds * 2:g} s": peak_memory_mb(long, tmp / "mem")}  # fmt: skip
        if args.hour:
            hour = make_clip(tmp / "hour.mp4", 3600.0, (640, 360))
            memory["3600 s"] = peak_memory_mb(hour, tmp / "mem")
        report["peak_rss_mb_360p"] = memory
        print("peak memory of one extraction (360p): "
              + ", ".join(f"{k}: {v:.0f} MB" for k, v in memory.items()))  # fmt: skip
    print(json.dumps(report, default=str))


if __name__ == "__main__":
    main()
