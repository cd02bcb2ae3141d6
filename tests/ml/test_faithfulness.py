"""The deletion test tells a map that points at the evidence from one that does not."""

import numpy as np
import pytest

from ml import faithfulness

SIZE = 224


def evidence_in_the_upper_left(batch):
    """A real scoring function whose output depends only on the upper-left 56x56 block."""
    return batch[:, :56, :56, 0].mean(axis=(1, 2))


@pytest.fixture
def films():
    return np.ones((6, SIZE, SIZE, 1), dtype=np.float32)


def test_a_map_on_the_evidence_costs_more_than_random_regions(films):
    faithful = np.zeros((6, 7, 7))
    faithful[:, :2, :2] = 1.0
    result = faithfulness.deletion_test(evidence_in_the_upper_left, films, faithful)
    assert result["heatmap_0.10"] > 0.3
    assert result["heatmap_0.10"] > 3 * result["random_0.10"]


def test_a_map_away_from_the_evidence_costs_nothing(films):
    misplaced = np.zeros((6, 14, 14))
    misplaced[:, 10:, 10:] = 1.0
    result = faithfulness.deletion_test(evidence_in_the_upper_left, films, misplaced)
    assert result["heatmap_0.10"] == pytest.approx(0.0, abs=1e-6)


def test_heat_placement_counts_the_outer_tenth():
    flat = np.ones((SIZE, SIZE))
    placement = faithfulness.heat_placement(flat)
    assert placement["border_heat"] == pytest.approx(faithfulness.border_mask().mean())
    centre = np.zeros((SIZE, SIZE))
    centre[100:120, 100:120] = 1
    assert faithfulness.heat_placement(centre) == {"border_heat": 0.0, "peak_in_border": False}


def test_the_excess_drop_averages_over_both_shares():
    result = {"heatmap_0.10": 0.05, "random_0.10": 0.01, "heatmap_0.20": 0.09, "random_0.20": 0.01}
    assert faithfulness.excess_drop(result) == pytest.approx(0.06)
