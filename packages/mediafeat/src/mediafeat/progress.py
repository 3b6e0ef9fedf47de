"""One rich display for a batch: media seconds done of all, frames/s and the realtime factor."""

from __future__ import annotations

import queue
import time

from rich.progress import BarColumn, Progress, ProgressColumn, TextColumn, TimeRemainingColumn
from rich.text import Text


class _Speed(ProgressColumn):
    def __init__(self, owner: BatchProgress):
        super().__init__()
        self.owner = owner

    def render(self, task) -> Text:
        wall = max(time.perf_counter() - self.owner.started, 1e-9)
        media, frames = self.owner.media_done(), self.owner.frames_done()
        return Text(f"{frames / wall:6.0f} frames/s  {media / wall:5.1f}x realtime")


class BatchProgress:
    def __init__(self, lengths: dict[str, tuple[float, float]], enabled: bool = True):
        self.lengths = lengths  # video -> (seconds, fps)
        self.seen: dict[str, float] = {}  # video -> media seconds decoded
        self.files_done = 0
        self.started = time.perf_counter()
        self.bar = Progress(
            TextColumn("features [{task.fields[files]}]"),
            BarColumn(),
            TextColumn("{task.completed:.0f}/{task.total:.0f} s"),
            _Speed(self),
            TimeRemainingColumn(),
            disable=not enabled,
            transient=False,
        )
        total = sum(seconds for seconds, _ in lengths.values()) or 1.0
        self.task = self.bar.add_task("features", total=total, files=self._files())

    def _files(self) -> str:
        return f"{self.files_done}/{len(self.lengths)} files"

    def media_done(self) -> float:
        return sum(self.seen.values())

    def frames_done(self) -> float:
        return sum(s * self.lengths.get(v, (0, 0))[1] for v, s in self.seen.items())

    def drain(self, updates) -> None:
        while True:
            try:
                video, seconds = updates.get_nowait()
            except queue.Empty:
                break
            self.seen[video] = min(seconds, self.lengths.get(video, (seconds, 0))[0] or seconds)
        self.bar.update(self.task, completed=self.media_done(), files=self._files())

    def done(self, outcome) -> None:
        self.files_done += 1
        if outcome.status in ("skipped", "failed"):  # no media decoded: not in the speed
            self.seen.pop(outcome.video, None)
            self.lengths[outcome.video] = (0.0, 0.0)
            total = sum(seconds for seconds, _ in self.lengths.values()) or 1.0
            self.bar.update(self.task, total=total)
        else:
            self.seen[outcome.video] = self.lengths.get(outcome.video, (0.0, 0))[0]
        self.bar.update(self.task, completed=self.media_done(), files=self._files())

    def __enter__(self) -> BatchProgress:
        self.bar.start()
        return self

    def __exit__(self, *exc) -> None:
        self.bar.stop()
