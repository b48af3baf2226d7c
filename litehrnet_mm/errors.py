"""The errors of litehrnet_mm: one base, one subclass per kind of input.

Every error the package raises for bad input it can name (a checkpoint, a
data folder) derives from :class:`LiteHRNetError`, itself a ``ValueError``,
so ``except ValueError`` keeps catching them, ``except LiteHRNetError``
catches all of ours and nothing of the hosts', and a subclass tells the
kinds apart.
"""

__all__ = ['CheckpointError', 'DatasetError', 'LiteHRNetError']


class LiteHRNetError(ValueError):
    """Input that litehrnet_mm cannot use, named with what was expected."""


class CheckpointError(LiteHRNetError):
    """A checkpoint file that cannot be used, or a state dict that does not
    fit the model, with the path and the reason."""


class DatasetError(LiteHRNetError):
    """A data folder, annotation file or generated dataset that cannot be
    used, with the path and the reason."""
