"""The README model-zoo tables are generated from the metafiles and agree."""
import importlib.util
import os.path as osp
import subprocess
import sys

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SCRIPT = osp.join(REPO, 'tools', 'misc', 'model_zoo_tables.py')


def _tool():
    spec = importlib.util.spec_from_file_location('model_zoo_tables', SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_tables_match_metafiles():
    proc = subprocess.run([sys.executable, SCRIPT, '--check'],
                          capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_every_metafile_model_config_exists_and_is_listed():
    tool = _tool()
    metafiles = tool.load_metafiles()
    assert len(metafiles) >= 4  # cam, apc, psa, spn
    for rel, meta in metafiles.items():
        models = meta.get('Models') or []
        assert models, f'{rel} lists no models'
        table = tool.render_table(meta)
        for model in models:
            assert osp.isfile(osp.join(REPO, model['Config'])), model['Config']
            assert osp.basename(model['Config']) in table


def test_splice_replaces_only_the_marked_block():
    tool = _tool()
    text = f'intro\n{tool.START}\nold\n{tool.END}\noutro\n'
    new = tool.splice(text, '| t |', 'README.md')
    assert new == f'intro\n{tool.START}\n| t |\n{tool.END}\noutro\n'
    with pytest.raises(ValueError, match='only one of the model-zoo markers'):
        tool.splice(f'x {tool.START} y', '| t |', 'README.md')
