"""Pictures a person can read: segmentation results side by side."""

from .seg_panels import draw_seg_panels

__all__ = ['draw_seg_panels']
