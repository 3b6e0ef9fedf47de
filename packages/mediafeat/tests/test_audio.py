"""Audio features against known truth: synthetic signals, and speech recorded once with espeak-ng
(tests/fixtures/make_speech.py) whose true segments come from the parts it was joined from."""

from __future__ import annotations

import itertools
import json
import logging
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mediafeat import audio as audio_mod
from mediafeat.audio import AudioExtractor
from mediafeat.columns import AUDIO_COLUMNS, TIME
from mediafeat.config import ExtractConfig
from mediafeat.errors import ModelFileError
from mediafeat.vad import SileroVAD, hysteresis, silero_path, speech_mask

SR = 16000
HOP = 320
FIXTURES = Path(__file__).parent / "fixtures"
needs_silero = pytest.mark.skipif(silero_path() is None, reason="faster-whisper not installed")


def run(x: np.ndarray, start_s: float = 0.0, **config) -> dict[str, np.ndarray]:
    extractor = AudioExtractor(ExtractConfig(**config))
    extractor.push(x.astype(np.float32), start_s)
    return extractor.finish()


def sine(freq: float, seconds: float, amp: float = 0.5) -> np.ndarray:
    return (amp * np.sin(2 * np.pi * freq * np.arange(round(seconds * SR)) / SR)).astype(np.float32)


def noise(seconds: float, rms: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rms * rng.standard_normal(round(seconds * SR))).astype(np.float32)


