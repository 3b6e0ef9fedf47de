"""`mttransformer info`, and the package's import boundaries."""

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from mttransformer import MultiTrackTransformer
from mttransformer.cli import app

runner = CliRunner()


def test_info_describes_a_checkpoint(tmp_path, tiny_config):
    model = MultiTrackTransformer(tiny_config(given_tracks=(0,)))
    model.save_pretrained(tmp_path / "ckpt")
    result = runner.invoke(app, ["info", str(tmp_path / "ckpt")])
    assert result.exit_code == 0, result.output
    assert "edit_completion" in result.output and "audio (3), visual (5)" in result.output
    result = runner.invoke(app, ["info", str(tmp_path / "ckpt"), "--json"])
    summary = json.loads(result.output)
    assert summary["n_parameters"] == model.count_parameters()
    assert summary["input_schema"]["predicted_tracks"] == [1, 2, 3]


def test_info_on_something_else_fails_with_a_message(tmp_path):
    result = runner.invoke(app, ["info", str(tmp_path)])
    assert result.exit_code == 1
    assert "config.json: missing" in result.output
    assert "Traceback" not in result.output


def test_help_and_import_load_neither_torch_nor_sibling_libraries():
    code = (
        "import sys, mttransformer, mttransformer.cli\n"
        "from typer.testing import CliRunner\n"
        "assert CliRunner().invoke(mttransformer.cli.app, ['--help']).exit_code == 0\n"
        "loaded = [m for m in ('torch', 'trainer', 'seqwin', 'featalign', 'xml2csv')"
        " if m in sys.modules]\n"
        "assert not loaded, loaded\n"
        "mttransformer.MultiTrackTransformer\n"
        "assert 'torch' in sys.modules and 'trainer' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_public_api_is_exported():
    import mttransformer

    for name in mttransformer.__all__:
        assert getattr(mttransformer, name) is not None
    with pytest.raises(AttributeError, match="no attribute 'Trainer'"):
        mttransformer.Trainer  # noqa: B018
