"""The errors of litehrnet_mm: one base, one subclass per kind of input.

Every error the package raises for bad input it can name (a backbone
setting, a checkpoint, a config file, a data folder, a checkpoint to
publish, an export request or an exported model) derives from
:class:`LiteHRNetError`, itself a ``ValueError``, so ``except ValueError``
keeps catching them, ``except LiteHRNetError`` catches all of ours and
nothing of the hosts', and a subclass tells the kinds apart. A setting of
the wrong type raises :class:`ArchTypeError`, which is also a ``TypeError``
(what Python raises for an argument of the wrong type). A missing file or
folder (a checkpoint, a dataset's annotation file or image folder, an
image) raises Python's ``FileNotFoundError`` naming it instead, as the
hosts and mmengine expect.
"""

__all__ = [
    'ArchError',
    'ArchTypeError',
    'CheckpointError',
    'ConfigError',
    'DatasetError',
    'DeployError',
    'LiteHRNetError',
    'PublishError',
]


class LiteHRNetError(ValueError):
    """Input that litehrnet_mm cannot use, named with what was expected."""


class ArchError(LiteHRNetError):
    """A setting of the backbone (``arch``, ``extra``, ``in_channels``,
    ``out_indices``, ...) with a value it cannot be built with, named with
    the expected form."""


class ArchTypeError(ArchError, TypeError):
    """A setting of the backbone of the wrong type (a ``TypeError`` too)."""


class CheckpointError(LiteHRNetError):
    """A checkpoint file that cannot be used, or a state dict that does not
    fit the model, with the path and the reason."""


class ConfigError(LiteHRNetError):
    """A config file that cannot be read as an mmengine config, with the
    path and the reason, or whose parts do not fit together (a head for
    another number of keypoints or classes than its dataset's), naming
    the setting to change."""


class DatasetError(LiteHRNetError):
    """A data folder, annotation file or generated dataset that cannot be
    used, with the path and the reason."""


class PublishError(LiteHRNetError):
    """A checkpoint that cannot be published, with the path and why."""


class DeployError(LiteHRNetError):
    """An export request (output path, shape, calibration images) or an
    exported model (its files, its metadata, the images given to it) that
    cannot be used, with the path and the expected form."""
