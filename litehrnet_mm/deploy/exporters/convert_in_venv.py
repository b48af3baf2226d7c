"""Runs in the converters venv (see :mod:`.converter_venv`): lowers a saved
``torch.export`` program to ExecuTorch (XNNPACK) or LiteRT, in fp32 or a
reduced precision, and writes a JSON report.

``python convert_in_venv.py REQUEST.json``; the request names ``runtime``,
``precision``, ``program`` (.pt2), ``images`` (.npy of calibration images,
for int8), ``output`` and ``report``, and for int8 ``fp32_modules``: None
quantizes every op the quantizer takes, a list keeps all but the convs in
fp32 and those convs too whose module path has one of its names (see
:func:`design_fp32`). Imports only torch, numpy and the
converters: litehrnet_mm, mmpose and mmseg are not importable here.

``python convert_in_venv.py --serve`` serves one request per line of its
standard input (the request file's path) until that closes, and ends the
output of each with a line that starts with :data:`DONE` and says ``ok``
or ``failed``: a process that exports several artifacts pays the
interpreter's and the converters' imports (about 15 s) once.
"""

import collections
import json
import re
import sys
import traceback

import numpy as np
import torch

#: The start of the line that ends the output of each served request.
DONE = '@@convert_in_venv done'


def _calibrated(module, example, images, quantizer):
    """PT2E: ``module`` prepared for ``quantizer``, run on ``images`` in
    batches of the program's static size, converted to its quantized
    form."""
    from torchao.quantization.pt2e.quantize_pt2e import (
        convert_pt2e,
        prepare_pt2e,
    )

    batch = example.shape[0]
    if len(images) < batch:
        raise ValueError(
            f'int8 calibration: {len(images)} images for a batch of {batch}'
        )
    prepared = prepare_pt2e(module, quantizer)
    with torch.no_grad():
        for start in range(0, len(images) - batch + 1, batch):
            prepared(torch.from_numpy(images[start : start + batch]))
    return convert_pt2e(prepared)


def design_fp32(name: str, depthwise: bool, first: bool, pooled) -> bool:
    """Whether Lite-HRNet's int8 design keeps a conv in fp32 (as
    ``litehrnet_mm.deploy.quantize.fp32_convs`` picks them in the ONNX
    graph): a depthwise conv, the conv on the image, a conv of a module
    named in ``pooled`` (the weightings' convs on pooled maps), ``name``
    being the conv's name with its module path."""
    return (
        depthwise
        or first
        or any(
            re.search(rf'(^|[./_]){re.escape(p)}([./;]|$)', name)
            for p in pooled
        )
    )


def _slices_for_splits(program):
    """``split_with_sizes`` as one ``slice`` per piece: XNNPACK delegates
    slices and has no split (each split cut the graph into two more
    partitions). The same values."""
    aten = torch.ops.aten

    def split_with_sizes(x, sizes, dim=0):
        pieces, start = [], 0
        for size in sizes:
            pieces.append(aten.slice.Tensor(x, dim, start, start + size))
            start += size
        return pieces

    return program.run_decompositions(
        {aten.split_with_sizes.default: split_with_sizes}
    )


def design_convs(module, pooled):
    """The conv nodes of ``module`` (a ``torch.export`` graph module) that
    Lite-HRNet's int8 design quantizes: all but those :func:`design_fp32`
    keeps in fp32, each named by the path of its module."""
    image = {n for n in module.graph.nodes if n.op == 'placeholder'}
    chosen = []
    for node in module.graph.nodes:
        if node.target != torch.ops.aten.conv2d.default:
            continue
        groups = node.args[6] if len(node.args) > 6 else 1
        stack = list((node.meta.get('nn_module_stack') or {}).values())
        name = stack[-1][0] if stack else node.name
        if not design_fp32(name, groups > 1, node.args[0] in image, pooled):
            chosen.append(node)
    return chosen


