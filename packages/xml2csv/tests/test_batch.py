"""Batches: discovery, the concatenation invariant, resilience, outputs, log and summary."""

from __future__ import annotations

import errno
import json
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xml2csv import NoXmlFilesError, read_xmeml, sample
from xml2csv.batch import ConvertOptions, convert_dir, discover


def test_discovery_is_recursive_case_insensitive_and_sorted(tmp_path):
    for name in ["b.xml", "A.XML", "sub/c.Xml", "sub/deeper/d.xml", "notes.txt", "x.xml.bak"]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("")
    found = [p.relative_to(tmp_path).as_posix() for p in discover(tmp_path)]
    assert found == ["A.XML", "b.xml", "sub/c.Xml", "sub/deeper/d.xml"]


def test_an_empty_directory_is_a_specific_error(tmp_path):
    with pytest.raises(NoXmlFilesError, match=r"no \.xml files"):
        convert_dir(tmp_path, tmp_path / "out", progress=False)


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    lengths=st.lists(st.integers(1, 120), min_size=1, max_size=5),
    n_bad=st.integers(0, 2),
    workers=st.sampled_from([1, 2]),
)
def test_concatenated_table_has_exactly_the_rows_of_the_good_files(
    xm, tmp_path_factory, lengths, n_bad, workers
):
    root = tmp_path_factory.mktemp("batch")
    for n, length in enumerate(lengths):
        (root / f"edit{n}.xml").write_bytes(xm.document(xm.track(xm.clip(0, length, 0, length))))
    for n in range(n_bad):
        (root / "bad" / f"broken{n}.xml").parent.mkdir(exist_ok=True)
        (root / "bad" / f"broken{n}.xml").write_text("<xmeml><sequence>")
    out = root / "out"
    summary = convert_dir(root, out, workers=workers, progress=False)
    table = pd.read_csv(out / "tracks.csv")
    assert len(table) == sum(lengths) == summary.rows
    assert table.groupby("edit_id", sort=False).size().tolist() == lengths
    assert summary.files_ok == len(lengths) and summary.files_failed == n_bad
    assert summary.ok == (n_bad == 0)
    written = json.loads((out / "summary.json").read_text())
    assert [f["file"].endswith(".xml") for f in written["failed"]] == [True] * n_bad
    assert all("not well-formed" in f["error"] for f in written["failed"])
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temporary parts left


def test_per_edit_parquet_output_and_the_log(xm, tmp_path):
    (tmp_path / "in" / "a").mkdir(parents=True)
    (tmp_path / "in" / "b").mkdir()
    (tmp_path / "in" / "a" / "same.xml").write_bytes(xm.document(xm.track(xm.clip(0, 5, 0, 5))))
    (tmp_path / "in" / "b" / "same.xml").write_bytes(xm.document(xm.track(xm.clip(0, 7, 0, 7))))
    (tmp_path / "in" / "bad.xml").write_text("not xml")
    out = tmp_path / "out"
    summary = convert_dir(
        tmp_path / "in",
        out,
        workers=2,
        fmt="parquet",
        per_edit=True,
        options=ConvertOptions(n_tracks=3),
        progress=False,
    )
    files = sorted(p.name for p in (out / "edits").iterdir())
    assert files == ["a_same.parquet", "b_same.parquet"]  # shared stems get their folder
    edit = pd.read_parquet(out / "edits" / "b_same.parquet")
    assert len(edit) == 7 and edit["edit_id"].iloc[0] == "b/same" and "t03_asset" in edit
    log = (out / "xml2csv.log").read_text()
    assert "failed" in log and "bad.xml" in log and log.count(" ok ") == 2
    assert summary.files_failed == 1


def test_source_view_rows_cover_the_main_source(xm, write):
    defs = [xm.FileDef("main", "main.mp4", duration=200)]
    path = write(
        xm.document(xm.track(xm.clip(0, 30, 50, 80), xm.clip(30, 40, 10, 20)), definitions=defs)
    )
    from xml2csv import sample_source_view

    view = sample_source_view(read_xmeml(path), n_tracks=1)
    assert len(view) == 200
    assert view["kept"].sum() == 40
    assert view.loc[50, "sequence_frame"] == 0 and view.loc[10, "sequence_frame"] == 30
    assert view.loc[0, "kept"] == 0 and view.loc[0, "t01_active"] == 0
    assert view.loc[60, "t01_active"] == 1 and view.loc[60, "t01_scale"] == 100


def test_tables_written_by_the_batch_read_back_identically(xm, tmp_path):
    from importlib.resources import files

    example = files("xml2csv") / "examples" / "example_edit.xml"
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "example_edit.xml").write_bytes(example.read_bytes())
    convert_dir(tmp_path / "in", tmp_path / "out", workers=1, progress=False)
    expected = sample(read_xmeml(str(example)))
    got = pd.read_csv(tmp_path / "out" / "tracks.csv")
    assert got.columns.tolist() == expected.columns.tolist()
    pd.testing.assert_frame_equal(
        got.drop(columns=["edit_id", "source_video_name"]),
        expected.drop(columns=["edit_id", "source_video_name"]),
        check_dtype=False,
    )


