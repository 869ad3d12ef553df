"""The learned classifier behind the NLU: it learns, it is deterministic, it survives a save."""

from __future__ import annotations

from pathlib import Path

from bot.nlu.model import Model, fit

SAMPLES = [
    ({"w:签到": 1.0, "w:码": 1.0}, "checkin"),
    ({"w:签到": 1.0}, "checkin"),
    ({"w:签到": 1.0, "w:记录": 1.0}, "my_record"),
    ({"w:记录": 1.0, "w:我的": 1.0}, "my_record"),
    ({"w:停电": 1.0}, "report"),
    ({"w:停电": 1.0, "w:厂里": 1.0}, "report"),
]
LABELS = ("checkin", "my_record", "report")


def _best(model: Model, features: dict[str, float]) -> str:
    likely = model.probabilities(features)
    return max(likely, key=likely.__getitem__)


def test_it_learns_labels_from_features_seen_twice() -> None:
    model = fit(SAMPLES, LABELS)
    assert [_best(model, features) for features, _ in SAMPLES] == [y for _, y in SAMPLES]
    assert "w:码" not in model.weights  # seen once: noise, not kept
    assert _best(model, {"w:签到": 1.0, "w:记录": 1.0, "w:新词": 1.0}) == "my_record"


def test_probabilities_sum_to_one_and_unseen_features_are_ignored() -> None:
    model = fit(SAMPLES, LABELS)
    likely = model.probabilities({"w:从没见过": 1.0})
    assert set(likely) == set(LABELS)
    assert abs(sum(likely.values()) - 1) < 1e-9


def test_training_is_deterministic_and_a_saved_model_answers_the_same(tmp_path: Path) -> None:
    first, second = fit(SAMPLES, LABELS, trained_on="x"), fit(SAMPLES, LABELS, trained_on="x")
    assert first == second
    first.save(tmp_path / "model.json")
    loaded = Model.load(tmp_path / "model.json")
    assert loaded == first
    assert loaded.probabilities({"w:停电": 1.0}) == first.probabilities({"w:停电": 1.0})