def _design_quantizer(pooled):
    """A PT2E quantizer of the design's convs alone (:func:`design_convs`):
    int8 input and output per tensor, int8 weights per channel, as
    XNNPACKQuantizer quantizes a conv (with its ReLU when that is the conv's
    only user); every other op stays float. XNNPACKQuantizer itself cannot
    be narrowed to them: it quantizes every cat and adaptive pool whatever
    its filter says."""
    from executorch.backends.xnnpack.quantizer.xnnpack_quantizer import (
        get_symmetric_quantization_config,
    )
    from torchao.quantization.pt2e.quantizer import (
        QuantizationAnnotation,
        Quantizer,
    )
    from torchao.quantization.pt2e.quantizer.quantizer import (
        Q_ANNOTATION_KEY,
    )

    config = get_symmetric_quantization_config(is_per_channel=True)
    relu = torch.ops.aten.relu.default

    class DesignQuantizer(Quantizer):
        def transform_for_annotation(self, model):
            return _scalars_as_tensors(model)

        def annotate(self, model):
            for conv in design_convs(model, pooled):
                users = list(conv.users)
                fused = len(users) == 1 and users[0].target == relu
                conv.meta[Q_ANNOTATION_KEY] = QuantizationAnnotation(
                    input_qspec_map={
                        conv.args[0]: config.input_activation,
                        conv.args[1]: config.weight,
                    },
                    output_qspec=None if fused else config.output_activation,
                    _annotated=True,
                )
                if fused:
                    users[0].meta[Q_ANNOTATION_KEY] = QuantizationAnnotation(
                        output_qspec=config.output_activation, _annotated=True
                    )
            return model

        def validate(self, model):
            pass

    return DesignQuantizer()


def _scalars_as_tensors(module):
    """Each number an add or multiply takes (the fusion's ``x * 2``) as a
    float tensor of the module: a number would reach XNNPACK as an int64
    constant, cast outside it by the portable kernels."""
    graph = module.graph
    for node in list(graph.nodes):
        if node.target not in (
            torch.ops.aten.add.Tensor,
            torch.ops.aten.mul.Tensor,
        ):
            continue
        args = list(node.args)
        for i, arg in enumerate(args):
            if isinstance(arg, (int, float)) and not isinstance(arg, bool):
                name = f'_scalar_{node.name}_{i}'
                module.register_buffer(name, torch.tensor(float(arg)))
                with graph.inserting_before(node):
                    args[i] = graph.get_attr(name)
                fake = node.meta['val'].fake_mode
                args[i].meta['val'] = fake.from_tensor(
                    getattr(module, name), static_shapes=True
                )
        node.args = tuple(args)
    module.recompile()
    return module


def one_dequantize_per_user(module):
    """Each dequantize that feeds several ops copied, one per op (the same
    values). ExecuTorch 1.5.1's XNNPACK lowering mislays a shared one: when
    one of its users falls outside the partition (after a nearest upsample,
    which XNNPACK lacks) and another inside reads it channels-last, that one
    reads the output's channels-first copy, and the runtime refuses the
    program ("Propagating input shapes failed",
    xnn_status_invalid_parameter)."""
    graph = module.graph
    for node in list(graph.nodes):
        name = getattr(node.target, '__name__', '')
        if node.op != 'call_function' or not name.startswith(
            'dequantize_per_tensor'
        ):
            continue
        for user in list(node.users)[1:]:
            with graph.inserting_before(user):
                copy = graph.node_copy(node)
            user.replace_input_with(node, copy)
    module.recompile()
    return module


