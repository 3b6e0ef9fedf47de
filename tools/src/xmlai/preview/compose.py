"""Each sequence frame: the enabled tracks composited bottom to top with their motion, crop
and opacity; dissolves blend their two neighbours."""

from __future__ import annotations

import cv2
import numpy as np

from trackcore import PARAMETER_NAMES, PARAMETER_NEUTRAL
from xml2csv import DEFAULT_RULES, OPTIONAL_PARAMETERS, sample
from xml2csv.model import Timeline
from xmlai.preview.media import _Media, _media_seconds

COLUMNS = PARAMETER_NAMES  # scale, pos_x, pos_y, crop l/r/t/b (the track layout)
OPACITY = len(COLUMNS)  # the row's last value
NEUTRAL = np.array(
    [*PARAMETER_NEUTRAL, OPTIONAL_PARAMETERS["opacity"].default], dtype=np.float32
)  # COLUMNS + opacity


def _dissolves(track) -> dict[int, list]:
    """Frame -> [(outgoing item, weight), (incoming item, weight)] under each transition."""
    items, blends = [i for i in track.items if i.enabled], {}
    for tr in track.transitions:
        out = [i for i in items if i.visible_end == tr.cut and i.start < tr.cut]
        inc = [i for i in items if i.visible_start == tr.cut and i.end > tr.cut]
        out = out[-1] if out and tr.alignment != "start-black" else None
        inc = inc[0] if inc and tr.alignment != "end-black" else None
        for t in range(max(tr.start, 0), tr.end):
            p = (t - tr.start + 0.5) / (tr.end - tr.start)
            blends[t] = [(i, wt) for i, wt in ((out, 1 - p), (inc, p)) if i is not None]
    return blends


class _Compositor:
    def __init__(self, timeline, media: _Media, size: tuple, zoom: tuple, scope: int = 0):
        seq, self.media, self.size, self.zoom = timeline.sequence, media, size, zoom
        self.scope = scope  # a nested sequence's tracks decode apart from the parent's
        n, self.fps = seq.duration, seq.fps
        table = sample(timeline, n_tracks=max(len(seq.tracks), 1), extra_parameters=["opacity"])
        main = timeline.main_source.file_id if timeline.main_source else None
        self.layers = []  # (track, params (n, 8), owner (n,) item index or -1, roles, dissolves)
        for track in (t for t in seq.tracks if t.enabled):
            owner = np.full(n, -1, dtype=np.int32)
            for k, item in enumerate(track.items):
                if item.enabled:
                    owner[max(item.visible_start, 0) : max(min(item.visible_end, n), 0)] = k
            on_base = track.index == timeline.base_track
            roles = {id(item): DEFAULT_RULES.role_of(item, main, on_base) for item in track.items}
            cols = [f"t{track.index:02d}_{c}" for c in (*COLUMNS, "opacity")]
            params = table[cols].to_numpy(dtype=np.float32)
            self.layers.append((track, params, owner, roles, _dissolves(track)))

    def frame(self, t: int) -> np.ndarray:
        w, h = self.size
        canvas = np.zeros((h, w, 3), dtype=np.uint8)
        for track, params, owner, roles, dissolves in self.layers:
            shown = dissolves.get(t) or ([(track.items[owner[t]], 1.0)] if owner[t] >= 0 else [])
            pieces = []
            for item, weight in shown:  # the values of the item's nearest frame on screen
                lo, hi = item.visible_start, item.visible_end
                row = params[min(max(t, lo), hi - 1)] if hi > lo else NEUTRAL
                source = self.media.source(item, (self.scope, track.index), roles[id(item)])
                piece = self._piece(source, _media_seconds(item, t, self.fps), row)
                if piece is not None and weight * row[OPACITY] > 0:
                    pieces.append((*piece, weight * min(row[OPACITY], 100) / 100))
            _over(canvas, pieces)
        return canvas

    def _piece(self, source, seconds: float, row: np.ndarray):
        """(y0, y1, x0, x1, rgb, alpha): the visible part of a source placed by `row`."""
        (w, h), (kx, ky) = self.size, self.zoom
        if source.declared is None:
            source.declared = source.picture(seconds)[0].shape[1::-1]
        iw = round(source.declared[0] * row[0] / 100 * kx)
        ih = round(source.declared[1] * row[0] / 100 * ky)
        left, top = round(w / 2 + row[1] * w - iw / 2), round(h / 2 + row[2] * h - ih / 2)
        x0, x1 = max(left + round(iw * row[3] / 100), 0), left + iw - round(iw * row[4] / 100)
        y0, y1 = max(top + round(ih * row[5] / 100), 0), top + ih - round(ih * row[6] / 100)
        # inside the frame and inside the picture (a predicted crop can be below 0 or past 100)
        x0, y0 = max(x0, left), max(y0, top)
        x1, y1 = min(x1, w, left + iw), min(y1, h, top + ih)
        if x1 <= x0 or y1 <= y0:
            return None
        bx0, by0, bx1, by1 = x0 - left, y0 - top, x1 - left, y1 - top
        if iw * ih <= 4 * w * h:
            rgb, alpha = source.picture(seconds, iw, ih)
            rgb, alpha = rgb[by0:by1, bx0:bx1], None if alpha is None else alpha[by0:by1, bx0:bx1]
        else:  # a big zoom: cut the visible part from the native picture, then scale it
            rgb, alpha = source.picture(seconds)
            fx, fy = rgb.shape[1] / iw, rgb.shape[0] / ih
            sx = slice(int(bx0 * fx), max(int(bx1 * fx), int(bx0 * fx) + 1))
            sy = slice(int(by0 * fy), max(int(by1 * fy), int(by0 * fy) + 1))
            rgb = cv2.resize(rgb[sy, sx], (x1 - x0, y1 - y0))
            alpha = (
                None if alpha is None else cv2.resize(alpha[sy, sx], (x1 - x0, y1 - y0))[..., None]
            )
        return y0, y1, x0, x1, rgb, alpha


