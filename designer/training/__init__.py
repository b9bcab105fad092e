"""The training dashboard: worker thread, bounded buffers, live plots and inspectors.

Entry point for the main window: ``designer.training.install.install_training_dock``.
Modules: worker (engine on a QThread), buffers (worker -> GUI hand-off), dashboard
(the run's life cycle + timer), controls (run controls, status line), plots (curves),
pacing (redraw budget), activations, health, evaluation, samples_view, imaging,
run_history, results (trained weights attached to documents), actions.
"""
# PySide6 6.12 steals references to None / True on void calls and emits; the dashboard
# makes thousands of them, so pin the singletons before any (see designer/refguard.py).
from designer import qtfix, refguard  # noqa: F401