def executorch(request, program, example, images):
    """XNNPACK-delegated ``.pte``; int8 is PT2E static quantization
    (per-channel weights, per-tensor activations) calibrated on ``images``,
    of the whole graph (XNNPACKQuantizer) or, with ``fp32_modules``, of the
    design's convs alone (:func:`_design_quantizer`). Reports the
    partitions, every op left to the portable kernels and, for int8, the
    number of int8 convs."""
    from executorch.backends.xnnpack.partition.xnnpack_partitioner import (
        XnnpackPartitioner,
    )
    from executorch.exir import to_edge_transform_and_lower

    program = _slices_for_splits(program)
    report = {}
    if request['precision'] == 'int8':
        pooled = request.get('fp32_modules')
        if pooled is None:
            from executorch.backends.xnnpack.quantizer import (
                xnnpack_quantizer as xnnpack,
            )

            quantizer = xnnpack.XNNPACKQuantizer()
            quantizer.set_global(
                xnnpack.get_symmetric_quantization_config(is_per_channel=True)
            )
        else:
            quantizer = _design_quantizer(pooled)
        module = _calibrated(program.module(), example, images, quantizer)
        if pooled is not None:
            module = one_dequantize_per_user(module)
        report['int8_convs'] = sum(
            n.target == torch.ops.aten.conv2d.default
            and getattr(n.args[1].target, '__name__', '').startswith(
                'dequantize_per_channel'
            )
            for n in module.graph.nodes
        )
        program = torch.export.export(module, (example,))
    edge = to_edge_transform_and_lower(
        program, partitioner=[XnnpackPartitioner()]
    )
    left = collections.Counter()
    partitions = 0
    for node in edge.exported_program().graph.nodes:
        if node.op != 'call_function':
            continue
        name = getattr(node.target, '__name__', str(node.target))
        if 'executorch_call_delegate' in name:
            partitions += 1
        elif name != 'getitem':
            left[name] += 1
    with open(request['output'], 'wb') as f:
        f.write(edge.to_executorch().buffer)
    return dict(
        report,
        xnnpack_partitions=partitions,
        not_delegated=dict(sorted(left.items())),
    )


def litert(request, program, example, images):
    """A ``.tflite`` flatbuffer from litert-torch (builtin ops only, no
    TensorFlow); fp16 stores the weights in float16 and int8 is
    ai-edge-quantizer's static int8 (int8 weights and activations, int8
    input and outputs with their scales in the model), calibrated on
    ``images``. Reports the ops of the graph."""
    import litert_torch

    litert_torch.convert(program.module(), (example,)).export(
        request['output']
    )
    if request['precision'] == 'fp16':
        _float16_weights(request['output'])
    elif request['precision'] == 'int8':
        _static_int8(
            request['output'], example, images, request.get('fp32_modules')
        )
    return {'ops': _tflite_ops(request['output'])}


def _static_int8(file, example, images, pooled=None):
    """Rewrite ``file`` quantized to int8, calibrated on ``images`` in
    batches of the model's static size: every op the quantizer takes, or
    with ``pooled`` (a list) only the convs of the design
    (:func:`_litert_design`)."""
    from ai_edge_litert.interpreter import Interpreter
    from ai_edge_quantizer import qtyping, quantizer, recipe

    signatures = Interpreter(model_path=file).get_signature_list()
    key = next(iter(signatures))
    name = signatures[key]['inputs'][0]
    batch = example.shape[0]
    samples = [
        {name: images[i : i + batch]}
        for i in range(0, len(images) - batch + 1, batch)
    ]
    if not samples:
        raise ValueError(
            f'int8 calibration: {len(images)} images for a batch of {batch}'
        )
    if pooled is not None:
        q = quantizer.Quantizer(file, _litert_design(file, pooled))
        q.quantize(q.calibrate({key: samples})).export_model(
            file, overwrite=True
        )
        return
    q = quantizer.Quantizer(file, recipe.static_wi8_ai8())
    # Transposed convs (a heatmap head's deconv layers) stay float:
    # ai-edge-quantizer's per-channel int8 of them is refused by LiteRT
    # ("num_scales must be 1 ... but got <channels>"), and per-tensor
    # weights fail on their bias ("Failed to quantize bias tensor").
    q.update_quantization_recipe(
        regex='.*',
        operation_name=qtyping.TFLOperationName.CONV_2D_TRANSPOSE,
        algorithm_key=quantizer.AlgorithmName.NO_QUANTIZE,
    )
    q.quantize(q.calibrate({key: samples})).export_model(file, overwrite=True)


