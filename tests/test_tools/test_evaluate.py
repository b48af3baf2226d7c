"""tools/deploy/evaluate.py: the table of the artifacts' metrics against
the fp32 one (else PyTorch), and what ships."""

from litehrnet_mm.deploy.artifact import write_metadata
from tests.conftest import load_tool


def test_an_artifact_without_metadata_is_shown_not_judged(tmp_path):
    tool = load_tool('tools/deploy/evaluate.py')
    fp16 = str(tmp_path / 'm_fp16.param')
    write_metadata(fp16, dict(runtime='ncnn', precision='fp16'))
    # A plain .pte without its .json (load_runtime runs it by its suffix):
    # it used to read as a 'PyTorch' fp32 row and became the reference.
    plain = str(tmp_path / 'plain.pte')
    metrics = {
        'PyTorch': {'coco/AP': 0.70},
        plain: {'coco/AP': 0.50},
        fp16: {'coco/AP': 0.695},
    }
    precisions = {plain: None, fp16: 'fp16'}
    rows = tool.table(metrics, 'coco/AP', 0.01, precisions)
    assert 'vs PyTorch' in rows[0]
    cells = [row.strip('| ').split(' | ') for row in rows[2:]]
    row = ['plain.pte', 'executorch', 'unknown (no metadata)', '0.5000']
    assert cells[1] == row + ['-0.2000']  # no verdict: the last cell empty
    assert rows[3].endswith('|  |')  # not judged
    assert cells[2] == [
        'm_fp16.param',
        'ncnn',
        'fp16',
        '0.6950',
        '-0.0050',
        'yes',
    ]
