"""Conversion of official Lite-HRNet checkpoints to this package's
layout."""

from .official import convert_official_checkpoint, convert_official_state_dict

__all__ = ['convert_official_checkpoint', 'convert_official_state_dict']
