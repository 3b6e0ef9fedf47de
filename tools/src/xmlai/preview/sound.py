"""The edit's sound: its audio clips mixed to stereo at 48 kHz."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np

from xmlai.preview.media import _Media, _media_seconds

RATE = 48_000  # output audio sample rate


# ---- audio -------------------------------------------------------------------------------------
class _AudioClip:
    """One audio item's samples from its source, resampled to RATE, read in order."""

    def __init__(self, path: Path, seconds: float, channel: int | None):
        self.container = av.open(str(path))
        stream = self.container.streams.audio[0]
        self.start = seconds + (self.container.start_time or 0) / av.time_base
        if seconds > 0:
            self.container.seek(int(self.start / stream.time_base), stream=stream)
        self.frames = self.container.decode(stream)
        self.resampler = av.AudioResampler(format="fltp", layout=stream.layout, rate=RATE)
        self.buffer, self.lead, self.done = np.zeros(0, np.float32), None, False
        self.channel = channel

    def _decode(self) -> None:
        try:
            frame = next(self.frames)
        except (StopIteration, av.FFmpegError):
            frame, self.done = None, True
        if self.lead is None and frame is not None:  # samples before (+) or after (-) `in`
            self.lead = round(((frame.time or self.start) - self.start) * RATE)
        for block in self.resampler.resample(frame):
            data = block.to_ndarray()
            mono = data[min(self.channel, len(data)) - 1] if self.channel else data.mean(axis=0)
            if self.lead:  # line the first samples up with the item's in point
                lead, self.lead = self.lead, 0
                mono = np.concatenate([np.zeros(max(lead, 0), np.float32), mono[max(-lead, 0) :]])
            self.buffer = np.concatenate([self.buffer, mono])

    def read(self, count: int) -> np.ndarray:
        while len(self.buffer) < count and not self.done:
            self._decode()
        out, got = np.zeros(count, np.float32), self.buffer[:count]
        out[: len(got)], self.buffer = got, self.buffer[count:]
        return out


class _Mixer:
    """The enabled audio tracks' items: source channel 1 to the left, 2 to the right (odd and
    even beyond), an item without a source channel downmixed to both."""

    def __init__(self, seq, media: _Media):
        self.fps, self.open, self.todo, self.failed = seq.fps, [], [], []
        for track in (t for t in seq.audio_tracks if t.enabled):
            for item in track.items:
                file = item.file
                usable = item.enabled and file is not None and not file.media_source
                if usable and item.end > item.start and (path := media.audio_path(file)):
                    self.todo.append((self.sample(item.start), self.sample(item.end), item, path))
        self.todo.sort(key=lambda entry: entry[0])

    def sample(self, frame: int) -> int:
        return frame * RATE * self.fps.denominator // self.fps.numerator

    def block(self, s0: int, s1: int) -> np.ndarray:
        while self.todo and self.todo[0][0] < s1:
            a0, a1, item, path = self.todo.pop(0)
            seconds = _media_seconds(item, item.start, self.fps) + max(s0 - a0, 0) / RATE
            try:
                clip = _AudioClip(path, seconds, item.source_channel)
                self.open.append((a0, a1, item.source_channel, clip))
            except (av.FFmpegError, OSError, IndexError) as err:
                self.failed.append(f"audio of {path} skipped: {err}")
        mix = np.zeros((2, s1 - s0), np.float32)
        for a0, a1, channel, clip in self.open:
            lo, hi = max(a0, s0), min(a1, s1)
            if hi > lo:
                rows = [0, 1] if channel is None else [(channel - 1) % 2]
                mix[rows, lo - s0 : hi - s0] += clip.read(hi - lo)
        for entry in [e for e in self.open if e[1] <= s1]:
            entry[3].container.close()
            self.open.remove(entry)
        return np.clip(mix, -1, 1)
