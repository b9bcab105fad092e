"""Training: datasets and loaders, preprocessing, the training engine and its recipes.

Pure Python (torch, numpy, scikit-learn, Pillow); never imports Qt. Import the
submodules directly, e.g. ``from graph_compiler.training.datasets import load_dataset``.
"""
