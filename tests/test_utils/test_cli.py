"""The tools end on input errors with one line and status 2; a defect
keeps its traceback."""

import pytest

from litehrnet_mm import DeployError
from litehrnet_mm.utils.cli import run_tool


def failing(error):
    def main(argv):
        raise error

    return main


@pytest.mark.parametrize(
    'error',
    [DeployError('export: shape=(0, 1); expected two ints >= 1'),
     FileNotFoundError('config x.py: not found')],
)  # fmt: skip
def test_an_input_error_is_one_line_and_status_2(error, capsys, monkeypatch):
    monkeypatch.delenv('LITEHRNET_MM_TRACEBACK', raising=False)
    monkeypatch.setattr('sys.argv', ['tools/deploy/export.py'])
    with pytest.raises(SystemExit) as info:
        run_tool(failing(error))
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err == f'export.py: error: {error}\n'


def test_a_defect_keeps_its_traceback(monkeypatch):
    with pytest.raises(KeyError):
        run_tool(failing(KeyError('bug')))
    monkeypatch.setenv('LITEHRNET_MM_TRACEBACK', '1')
    with pytest.raises(DeployError):
        run_tool(failing(DeployError('x')))


def test_main_gets_the_arguments():
    seen = []
    run_tool(seen.append, ['a', 'b'])
    assert seen == [['a', 'b']]


def test_argument_types_end_in_argparse_s_one_line(capsys):
    import argparse

    from litehrnet_mm.utils.cli import (
        CfgOptions,
        description,
        fraction,
        positive_int,
    )

    parser = argparse.ArgumentParser()
    parser.add_argument('--threads', type=positive_int)
    parser.add_argument('--thr', type=fraction)
    parser.add_argument('--cfg-options', nargs='+', action=CfgOptions)
    args = parser.parse_args(
        ['--threads', '2', '--thr', '0.5', '--cfg-options', 'a.b=3', 'c=x']
    )
    assert args.threads == 2 and args.thr == 0.5
    assert args.cfg_options == {'a.b': 3, 'c': 'x'}
    for argv, message in [
        (['--threads', '0'], "--threads: '0'; expected an int >= 1"),
        (['--threads', 'two'], "--threads: 'two'; expected an int >= 1"),
        (['--thr', '5'], "--thr: '5'; expected a number in [0, 1]"),
        (['--cfg-options', 'a.b'], 'a.b: expected KEY=VALUE'),
    ]:
        with pytest.raises(SystemExit):
            parser.parse_args(argv)
        assert message in capsys.readouterr().err
    doc = 'Export a model (its backbone\nin deploy form).\n\n    usage'
    assert description(doc) == 'Export a model (its backbone in deploy form).'


def test_bounds_of_the_number_arguments_are_their_own():
    import argparse

    from litehrnet_mm.utils.cli import fraction, seconds

    # A score threshold of 1 and a pause of 0 are numbers in range.
    assert fraction('1') == 1.0 and fraction('0') == 0.0
    assert seconds('0') == 0.0
    for parse, text in [
        (fraction, '1.01'),
        (fraction, 'nan'),
        (seconds, 'nan'),
        (seconds, 'inf'),
        (seconds, '-1'),
    ]:
        with pytest.raises(argparse.ArgumentTypeError, match=f"'{text}'"):
            parse(text)


def test_first_line_is_the_first_line_cut_short():
    from litehrnet_mm.utils.cli import first_line

    error = RuntimeError('\n  ' + 'x' * 400 + '\n<the traced graph>')
    assert first_line(error) == 'x' * 300
    assert first_line(error, limit=5) == 'xxxxx'
    assert first_line(RuntimeError()) == ''
