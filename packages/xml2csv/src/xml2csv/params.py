"""The parameter registry: which effect parameter fills which column of the track table.

The sampler only walks this table, so a user adds a column (rotation, opacity, anchor point,
anything numeric on an effect) by adding a `ParameterSpec`, not by touching the sampler.
"""

from __future__ import annotations

from dataclasses import dataclass

from trackcore import FIELDS, PARAMETER_NAMES


@dataclass(frozen=True)
class ParameterSpec:
    column: str  # suffix after `tNN_`
    effect_ids: tuple[str, ...]  # matched against <effectid>, then <name> (both case-folded)
    parameter_id: str
    default: float
    component: str | None = None  # "horiz" / "vert" for point parameters
    unit: str = ""


BASIC_MOTION = ("basic", "basic motion", "motion")
CROP = ("crop",)
OPACITY = ("opacity",)

# Where xmeml keeps each parameter of the track layout (trackcore.layout): effect, parameter,
# component. Defaults and units are the layout's.
_XMEML_PLACES = {
    "scale": (BASIC_MOTION, "scale", None),
    "pos_x": (BASIC_MOTION, "center", "horiz"),
    "pos_y": (BASIC_MOTION, "center", "vert"),
    "crop_left": (CROP, "left", None),
    "crop_right": (CROP, "right", None),
    "crop_top": (CROP, "top", None),
    "crop_bottom": (CROP, "bottom", None),
}


def _layout_spec(name: str) -> ParameterSpec:
    effects, parameter, component = _XMEML_PLACES[name]
    field = FIELDS[name]
    return ParameterSpec(name, effects, parameter, field.neutral, component, field.unit)


DEFAULT_PARAMETERS: tuple[ParameterSpec, ...] = tuple(_layout_spec(n) for n in PARAMETER_NAMES)

OPTIONAL_PARAMETERS: dict[str, ParameterSpec] = {
    "rotation": ParameterSpec("rotation", BASIC_MOTION, "rotation", 0.0, unit="degrees, CCW+"),
    "opacity": ParameterSpec("opacity", OPACITY, "opacity", 100.0, unit="percent"),
}


def parameter_set(extra: tuple[str, ...] | list[str] = ()) -> tuple[ParameterSpec, ...]:
    """The default seven regression parameters plus named optional ones, in a stable order."""
    unknown = [name for name in extra if name not in OPTIONAL_PARAMETERS]
    if unknown:
        raise ValueError(
            f"unknown parameter(s) {unknown}; available: {sorted(OPTIONAL_PARAMETERS)}"
        )
    return DEFAULT_PARAMETERS + tuple(OPTIONAL_PARAMETERS[name] for name in extra)