def segments(table: dict[str, np.ndarray]) -> list[tuple[float, float]]:
    """(start, end) seconds of the is_speaking runs, edges at the hop boundaries."""
    edges = np.diff(np.concatenate([[0], table["is_speaking"], [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1
    half = HOP / SR / 2
    return [
        (table[TIME][a] - half, table[TIME][b] + half) for a, b in zip(starts, ends, strict=True)
    ]


@pytest.fixture(scope="module")
def speech() -> tuple[np.ndarray, list[list[float]]]:
    import av

    with av.open(str(FIXTURES / "speech.flac")) as container:
        stream = container.streams.audio[0]
        assert stream.rate == SR
        pcm = np.concatenate([f.to_ndarray().reshape(-1) for f in container.decode(stream)])
    truth = json.loads((FIXTURES / "speech.json").read_text())["speech_s"]
    return (pcm.astype(np.float32) / 32768), truth


# --- the table's shape -------------------------------------------------------------------------


def test_columns_dtypes_and_row_times_are_hop_centres():
    table = run(noise(1.015, 0.1), start_s=3.25)  # 50 whole hops and 15 ms more
    assert list(table) == [TIME, *AUDIO_COLUMNS]
    assert table[TIME].dtype == np.float64 and table["is_speaking"].dtype == np.int8
    assert all(table[c].dtype == np.float32 for c in AUDIO_COLUMNS if c != "is_speaking")
    assert len(table[TIME]) == 50  # the trailing 15 ms (under a hop) gets no row
    np.testing.assert_allclose(table[TIME], 3.25 + 0.01 + 0.02 * np.arange(50), atol=1e-9)


def test_empty_input_gives_empty_columns():
    for pushes in ([], [np.zeros(0, np.float32)]):
        extractor = AudioExtractor(ExtractConfig())
        for chunk in pushes:
            extractor.push(chunk, 0.0)
        table = extractor.finish()
        assert list(table) == [TIME, *AUDIO_COLUMNS]
        assert all(len(v) == 0 for v in table.values())
        assert table[TIME].dtype == np.float64 and table["is_speaking"].dtype == np.int8


def test_stereo_is_refused():
    with pytest.raises(ValueError, match="mono"):
        AudioExtractor(ExtractConfig()).push(np.zeros((100, 2), np.float32), 0.0)


# --- synthetic signals -------------------------------------------------------------------------


@pytest.mark.parametrize("freq", [80.0, 220.0, 440.0])
def test_pitch_of_a_tone(freq):
    pitch = run(sine(freq, 1.0))["pitch_hz"][3:-3]
    np.testing.assert_allclose(pitch, freq, rtol=0.02)


def test_rms_loudness_and_peak_of_a_known_sine():
    table = run(sine(220.0, 1.0, amp=0.5))
    inner = slice(3, -3)  # edge rows' windows reach into the zero padding
    np.testing.assert_allclose(table["rms"][inner], 0.5 / np.sqrt(2), rtol=0.015)
    np.testing.assert_allclose(
        table["loudness_db"][inner], 20 * np.log10(0.5 / np.sqrt(2)), atol=0.15
    )
    np.testing.assert_allclose(table["peak"], 0.5, rtol=0.01)  # each 20 ms hop holds a crest


def test_silence():
    table = run(np.zeros(2 * SR, np.float32))
    assert np.all(table["rms"] == 0) and np.all(table["peak"] == 0)
    assert np.all(table["loudness_db"] == -100)
    assert np.all(table["pitch_hz"] == 0) and np.all(table["onset"] == 0)
    assert np.all(table["is_speaking"] == 0)
    assert table["vad_prob"].max() < 0.2


def test_noise_is_not_voiced():
    table = run(noise(3.0, 0.1))
    assert np.all(table["pitch_hz"] == 0)
    assert np.all(table["is_speaking"] == 0)


def test_onset_peaks_at_a_click():
    x = noise(2.0, 0.001)
    x[SR + 77] = 0.9  # in the hop of row 50
    onset = run(x)["onset"]
    assert abs(int(np.argmax(onset)) - 50) <= 1
    assert onset.max() > 5 * np.median(onset)
    assert onset.min() >= 0 and onset.max() <= 1


def test_onset_peaks_where_a_burst_starts():
    x = noise(2.0, 0.001)
    x[round(0.7 * SR) : round(0.9 * SR)] += noise(0.2, 0.3, seed=1)
    onset = run(x)["onset"]
    assert abs(int(np.argmax(onset)) - 35) <= 1
    assert onset[35 - 1 : 35 + 2].max() > 0.1


# --- streaming -----------------------------------------------------------------------------------


def _pushed_in(x: np.ndarray, sizes: list[int]) -> dict[str, np.ndarray]:
    extractor = AudioExtractor(ExtractConfig())
    at, i = 0, 0
    while at < len(x):
        n = sizes[i % len(sizes)]
        extractor.push(x[at : at + n], 1.5 + at / SR)
        at, i = at + n, i + 1
    return extractor.finish()


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(sizes=st.lists(st.integers(1, 24000), min_size=1, max_size=12))
def test_chunked_pushes_give_the_one_push_table(speech, sizes):
    x = speech[0][: 3 * SR]
    whole, chunked = _pushed_in(x, [len(x)]), _pushed_in(x, sizes)
    np.testing.assert_array_equal(chunked[TIME], whole[TIME])
    for name in ["rms", "loudness_db", "peak", "onset", "pitch_hz"]:
        np.testing.assert_allclose(chunked[name], whole[name], rtol=1e-4, atol=1e-4, err_msg=name)
    np.testing.assert_allclose(chunked["vad_prob"], whole["vad_prob"], atol=2e-3)
    assert np.mean(chunked["is_speaking"] != whole["is_speaking"]) <= 0.01


def test_a_gap_leaves_no_rows_inside_it():
    extractor = AudioExtractor(ExtractConfig())
    extractor.push(sine(220.0, 1.0), 0.0)
    extractor.push(sine(220.0, 1.0), 2.5)  # 1.5 s of audio missing
    table = extractor.finish()
    t = table[TIME]
    assert not np.any((t > 1.0) & (t < 2.5))
    np.testing.assert_allclose(t[:50], 0.01 + 0.02 * np.arange(50), atol=1e-9)
    np.testing.assert_allclose(t[50:], 2.51 + 0.02 * np.arange(50), atol=1e-9)
    # restarted cleanly: the stretch after the gap looks like the stretch before it
    np.testing.assert_allclose(table["rms"][50:], table["rms"][:50], rtol=1e-4)
    np.testing.assert_allclose(table["pitch_hz"][50:], table["pitch_hz"][:50], rtol=1e-4)


def test_jitter_under_a_hop_is_contiguous():
    x = sine(220.0, 2.0)
    extractor = AudioExtractor(ExtractConfig())
    for i, at in enumerate(range(0, len(x), 1000)):
        wobble = (0.004 if i % 2 else -0.004) if i else 0.0  # the first chunk sets the clock
        extractor.push(x[at : at + 1000], at / SR + wobble)
    jittered, whole = extractor.finish(), run(x)
    np.testing.assert_array_equal(jittered[TIME], whole[TIME])
    np.testing.assert_allclose(jittered["rms"], whole["rms"], rtol=1e-5)


def test_audio_going_back_is_dropped_with_one_warning():
    extractor = AudioExtractor(ExtractConfig())
    extractor.push(sine(220.0, 1.0), 0.0)
    extractor.push(sine(220.0, 1.0), 0.5)  # half of it repeats 0.5..1.0 s
    extractor.push(sine(220.0, 0.5), 1.3)  # 0.2 s of it repeats 1.3..1.5 s
    t = extractor.finish()[TIME]
    assert np.all(np.diff(t) > 0)
    assert len(t) == 90 and t[-1] == pytest.approx(1.79)
    went_back = [w for w in extractor.warnings if "went back" in w]
    assert len(went_back) == 1  # reported once, though it happened twice


def test_memory_stays_flat():
    extractor = AudioExtractor(ExtractConfig())
    chunk, largest = noise(0.064, 0.01), 0
    for i in range(2000):  # 128 s
        extractor.push(chunk, i * 0.064)
        held = len(extractor._buf) + sum(len(p) for p in extractor._pending)
        largest = max(largest, held)
    assert largest < 2 * SR
    assert len(extractor.finish()[TIME]) == 6400


# --- voice activity ------------------------------------------------------------------------------


def test_hysteresis_holds_between_thresholds():
    prob = np.array([0.2, 0.6, 0.4, 0.4, 0.3, 0.4, 0.5, 0.36, 0.34])
    np.testing.assert_array_equal(hysteresis(prob, 0.5, 0.35), [0, 1, 1, 1, 0, 0, 1, 1, 0])


def test_speech_mask_bridges_drops_and_pads():
    t = 0.01 + 0.02 * np.arange(200)
    prob = np.zeros(200)
    prob[20:60] = 0.9  # 0.8 s of speech
    prob[70:100] = 0.9  # after a 0.2 s pause: bridged (< min_silence 0.3)
    prob[150:155] = 0.9  # 0.1 s: dropped (< min_speech 0.25)
    mask = speech_mask(t, prob, 0.02, 0.5, min_speech_s=0.25, min_silence_s=0.3)
    expected = np.zeros(200, np.int8)
    expected[15:105] = 1  # 20..100 padded by 5 rows (0.1 s) each side
    np.testing.assert_array_equal(mask, expected)


def test_speech_mask_does_not_bridge_or_pad_across_a_gap():
    t = np.concatenate([0.01 + 0.02 * np.arange(50), 1.51 + 0.02 * np.arange(50)])
    prob = np.zeros(100)
    prob[30:50] = prob[50:70] = 0.9  # speech up to the gap and from it
    mask = speech_mask(t, prob, 0.02, 0.5, min_speech_s=0.25, min_silence_s=0.3)
    assert mask[25:70].all() and not mask[:25].any() and not mask[75:].any()
    single = speech_mask(t[:50], prob[:50], 0.02, 0.5, 0.25, 0.3)
    np.testing.assert_array_equal(mask[:50], single)  # the stretch before is on its own


@needs_silero
def test_silero_streams_like_one_call(speech):
    x = speech[0][: 512 * 120]
    whole = SileroVAD(silero_path()).push(x)
    streamed = SileroVAD(silero_path())
    parts = np.concatenate([streamed.push(x[i : i + 777]) for i in range(0, len(x), 777)])
    assert len(whole) == len(parts) == 120
    np.testing.assert_allclose(parts, whole, atol=2e-3)


def test_speech_pitch_is_voiced_on_most_speech_rows(speech):
    x, truth = speech
    table = run(x)
    t, pitch = table[TIME], table["pitch_hz"]
    inside = np.zeros(len(t), bool)
    for a, b in truth:
        inside |= (t >= a) & (t < b)
    assert np.mean(pitch[inside] > 0) > 0.55
    assert np.mean(pitch[~inside] > 0) < 0.02
    assert 70 < np.median(pitch[pitch > 0]) < 160  # espeak-ng's en-us voice, ~100 Hz


def _assert_segments(table, truth, tolerance):
    found = segments(table)
    assert len(found) == len(truth), found
    for (start, end), (true_start, true_end) in zip(found, truth, strict=True):
        assert abs(start - true_start) <= tolerance and abs(end - true_end) <= tolerance, found
    for (_, end), (start, _) in itertools.pairwise(truth):  # the pauses
        middle = (table[TIME] > end + tolerance) & (table[TIME] < start - tolerance)
        assert middle.any() and not table["is_speaking"][middle].any()


@needs_silero
def test_silero_finds_the_speech(speech):
    x, truth = speech
    extractor = AudioExtractor(ExtractConfig())
    assert extractor.vad_backend == "silero" and extractor.warnings == []
    extractor.push(x, 0.0)
    table = extractor.finish()
    _assert_segments(table, truth, tolerance=0.2)
    assert table["vad_prob"].min() >= 0 and table["vad_prob"].max() <= 1


def test_energy_fallback_finds_the_speech(speech, monkeypatch, caplog):
    monkeypatch.setattr(audio_mod, "silero_path", lambda: None)
    with caplog.at_level(logging.INFO):
        extractor = AudioExtractor(ExtractConfig(), log=logging.getLogger("test-audio"))
    assert extractor.vad_backend == "energy"
    assert len(extractor.warnings) == 1 and "energy" in extractor.warnings[0]
    assert len([r for r in caplog.records if r.name == "test-audio"]) == 1
    x, truth = speech
    extractor.push(x, 0.0)
    _assert_segments(extractor.finish(), truth, tolerance=0.3)


def test_other_sample_rates_fall_back_to_energy():
    extractor = AudioExtractor(ExtractConfig(sample_rate=8000))
    assert extractor.sample_rate == 8000 and extractor.vad_backend == "energy"
    assert len(extractor.warnings) == 1
    extractor.push((0.5 * np.sin(2 * np.pi * 220 * np.arange(8000) / 8000)).astype(np.float32), 0)
    table = extractor.finish()
    assert len(table[TIME]) == 50
    np.testing.assert_allclose(table["pitch_hz"][3:-3], 220, rtol=0.02)


def test_a_bad_vad_model_file_is_an_error(tmp_path):
    with pytest.raises(ModelFileError, match="no such file"):
        AudioExtractor(ExtractConfig(), vad_model=tmp_path / "missing.onnx")
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"not a model")
    with pytest.raises(ModelFileError, match=r"junk\.onnx"):
        AudioExtractor(ExtractConfig(), vad_model=junk)
