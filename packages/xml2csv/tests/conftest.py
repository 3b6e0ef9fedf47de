"""Fixtures: a tiny xmeml builder so each test states the timeline it needs, and the real
corpus in ../shared/xmeml-corpus (tests that need it skip when it is absent)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import quote

import pytest

CORPUS = Path(__file__).resolve().parents[3].parent / "shared" / "xmeml-corpus"
# named here, not globbed, so the test ids stay the same (and skip) when the folder is absent
CORPUS_FILES = [
    "ccnmtl_fcp7_conecta_2997.xml",
    "ccnmtl_fcp7_markp_2997.xml",
    "nick_premiere_filtered.xml",
    "nick_resolve_export.xml",
    "otio_empty_name_tags.xml",
    "otio_hiero_xml_export.xml",
    "otio_premiere_enable_property.xml",
    "otio_premiere_example.xml",
    "otio_premiere_generators.xml",
    "otio_sample_just_track.xml",
]


def pytest_generate_tests(metafunc):
    """Any test asking for `corpus_file` runs once per real export."""
    if "corpus_file" in metafunc.fixturenames:
        metafunc.parametrize("corpus_file", CORPUS_FILES)


@dataclass
class FileDef:
    file_id: str
    name: str
    pathurl: str | None = None
    duration: int | None = 9000
    timebase: int = 30
    ntsc: bool = False
    media_source: str | None = None
    stillframe: bool = False

    def xml(self) -> str:
        parts = [f'<file id="{self.file_id}">', f"<name>{self.name}</name>"]
        if self.pathurl is not None:
            parts.append(f"<pathurl>{self.pathurl}</pathurl>")
        elif self.media_source is None:
            parts.append(f"<pathurl>file://localhost/media/{quote(self.name)}</pathurl>")
        if self.media_source:
            parts.append(f"<mediaSource>{self.media_source}</mediaSource>")
        parts.append(
            f"<rate><timebase>{self.timebase}</timebase>"
            f"<ntsc>{'TRUE' if self.ntsc else 'FALSE'}</ntsc></rate>"
        )
        if self.duration is not None:
            parts.append(f"<duration>{self.duration}</duration>")
        if self.stillframe:
            parts.append("<stillframe>TRUE</stillframe>")
        parts.append("<media><video/></media></file>")
        return "".join(parts)


def param(param_id: str, value=None, keyframes=None) -> str:
    """value: number or (h, v); keyframes: [(when, number or (h, v)), ...]."""

    def val(v) -> str:
        if isinstance(v, tuple):
            return f"<value><horiz>{v[0]}</horiz><vert>{v[1]}</vert></value>"
        return f"<value>{v}</value>"

    body = f"<parameterid>{param_id}</parameterid>"
    if value is not None:
        body += val(value)
    for when, v in keyframes or []:
        body += f"<keyframe><when>{when}</when>{val(v)}</keyframe>"
    return f"<parameter>{body}</parameter>"


def filt(effect_id: str, *params: str, enabled: bool = True, name: str | None = None) -> str:
    flag = "TRUE" if enabled else "FALSE"
    return (
        f"<filter><enabled>{flag}</enabled><effect><name>{name or effect_id}</name>"
        f"<effectid>{effect_id}</effectid>{''.join(params)}</effect></filter>"
    )


def clip(start, end, in_, out, file="main", *filters, enabled=True, name="clip", extra="") -> str:
    file_xml = file if file.startswith("<") else f'<file id="{file}"/>'
    return (
        f"<clipitem><name>{name}</name><start>{start}</start><end>{end}</end>"
        f"<in>{in_}</in><out>{out}</out><enabled>{'TRUE' if enabled else 'FALSE'}</enabled>"
        f"{extra}{file_xml}{''.join(filters)}</clipitem>"
    )


def gen(start, end, effect="Text", *filters, in_=0, enabled=True) -> str:
    return (
        f"<generatoritem><name>{effect}</name><start>{start}</start><end>{end}</end>"
        f"<in>{in_}</in><out>{in_ + end - start}</out>"
        f"<enabled>{'TRUE' if enabled else 'FALSE'}</enabled>"
        f"<effect><name>{effect}</name><effectid>{effect}</effectid>"
        f"<effecttype>generator</effecttype></effect>{''.join(filters)}</generatoritem>"
    )


def trans(start, end, alignment="center") -> str:
    return (
        f"<transitionitem><start>{start}</start><end>{end}</end>"
        f"<alignment>{alignment}</alignment><effect><name>Cross Dissolve</name>"
        "<effectid>Cross Dissolve</effectid></effect></transitionitem>"
    )


def track(*items: str, enabled: bool = True) -> str:
    return f"<track>{''.join(items)}<enabled>{'TRUE' if enabled else 'FALSE'}</enabled></track>"


def sequence(
    *tracks: str,
    timebase=30,
    ntsc=False,
    duration=None,
    name="edit",
    seq_id="seq-1",
    definitions: list[FileDef] | None = None,
) -> str:
    """Definitions go into an audio track at the end, so every video reference comes first."""
    defs = "".join(
        f"<clipitem><name>a</name><start>0</start><end>1</end><in>0</in><out>1</out>{d.xml()}"
        "</clipitem>"
        for d in (definitions if definitions is not None else [FileDef("main", "main.mp4")])
    )
    dur = f"<duration>{duration}</duration>" if duration is not None else ""
    return (
        f'<sequence id="{seq_id}"><name>{name}</name>{dur}'
        f"<rate><timebase>{timebase}</timebase><ntsc>{'TRUE' if ntsc else 'FALSE'}</ntsc></rate>"
        f"<media><video>{''.join(tracks)}</video><audio><track>{defs}</track></audio></media>"
        "</sequence>"
    )


def document(*tracks: str, **kwargs) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE xmeml>\n<xmeml version="4">'
        + sequence(*tracks, **kwargs)
        + "</xmeml>"
    ).encode()


@pytest.fixture
def xm():
    """The builder: xm.document(xm.track(xm.clip(0, 30, 100, 130)), ...) -> bytes."""
    return SimpleNamespace(
        FileDef=FileDef,
        param=param,
        filt=filt,
        clip=clip,
        gen=gen,
        trans=trans,
        track=track,
        sequence=sequence,
        document=document,
    )


@pytest.fixture
def write(tmp_path):
    """write(bytes, name="edit.xml") -> Path inside the test's tmp folder."""

    def _write(data: bytes | str, name: str = "edit.xml") -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data.encode() if isinstance(data, str) else data)
        return path

    return _write


@pytest.fixture
def corpus() -> Path:
    if not CORPUS.is_dir():
        pytest.skip("../shared/xmeml-corpus is not beside the project")
    return CORPUS
