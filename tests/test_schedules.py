"""OneCycle against torch's OneCycleLR (values committed in data/onecycle_torch.json),
and momentum schedules that really change the update of each step."""

import json
from pathlib import Path

import keras
import numpy as np
import pytest

from course_utils import optimizers
from course_utils.schedules import LogLearningRate, OneCycle, OneCycleMomentum

TORCH = json.loads((Path(__file__).parent / "data" / "onecycle_torch.json").read_text())["cases"]


def case_id(ref):
    c = ref["case"]
    return f"{c['anneal_strategy']}-{'3' if c['three_phase'] else '2'}phase-{c['total_steps']}"


@pytest.mark.parametrize("ref", TORCH, ids=case_id)
def test_learning_rate_matches_torch(ref):
    steps = np.arange(ref["case"]["total_steps"])
    ours = np.asarray(OneCycle(**ref["case"])(steps), np.float64)
    np.testing.assert_allclose(ours, ref["lr"], rtol=1e-6)


@pytest.mark.parametrize("ref", TORCH, ids=case_id)
def test_momentum_matches_torch(ref):
    c = ref["case"]
    schedule = OneCycleMomentum(c["total_steps"], pct_start=c["pct_start"],
                                anneal_strategy=c["anneal_strategy"], three_phase=c["three_phase"])
    ours = np.asarray(schedule(np.arange(c["total_steps"])), np.float64)
    np.testing.assert_allclose(ours, ref["momentum"], rtol=1e-6)


def test_all_four_combinations_are_covered():
    combos = {(r["case"]["anneal_strategy"], r["case"]["three_phase"]) for r in TORCH}
    assert combos == {("cos", False), ("cos", True), ("linear", False), ("linear", True)}


def test_holds_final_rate_past_the_end():
    schedule = OneCycle(0.1, 100)
    past = np.asarray(schedule(np.array([99, 100, 150, 10_000])))
    final = 0.1 / 25 / 1e4
    np.testing.assert_allclose(past, final, rtol=1e-6)
    assert (past > 0).all()


@pytest.mark.parametrize("kwargs, message", [
    (dict(max_lr=0.1, total_steps=1), "total_steps=1"),
    (dict(max_lr=0.1, total_steps=10.5), "total_steps=10.5"),
    (dict(max_lr=0.1, total_steps=100, pct_start=0.0), "pct_start=0.0"),
    (dict(max_lr=0.1, total_steps=100, pct_start=1.2), "pct_start=1.2"),
    (dict(max_lr=0.1, total_steps=100, anneal_strategy="exp"), "anneal_strategy='exp'"),
    (dict(max_lr=0.0, total_steps=100), "max_lr=0.0"),
    (dict(max_lr=0.1, total_steps=100, div_factor=-1), "div_factor=-1"),
])
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        OneCycle(**kwargs)


def test_bad_momentum_arguments():
    with pytest.raises(ValueError, match="base_momentum=0.99"):
        OneCycleMomentum(100, base_momentum=0.99, max_momentum=0.95)
    with pytest.raises(ValueError, match="momentum=1.5"):
        optimizers.SGD(momentum=1.5)
    with pytest.raises(ValueError, match="beta_1='high'"):
        optimizers.Adam(beta_1="high")


def tiny_model(optimizer):
    """y = w * x with w = 1: on x = 1, y = 0 the MSE loss is w**2 and its gradient 2w."""
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1, use_bias=False, kernel_initializer="ones")])
    model.compile(optimizer=optimizer, loss="mse")
    return model


def train_steps(model, n):
    model.fit(np.ones((n, 1), np.float32), np.zeros((n, 1), np.float32), batch_size=1, epochs=1,
              shuffle=False, verbose=0)
    return float(model.get_weights()[0][0, 0])


