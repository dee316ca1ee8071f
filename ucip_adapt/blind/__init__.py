"""Blind restoration: ``task="auto"`` reads the codec from a picture's pixels and routes it to the
task or prompt pack that serves that codec.

    model = UCIP.from_pretrained()
    sr = model.upscale(lr, task="auto")            # the estimator of the backbone's repository decides
"""

from .estimator import CodecEstimator, Estimate, EstimatorConfig, load_estimator
from .routing import AUTO_TASK, AutoRouter, Choice, tasks_by_codec

__all__ = ["AUTO_TASK", "AutoRouter", "Choice", "CodecEstimator", "Estimate", "EstimatorConfig", "load_estimator", "tasks_by_codec"]
