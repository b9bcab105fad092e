"""Loaders for user data: CSV tables, .npz archives, image folders and MNIST-style IDX files.

Each returns a `Dataset` or raises a `DatasetError` whose message names the file and,
where it applies, the column, row, key or image at fault. Nothing here ever unpickles.
One module per format; `common` holds what they share.
"""

from __future__ import annotations

from graph_compiler.training.loaders.csv_files import load_csv
from graph_compiler.training.loaders.idx_files import load_idx, read_idx
from graph_compiler.training.loaders.image_folders import load_image_folder
from graph_compiler.training.loaders.npz_files import load_npz

__all__ = ["load_csv", "load_idx", "load_image_folder", "load_npz", "read_idx"]
