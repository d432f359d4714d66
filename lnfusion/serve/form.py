"""The patient form of a served model: its fields, and the checks on what a client sends.

A saved model's schema (``schema.json``) says what one patient needs: an image
field per image branch of the model (zero or more images each; none means the
modality is missing) and a field per descriptor the clinical branch reads
(a choice among the declared levels, or a number).  :class:`PatientForm`
describes those fields (for the page and ``GET /api/schema``) and turns the
raw values a client sent into the checked values a manifest row holds,
raising :class:`InputError` naming the field otherwise.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from lnfusion.exceptions import DataError

__all__ = ["InputError", "PatientForm", "IMAGE_KINDS", "OPTION_FIELDS", "sniff_image_kind"]

#: Image kinds accepted in an upload (recognised from the file's first bytes) and their suffix.
IMAGE_KINDS: dict[str, str] = {"PNG": ".png", "JPEG": ".jpg", "DICOM": ".dcm"}

#: Text fields of a request beside the model's own: ``card=true`` asks for the explanation card.
OPTION_FIELDS: tuple[str, ...] = ("card",)

_UNIT = re.compile(r"_(mm|cm|ml|kpa|m_s|years?)$", re.IGNORECASE)


class InputError(DataError):
    """What a client sent cannot be used; the message names the field.

    Parameters
    ----------
    message : str
    field : str or None
        The form field at fault (None for the request as a whole).
    status : int
        HTTP status the server answers with (4xx).
    """

    def __init__(self, message: str, *, field: str | None = None, status: int = 422):
        super().__init__(message)
        self.field = field
        self.status = status


def sniff_image_kind(head: bytes) -> str | None:
    """``"PNG"``, ``"JPEG"`` or ``"DICOM"`` from a file's first 132 bytes; None otherwise."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if len(head) >= 132 and head[128:132] == b"DICM":
        return "DICOM"
    return None


def _unit(name: str, description: str) -> str:
    """A numeric descriptor's unit: the text after the description's last comma, else a name suffix."""
    if "," in description:
        tail = description.rsplit(",", 1)[1].strip()
        if 0 < len(tail) <= 12:
            return tail
    found = _UNIT.search(name)
    return found.group(1).replace("_", "/") if found else ""


@dataclass(frozen=True)
class PatientForm:
    """The fields of one patient for a fitted late-fusion model.

    Parameters
    ----------
    schema : CohortSchema
        The model's training schema.
    image_fields : tuple of str
        The model's image branches (one upload field each), in branch order.
    descriptor_fields : tuple of str
        The descriptors the model's clinical branch reads, in schema order
        (none without a clinical branch).
    """

    schema: Any
    image_fields: tuple[str, ...]
    descriptor_fields: tuple[str, ...]

    @classmethod
    def of_model(cls, model: Any) -> PatientForm:
        """The form of a fitted (or loaded) :class:`~lnfusion.fusion.LateFusionClassifier`."""
        schema = getattr(model, "schema_", None)
        if schema is None:
            raise DataError("the model has no schema (schema.json in its folder); a served model "
                            "needs one to know its fields")
        images = tuple(b for b in model.branch_names_ if b in schema.modalities)
        read: set[str] = set()
        for name in model.branch_names_:
            if name not in schema.modalities:   # the clinical branch: the descriptors it reads
                used = getattr(model.branches_[name], "feature_names_in_", None)
                read |= set(schema.descriptors) if used is None else {str(c) for c in used}
        descriptors = tuple(d for d in schema.descriptors if d in read)
        return cls(schema, images, descriptors)

    # -- description ----------------------------------------------------------------------
    def describe(self, max_images: int = 8) -> dict[str, Any]:
        """The fields as plain JSON (what ``GET /api/schema`` returns and the page is built from).

        Parameters
        ----------
        max_images : int, default 8
            Most images per image field (the server's limit, shown with each field).
        """
        images = []
        for name in self.image_fields:
            m = self.schema.modalities[name]
            images.append({"name": name, "colour": bool(m.colour),
                           "description": m.description, "max_images": int(max_images),
                           "accept": sorted(IMAGE_KINDS)})
        descriptors = []
        for name in self.descriptor_fields:
            d = self.schema.descriptors[name]
            entry: dict[str, Any] = {"name": name, "kind": d.kind, "description": d.description,
                                     "required": True}
            if d.is_categorical:
                entry["levels"] = [str(v) for v in d.levels]
            else:
                entry["unit"] = _unit(name, d.description)
            descriptors.append(entry)
        return {"classes": list(self.schema.classes), "images": images, "descriptors": descriptors,
                "notes": {"missing_value": "send an empty value for a descriptor that was not recorded",
                          "missing_modality": "send no image for a modality that was not acquired"}}

    # -- checks ---------------------------------------------------------------------------
    def check_field_name(self, name: str, is_file: bool) -> None:
        """Refuse a field the model does not know, or a file sent in a descriptor field (and back)."""
        if name in self.image_fields:
            if not is_file:
                raise InputError(f"field {name!r}: expected image file(s), got a text value",
                                 field=name)
            return
        if name in self.descriptor_fields or name in OPTION_FIELDS:
            if is_file:
                raise InputError(f"field {name!r}: expected a value, got a file", field=name)
            return
        known = list(self.image_fields) + list(self.descriptor_fields)
        raise InputError(f"unknown field {name!r}; this model's fields are {known}", field=name)

    def descriptor_values(self, sent: dict[str, list[str]]) -> dict[str, Any]:
        """The descriptor values of a manifest row from the text values sent per field.

        Every descriptor field must be sent once; an empty value means the
        descriptor was not recorded (a missing value, NaN).

        Raises
        ------
        InputError
            A field is missing or repeated, a level is not declared, a number
            does not parse or is not finite.
        """
        out: dict[str, Any] = {}
        for name in self.descriptor_fields:
            values = sent.get(name)
            if values is None:
                raise InputError(f"missing required field {name!r} (send an empty value if it "
                                 "was not recorded)", field=name)
            if len(values) != 1:
                raise InputError(f"field {name!r} was sent {len(values)} times; expected once",
                                 field=name)
            text = values[0].strip()
            if not text:
                out[name] = None
                continue
            d = self.schema.descriptors[name]
            if d.is_categorical:
                levels = [str(v) for v in d.levels]
                if text not in levels:
                    raise InputError(f"field {name!r}: unknown level {text!r}; expected one of "
                                     f"{levels} or an empty value", field=name)
                out[name] = text
            else:
                try:
                    number = float(text)
                except ValueError:
                    number = math.nan
                if not math.isfinite(number):
                    raise InputError(f"field {name!r}: expected a number, got {text!r}", field=name)
                out[name] = number
        return out
