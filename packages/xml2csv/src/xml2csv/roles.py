"""Asset roles (SPEC.md) decided from a rule table that users can extend.

Ids (`AssetRole`, defined by the shared contract `trackcore.layout` and re-exported here):
0 none, 1 main source on its base track, 2 main source re-used as an overlay, 3 other video,
4 still image, 5 text/title, 6 solid/matte/slug, 7 nested sequence, 8 other generator or
graphic, 9 unresolved.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from trackcore import N_ASSETS, AssetRole
from xml2csv.model import Item, MediaFile

__all__ = ["DEFAULT_RULES", "N_ASSETS", "AssetRole", "AssetRules"]


def _fold(names) -> frozenset[str]:
    return frozenset(n.casefold() for n in names)


@dataclass(frozen=True)
class AssetRules:
    """Names are compared case-insensitively; extensions include the dot."""

    image_extensions: frozenset[str] = _fold(
        {
            ".jpg",
            ".jpeg",
            ".png",
            ".tif",
            ".tiff",
            ".psd",
            ".bmp",
            ".tga",
            ".gif",
            ".webp",
            ".exr",
            ".dpx",
            ".heic",
            ".pict",
            ".pct",
            ".ai",
            ".svg",
        }
    )
    graphic_extensions: frozenset[str] = _fold({".motn", ".moti", ".mogrt", ".aep", ".prtl"})
    text_generators: frozenset[str] = _fold(
        {
            "Text",
            "Outline Text",
            "Scrolling Text",
            "Crawl",
            "Typewriter",
            "Lower 3rd",
            "Lower Third",
            "Title",
            "GraphicAndType",
            "Caption",
        }
    )
    matte_generators: frozenset[str] = _fold(
        {
            "Color",
            "Color Solid",
            "Color Matte",
            "Black Video",
            "Bars",
            "Bars and Tone",
            "Bars and Tone (NTSC)",
            "Bars and Tone (PAL)",
            "Slug",
            "Gradient",
            "Transparent Video",
            "Counting Leader",
            "Universal Counting Leader",
            "HD Bars and Tone",
        }
    )
    text_media_sources: frozenset[str] = _fold({"GraphicAndType"})
    matte_media_sources: frozenset[str] = _fold({"Slug"})

    def extend(self, **more: set[str] | list[str]) -> AssetRules:
        """A copy with extra names added, e.g. `DEFAULT_RULES.extend(text_generators={"Subs"})`."""
        updates = {}
        for key, names in more.items():
            if not hasattr(self, key):
                raise TypeError(f"AssetRules has no rule named {key!r}")
            updates[key] = getattr(self, key) | _fold(names)
        return replace(self, **updates)

    def is_still(self, file: MediaFile | None, stillframe: bool = False) -> bool:
        if stillframe or (file is not None and file.stillframe):
            return True
        return file is not None and file.extension in self.image_extensions

    def can_be_main_source(self, file: MediaFile) -> bool:
        """Only real video files compete for "main source"; stills, slugs and graphics do not."""
        if file.media_source or not file.has_video or self.is_still(file):
            return False
        if self.is_unresolved(file):  # role 9, never main
            return False
        return file.extension not in self.graphic_extensions

    def role_of(self, item: Item, main_file_id: str | None, is_base_track: bool) -> AssetRole:
        if item.nested is not None:
            return AssetRole.NESTED_SEQUENCE
        if item.kind == "generator":
            return self._generator_role(item.generator_id or item.name)
        file = item.file
        if file is None:
            return AssetRole.UNRESOLVED
        if file.media_source:
            source = file.media_source.casefold()
            if source in self.text_media_sources:
                return AssetRole.TEXT
            if source in self.matte_media_sources:
                return AssetRole.MATTE
            return AssetRole.OTHER_GRAPHIC
        if self.is_still(file, item.stillframe):
            return AssetRole.STILL_IMAGE
        if file.extension in self.graphic_extensions:
            return AssetRole.OTHER_GRAPHIC
        if main_file_id is not None and file.file_id == main_file_id:
            return AssetRole.MAIN_SOURCE if is_base_track else AssetRole.MAIN_SOURCE_OVERLAY
        if self.is_unresolved(file):
            return AssetRole.UNRESOLVED
        return AssetRole.OTHER_VIDEO

    @staticmethod
    def is_unresolved(file: MediaFile) -> bool:
        """No path, and no name a file could have (no extension): nothing to relink to."""
        return not file.pathurl and not file.extension

    def _generator_role(self, generator: str) -> AssetRole:
        key = generator.casefold()
        if key in self.text_generators:
            return AssetRole.TEXT
        if key in self.matte_generators:
            return AssetRole.MATTE
        return AssetRole.OTHER_GRAPHIC


DEFAULT_RULES = AssetRules()