def test_edits_whose_names_map_to_one_file_name_each_get_their_own_file(xm, tmp_path):
    lengths = {"my edit.xml": 5, "my_edit.xml": 7, "my+edit.xml": 9, "My_Edit.xml": 11}
    for name, length in lengths.items():
        (tmp_path / "in" / name).parent.mkdir(exist_ok=True)
        (tmp_path / "in" / name).write_bytes(xm.document(xm.track(xm.clip(0, length, 0, length))))
    out = tmp_path / "out"
    summary = convert_dir(tmp_path / "in", out, workers=1, per_edit=True, progress=False)
    written = {p.name: pd.read_csv(p) for p in (out / "edits").iterdir()}
    assert len(written) == 4 and all(n.casefold().startswith("my_edit-") for n in written)
    rows = {str(t["edit_id"].iloc[0]): len(t) for t in written.values()}
    assert rows == {name.removesuffix(".xml"): n for name, n in lengths.items()}
    assert summary.rows == sum(len(t) for t in written.values())
    assert sorted(Path(r.output).name for r in summary.files) == sorted(written)
    again = convert_dir(tmp_path / "in", tmp_path / "again", per_edit=True, progress=False)
    assert sorted(r.output for r in again.files) == sorted(
        r.output.replace(str(out), str(tmp_path / "again")) for r in summary.files
    )  # the suffix depends on the edit id alone


def test_files_that_differ_only_in_the_case_of_their_extension_keep_apart(xm, tmp_path):
    (tmp_path / "x.xml").write_bytes(xm.document(xm.track(xm.clip(0, 3, 0, 3))))
    (tmp_path / "x.XML").write_bytes(xm.document(xm.track(xm.clip(0, 4, 0, 4))))
    summary = convert_dir(tmp_path, tmp_path / "out", per_edit=True, progress=False)
    assert sorted(r.edit_id for r in summary.files) == ["x.XML", "x.xml"]
    assert len({r.output for r in summary.files}) == 2


def _disk_full(*_args, **_kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


def _batch_cli(*args):
    from typer.testing import CliRunner

    from xml2csv.cli import app

    return CliRunner().invoke(app, ["batch", *map(str, args), "--no-progress", "-w", "1"])


@pytest.fixture
def two_edits(xm, tmp_path):
    for n, length in enumerate([4, 6]):
        (tmp_path / "in" / f"e{n}.xml").parent.mkdir(exist_ok=True)
        (tmp_path / "in" / f"e{n}.xml").write_bytes(
            xm.document(xm.track(xm.clip(0, length, 0, length)))
        )
    return tmp_path / "in"


def test_a_full_disk_while_joining_the_table_fails_the_batch_in_one_line(
    two_edits, tmp_path, monkeypatch
):
    import xml2csv.batch

    monkeypatch.setattr(xml2csv.batch.shutil, "copyfileobj", _disk_full)
    out = tmp_path / "out"
    result = _batch_cli(two_edits, "-o", out)
    assert result.exit_code == 2, result.output
    (line,) = result.output.strip().splitlines()
    assert "tracks.csv" in line and "no space left on device" in line and "needed" in line
    assert not (out / "tracks.csv").exists()
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no parts, no temporaries
    summary = json.loads((out / "summary.json").read_text())
    assert summary["ok"] is False and "no space left" in summary["error"]


def test_a_full_disk_while_writing_one_edit_fails_the_batch(two_edits, tmp_path, monkeypatch):
    import xml2csv.batch

    monkeypatch.setattr(xml2csv.batch, "write_table", _disk_full)
    result = _batch_cli(two_edits, "-o", tmp_path / "out", "--per-edit")
    assert result.exit_code == 2
    (line,) = result.output.strip().splitlines()
    assert "e0.csv: cannot write: no space left on device" in line
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["ok"] is False and summary["files_ok"] == 0


def test_parts_left_by_a_killed_batch_are_removed_by_the_next_run(two_edits, tmp_path):
    import subprocess
    import sys

    from xml2csv.batch import _parts_prefix

    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    out = tmp_path / "out"
    mine = _parts_prefix()  # this process: alive
    host = mine.split("-")[1]
    folders = {
        "killed": f".parts-{host}-{gone}-abcd_123",
        "older version": ".parts-k3j_9xq2",
        "running": f"{mine}zzzz9999",
        "other host": f".parts-{'0' * 8 if host != '0' * 8 else '1' * 8}-{gone}-abcd_123",
        "not ours": ".parts-of-my-thesis",
    }
    for name in folders.values():
        (out / name).mkdir(parents=True)
        (out / name / "000000.csv").write_text("x\n")
    (out / "xml2csv.log").write_text("")  # what the killed batch began with
    convert_dir(two_edits, out, workers=1, progress=False)
    left = {p.name for p in out.iterdir() if p.name.startswith(".parts-")}
    assert left == {folders[k] for k in ("running", "other host", "not ours")}


def test_a_batch_stopped_by_sigterm_removes_its_parts(xm, tmp_path):
    import signal
    import subprocess
    import sys
    import time

    inputs = tmp_path / "in"
    inputs.mkdir()
    for n in range(400):
        (inputs / f"e{n:03d}.xml").write_bytes(xm.document(xm.track(xm.clip(0, 3000, 0, 3000))))
    out = tmp_path / "out"
    code = "from xml2csv.cli import app; app()"
    args = ["batch", str(inputs), "-o", str(out), "-w", "1", "--no-progress"]
    batch = subprocess.Popen([sys.executable, "-c", code, *args], stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while not list(out.glob(".parts-*/*")) and time.monotonic() < deadline:
        time.sleep(0.01)
    batch.send_signal(signal.SIGTERM)
    assert batch.wait(timeout=60) == 128 + signal.SIGTERM
    assert not list(out.glob(".parts-*")) and not (out / "tracks.csv").exists()