def _litert_design(file, pooled):
    """ai-edge-quantizer's recipe for the convs of ``file`` that the design
    quantizes (int8 weights per channel, int8 activations), each named by
    its scope (its output tensors' names); every other op stays float,
    with a quantize before and a dequantize after each int8 conv (as ncnn
    does it)."""
    from ai_edge_litert import schema_py_generated as schema
    from ai_edge_quantizer import qtyping, recipe_manager
    from ai_edge_quantizer.utils.tfl_flatbuffer_utils import get_op_scope

    with open(file, 'rb') as f:
        model = schema.ModelT.InitFromPackedBuf(f.read(), 0)
    graph = model.subgraphs[0]
    ops = schema.BuiltinOperator
    # The image reaches the first conv through a layout transpose and a pad.
    image = set(graph.inputs)
    for op in graph.operators:
        moves = (ops.TRANSPOSE, ops.RESHAPE, ops.PAD)
        if _builtin(model, op) in moves and op.inputs[0] in image:
            image.update(op.outputs)
    manager = recipe_manager.RecipeManager()
    for op in graph.operators:
        if _builtin(model, op) != ops.CONV_2D:
            continue
        scope = get_op_scope(op, graph.tensors)
        if design_fp32(scope, False, op.inputs[0] in image, pooled):
            continue
        manager.add_static_config(
            regex=f'^{re.escape(scope)}$',
            operation_name=qtyping.TFLOperationName.CONV_2D,
            activation_num_bits=8,
            weight_num_bits=8,
        )
    return manager.get_quantization_recipe()


def _builtin(model, op):
    code = model.operatorCodes[op.opcodeIndex]
    return max(code.builtinCode, code.deprecatedBuiltinCode)


def _float16_weights(file):
    """Rewrite ``file`` with its float weights stored as float16
    (ai-edge-quantizer's float casting; XNNPACK computes in fp32 on CPUs
    without fp16 arithmetic, so this halves the file, not the time)."""
    from ai_edge_quantizer import qtyping, quantizer

    q = quantizer.Quantizer(file)
    q.update_quantization_recipe(
        regex='.*',
        operation_name=qtyping.TFLOperationName.ALL_SUPPORTED,
        algorithm_key='float_casting',
        op_config=qtyping.OpQuantizationConfig(
            weight_tensor_config=qtyping.TensorQuantizationConfig(
                num_bits=16, dtype=qtyping.TensorDataType.FLOAT
            ),
            compute_precision=qtyping.ComputePrecision.FLOAT,
            explicit_dequantize=True,
        ),
    )
    q.quantize().export_model(file, overwrite=True)


def _tflite_ops(file):
    """``op name -> count`` of the model's main graph."""
    from ai_edge_litert import schema_py_generated as schema

    with open(file, 'rb') as f:
        model = schema.ModelT.InitFromPackedBuf(f.read(), 0)
    names = {
        v: k for k, v in vars(schema.BuiltinOperator).items() if k.isupper()
    }
    ops = collections.Counter()
    for op in model.subgraphs[0].operators:
        code = model.operatorCodes[op.opcodeIndex]
        builtin = max(code.builtinCode, code.deprecatedBuiltinCode)
        name = names.get(builtin, str(builtin))
        if name == 'CUSTOM':
            name = f'CUSTOM:{code.customCode.decode()}'
        ops[name] += 1
    return dict(sorted(ops.items()))


CONVERTERS = {'executorch': executorch, 'litert': litert}


def main(path):
    with open(path) as f:
        request = json.load(f)
    program = torch.export.load(request['program'])
    example = next(
        n.meta['val']
        for n in program.graph.nodes
        if n.op == 'placeholder'
        and n.name in program.graph_signature.user_inputs
    )
    example = torch.rand(tuple(example.shape))
    images = (
        np.load(request['images']) if request.get('images') else np.zeros(0)
    )
    report = CONVERTERS[request['runtime']](request, program, example, images)
    with open(request['report'], 'w') as f:
        json.dump(report, f)


def serve(requests, out):
    """:func:`main` on each request path read from ``requests``; a failed
    one prints its traceback, and the next is served."""
    for line in requests:
        path = line.strip()
        if not path:
            continue
        try:
            main(path)
            status = 'ok'
        except Exception:
            traceback.print_exc(file=out)
            status = 'failed'
        print(f'\n{DONE} {status}', file=out, flush=True)


if __name__ == '__main__':
    if sys.argv[1] == '--serve':
        serve(sys.stdin, sys.stdout)
    else:
        main(sys.argv[1])
