"""benchmarks/independent_judges.py: each judge reads held-out real digits, and a set of samples
that is one image over and over is one class to every judge."""

import math

import torch

from ganforge.training import Trainer
from tests.benchmarks import import_benchmark
from tests.methods.test_methods import tiny_config


def test_judges_read_real_digits_and_see_a_collapsed_set_as_one_class():
    judges_module = import_benchmark("independent_judges")
    judges, real, labels = judges_module.build_judges("digits", None, cnn_epochs=2)
    assert {"packaged LeNet", "10-NN", "random forest", "logistic regression", "small CNN",
            "RBF SVC"} == set(judges)
    collapsed = real[:1].expand(200, -1, -1, -1)
    for name, judge in judges.items():
        proba = judge.predict_proba(real)
        assert proba.shape == (len(real), 10), name
        assert (proba.argmax(1) == labels.numpy()).mean() > 0.6, name
        real_figures = judges_module.figures(proba)
        assert real_figures["kl"] < 0.1, name
        assert math.isclose(judges_module.figures(judge.predict_proba(collapsed))["kl"],
                            math.log(10), rel_tol=1e-6), name


def test_a_conditional_runs_samples_come_with_the_classes_asked_for(tmp_path, digits):
    judges_module = import_benchmark("independent_judges")
    run = Trainer(tiny_config("cgan", tmp_path, steps=2), dataset=digits).fit()
    images, agreement, kind = judges_module.samples(str(run), 20)
    assert images.dtype == torch.uint8 and images.shape == (20, 1, 16, 16)
    assert kind == "requested class vs classifier"
    asked = torch.arange(10).repeat_interleave(2)
    assert agreement(asked)["accuracy"] == 1.0
    assert agreement(asked.roll(2))["accuracy"] == 0.0
