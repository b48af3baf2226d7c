"""Pictures from an exported model (deploy/predict.py): inputs prepared as
the model was trained on them, heatmaps and logits decoded back onto the
picture, results drawn, the predictor picked by the task, inputs listed.

A stand-in runtime returns outputs of known form, so that what the
predictors compute is checked exactly (the tool end to end on exported
models: test_infer_tool.py)."""

import cv2
import numpy as np
import pytest

from litehrnet_mm import DeployError
from litehrnet_mm.deploy.predict import (
    PosePredictor,
    SegPredictor,
    list_images,
    load_inputs,
    make_predictor,
    read_image,
)
from litehrnet_mm.visualization.seg_panels import colour_labels

NORM = dict(mean=[10.0, 20.0, 30.0], std=[2.0, 4.0, 5.0], bgr_to_rgb=True)
POSE_META = dict(
    NORM,
    task='pose',
    input_shape=[2, 3, 64, 48],
    box_padding=1.0,  # the picture is the box: cells map to round pixels
    keypoints=['a', 'b'],
    skeleton=[[0, 1]],
    keypoint_colors=[[255, 0, 0], [0, 255, 0]],
    link_colors=[[0, 0, 255]],
)
SEG_META = dict(
    NORM,
    task='seg',
    input_shape=[1, 3, 32, 32],
    classes=['sky', 'road', 'car'],
    palette=[[0, 0, 0], [200, 0, 0], [0, 0, 200]],
)


class StandIn:
    """A runtime of a given input shape that returns ``outputs(batch)``
    and keeps the batches it was given."""

    file = 'stand-in'

    def __init__(self, shape, outputs):
        self.input_shape = tuple(shape)
        self.outputs = outputs
        self.batches = []

    def __call__(self, images):
        self.batches.append(images.copy())
        return [self.outputs(images)]


def peaks(batch):
    """Heatmaps (N, 2, 16, 12): keypoint 0 peaks at cell (x 3, y 5) with a
    higher right neighbour, keypoint 1 at (x 11, y 0), on the border."""
    heatmaps = np.zeros((len(batch), 2, 16, 12), np.float32)
    heatmaps[:, 0, 5, 3] = 0.9
    heatmaps[:, 0, 5, 4] = 0.5
    heatmaps[:, 1, 0, 11] = 0.2
    return heatmaps


def test_pose_heatmaps_decode_to_picture_pixels_in_batches():
    runtime = StandIn(POSE_META['input_shape'], peaks)
    predictor = make_predictor(POSE_META, runtime)
    assert isinstance(predictor, PosePredictor) and predictor.batch == 2
    # A picture of the input's aspect ratio: the box is the picture, and a
    # heatmap cell is 8 picture pixels (4 input pixels, twice as large).
    pictures = [np.zeros((128, 96, 3), np.uint8)] * 3
    results = predictor(pictures)
    assert [len(b) for b in runtime.batches] == [2, 2]
    # The last batch is padded with zeros.
    assert not runtime.batches[1][1].any()
    assert len(results) == 3
    for result in results:
        # A quarter cell towards the higher neighbour; none on a border.
        assert np.allclose(result['keypoints'], [[8 * 3.25, 8 * 5], [88, 0]])
        assert np.allclose(result['scores'], [0.9, 0.2])


def test_pose_inputs_are_normalised_rgb_and_keep_the_aspect_ratio():
    predictor = PosePredictor(POSE_META)
    # A picture twice as wide as the input's ratio: heightened, centred.
    picture = np.zeros((60, 90, 3), np.uint8)
    picture[:] = (40, 60, 80)  # BGR
    x, (center, box) = predictor.prepare(picture)
    assert x.shape == (3, 64, 48) and x.dtype == np.float32
    assert np.allclose(center, [45, 30]) and np.allclose(box, [90, 120])
    # The picture's rows, RGB, normalised; above and below it black.
    rgb = (np.array([80, 60, 40]) - NORM['mean']) / NORM['std']
    assert np.allclose(x[:, 32, 24], rgb)
    black = -np.array(NORM['mean']) / NORM['std']
    assert np.allclose(x[:, 2, 24], black)


def test_pose_box_is_padded_as_mmpose_pads_it():
    """mmpose's inferencer, given no box, takes the picture as one and
    its GetBBoxCenterScale pads it by 1.25 (the config's padding, stored
    at export); an artifact without the entry gets mmpose's default."""
    picture = np.zeros((60, 90, 3), np.uint8)
    padded = PosePredictor(dict(POSE_META, box_padding=1.25))
    _, (center, box) = padded.prepare(picture)
    assert np.allclose(center, [45, 30]) and np.allclose(box, [112.5, 150])
    default = {k: v for k, v in POSE_META.items() if k != 'box_padding'}
    _, (_, box) = PosePredictor(default).prepare(picture)
    assert np.allclose(box, [112.5, 150])


