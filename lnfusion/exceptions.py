"""Exceptions raised by lnfusion.

Every error lnfusion raises on purpose is a subclass of :class:`LnfusionError`,
so ``except LnfusionError`` catches them all.  Subclasses also inherit from the
closest built-in exception (``ValueError``, ``FileNotFoundError``, ...) so that
generic handlers keep working.

Messages name the offending file, row or column, what was expected and what was
received.  Row numbers are 1-based data rows of the manifest as a spreadsheet
shows them (header = row 1, first data row = row 2) and are also available as
the ``row`` attribute (0-based position) where relevant.
"""
from __future__ import annotations

from typing import Any

__all__ = [
    "LnfusionError",
    "DataError",
    "SchemaError",
    "ManifestError",
    "UnknownLabelError",
    "CategoryLevelError",
    "NonNumericError",
    "DuplicateIdError",
    "ConflictingLabelError",
    "EmptyClassError",
    "RoiError",
    "MaskError",
    "OutcomeDerivedError",
    "ImageError",
    "MissingImageError",
    "CorruptImageError",
    "MissingDecoderError",
    "ConfigError",
    "ParameterError",
    "NotFittedError",
    "PersistenceError",
    "FormatVersionError",
    "IntegrityError",
    "OutputError",
    "OutputConflictError",
    "DiskFullError",
    "StatsError",
    "SeparationError",
    "SingularDesignError",
    "NotAvailableError",
    "check_fitted",
]


class LnfusionError(Exception):
    """Base class of every error raised by lnfusion."""


class DataError(LnfusionError, ValueError):
    """Input data (a manifest, a table, an array) is not what was expected."""


class SchemaError(DataError):
    """A cohort schema is invalid or a manifest lacks a column the schema declares."""


class ManifestError(DataError):
    """A value in a manifest row is invalid.

    Parameters
    ----------
    message : str
        Full human-readable message (already names row, column and value).
    row : int, optional
        0-based position of the offending row in the manifest.
    column : str, optional
        Name of the offending column.
    """

    def __init__(self, message: str, *, row: int | None = None, column: str | None = None):
        super().__init__(message)
        self.row = row
        self.column = column


class UnknownLabelError(ManifestError):
    """A label is not one of the declared class names."""


class CategoryLevelError(ManifestError):
    """A categorical or ordinal descriptor holds a value outside its allowed levels."""


class NonNumericError(ManifestError):
    """A continuous descriptor holds a value that is not a number."""


class DuplicateIdError(ManifestError):
    """The same patient/node id appears on more than one row."""


class ConflictingLabelError(ManifestError):
    """One patient carries different labels on different rows."""


class EmptyClassError(DataError):
    """A declared class has no patient."""


class RoiError(ManifestError):
    """A region-of-interest box is malformed or lies outside its image."""


class MaskError(ManifestError):
    """A lesion mask is empty, or its size differs from its image's."""


class OutcomeDerivedError(DataError):
    """A column derived from the outcome (``CohortSchema.outcome_derived``) was asked for as a model input."""


class ImageError(DataError):
    """An image file cannot be used."""

    def __init__(self, message: str, *, path: str | None = None, row: int | None = None,
                 column: str | None = None):
        super().__init__(message)
        self.path = path
        self.row = row
        self.column = column


class MissingImageError(ImageError, FileNotFoundError):
    """An image path in the manifest points to no file."""


class CorruptImageError(ImageError):
    """An image file exists but cannot be decoded."""


class MissingDecoderError(ImageError):
    """A DICOM file's transfer syntax needs a pixel-data decoder that is not installed."""


class ConfigError(LnfusionError, ValueError):
    """A configuration file or parameter value is invalid."""


class ParameterError(ConfigError, DataError):
    """An estimator parameter has a value the estimator cannot use.

    Raised by the estimators' ``_validate_params`` (called by ``fit``) and by
    ``lnfusion train`` before anything is read.  Also a :class:`DataError`, which
    is what earlier versions raised for bad :class:`~lnfusion.fusion.LateFusionClassifier`
    settings.

    Parameters
    ----------
    param : str
        The parameter, in ``get_params`` vocabulary (``"cv"``, ``"bmode__epochs"``).
    value : object
        The value received.
    expected : str
        What the parameter accepts.
    owner : str, optional
        The estimator (class name) the parameter belongs to.
    """

    def __init__(self, param: str, value: object, expected: str, owner: str | None = None):
        self.param = param
        self.value = value
        self.expected = expected
        self.owner = owner
        prefix = f"{owner} parameter " if owner else "parameter "
        super().__init__(f"{prefix}{param}={value!r}: expected {expected}")

    def __reduce__(self):  # picklable across joblib workers despite the custom signature
        return type(self), (self.param, self.value, self.expected, self.owner)

    def within(self, owner: str, prefix: str = "") -> ParameterError:
        """The same error seen from an enclosing estimator (``prefix`` = ``"<branch>__"``)."""
        return ParameterError(prefix + self.param, self.value, self.expected, owner)


class NotFittedError(LnfusionError, AttributeError):
    """An estimator was used before ``fit`` was called."""

    @classmethod
    def for_estimator(cls, estimator: Any) -> NotFittedError:
        """The error for ``estimator``, with the one message every lnfusion estimator uses."""
        return cls(f"This {type(estimator).__name__} instance is not fitted yet; call fit first")


class PersistenceError(LnfusionError, OSError):
    """A saved model folder cannot be read or written."""


class FormatVersionError(PersistenceError):
    """A saved model was written by an incompatible format version."""


class IntegrityError(PersistenceError):
    """A file of a saved model is missing or its content was altered."""


class OutputError(LnfusionError, OSError):
    """An output cannot be written where it was asked for."""


class OutputConflictError(OutputError):
    """An output would overwrite, contain or lie inside an input of the same command, or replace
    something lnfusion did not write."""


class DiskFullError(OutputError):
    """The disk filled up while an output was written (the output is absent, any previous one intact)."""


class StatsError(LnfusionError, ValueError):
    """A statistical procedure cannot be carried out on the given data."""


class SeparationError(StatsError):
    """Perfect or quasi-perfect separation in a logistic regression."""


class SingularDesignError(StatsError):
    """A design matrix is singular (collinear or constant columns)."""


class NotAvailableError(LnfusionError, NotImplementedError):
    """A feature is not available in this version or environment."""


def check_fitted(estimator: Any, attribute: str) -> None:
    """Raise :class:`NotFittedError` unless ``estimator`` has ``attribute`` (set by ``fit``).

    Parameters
    ----------
    estimator : object
        The estimator (or fusion head) about to be used.
    attribute : str
        A fitted attribute (ending in ``_``) that ``fit`` always sets.

    Raises
    ------
    NotFittedError
        ``"This <class> instance is not fitted yet; call fit first"``.
    """
    if not hasattr(estimator, attribute):
        raise NotFittedError.for_estimator(estimator)
