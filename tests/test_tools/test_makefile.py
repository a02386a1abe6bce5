"""Tests of the Makefile and .ci/run with a fake interpreter.

``VENV`` points at a temporary directory whose ``bin/python`` only records
its arguments and exits with ``$FAKE_RC`` when run as ``-m pytest``. This
checks the install-once logic (stamp file), the demo's command sequence
and the exit-code handling without installing or training anything.
"""
import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

FAKE_PYTHON = '''#!/usr/bin/env bash
echo "python $*" >> "$FAKE_LOG"
if [ "$1 $2" = "-m pytest" ]; then exit "${FAKE_RC:-0}"; fi
exit 0
'''


@pytest.fixture
def fake_venv(tmp_path):
    venv = tmp_path / 'venv'
    (venv / 'bin').mkdir(parents=True)
    python = venv / 'bin' / 'python'
    python.write_text(FAKE_PYTHON)
    python.chmod(0o755)
    return venv


def _make(venv: Path, *targets: str, rc: int = 0, extra_env=None):
    """Run make in the repository; return (returncode, calls, output)."""
    log = venv.parent / 'calls.log'
    log.unlink(missing_ok=True)
    env = dict(
        os.environ, VENV=str(venv), FAKE_LOG=str(log), FAKE_RC=str(rc),
        **(extra_env or {}))
    env.pop('MAKEFLAGS', None)
    proc = subprocess.run(['make', '--no-print-directory', *targets],
                          cwd=REPO,
                          env=env,
                          capture_output=True,
                          text=True,
                          timeout=120)
    calls = log.read_text().splitlines() if log.exists() else []
    return proc.returncode, calls, proc.stdout + proc.stderr


def test_install_once_then_reuse(fake_venv):
    rc, calls, out = _make(fake_venv, 'venv')
    assert rc == 0, out
    assert calls[:3] == [
        'python -m pip install -r requirements/ci.txt',
        "python -m pip install -e .[tests]",
        'python -m pip install setuptools<82',
    ]
    assert (fake_venv / '.wsss_mmseg-installed').is_file()
    # Warm: nothing is installed again.
    rc, calls, out = _make(fake_venv, 'venv')
    assert rc == 0 and calls == [], (calls, out)
    # A changed requirements file reinstalls (-W: treat it as modified).
    rc, calls, out = _make(fake_venv, '-W', 'requirements/ci.txt', 'venv')
    assert rc == 0 and len(calls) == 4, calls


@pytest.mark.parametrize('pytest_rc,make_ok', [(0, True), (1, False),
                                               (5, False)])
def test_make_test_exit_codes(fake_venv, pytest_rc, make_ok):
    (fake_venv / '.wsss_mmseg-installed').touch()
    rc, calls, out = _make(fake_venv, 'test', rc=pytest_rc)
    assert calls == ['python -m pytest']
    assert (rc == 0) == make_ok, out
    if pytest_rc == 5:
        assert 'pytest collected no tests' in out


def test_ci_run_calls_make_test(fake_venv):
    (fake_venv / '.wsss_mmseg-installed').touch()
    env = dict(
        os.environ,
        VENV=str(fake_venv),
        FAKE_LOG=str(fake_venv.parent / 'calls.log'),
        FAKE_RC='5')
    proc = subprocess.run(['bash', str(REPO / '.ci' / 'run')],
                          cwd='/',
                          env=env,
                          capture_output=True,
                          text=True,
                          timeout=120)
    assert proc.returncode != 0
    assert 'pytest collected no tests' in proc.stderr
    text = (REPO / '.ci' / 'run').read_text()
    assert 'set -euo pipefail' in text
    readme = (REPO / 'README.md').read_text()
    assert 'make test' in readme and 'make test' in text


def test_demo_sequence(fake_venv, tmp_path):
    (fake_venv / '.wsss_mmseg-installed').touch()
    work_dir = tmp_path / 'demo'
    work_dir.mkdir()
    (work_dir / 'last_checkpoint').write_text(str(work_dir / 'iter_9.pth'))
    rc, calls, out = _make(
        fake_venv,
        'demo',
        f'DEMO_WORK_DIR={work_dir}',
        f'DEMO_DATA={tmp_path / "toy"}',
        'PORT=29999')
    assert rc == 0, out
    assert calls[0] == ('python tools/dataset_converters/make_toy_dataset.py '
                        f'--out-dir {tmp_path / "toy"}')
    # tools/dist_train.sh -> torchrun with 2 processes
    assert calls[1].startswith('python -m torch.distributed.run ')
    assert '--nproc_per_node=2' in calls[1]
    assert '--master_port=29999' in calls[1]
    assert calls[1].endswith(
        f'tools/train.py configs/cam/cam_resnet-tiny_toy.py --launcher '
        f'pytorch --work-dir {work_dir}')
    assert calls[2] == (
        'python tools/test.py configs/cam/cam_resnet-tiny_toy.py '
        f'{work_dir}/iter_9.pth --work-dir {work_dir}/test')
