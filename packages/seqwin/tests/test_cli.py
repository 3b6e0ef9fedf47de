"""CLI: build writes train/val .npz, a JSON summary and a log; inspect reads both."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
from typer.testing import CliRunner

from seqwin import load_sequences
from seqwin.cli import app

runner = CliRunner()


def test_build_writes_both_sides_summary_and_log(make_store, tmp_path):
    videos = ["a.mp4", "a.mp4", "b.mp4", "c.mp4", "d.mp4", "e.mp4"]
    store = make_store([300, 120, 90, 400, 50, 220], videos=videos)
    out = tmp_path / "out"
    result = runner.invoke(
        app,
        [
            "build",
            str(store),
            "-o",
            str(out),
            "--length",
            "50",
            "--overlap",
            "10",
            "--val-fraction",
            "0.3",
        ],
    )
    assert result.exit_code == 0, result.output
    assert {p.name for p in out.iterdir()} == {
        "train_sequences.npz",
        "val_sequences.npz",
        "seqwin_build.json",
        "seqwin_build.log",
    }
    summary = json.loads((out / "seqwin_build.json").read_text())
    train, val = (
        load_sequences(out / "train_sequences.npz"),
        load_sequences(out / "val_sequences.npz"),
    )
    assert summary["train"]["windows"] == len(train) and summary["val"]["windows"] == len(val)
    assert len(val) > 0 and len(train) > 0
    assert not set(summary["train"]["source_videos"]) & set(summary["val"]["source_videos"])
    assert not set(train.index.edit_index.tolist()) & set(val.index.edit_index.tolist())
    assert summary["train"]["frames"] + summary["val"]["frames"] == 1180
    assert train.length == 50 and train.overlap == 10
    assert "train:" in (out / "seqwin_build.log").read_text()


def test_build_is_deterministic(make_store, tmp_path):
    store = make_store([100, 200, 300, 150], videos=["a", "b", "c", "d"])
    for name in ("one", "two"):
        assert (
            runner.invoke(
                app, ["build", str(store), "-o", str(tmp_path / name), "--seed", "7"]
            ).exit_code
            == 0
        )
    a = load_sequences(tmp_path / "one" / "val_sequences.npz")
    b = load_sequences(tmp_path / "two" / "val_sequences.npz")
    np.testing.assert_array_equal(a.arrays["tracks"], b.arrays["tracks"])


def test_build_bad_parameters_fail_short_and_write_nothing_else(small_store, tmp_path):
    out = tmp_path / "out"
    result = runner.invoke(app, ["build", str(small_store), "-o", str(out), "--length", "0"])
    assert result.exit_code == 2
    assert "window length: must be >= 1" in result.output
    assert "Traceback" not in result.output
    assert {p.name for p in out.iterdir()} == {"seqwin_build.log"}
    assert "must be >= 1" in (out / "seqwin_build.log").read_text()
    result = runner.invoke(app, ["build", str(small_store), "-o", str(out), "--overlap", "100"])
    assert result.exit_code == 2 and "must be smaller than the length" in result.output


def test_build_on_a_corrupt_store_names_the_file(small_store, tmp_path):
    manifest = json.loads((small_store / "manifest.json").read_text())
    bad = small_store / "edits" / manifest["edits"][1]["key"] / "audio.npy"
    bad.write_bytes(b"\x93NUMPY garbage")
    result = runner.invoke(app, ["build", str(small_store), "-o", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "audio.npy" in result.output and "not a readable .npy file" in result.output
    assert not (tmp_path / "out" / "train_sequences.npz").exists()


def test_inspect_store_and_npz(small_store, tmp_path):
    result = runner.invoke(app, ["inspect", str(small_store), "--json"])
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    assert info["kind"] == "frame store" and info["edits"] == 5 and info["frames"] == 940
    assert info["windows"] == 13
    # Real rows = frames + the 20 rows shared by each consecutive pair: 6 pairs in the 537-frame
    # edit (7 windows), 2 in the 260-frame edit (3 windows); 13 windows of 100 rows in all.
    real = 940 + 20 * (6 + 2)
    assert abs(info["padding_share"] - (1 - real / 1300)) < 1e-6
    out = tmp_path / "out"
    assert runner.invoke(app, ["build", str(small_store), "-o", str(out)]).exit_code == 0
    summary_path = tmp_path / "inspect.json"
    result = runner.invoke(
        app, ["inspect", str(out / "train_sequences.npz"), "--summary", str(summary_path)]
    )
    assert result.exit_code == 0, result.output
    written = json.loads(summary_path.read_text())
    assert written["kind"] == "sequences" and written["shapes"]["tracks"].startswith(
        f"({written['windows']}, 100"
    )
    assert summary_path.with_suffix(".log").exists()
    assert "sequences" in result.output


def test_inspect_bad_path(tmp_path):
    result = runner.invoke(app, ["inspect", str(tmp_path / "missing.npz")])
    assert result.exit_code == 2 and "no such file" in result.output


def test_package_imports_neither_torch_nor_sibling_libraries():
    code = (
        "import sys, seqwin, seqwin.cli\n"
        "bad = {'torch', 'featalign', 'xml2csv', 'mttransformer', 'trainer'} & set(sys.modules)\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_build_without_validation_writes_an_empty_val_set(small_store, tmp_path):
    out = tmp_path / "out"
    result = runner.invoke(app, ["build", str(small_store), "-o", str(out), "--val-fraction", "0"])
    assert result.exit_code == 0, result.output
    assert "val set is empty" in result.output
    val = load_sequences(out / "val_sequences.npz")
    assert len(val) == 0 and val.gather([])["tracks"].shape == (0, 100, 18)
    assert len(load_sequences(out / "train_sequences.npz")) == 13


def test_build_with_a_given_split(small_store, tmp_path):
    # Edits: 0 a.mp4, 1 b.mp4, 2 a.mp4, 3 c.mp4, 4 d.mp4 (see conftest.small_store).
    ids = json.loads((small_store / "manifest.json").read_text())["edits"]
    split_file = tmp_path / "split.json"
    split_file.write_text(json.dumps({"val": [ids[1]["edit_id"], ids[3]["edit_id"]]}))
    out = tmp_path / "out"
    result = runner.invoke(
        app, ["build", str(small_store), "-o", str(out), "--split-file", str(split_file)]
    )
    assert result.exit_code == 0, result.output
    assert sorted(set(load_sequences(out / "val_sequences.npz").index.edit_index.tolist())) == [
        1,
        3,
    ]
    # Edit 0 and 2 share a.mp4: splitting them is refused, naming the video.
    split_file.write_text(json.dumps({"val": [ids[0]["edit_id"]]}))
    result = runner.invoke(
        app, ["build", str(small_store), "-o", str(out), "--split-file", str(split_file)]
    )
    assert result.exit_code == 2 and "a.mp4" in result.output
    split_file.write_text(json.dumps({"val": ["nope"]}))
    result = runner.invoke(
        app, ["build", str(small_store), "-o", str(out), "--split-file", str(split_file)]
    )
    assert result.exit_code == 2 and "not in the store" in result.output


def test_inspect_verify_names_a_corrupted_array_in_one_line(make_store):
    store = make_store([30, 40], checksums=True)
    ok = runner.invoke(app, ["inspect", str(store), "--verify", "--json"])
    assert ok.exit_code == 0 and json.loads(ok.stdout)["verified_files"] == 10
    manifest = json.loads((store / "manifest.json").read_text())
    bad = store / "edits" / manifest["edits"][0]["key"] / "tracks.npy"
    data = bytearray(bad.read_bytes())
    data[-1] ^= 0xFF
    bad.write_bytes(bytes(data))
    assert runner.invoke(app, ["inspect", str(store)]).exit_code == 0  # only --verify reads it
    result = runner.invoke(app, ["inspect", str(store), "--verify"])
    assert result.exit_code == 2
    (line,) = result.output.strip().splitlines()
    assert "tracks.npy" in line and "checksum mismatch" in line


def test_build_out_that_is_a_file_exits_2(make_store, tmp_path):
    store = make_store([50, 30])
    (tmp_path / "taken").write_text("user data")
    for out in (tmp_path / "taken", tmp_path / "taken" / "sub"):
        result = runner.invoke(app, ["build", str(store), "-o", str(out)])
        assert result.exit_code == 2, result.output
        assert "cannot write the log" in result.output and str(tmp_path) in result.output
    assert (tmp_path / "taken").read_text() == "user data"


def test_inspect_summary_that_is_a_folder_or_under_a_file_exits_2(make_store, tmp_path):
    store = make_store([50, 30])
    (tmp_path / "afile").write_text("x")
    (tmp_path / "adir").mkdir()
    for summary in (tmp_path / "adir", tmp_path / "afile" / "s.json"):
        result = runner.invoke(app, ["inspect", str(store), "--summary", str(summary)])
        assert result.exit_code == 2, result.output
        assert result.exception is None or isinstance(result.exception, SystemExit)
    assert (tmp_path / "adir").is_dir() and (tmp_path / "afile").read_text() == "x"


def test_build_out_of_memory_is_one_line(make_store, tmp_path, monkeypatch):
    import seqwin.cli as cli

    def no_memory(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(cli, "save_sequences", no_memory)
    store = make_store([50, 30])
    result = runner.invoke(app, ["build", str(store), "-o", str(tmp_path / "o")])
    assert result.exit_code == 2, result.output
    assert "not enough memory for windows of length 100" in result.output


def test_absurd_window_length_exits_2(make_store):
    store = make_store([50, 30])
    result = runner.invoke(app, ["inspect", str(store), "--length", str(10**20)])
    assert result.exit_code == 2, result.output
    assert "window length" in result.output