class _Nested:
    """A nested sequence, drawn by its own compositor at its frame `in + (t - start)`."""

    def __init__(self, media: _Media, seq):
        self.declared = (seq.width, seq.height) if seq.width and seq.height else media.seq_size
        size = tuple(max(round(v * k), 1) for v, k in zip(self.declared, media.zoom, strict=True))
        parent = media.timeline
        child = Timeline(parent.path, seq, [], parent.main_source, None, parent.files)
        self.compositor = _Compositor(child, media, size, media.zoom, scope=id(seq))
        self.fps, self.last, self._frame = seq.fps, max(seq.duration - 1, 0), (None, None)

    def picture(self, seconds: float, width: int | None = None, height: int | None = None):
        t = min(max(round(seconds * self.fps), 0), self.last)
        if self._frame[0] != t:
            self._frame = (t, self.compositor.frame(t))
        rgb = self._frame[1]
        if width is not None and (width, height) != rgb.shape[1::-1]:
            rgb = cv2.resize(rgb, (width, height), interpolation=cv2.INTER_AREA)
        return rgb, None


def _over(canvas: np.ndarray, pieces: list) -> None:
    """Composite one track's pieces over the canvas; two (a dissolve) as a premultiplied sum."""
    if len(pieces) == 1:
        y0, y1, x0, x1, rgb, alpha, weight = pieces[0]
        if alpha is None and weight >= 1:
            canvas[y0:y1, x0:x1] = rgb
        else:
            a = np.float32(weight) if alpha is None else alpha * np.float32(weight)
            under = canvas[y0:y1, x0:x1]
            under[:] = under * (1 - a) + rgb * a + 0.5
    elif pieces:
        layer = np.zeros(canvas.shape, dtype=np.float32)
        cover = np.zeros((*canvas.shape[:2], 1), dtype=np.float32)
        for y0, y1, x0, x1, rgb, alpha, weight in pieces:
            a = np.float32(weight) if alpha is None else alpha * np.float32(weight)
            layer[y0:y1, x0:x1] += rgb * a
            cover[y0:y1, x0:x1] += a
        canvas[:] = np.clip(canvas * (1 - np.minimum(cover, 1)) + layer + 0.5, 0, 255)
