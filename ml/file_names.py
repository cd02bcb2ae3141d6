"""Which patient a film belongs to, read from the Kermany file-name scheme.

Apart from ml.data (which needs scikit-learn) so that the portal can group a site's reference films by
patient at run time with the same rule the training splits use.
"""

from __future__ import annotations

import re
from pathlib import Path

_PATIENT_PATTERNS = (
    re.compile(r"^(?P<patient>person\d+)_(bacteria|virus)_\d+"),
    re.compile(r"^(?P<patient>(NORMAL2-)?IM-\d+)-\d+"),
)


def patient_id(path: Path) -> str:
    """The patient a file belongs to, read from the Kermany file-name scheme (or the file itself)."""
    for pattern in _PATIENT_PATTERNS:
        match = pattern.match(path.name)
        if match:
            return f"{path.parent.name}/{match['patient']}"
    return f"{path.parent.name}/{path.stem}"
