"""The training dashboard: worker thread, bounded buffers, live plots and inspectors.

Entry point for the main window: ``designer.training.install.install_training_dock``.
Modules: worker (engine on a QThread), buffers (worker -> GUI hand-off), dashboard
(the run's life cycle + timer), controls (run controls, status line), plots (curves),
pacing (redraw budget), activations, health, evaluation, samples_view, imaging,
run_history, results (trained weights attached to documents), actions.
"""
