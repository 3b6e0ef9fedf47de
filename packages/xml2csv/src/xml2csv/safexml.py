"""Parsing untrusted XML: no entity expansion, no DTD loading, no network."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from lxml import etree

from xml2csv.errors import XmemlError

_ENTITIES = (
    "the document declares entities; they are refused because they can read local files "
    "(XXE) or expand without bound"
)


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        load_dtd=False,
        dtd_validation=False,
        no_network=True,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


def parse_document(path: str | Path, data: bytes | None = None) -> etree._ElementTree:
    """Parse a file (or its bytes) and refuse anything but a plain xmeml document."""
    if data is None:
        try:
            mode = os.stat(path).st_mode
            if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
                # a FIFO or a device named *.xml would block the read forever, or never end
                raise XmemlError("cannot read file: not a regular file", path)
            data = Path(path).read_bytes()
        except OSError as err:
            raise XmemlError(f"cannot read file: {err.strerror or err}", path) from None
    if not data.strip():
        raise XmemlError("file is empty", path)
    try:
        tree = etree.ElementTree(etree.fromstring(data, _parser()))
    except etree.XMLSyntaxError as err:
        line = err.lineno if err.lineno else None
        if "entity" in (err.msg or "").lower():
            raise XmemlError(f"{_ENTITIES} ({err.msg})", path, "!DOCTYPE", line) from None
        raise XmemlError(f"not well-formed XML: {err.msg}", path, line=line) from None
    dtd = tree.docinfo.internalDTD
    if dtd is not None and any(True for _ in dtd.iterentities()):
        raise XmemlError(_ENTITIES, path, element="!DOCTYPE", line=1)
    root = tree.getroot()
    if root.tag != "xmeml":
        raise XmemlError(
            f"root element is <{root.tag}>, expected <xmeml>", path, root.tag, root.sourceline
        )
    return tree
