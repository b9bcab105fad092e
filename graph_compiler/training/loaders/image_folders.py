"""Image folders: one sub-folder per class, images resized to one size."""

from __future__ import annotations

import os
import pathlib
from collections.abc import Sequence

import numpy as np
import torch

from graph_compiler.training.datasets import Dataset, DatasetError
from graph_compiler.training.loaders.common import IMAGE_SUFFIXES, check_name

# ---------------------------------------------------------------------------------------
# Image folders


def _image_size(where: str, size: object) -> tuple[int, int] | None:
    if size is None:
        return None
    if isinstance(size, int) and not isinstance(size, bool):
        size = [size, size]
    if (
        not isinstance(size, (list, tuple))
        or len(size) != 2
        or not all(isinstance(s, int) and not isinstance(s, bool) and 1 <= s <= 4096 for s in size)
    ):
        raise DatasetError(
            f"{where}: option 'size' must be [height, width] with sizes 1..4096, got {size!r}"
        )
    return int(size[0]), int(size[1])


def _visible(path: pathlib.Path) -> bool:
    return not path.name.startswith(".")


def load_image_folder(
    path: str | os.PathLike[str],
    size: int | Sequence[int] | None = None,
    *,
    grayscale: bool = False,
    name: str | None = None,
) -> Dataset:
    """One subfolder per class (sorted names become `classes`), images found recursively.

    Images are resized to `size` = [height, width] (default: the first image's size) and
    converted to grayscale (C=1) or RGB (C=3); x is float32 [N, C, H, W] in 0..1.
    """
    from PIL import Image  # Pillow costs start-up time that most runs never need

    where = f"image folder '{path}'"
    hw = _image_size(where, size)
    if not isinstance(grayscale, bool):
        raise DatasetError(f"{where}: option 'grayscale' must be true or false, got {grayscale!r}")
    check_name(where, name)
    if not isinstance(path, (str, os.PathLike)) or not pathlib.Path(path).is_dir():
        raise DatasetError(f"{where} does not exist or is not a folder")
    folder = pathlib.Path(path)
    entries = sorted(p for p in folder.iterdir() if _visible(p))
    if not entries:
        raise DatasetError(f"{where} is empty")
    class_dirs = [p for p in entries if p.is_dir()]
    if not class_dirs:
        raise DatasetError(
            f"{where} has no class subfolders; put each class's images in its own folder, e.g. cats/, dogs/"
        )
    files: list[tuple[pathlib.Path, int]] = []
    for label, class_dir in enumerate(class_dirs):
        images = sorted(
            p
            for p in class_dir.rglob("*")
            if p.is_file()
            and p.suffix.lower() in IMAGE_SUFFIXES
            and _visible(p.relative_to(class_dir))
        )
        if not images:
            raise DatasetError(
                f"{where}: class folder '{class_dir.name}' has no images ({', '.join(sorted(IMAGE_SUFFIXES))})"
            )
        files.extend((image, label) for image in images)

    mode = "L" if grayscale else "RGB"
    pixels: list[np.ndarray] = []
    for file, _ in files:
        try:
            with Image.open(file) as image:
                image = image.convert(mode)
                if hw is None:
                    hw = (image.height, image.width)
                if (image.height, image.width) != hw:
                    image = image.resize((hw[1], hw[0]), Image.Resampling.BILINEAR)
                pixels.append(np.asarray(image, dtype=np.uint8))
        except Exception as exc:  # noqa: BLE001 - Pillow raises many types for corrupt or unsupported files
            raise DatasetError(f"{where}: cannot read image '{file}' ({exc})") from None
    x = torch.from_numpy(np.stack(pixels)).float().div_(255.0)
    x = x.unsqueeze(1) if grayscale else x.permute(0, 3, 1, 2).contiguous()
    return Dataset(
        name=name or folder.name,
        x=x,
        y=torch.tensor([label for _, label in files], dtype=torch.int64),
        task="classification",
        classes=[d.name for d in class_dirs],
        meta={
            "image_shape": list(x.shape[1:]),
            "source": str(path),
            "files": [str(f) for f, _ in files],
        },
    )