def test_images_not_as_cv2_reads_them_are_converted_or_named():
    runtime = StandIn(POSE_META['input_shape'], peaks)
    predictor = make_predictor(POSE_META, runtime)
    bgr = np.full((32, 24, 3), 90, np.uint8)
    (expected,) = predictor([bgr])
    grey = bgr[..., 0]
    bgra = np.dstack([bgr, np.full((32, 24), 255, np.uint8)])
    for image in (grey, grey[..., None], bgra):
        (got,) = predictor([image])
        assert np.array_equal(got['keypoints'], expected['keypoints'])
    cases = [
        (bgr, 'takes a list of images; got a ndarray (one image: [image])'),
        ([None], 'image 0: a NoneType (cv2.imread returns None for a file'),
        ([bgr, bgr.astype(np.uint16)], 'image 1: an array of shape '
         '(32, 24, 3) of uint16; expected a uint8 BGR image'),
        ([bgr.astype(np.float32) / 255], 'of float32; expected a uint8'),
        ([bgr[:0]], 'image 0: an array of shape (0, 24, 3) of uint8'),
    ]  # fmt: skip
    for images, message in cases:
        with pytest.raises(DeployError) as error:
            predictor(images)
        assert message in str(error.value)
    with pytest.raises(DeployError, match='made without a runtime, it only'):
        PosePredictor(POSE_META)([bgr])


def test_grey_and_bgra_pictures_reach_the_model_as_bgr():
    """What the model is given for a BGRA picture is what it is given for
    its BGR channels (the alpha dropped, no channel swapped), and for a
    grey one what it is given for the grey in every channel: on random
    pictures, as the keypoints of a stand-in model do not show it."""
    rng = np.random.default_rng(0)
    bgr = rng.integers(0, 256, (32, 24, 3), np.uint8)
    alpha = rng.integers(0, 256, (32, 24, 1), np.uint8)
    runtime = StandIn(POSE_META['input_shape'], peaks)
    predictor = make_predictor(POSE_META, runtime)
    predictor([bgr, np.concatenate([bgr, alpha], axis=2)])
    grey = bgr[..., 1]
    predictor([grey, np.repeat(grey[..., None], 3, axis=2)])
    for first, second in runtime.batches:
        assert np.array_equal(first, second)
    assert not np.array_equal(runtime.batches[0][0], runtime.batches[1][0])


def test_metadata_of_another_artifact_is_named():
    """A pose artifact's metadata with a seg model (or the reverse) gave
    masks of keypoint channels, or an IndexError when drawing."""
    seg_runtime = StandIn([1, 3, 64, 48], lambda b: np.zeros((1, 3, 16, 12)))
    with pytest.raises(
        DeployError,
        match='the model returns 3 channels, its metadata names 2 keypoints',
    ):
        make_predictor(
            dict(POSE_META, input_shape=[1, 3, 64, 48]), seg_runtime
        )([np.zeros((8, 8, 3), np.uint8)])
    with pytest.raises(
        DeployError,
        match='its metadata is of a model that '
        'takes 1x3x32x32, but the runtime runs one that takes '
        '2x3x64x48',
    ):
        make_predictor(SEG_META, StandIn(POSE_META['input_shape'], peaks))
    # load_inputs (int8 calibration from Python) has no runtime to ask.
    no_shape = {k: v for k, v in POSE_META.items() if k != 'input_shape'}
    with pytest.raises(DeployError, match=r"no input_shape; .*'input_shape'"):
        load_inputs('nowhere', no_shape, 1)
    with pytest.raises(
        DeployError,
        match='make_predictor: the metadata '
        'names no task; expected pose or seg',
    ):
        make_predictor({})
    with pytest.raises(DeployError, match='its metadata has no mean, std'):
        make_predictor(
            dict(task='pose', keypoints=[], skeleton=[]),
            StandIn(POSE_META['input_shape'], peaks),
        )


def test_pose_draws_only_the_keypoints_that_score(tmp_path):
    predictor = PosePredictor(POSE_META)
    picture = np.zeros((100, 100, 3), np.uint8)
    result = dict(
        keypoints=np.array([[20.0, 30.0], [70.0, 80.0]]),
        scores=np.array([0.9, 0.1]),
    )
    drawn = predictor.draw(picture, result, threshold=0.3)
    assert not picture.any()
    # Keypoint 0 in its colour (RGB in the metadata, BGR in the picture),
    # keypoint 1 and the link to it not drawn.
    assert list(drawn[30, 20]) == [0, 0, 255]
    assert not drawn[80, 70].any() and not drawn[55, 45].any()
    both = predictor.draw(picture, result, threshold=0.05)
    assert list(both[80, 70]) == [0, 255, 0]
    assert list(both[55, 45]) == [255, 0, 0]


