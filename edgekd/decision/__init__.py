"""Decisions a user can act on: calibrated probabilities, a validated operating point, prior adaptation.

numpy only (the device side imports it without torch). Modules, data flowing top to bottom:

- :mod:`~edgekd.decision.record`: :class:`DecisionRule`, the plain-data rule a model ships with;
- :mod:`~edgekd.decision.calibration`: temperature and bias-corrected temperature scaling;
- :mod:`~edgekd.decision.calibration_metrics`: ECE, NLL, Brier, reliability bins, ECE interval;
- :mod:`~edgekd.decision.operating_point`: binary threshold rules chosen on validation;
- :mod:`~edgekd.decision.rates`: accuracy, balanced accuracy, sensitivity, specificity, confusion;
- :mod:`~edgekd.decision.fit`: :func:`fit_decision_rule`, the one call after training;
- :mod:`~edgekd.decision.apply`: a rule applied to raw logits (probabilities and decisions);
- :mod:`~edgekd.decision.prior_shift`: the class prior of an unlabelled set (EM, BBSE) and adaptation;
- :mod:`~edgekd.decision.plots`: the reliability diagram (host only, matplotlib).

Arguments follow :mod:`edgekd.metrics`: labels first, then what the model produced.
"""

from edgekd.decision.apply import Decisions, decide, probabilities, with_prior
from edgekd.decision.fit import fit_decision_rule
from edgekd.decision.prior_shift import adapt, estimate_prior, prior_interval
from edgekd.decision.record import SCHEMA_VERSION, DecisionRule, ValidationFigures

__all__ = ["SCHEMA_VERSION", "DecisionRule", "Decisions", "ValidationFigures", "adapt", "decide", "estimate_prior",
           "fit_decision_rule", "prior_interval", "probabilities", "with_prior"]
