import sys
from pathlib import Path

import pytest

# pl_testkit (tiny dataset + model) lives next to this file
sys.path.insert(0, str(Path(__file__).resolve().parent))


@pytest.fixture(autouse=True)
def _wsss_scope():
    from mmengine.registry import DefaultScope, init_default_scope
    if DefaultScope.get_current_instance() is None or \
            DefaultScope.get_current_instance().scope_name != 'wsss_mmseg':
        init_default_scope('wsss_mmseg')
    yield