def test_sgd_applies_the_scheduled_momentum_at_each_step():
    lr, n = 0.1, 6
    schedule = OneCycleMomentum(n, base_momentum=0.5, max_momentum=0.9, pct_start=0.5, anneal_strategy="linear")
    momenta = np.asarray(schedule(np.arange(n)), np.float64)
    assert len(set(np.round(momenta, 6))) > 2, "the schedule must vary for this test to mean anything"
    w, m = 1.0, 0.0
    for t in range(n):  # Keras's rule, by hand: m = mu_t m - lr g; w = w + m
        m = momenta[t] * m - lr * 2 * w
        w = w + m
    got = train_steps(tiny_model(optimizers.SGD(learning_rate=lr, momentum=schedule)), n)
    assert got == pytest.approx(w, rel=1e-5)
    # The same with the momentum frozen at its first value gives another result: the schedule matters.
    frozen = train_steps(tiny_model(optimizers.SGD(learning_rate=lr, momentum=float(momenta[0]))), n)
    assert abs(frozen - w) > 1e-3


def test_adam_applies_the_scheduled_beta_1():
    lr, n, beta_2, eps = 0.01, 5, 0.999, 1e-7
    schedule = OneCycleMomentum(n, base_momentum=0.5, max_momentum=0.9, pct_start=0.5, anneal_strategy="linear")
    betas = np.asarray(schedule(np.arange(n)), np.float64)
    w, m, v = 1.0, 0.0, 0.0
    for t in range(n):
        g = 2 * w
        m += (g - m) * (1 - betas[t])
        v += (g * g - v) * (1 - beta_2)
        alpha = lr * np.sqrt(1 - beta_2 ** (t + 1)) / (1 - betas[t] ** (t + 1))
        w -= m * alpha / (np.sqrt(v) + eps)
    got = train_steps(tiny_model(optimizers.Adam(learning_rate=lr, beta_1=schedule, beta_2=beta_2, epsilon=eps)), n)
    assert got == pytest.approx(w, rel=1e-5)


def test_one_cycle_saves_and_loads_with_the_model(tmp_path):
    steps = 20
    optimizer = optimizers.SGD(learning_rate=OneCycle(0.5, steps, three_phase=True),
                               momentum=OneCycleMomentum(steps, three_phase=True))
    model = tiny_model(optimizer)
    train_steps(model, 7)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    lr, momentum = loaded.optimizer._learning_rate, loaded.optimizer.momentum_schedule
    assert isinstance(lr, OneCycle) and isinstance(momentum, OneCycleMomentum)
    assert lr.get_config() == optimizer._learning_rate.get_config()
    assert int(loaded.optimizer.iterations) == 7
    np.testing.assert_allclose(loaded.get_weights()[0], model.get_weights()[0])
    # Training goes on identically from where it stopped.
    assert train_steps(loaded, 5) == pytest.approx(train_steps(model, 5), rel=1e-6)


def test_adamw_with_schedules_saves_and_loads(tmp_path):
    optimizer = optimizers.AdamW(learning_rate=OneCycle(0.01, 10), beta_1=OneCycleMomentum(10))
    model = tiny_model(optimizer)
    train_steps(model, 3)
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    assert isinstance(loaded.optimizer, optimizers.AdamW)
    assert isinstance(loaded.optimizer.beta_1_schedule, OneCycleMomentum)


def test_log_learning_rate_records_the_schedule():
    schedule = keras.optimizers.schedules.PiecewiseConstantDecay([2, 5], [0.3, 0.2, 0.1])
    model = tiny_model(keras.optimizers.SGD(schedule))
    logger = LogLearningRate(per_batch=True)
    history = model.fit(np.ones((4, 1)), np.zeros((4, 1)), batch_size=1, epochs=2, callbacks=[logger], verbose=0)
    # Rate used by steps 0..7 (the schedule's boundaries are at steps 2 and 5).
    np.testing.assert_allclose(logger.batch_rates, [0.3, 0.3, 0.3, 0.2, 0.2, 0.2, 0.1, 0.1])
    # At the end of each epoch, the rate of the next step: step 4, then step 8.
    np.testing.assert_allclose(history.history["learning_rate"], [0.2, 0.1])
