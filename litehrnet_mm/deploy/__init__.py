"""The deploy form of Lite-HRNet (BN folded, layout-aware blocks) and its
ONNX export."""

from .switch import switch_to_deploy

__all__ = ['switch_to_deploy']
