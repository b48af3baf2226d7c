"""Lite-HRNet for inference: the deploy form (BN folded, fewer and larger
ops), its static ONNX export, the runtimes that run it (ONNX Runtime,
OpenVINO), pictures from an exported model, and int8 quantization."""

from .switch import switch_to_deploy

__all__ = ['switch_to_deploy']