def halves(batch):
    """Logits (N, 3, 8, 8): class 2 on the left half, class 1 on the
    right."""
    logits = np.zeros((len(batch), 3, 8, 8), np.float32)
    logits[:, 2, :, :4] = 5
    logits[:, 1, :, 4:] = 5
    return logits


def test_seg_logits_decode_to_a_mask_at_the_picture_size():
    predictor = make_predictor(SEG_META, StandIn([1, 3, 32, 32], halves))
    assert isinstance(predictor, SegPredictor)
    picture = np.full((50, 70, 3), 100, np.uint8)
    (result,) = predictor([picture])
    mask = result['mask']
    assert mask.shape == (50, 70) and mask.dtype == np.uint8
    assert (mask[:, :30] == 2).all() and (mask[:, 40:] == 1).all()
    # A picture this small keeps its mask in view: the legend goes in a
    # strip to its right.
    drawn = predictor.draw(picture, result)
    assert drawn.shape[0] == 50 and drawn.shape[1] > 70
    blended = cv2.addWeighted(
        picture, 0.5, colour_labels(mask, SEG_META['palette']), 0.5, 0
    )
    assert np.array_equal(drawn[:, :70], blended)
    assert drawn[:, 70:].any()


def test_seg_legend_goes_over_a_large_picture():
    predictor = make_predictor(SEG_META, StandIn([1, 3, 32, 32], halves))
    picture = np.full((400, 600, 3), 100, np.uint8)
    (result,) = predictor([picture])
    drawn = predictor.draw(picture, result)
    blended = cv2.addWeighted(
        picture,
        0.5,
        colour_labels(result['mask'], SEG_META['palette']),
        0.5,
        0,
    )
    # The mask blended over the picture; a legend of the two classes at the
    # top left.
    assert drawn.shape == picture.shape
    assert np.array_equal(drawn[60:, 100:], blended[60:, 100:])
    assert not np.array_equal(drawn[:40, :60], blended[:40, :60])


def test_seg_inputs_are_resized_and_normalised():
    predictor = SegPredictor(SEG_META)
    picture = np.zeros((50, 70, 3), np.uint8)
    picture[:] = (40, 60, 80)
    x, context = predictor.prepare(picture)
    assert x.shape == (3, 32, 32) and context is None
    rgb = (np.array([80, 60, 40]) - NORM['mean']) / NORM['std']
    assert np.allclose(x, rgb[:, None, None])


def test_a_task_without_its_predictor_is_refused():
    with pytest.raises(DeployError, match=r"stand-in: .* names task 'x'"):
        make_predictor(dict(SEG_META, task='x'), StandIn([1, 3, 8, 8], None))


def test_load_inputs_prepares_the_first_images_of_a_folder(tmp_path):
    for i in range(3):
        cv2.imwrite(str(tmp_path / f'{i}.png'), np.full((40, 30, 3), i))
    (tmp_path / 'notes.txt').write_text('not an image')
    (tmp_path / '0b.png').write_bytes(b'not a picture')
    with pytest.warns(UserWarning, match='skipped .*0b.png: not an image'):
        inputs = load_inputs(str(tmp_path), SEG_META, count=2)
    assert len(inputs) == 2
    assert all(x.shape == (1, 3, 32, 32) for x in inputs)
    assert inputs[0].dtype == np.float32
    expected = SegPredictor(SEG_META).prepare(
        read_image(str(tmp_path / '1.png'))
    )[0]
    assert np.array_equal(inputs[1][0], expected)
    assert list_images(str(tmp_path / '2.png')) == [str(tmp_path / '2.png')]


def test_bad_inputs_get_one_clear_error(tmp_path):
    from litehrnet_mm.deploy.predict import list_images, read_image

    with pytest.raises(FileNotFoundError, match='expected an image file'):
        list_images(str(tmp_path / 'missing'))
    with pytest.raises(FileNotFoundError, match='a folder without images'):
        list_images(str(tmp_path))
    bad = tmp_path / 'bad.png'
    bad.write_bytes(b'not a picture')
    with pytest.raises(DeployError, match='not an image OpenCV can read'):
        read_image(str(bad))


def test_a_model_without_metadata_is_refused(tmp_path):
    from litehrnet_mm.deploy.artifact import read_metadata
    from litehrnet_mm.deploy.onnx import export_onnx
    from litehrnet_mm.deploy.predict import make_predictor
    from litehrnet_mm.deploy.runtimes import load_runtime
    from tests.test_deploy.test_exporters.phone import SHAPE, tiny_model

    file = str(tmp_path / 'bare.onnx')
    export_onnx(tiny_model(), SHAPE, file, check=False)
    with pytest.raises(DeployError, match=r'bare.onnx: no metadata \(.*json'):
        make_predictor(read_metadata(file), load_runtime(file))


