import sys
from pathlib import Path

# pseudo-label test kit (tiny dataset + model), shared with tests/test_apis
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / 'test_apis'))
