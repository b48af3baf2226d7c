"""Lite-HRNet, the backbone.

`Lite-HRNet: A Lightweight High-Resolution Network
<https://arxiv.org/abs/2104.06403>`_ (Yu et al., CVPR 2021).

Data flow: the stem brings the image to 1/4 resolution; each stage first
*transitions* (adapts the channels of the existing branches where they
change and adds one branch at half the resolution of the last), then runs
its LiteHRModules; the optional iterative head refines the branches from low
to high resolution; the branches listed in ``out_indices`` are returned.
"""

import dataclasses
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmengine.logging import print_log
from mmengine.model import BaseModule
from torch.nn.modules.batchnorm import _BatchNorm

from litehrnet_mm.errors import ArchError, ArchTypeError
from litehrnet_mm.registry import MODELS
from litehrnet_mm.utils.typing import ConfigType, OptConfigType, OptMultiConfig

from ..blocks.fusion import separable_conv
from ..blocks.iterative_head import IterativeHead
from ..blocks.lite_hr_module import LiteHRModule
from ..blocks.norm import fit_group_norm, report_fitted_layers
from ..blocks.stem import Stem
from .arch import ARCH_ZOO, ArchSpec, resolve_arch, split_arch
from .init_cfg import DEFAULT_INIT_CFG, resolve_init_cfg
from .state_dict_check import check_state_dict_fits, checked_for_load


