"""int8 with accuracy control: the quantizers that cost the host's metric
most go back to fp32 until int8 loses at most a given drop.

Post-training int8 loses a similar amount on every calibration set, but
not the same amount: on the pose demo model OpenVINO's int8 with its sums
in fp32 lost 0.0096, 0.0109 and 0.0118 AP with 300, 600 and 150
calibration images, around the 0.01 bound a precision must keep to ship
(:data:`~litehrnet_mm.deploy.quantize.OPENVINO_INT8` now quantizes only
pose's convs, which took it to 0.0008-0.0042). NNCF's
``quantize_with_accuracy_control`` is the general answer: it quantizes as
usual, measures the metric of the fp32 and int8 models on a validation
set, and while int8 loses more than ``max_drop`` it ranks the groups of
quantizers by how far each moves the outputs from fp32's, and returns
the worst to fp32, one at a time, measuring again after each; when a
step makes the metric worse it ranks the remaining groups again.

It is slow on a small CPU: Lite-HRNet-18's int8 has 475 quantized
operations in about 310 groups, and one ranking pass compiles the model once
per group (26 minutes for the pose demo at 128x96 on 2 cores, where one
measurement of its 1909 training items takes about 50 s). There, asked
for 0.005 AP, it measured 0.0085, 0.0077, 0.0072 and 0.0091 after
returning three groups to fp32 (the first two with a weighting's
multiply, the third a fusion conv), and began a second ranking pass; it
was stopped there. Use it where the plain int8 misses the bound, on a
machine with cores to spare (NNCF ranks in parallel where compiling is
slow enough to pay).

The validation set is the config's training split, read by the test
pipeline (as calibration is), scored by the host's own evaluator: the
same test step (flip test, decoding) and metric (COCO AP, mIoU) as
``mim test``, on images the held-out figures do not use.
:class:`HostMetric` is that validation for NNCF.
"""

import copy
import os
import time
from typing import Any, Dict, List, Optional, Tuple

import numpy as np
import torch

from .runtimes.openvino import OpenVINORuntime

__all__ = ['CompiledRuntime', 'HostMetric']


class CompiledRuntime(OpenVINORuntime):
    """An ``openvino.CompiledModel`` (NNCF's) as the OpenVINO runtime
    (what :func:`~litehrnet_mm.deploy.evaluate.artifact_in_host` runs).
    After :meth:`record`, the outputs of the next call are kept in
    :attr:`recorded`."""

    def __init__(self, compiled) -> None:
        # Compiled already: no file to read, nothing to compile.
        self.file = "NNCF's compiled model"
        self.compiled = compiled
        self.request = compiled.create_infer_request()
        self._outputs = list(compiled.outputs)
        self.recorded: List[List[np.ndarray]] = []
        self._record = False

    def record(self) -> None:
        self._record = True

    def __call__(self, images: np.ndarray) -> List[np.ndarray]:
        outputs = [np.array(o) for o in super().__call__(images)]
        if self._record:
            self.recorded.append(outputs)
            self._record = False
        return outputs


class HostMetric:
    """The host's metric of a compiled model on ``cfg``'s training split,
    as NNCF's accuracy control calls it: ``metric(compiled, items)``.

    Args:
        runner: The host's runner (:func:`~litehrnet_mm.deploy.quantize.
            build_runner`); its model supplies the data preprocessor and
            the test step.
        cfg: The config: its training split is the validation set, its
            test evaluator the metric.
        count (int, optional): Use the split's first ``count`` items;
            None: all of it.
        log: Where each measurement is reported (a callable taking a
            line); None: print.

    Attributes:
        items (list): The validation set: one data batch per item (a
            person box for top-down pose, an image for segmentation), as
            the test pipeline gives it.
        key (str): The metric's name (``'coco/AP'``, ``'mIoU'``).
        history (list): Each measurement on the whole set: the first is
            the fp32 model's, the second plain int8's, the last that of
            NNCF's last step (the returned model's, unless that step was
            taken back).
    """

    def __init__(self, runner, cfg, count: Optional[int] = None, log=None):
        from litehrnet_mm.analysis.models import scope_of

        from .evaluate import BOUNDS
        from .quantize import training_split_loader

        self.model = runner.model
        self.key, _ = BOUNDS[scope_of(cfg)]
        self.log = log or (lambda line: print(line, flush=True))
        loader = runner.build_dataloader(training_split_loader(cfg, 1))
        self.items: List[dict] = []
        for batch in loader:
            self.items.append(batch)
            if count is not None and len(self.items) == count:
                break
        if not self.items:
            raise ValueError(
                'accuracy control: the training split of the config has no '
                'images; expected annotated images to measure the metric on'
            )
        self.evaluator = runner.build_evaluator(self._evaluator_cfg(cfg))
        self.evaluator.dataset_meta = loader.dataset.metainfo
        self.history: List[float] = []

    @staticmethod
    def _evaluator_cfg(cfg) -> dict:
        """The test evaluator, scoring the training split: a metric that
        reads its ground truth from a file (COCO's) reads the split's."""
        evaluator = copy.deepcopy(cfg.test_evaluator)
        train = cfg.train_dataloader.dataset
        metrics = evaluator if isinstance(evaluator, list) else [evaluator]
        for metric in metrics:
            if metric.get('ann_file'):
                metric['ann_file'] = os.path.join(
                    train.get('data_root', ''), train['ann_file']
                )
        return evaluator

    def inputs(self, item: dict) -> np.ndarray:
        """An item as the exported model takes it: (1, 3, H, W) float32."""
        with torch.no_grad():
            data = self.model.data_preprocessor(item, False)
        return data['inputs'].float().numpy()

    def __call__(self, compiled, items) -> Tuple[float, list]:
        """The metric of ``compiled`` on ``items``, and each item's
        outputs (those of its first inference: flip test runs a second,
        flipped one), which NNCF ranks the quantizers by. Returning the
        outputs keeps NNCF from scoring the metric item by item (an AP of
        one image means nothing)."""
        from .evaluate import artifact_in_host

        start = time.perf_counter()
        runtime = CompiledRuntime(compiled)
        count = 0
        with torch.no_grad(), artifact_in_host(self.model, runtime):
            for item in items:
                runtime.record()
                outputs = self.model.test_step(item)
                self.evaluator.process(data_samples=outputs, data_batch=item)
                count += 1
        value = float(self.evaluator.evaluate(count)[self.key])
        if count == len(self.items):  # not NNCF's one-item probe
            self.history.append(value)
            self.log(
                f'accuracy control: {self.key} {value:.4f} on {count} items '
                f'of the training split ({time.perf_counter() - start:.0f} s)'
            )
        return value, runtime.recorded

    def summary(self, max_drop: float) -> Dict[str, Any]:
        """What the artifact's metadata records of the control."""
        return dict(
            metric=self.key,
            max_drop=max_drop,
            items=len(self.items),
            fp32=self.history[0] if self.history else None,
            int8=self.history[-1] if self.history else None,
            measurements=len(self.history),
        )
