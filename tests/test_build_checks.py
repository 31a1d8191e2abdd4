"""The checks a freshly read split passes before it becomes visible (imagesets.build)."""

from __future__ import annotations

import numpy as np
import pytest

from imagesets import catalog
from imagesets.build import check_output
from imagesets.errors import FormatError
from imagesets.formats import ReadResult


def _arrays(side: int) -> dict[str, np.ndarray]:
    return {
        "images": np.zeros((3, side, side, 3), np.uint8),
        "labels": np.zeros(3, np.int64),
    }


def test_images_must_have_the_entrys_shape_or_the_size_option_asked() -> None:
    spec = catalog.get("cifar10")  # 32x32x3
    edition, result = spec.editions[0], ReadResult(count=3)
    check_output(spec, "train", edition, _arrays(32), result, {"raw": True})
    with pytest.raises(
        FormatError, match=r"one image has shape \(8, 8, 3\), expected \(32, 32, 3\)"
    ):
        check_output(spec, "train", edition, _arrays(8), result, {"raw": True})
    check_output(spec, "train", edition, _arrays(8), result, {"size": 8})  # another variant
    with pytest.raises(FormatError, match=r"shape \(32, 32, 3\), expected \(8, 8, 3\)"):
        check_output(spec, "train", edition, _arrays(32), result, {"size": 8})
