"""Insight: what a trained network gets wrong.

Calibration (reliability diagram, ECE / MCE, temperature scaling), adversarial robustness
(FGSM / PGD accuracy against eps), attributions (saliency, Integrated Gradients), dead and
saturated units, and unfamiliar-input detection (MSP / energy AUROC), on the validation
split a run trained with or on any dataset. Qt-free: used by ``netwright evaluate`` and
the designer's Insight tab. ``evaluate.py`` runs it all; ``report.py`` writes the HTML page.
"""
