"""Lite-HRNet for inference: the deploy form (BN folded, fewer and larger
ops), one export for every runtime and precision (``export``: an exporter
per runtime in ``exporters/``, the metadata beside each artifact in
``artifact``), the runtimes that run any artifact alike (``runtimes/``),
pictures from an exported model (``predict``) and int8 calibration
(``quantize``)."""

from .fold import unfoldable_layers
from .switch import switch_to_deploy

__all__ = ['switch_to_deploy', 'unfoldable_layers']
