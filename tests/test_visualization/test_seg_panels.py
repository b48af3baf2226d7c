"""draw_seg_panels: image, ground truth and prediction side by side,
scaled up, with a legend of every class."""

import numpy as np
import pytest

from litehrnet_mm.data.synthetic_seg import CLASSES, PALETTE, make_sample
from litehrnet_mm.visualization import draw_seg_panels
from litehrnet_mm.visualization.seg_panels import colour_labels


def _sample():
    return make_sample(np.random.default_rng(0), (64, 64))


def test_panels_are_scaled_up_side_by_side():
    image, labels = _sample()
    prediction = labels.copy()
    prediction[:8] = 1
    picture = draw_seg_panels(image, labels, prediction, CLASSES, PALETTE)
    assert picture.dtype == np.uint8 and picture.ndim == 3
    # Three 256-pixel panels (4x nearest), the title above, legend below.
    assert picture.shape[1] >= 3 * 256
    assert picture.shape[0] >= 256 + 2 * 20
    # The first panel is the image, each pixel a 4x4 block.
    top = next(
        y
        for y in range(picture.shape[0])
        if (picture[y, 12 : 12 + 256] != 255).any(-1).all()
    )
    first = picture[top : top + 256, 12 : 12 + 256]
    np.testing.assert_array_equal(first, np.kron(image, np.ones((4, 4, 1))))
    gt = picture[top : top + 256, 12 + 256 + 12 : 12 + 2 * 256 + 12]
    np.testing.assert_array_equal(
        gt, np.kron(colour_labels(labels, PALETTE), np.ones((4, 4, 1)))
    )


def test_every_class_colour_is_in_the_legend():
    image, labels = _sample()
    picture = draw_seg_panels(image, labels, labels, CLASSES, PALETTE)
    legend = picture[-60:]
    for rgb in PALETTE:
        bgr = np.array(rgb[::-1], np.uint8)
        assert (legend == bgr).all(-1).sum() >= 16 * 16, rgb


def test_ignored_labels_are_grey():
    labels = np.full((2, 2), 255, np.uint8)
    assert (colour_labels(labels, PALETTE) == 128).all()


def test_shapes_must_agree():
    image, labels = _sample()
    with pytest.raises(ValueError, match='same height and width'):
        draw_seg_panels(image, labels[:32], labels, CLASSES, PALETTE)


def test_the_palette_is_rgb_and_the_picture_bgr():
    labels = np.arange(len(PALETTE), dtype=np.uint8)[None]
    np.testing.assert_array_equal(
        colour_labels(labels, PALETTE)[0], np.array(PALETTE)[:, ::-1]
    )


def test_panels_are_scaled_to_at_least_the_min_side():
    rng = np.random.default_rng(0)
    image, labels = make_sample(rng, (60, 90))
    picture = draw_seg_panels(image, labels, labels, CLASSES, PALETTE)
    # ceil(256 / 60) = 5: panels of 300x450, 12-pixel gaps.
    assert picture.shape[1] == 3 * 450 + 4 * 12
    picture = draw_seg_panels(image, labels, labels, CLASSES, PALETTE, 2)
    assert picture.shape[1] == 3 * 180 + 4 * 12


def test_a_prediction_of_another_size_is_refused():
    image, labels = _sample()
    with pytest.raises(ValueError, match='prediction 64x32; expected the'):
        draw_seg_panels(image, labels, labels[:, :32], CLASSES, PALETTE)


def test_ignored_pixels_do_not_count_against_the_prediction():
    image, labels = _sample()
    ignored = labels.copy()
    ignored[:32] = 255
    wrong_there = labels.copy()
    wrong_there[:32] = (labels[:32] + 1) % len(CLASSES)

    def title_of_prediction(picture):
        x = 12 + 2 * (256 + 12)
        return picture[:30, x : x + 256]

    # Right wherever a label counts: its title is a perfect prediction's.
    perfect = draw_seg_panels(image, labels, labels, CLASSES, PALETTE)
    partly = draw_seg_panels(image, ignored, wrong_there, CLASSES, PALETTE)
    np.testing.assert_array_equal(
        title_of_prediction(partly), title_of_prediction(perfect)
    )
    half = draw_seg_panels(image, labels, wrong_there, CLASSES, PALETTE)
    assert (title_of_prediction(half) != title_of_prediction(perfect)).any()