@MODELS.register_module()
class LiteHRNet(BaseModule):
    """Lite-HRNet backbone.

    Parameter names follow the official code, so the state dicts of the
    official checkpoints and of mmpose's ``LiteHRNet`` load strictly, and
    with the same weights the outputs are the same (see
    :mod:`litehrnet_mm.models.blocks.fusion` for the one official quirk
    this relies on).

    Args:
        arch (str | dict): A preset: ``'18'``, ``'30'``, ``'naive-18'`` or
            ``'wider-naive-18'`` (the ints 18 and 30 name theirs, as
            ``--cfg-options model.backbone.arch=18`` gives them); a dict is
            taken as ``extra`` (``LiteHRNet(extra)``, the official
            signature). Ignored when ``extra`` is given. Defaults to
            ``'18'``.
        extra (dict, optional): A custom architecture in the official form
            (see :mod:`.arch`). Defaults to None (use ``arch``).
        in_channels (int): Channels of the input image. Defaults to 3.
        out_indices (Sequence[int]): Branches to return, 0 being the
            highest resolution (1/4 of the input). Defaults to ``(0, )``,
            the pose setting; segmentation uses ``(0, 1, 2, 3)``. Layers
            that feed no returned branch are not built (the last fusion's
            and the head's upper outputs, e.g. for ``(3, )``), so every
            parameter gets a gradient; list only the branches the head
            reads.
        with_head (bool, optional): Use the iterative head; None takes the
            setting of the preset or of ``extra`` (the presets use it).
        frozen_stages (int): Freeze (no gradient, BN in eval mode) the stem
            when >= 0, and stages 1..``frozen_stages`` with their
            transitions. Defaults to -1 (nothing frozen).
        conv_cfg (dict, optional): Config of the conv layers.
        norm_cfg (dict): Config of the norm layers. Defaults to BN; the
            segmentation configs use SyncBN. With GN, a layer whose
            channels ``num_groups`` does not divide uses the largest group
            count below it that does (see :mod:`..blocks.norm`).
        norm_eval (bool): Keep BN layers in eval mode while training
            (frozen running statistics). Defaults to False.
        with_cp (bool): Activation checkpointing of every block: less
            memory, more compute, same results. Defaults to False.
        deploy (bool): Switch to the fast inference form
            (:meth:`switch_to_deploy`) at the first forward in eval mode,
            after the weights are loaded, so that ``mim test`` and the
            inferencers run it from a config. Inference only: a forward in
            training mode raises :class:`~litehrnet_mm.errors.ArchError`
            before any step (a run would otherwise switch at its first
            validation and save checkpoints of the deploy form). Defaults
            to False.
        init_cfg (dict or list[dict], optional): Initialization config; by
            default convs are drawn from N(0, 0.001) and norms set to 1, as
            in the official code. Use ``dict(type='Pretrained',
            checkpoint=..., prefix='backbone.')`` to load the backbone of a
            full-model checkpoint.
        pretrained (str, optional): mmseg's deprecated form of
            ``init_cfg=dict(type='Pretrained', checkpoint=pretrained)``,
            which mmseg's ``EncoderDecoder`` passes on from
            ``model.pretrained``. Defaults to None.

    Attributes:
        out_channels (tuple[int]): Channels of each returned map, in the
            order of ``out_indices``.
        out_strides (tuple[int]): Downsampling of each returned map
            relative to the input.

    Example:
        >>> import torch
        >>> from litehrnet_mm import LiteHRNet
        >>> model = LiteHRNet(arch='18', out_indices=(0, 1, 2, 3)).eval()
        >>> for out in model(torch.rand(1, 3, 256, 192)):
        ...     print(tuple(out.shape))
        (1, 40, 64, 48)
        (1, 40, 32, 24)
        (1, 80, 16, 12)
        (1, 160, 8, 6)
        >>> model.out_channels
        (40, 40, 80, 160)
    """

    arch_zoo = ARCH_ZOO

    def __init__(
        self,
        arch: str = '18',
        extra: Optional[dict] = None,
        in_channels: int = 3,
        out_indices: Sequence[int] = (0,),
        with_head: Optional[bool] = None,
        frozen_stages: int = -1,
        conv_cfg: OptConfigType = None,
        norm_cfg: ConfigType = dict(type='BN'),
        norm_eval: bool = False,
        with_cp: bool = False,
        deploy: bool = False,
        init_cfg: OptMultiConfig = DEFAULT_INIT_CFG,
        pretrained: Optional[str] = None,
    ) -> None:
        super().__init__(init_cfg=resolve_init_cfg(init_cfg, pretrained))
        arch, extra = split_arch(arch, extra)
        if extra is None:
            arch = resolve_arch(arch)
            spec = ARCH_ZOO[arch]
        else:
            spec = ArchSpec.from_extra(extra)
        #: The preset name, None for a custom ``extra``.
        self.arch = arch
        norm_cfg = fit_group_norm(norm_cfg)
        if with_head is not None:
            if not isinstance(with_head, bool):
                raise ArchTypeError(
                    f'LiteHRNet: with_head={with_head!r}; '
                    'expected True, False or None'
                )
            spec = dataclasses.replace(spec, with_head=with_head)
        if isinstance(in_channels, bool) or not isinstance(in_channels, int):
            raise ArchTypeError(
                f'LiteHRNet: in_channels={in_channels!r}; '
                'expected a positive int'
            )
        if in_channels < 1:
            raise ArchError(
                f'LiteHRNet: in_channels={in_channels}; '
                'expected a positive int'
            )
        #: The architecture (:class:`~.arch.ArchSpec`), and its official
        #: ``extra`` form.
        self.spec = spec
        self.extra = spec.to_extra()
        self.in_channels = in_channels
        self.num_stages = spec.num_stages
        self.stages_spec = self.extra['stages_spec']
        self.with_head = spec.with_head
        self.norm_eval = norm_eval
        self.with_cp = with_cp
        if not isinstance(deploy, bool):
            raise ArchTypeError(
                f'LiteHRNet: deploy={deploy!r}; expected True or False'
            )
        self.deploy = deploy
        #: Whether the backbone is in its deploy form.
        self.deployed = False
        num_branches = self.stages_spec['num_branches'][-1]
        self.out_indices = self._check_out_indices(out_indices, num_branches)
        self.frozen_stages = self._check_frozen_stages(frozen_stages)

        stem = spec.stem
        self.stem = Stem(
            in_channels,
            stem_channels=stem.stem_channels,
            out_channels=stem.out_channels,
            expand_ratio=stem.expand_ratio,
            conv_cfg=conv_cfg,
            norm_cfg=norm_cfg,
            with_cp=with_cp,
        )

        channels = [stem.out_channels]
        for i, stage in enumerate(spec.stages):
            stage_channels = list(stage.num_channels)
            self.add_module(
                f'transition{i}',
                self._make_transition(
                    channels, stage_channels, conv_cfg, norm_cfg
                ),
            )
            self.add_module(
                f'stage{i}',
                nn.Sequential(
                    *[
                        LiteHRModule(
                            num_branches=stage.num_branches,
                            num_blocks=stage.num_blocks,
                            in_channels=stage_channels,
                            reduce_ratio=stage.reduce_ratio,
                            module_type=stage.module_type,
                            with_fuse=stage.with_fuse,
                            conv_cfg=conv_cfg,
                            norm_cfg=norm_cfg,
                            with_cp=with_cp,
                        )
                        for _ in range(stage.num_modules)
                    ]
                ),
            )
            channels = stage_channels

        if self.with_head:
            self.head_layer = IterativeHead(channels, norm_cfg=norm_cfg)
            channels = list(self.head_layer.out_channels)
        self.out_channels: Tuple[int, ...] = tuple(
            channels[i] for i in self.out_indices
        )
        self.out_strides: Tuple[int, ...] = tuple(
            4 * 2**i for i in self.out_indices
        )
        #: The state-dict entries (name: shape) of the layers left out
        #: because no branch of ``out_indices`` reads them (see
        #: :meth:`_drop_unread_layers`); a checkpoint's entries for them
        #: are dropped on loading.
        self.pruned_layers = self._drop_unread_layers()
        self._freeze_stages()
        if deploy:
            self._check_deployable()
        report_fitted_layers(self)
        # Any load, also as part of a bigger model: a checkpoint of another
        # preset gets one clear error naming the file and the keys, entries
        # of other shapes are left out with a warning, and torch's and
        # mmengine's strict rules do the rest (see state_dict_check).
        self._register_load_state_dict_pre_hook(
            check_state_dict_fits, with_module=True
        )

    def load_state_dict(self, state_dict, strict: bool = True, assign=False):
        """torch's ``load_state_dict``, with the fit checked first by the
        caller's ``strict``: with ``strict=True`` any mismatch is one
        :class:`~litehrnet_mm.errors.CheckpointError` naming it, before
        anything is loaded; with ``strict=False`` what fits is loaded and
        one warning names the rest (see
        :mod:`.state_dict_check`)."""
        state_dict = checked_for_load(self, state_dict, strict)
        return super().load_state_dict(state_dict, strict, assign)

    def unread_layers(
        self, out_indices: Sequence[int]
    ) -> Dict[str, nn.Module]:
        """The layers (by name) whose outputs no branch of ``out_indices``
        reads; nothing is changed.

        The head's output ``b`` reads the head's branches ``b`` and below
        (lower resolutions), so the head needs its branches from
        ``min(out_indices)`` down, and the last module of the last stage
        the fusion outputs that the head (or, without it, the returned
        branches) reads. Output 0 of the fusion is always read: every other
        output reads it (the official quirk, see :mod:`..blocks.fusion`).
        With the head and ``(0,)`` (the default) or ``(0, 1, 2, 3)`` there
        is none. A last stage without fusion has none either (its blocks
        mix every branch, or run each alone: the layers stay).
        """
        read = set(out_indices)
        unread: Dict[str, nn.Module] = {}
        if self.with_head:
            for name, layer in self.head_layer.unread_outputs(read).items():
                unread[f'head_layer.{name}'] = layer
            read = set(range(min(read), len(self.head_layer.projects)))
        stage = f'stage{self.num_stages - 1}'
        last = len(getattr(self, stage)) - 1
        module = getattr(self, stage)[last]
        for name, layer in module.unread_outputs(read).items():
            unread[f'{stage}.{last}.{name}'] = layer
        return unread

    def _drop_unread_layers(self) -> Dict[str, Tuple[int, ...]]:
        """Remove the :meth:`unread_layers` of ``out_indices`` (their
        places in the layer lists become None, which the blocks skip), so
        that every parameter gets a gradient (DDP needs no
        ``find_unused_parameters``), and return their state-dict entries.
        """
        unread = self.unread_layers(self.out_indices)
        for name in unread:
            parent, index = name.rsplit('.', 1)
            self.get_submodule(parent)[int(index)] = None
        return {
            f'{name}.{key}': tuple(value.shape)
            for name, layer in unread.items()
            for key, value in layer.state_dict().items()
        }

    @staticmethod
    def _check_out_indices(
        out_indices: Union[int, Sequence[int]], num_branches: int
    ) -> Tuple[int, ...]:
        if isinstance(out_indices, int) and not isinstance(out_indices, bool):
            out_indices = (out_indices,)
        if (
            not isinstance(out_indices, Sequence)
            or isinstance(out_indices, str)
            or not all(
                isinstance(i, int) and not isinstance(i, bool)
                for i in out_indices
            )
        ):
            raise ArchTypeError(
                f'LiteHRNet: out_indices={out_indices!r}; '
                'expected a sequence of branch indices (ints)'
            )
        if (
            not out_indices
            or len(set(out_indices)) != len(out_indices)
            or not all(0 <= i < num_branches for i in out_indices)
        ):
            raise ArchError(
                f'LiteHRNet: out_indices={tuple(out_indices)!r}; expected '
                f'distinct branch indices in 0..{num_branches - 1} (0 is '
                'the highest resolution), at least one'
            )
        return tuple(out_indices)

    def _check_frozen_stages(self, frozen_stages: int) -> int:
        if isinstance(frozen_stages, bool) or not isinstance(
            frozen_stages, int
        ):
            raise ArchTypeError(
                f'LiteHRNet: frozen_stages={frozen_stages!r}; expected an int'
            )
        if not -1 <= frozen_stages <= self.num_stages:
            raise ArchError(
                f'LiteHRNet: frozen_stages={frozen_stages}; expected -1 '
                f'(none), 0 (the stem) up to {self.num_stages} (the stem '
                'and every stage)'
            )
        return frozen_stages

    @staticmethod
    def _make_transition(
        pre: List[int],
        cur: List[int],
        conv_cfg: OptConfigType,
        norm_cfg: ConfigType,
    ) -> nn.ModuleList:
        """Existing branches whose channels change get a depthwise-separable
        conv; each new branch is made from the last existing one by stride-2
        depthwise-separable convs (None: the branch passes unchanged)."""
        layers = nn.ModuleList()
        for i, c_out in enumerate(cur):
            if i < len(pre):
                layers.append(
                    separable_conv(
                        pre[i], c_out, 1, conv_cfg, norm_cfg, with_relu=True
                    )
                    if c_out != pre[i]
                    else None
                )
            else:
                steps = i + 1 - len(pre)
                layers.append(
                    nn.Sequential(
                        *[
                            separable_conv(
                                pre[-1],
                                c_out if k == steps - 1 else pre[-1],
                                2,
                                conv_cfg,
                                norm_cfg,
                                with_relu=True,
                            )
                            for k in range(steps)
                        ]
                    )
                )
        return layers

    def _check_input(self, x: torch.Tensor) -> None:
        if not isinstance(x, torch.Tensor):
            raise TypeError(
                f'LiteHRNet: input is a {type(x).__name__}; '
                'expected a tensor of shape (N, '
                f'{self.in_channels}, H, W)'
            )
        if torch.jit.is_tracing() or torch.jit.is_scripting():
            return
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(
                f'LiteHRNet: input of shape {tuple(x.shape)}; expected '
                f'(N, {self.in_channels}, H, W): a batch of images with '
                f'in_channels={self.in_channels}'
            )
        if self.training and not self.norm_eval:
            # BatchNorm in training needs more than one value per channel;
            # the lowest-resolution branch is the smallest map it sees.
            n, _, h, w = x.shape
            halvings = self.num_stages + 2
            for _ in range(halvings):
                h, w = -(-h // 2), -(-w // 2)
            if n * h * w < 2:
                raise ValueError(
                    f'LiteHRNet: input of shape {tuple(x.shape)} is too '
                    'small for training: the lowest-resolution branch is '
                    f'{h}x{w}, and BatchNorm needs more than one value per '
                    'channel; expected a batch of at least 2, or H or W '
                    f'larger than {2**halvings}'
                )

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """Return the branches of ``out_indices``, in that order, as a
        tuple (``out_channels`` and ``out_strides`` follow it)."""
        self._check_input(x)
        if self.deploy and self.training:
            raise ArchError(
                'LiteHRNet: deploy=True and a forward in training mode; '
                'deploy=True is for inference only (mim test, the '
                'inferencers: the backbone switches to its deploy form, BN '
                'folded, at its first forward in eval mode); build it with '
                'deploy=False to train'
            )
        if self.deploy and not self.deployed and not self.training:
            self.switch_to_deploy()
            print_log(
                'LiteHRNet: switched to the deploy form (deploy=True): BN '
                'folded, inference only',
                logger='current',
            )
        branches = [self.stem(x)]
        for i in range(self.num_stages):
            transition = getattr(self, f'transition{i}')
            inputs = []
            for j, layer in enumerate(transition):
                source = branches[min(j, len(branches) - 1)]
                inputs.append(source if layer is None else layer(source))
            branches = getattr(self, f'stage{i}')(inputs)
        if self.with_head:
            branches = self.head_layer(branches)
        return tuple(branches[i] for i in self.out_indices)

    def _check_deployable(self) -> None:
        """``deploy=True`` with layers the deploy form cannot fold: one
        error now, not at the first forward in eval mode."""
        from litehrnet_mm.deploy import unfoldable_layers

        unfoldable = unfoldable_layers(self)
        if unfoldable:
            raise ArchError(
                'LiteHRNet: deploy=True, but the deploy form folds '
                'BatchNorm with running statistics into plain convs, and '
                f'{len(unfoldable)} layers cannot be folded (e.g. '
                f'{", ".join(unfoldable[:2])}); expected '
                "norm_cfg=dict(type='BN') or SyncBN and conv_cfg=None with "
                'deploy=True, or deploy=False'
            )

    def _frozen_modules(self) -> List[nn.Module]:
        if self.frozen_stages < 0:
            return []
        modules = [self.stem]
        for i in range(self.frozen_stages):
            modules += [
                getattr(self, f'transition{i}'),
                getattr(self, f'stage{i}'),
            ]
        return modules

    def _freeze_stages(self) -> None:
        for module in self._frozen_modules():
            module.eval()
            for param in module.parameters():
                param.requires_grad = False

    def train(self, mode: bool = True) -> 'LiteHRNet':
        """Set the training mode, keeping frozen stages and, with
        ``norm_eval``, every BN layer in eval mode. Returns ``self``."""
        if mode and self.deployed:
            raise RuntimeError(
                'LiteHRNet: the backbone is in its deploy form (BN folded, '
                'inference only) and cannot train; build it with '
                'deploy=False to train, and set deploy=True for mim test '
                'and inference'
            )
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for m in self.modules():
                if isinstance(m, _BatchNorm):
                    m.eval()
        return self

    def switch_to_deploy(
        self, test_cfg: Optional[dict] = None, *, channels_last: bool = True
    ) -> 'LiteHRNet':
        """Rebuild the network in place for fast inference (BN folded, the
        fusion's repeated term computed once, channels-last, exportable
        pooling); see :func:`litehrnet_mm.deploy.switch_to_deploy`.
        Returns ``self``, in eval mode and for inference only.

        Args:
            test_cfg (dict, optional): Accepted and ignored: mmpose's
                ``BasePoseEstimator.switch_to_deploy()`` calls
                ``layer.switch_to_deploy(self.test_cfg)`` on every
                submodule that has the method, so the host's test settings
                land here; the backbone's form does not depend on them.
            channels_last (bool): Weights and activations channels-last
                (faster PyTorch CPU convs). Keyword only, so that no host
                argument can choose it. Defaults to True.

        Raises:
            TypeError: ``test_cfg`` is neither a dict nor None (a layout
                given positionally, ``switch_to_deploy(False)``).
        """
        if test_cfg is not None and not isinstance(test_cfg, dict):
            raise TypeError(
                f'LiteHRNet.switch_to_deploy: test_cfg={test_cfg!r}; '
                "expected the host's test_cfg dict or None (the layout is "
                'keyword only: switch_to_deploy(channels_last=False))'
            )
        from litehrnet_mm.deploy import switch_to_deploy

        return switch_to_deploy(self, channels_last=channels_last)


def backbones_in(model: nn.Module) -> List[LiteHRNet]:
    """The Lite-HRNet backbones inside ``model`` (``model`` itself
    included), in module order."""
    return [m for m in model.modules() if isinstance(m, LiteHRNet)]
