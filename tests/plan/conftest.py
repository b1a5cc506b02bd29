"""The plan tests' helpers (plan_data.py) sit beside them."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