def test_pose_inputs_are_mmposes_top_down_crop():
    """The crop equals mmpose's test pipeline on the picture's box
    (GetBBoxCenterScale, then TopdownAffine), the oracle, on a picture of
    another aspect ratio than the input's and of random content: a
    different padding, aspect fix or interpolation moves its pixels."""
    from mmpose.datasets.transforms import GetBBoxCenterScale, TopdownAffine

    picture = np.random.default_rng(0).integers(0, 256, (60, 90, 3), np.uint8)
    results = dict(
        img=picture.copy(),
        bbox=np.array([[0, 0, 90, 60]], np.float32),
        bbox_score=np.ones(1, np.float32),
    )
    results = GetBBoxCenterScale(padding=1.25)(results)
    results = TopdownAffine(input_size=(48, 64))(results)
    meta = dict(POSE_META, mean=[0.0] * 3, std=[1.0] * 3, bgr_to_rgb=False)
    x, (center, box) = PosePredictor(dict(meta, box_padding=1.25)).prepare(
        picture
    )
    assert np.allclose(center, results['bbox_center'][0])
    assert np.allclose(box, results['bbox_scale'][0])
    assert np.array_equal(x.transpose(1, 2, 0), results['img'])


def test_pose_decoding_is_mmposes_without_flip_test():
    """Keypoints and scores equal mmpose's MSRAHeatmap decoding (argmax,
    a quarter pixel towards the higher neighbour where mmpose's
    refine_keypoints moves it) mapped back through the box as mmpose's
    top-down estimator maps them, the oracle: on random heatmaps, on
    peaks on and next to every border with unequal neighbours, and on a
    heatmap with no positive value."""
    from mmpose.codecs import MSRAHeatmap

    rng = np.random.default_rng(0)
    heatmaps = rng.random((20, 2, 16, 12)).astype(np.float32)
    cells = [(y, x) for y in (0, 1, 7, 14, 15) for x in (0, 1, 5, 10, 11)]
    for k, (y, x) in enumerate(cells[:20]):
        heatmaps[k, 0, y, x] = 2.0
    heatmaps[3, 1] -= 1.0  # no positive value: mmpose's (-1, -1)
    heatmaps = heatmaps.reshape(40, 16, 12)[None]
    meta = dict(POSE_META, input_shape=[1, 3, 64, 48], box_padding=1.25)
    meta['keypoints'] = [str(k) for k in range(40)]
    predictor = make_predictor(
        meta, StandIn([1, 3, 64, 48], lambda b: heatmaps)
    )
    picture = np.zeros((60, 90, 3), np.uint8)
    (result,) = predictor([picture])
    codec = MSRAHeatmap(input_size=(48, 64), heatmap_size=(12, 16), sigma=2)
    keypoints, scores = codec.decode(heatmaps[0])
    # mmpose's box for the picture (see the test above): 112.5 x 150.
    center, scale = np.array([45.0, 30.0]), np.array([112.5, 150.0])
    expected = keypoints[0] / [48, 64] * scale + center - 0.5 * scale
    assert np.allclose(result['keypoints'], expected, atol=1e-4)
    assert np.allclose(result['scores'], scores[0])


def smooth_logits(batch):
    """Logits (N, 3, 8, 8) of random smooth fields: the class boundaries
    fall between pixels, where the interpolation decides them."""
    rng = np.random.default_rng(0)
    return rng.normal(size=(len(batch), 3, 8, 8)).astype(np.float32)


def test_seg_decoding_is_mmsegs():
    """The mask equals mmseg's: the logits resized (bilinear, without
    corner alignment) to the input in the head's predict, then to the
    picture in postprocess_result, the class taken there (the oracle,
    written with torch as mmseg's resize calls it)."""
    import torch
    import torch.nn.functional as F

    predictor = make_predictor(
        SEG_META, StandIn([1, 3, 32, 32], smooth_logits)
    )
    picture = np.zeros((50, 70, 3), np.uint8)
    (result,) = predictor([picture])
    logits = torch.from_numpy(smooth_logits([picture]))
    for size in ((32, 32), (50, 70)):
        logits = F.interpolate(
            logits, size=size, mode='bilinear', align_corners=False
        )
    expected = logits[0].argmax(0).numpy()
    assert result['mask'].shape == expected.shape
    # Ties aside (none on random logits), every pixel.
    assert (result['mask'] == expected).mean() > 0.999
