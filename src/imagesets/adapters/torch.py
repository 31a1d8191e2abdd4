"""PyTorch adapters: a map-style Dataset, and a loader of whole vectorised batches.

:func:`torch_loader` is the fast path: each batch is one numpy gather from
:func:`imagesets.batching.batches`, handed to torch with ``torch.from_numpy`` (no copy), so it
runs two orders of magnitude faster than a per-sample ``DataLoader``. :func:`to_torch_dataset`
exists for code that needs a ``torch.utils.data.Dataset`` (samplers, torchvision transforms).
torch is imported on first call; without it these raise :class:`MissingDependencyError`.

>>> import numpy as np
>>> x, y = np.zeros((10, 28, 28), np.uint8), np.arange(10)
>>> loader = torch_loader(x, y, 4, seed=0)  # doctest: +SKIP
>>> images, labels = next(iter(loader))  # doctest: +SKIP
>>> images.shape, images.dtype, labels.dtype  # doctest: +SKIP
(torch.Size([4, 1, 28, 28]), torch.float32, torch.int64)
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import numpy.typing as npt

from ..batching import BatchOptions, EpochBatches, Images
from ..errors import ArgumentError, require
from ..sources import Pixels

__all__ = ["TorchLoader", "to_torch_dataset", "torch_loader"]

Array = np.ndarray[Any, Any]


def _torch() -> Any:
    return require("torch", "torch", "imagesets.adapters.torch")


def to_torch_dataset(
    images: Pixels, labels: npt.ArrayLike, transform: Callable[[Any], Any] | None = None
) -> Any:
    """A map-style ``torch.utils.data.Dataset`` over ``images`` (N, H, W[, C]) uint8 (an array,
    or a packed split's :class:`~imagesets.sources.DecodedImages`, decoded per item).

    ``dataset[i]`` is ``(image, label)`` with ``label`` a Python int and ``image``:

    * without ``transform``: a float32 tensor ``(C, H, W)`` in ``[0, 1]`` (``x / 255``; a
      grayscale image gets ``C = 1``), the same values as torchvision's ``ToTensor``;
    * with ``transform``: ``transform(PIL.Image)``, so torchvision transforms work as usual.

    The arrays are not copied (a memmap stays a memmap); pickling it for worker processes
    rebuilds it through this function.
    """
    torch = _torch()
    labels = np.asarray(labels)
    if len(images) != len(labels):
        raise ArgumentError(f"labels: expected {len(images)} labels, found {len(labels)}")
    return _dataset_class(torch)(images, labels, transform)


def _to_chw(torch: Any, image: Array) -> Any:
    """One uint8 (H, W[, C]) image as a float32 (C, H, W) tensor in [0, 1]."""
    chw = image[np.newaxis] if image.ndim == 2 else image.transpose(2, 0, 1)
    out = np.empty(chw.shape, np.float32)
    np.divide(chw, 255, out=out, dtype=np.float32)
    return torch.from_numpy(out)


@functools.cache
def _dataset_class(torch: Any) -> type:
    class ArrayDataset(torch.utils.data.Dataset):  # type: ignore[misc]
        """``(image, label)`` pairs over numpy arrays; see :func:`to_torch_dataset`."""

        def __init__(self, images: Pixels, labels: Array, transform: Any) -> None:
            self.images, self.labels, self.transform = images, labels, transform

        def __len__(self) -> int:
            return len(self.images)

        def __getitem__(self, index: int) -> tuple[Any, int]:
            image, label = self.images[index], int(self.labels[index])
            if self.transform is None:
                return _to_chw(torch, image), label
            from PIL import Image

            return self.transform(Image.fromarray(np.asarray(image))), label

        def __reduce__(self) -> tuple[Any, ...]:
            return (to_torch_dataset, (self.images, self.labels, self.transform))

    return ArrayDataset


class TorchLoader:
    """Re-iterable loader of ``(images, labels)`` torch tensors; see :func:`torch_loader`."""

    def __init__(
        self, epochs: EpochBatches, *, pin_memory: bool = False, device: Any = None
    ) -> None:
        self.torch = _torch()
        if pin_memory and not self.torch.cuda.is_available():
            raise ArgumentError(
                "pin_memory=True: page-locked memory needs a CUDA device and torch found none;"
                " pass pin_memory=False"
            )
        self.epochs, self.pin_memory, self.device = epochs, pin_memory, device

    def set_epoch(self, epoch: int) -> None:
        """Serve ``epoch`` on the next iteration (as ``DistributedSampler.set_epoch``)."""
        self.epochs.set_epoch(epoch)

    def __len__(self) -> int:
        return len(self.epochs)

    def __iter__(self) -> Iterator[tuple[Any, Any]]:
        for x, y in self.epochs:
            yield self._tensor(x), self._tensor(y)

    def _tensor(self, array: Array) -> Any:
        tensor = self.torch.from_numpy(array)
        if self.pin_memory:
            tensor = tensor.pin_memory()
        if self.device is not None:
            tensor = tensor.to(self.device, non_blocking=self.pin_memory)
        return tensor


#: torch_loader's own defaults, which suit torch models; every other keyword as ``batches``.
_TORCH_DEFAULTS = {"normalize": True, "layout": "NCHW"}


def torch_loader(
    images: Images,
    labels: npt.ArrayLike,
    batch_size: int,
    *,
    pin_memory: bool = False,
    device: Any = None,
    **options: Any,
) -> TorchLoader:
    """Batches of torch tensors, each made by one vectorised numpy gather.

    Takes the keywords of :class:`imagesets.batching.BatchOptions`, with defaults that suit
    torch models (``normalize=True, layout="NCHW"``): float32 in ``[0, 1]``, ``(B, C, H, W)``;
    labels are int64 ``(B,)``. The values are exactly those of
    :func:`imagesets.batching.batches` with the same arguments, wrapped by ``torch.from_numpy``
    without a copy. Iterating the loader again serves the next epoch (``epoch``,
    ``epoch + 1``, ...); ``set_epoch`` overrides it. ``pin_memory`` pins each batch for fast
    asynchronous copies to ``device`` (a CUDA device must exist); ``device`` moves each batch
    there (``"cuda"``, ``torch.device(...)``).
    """
    opts = BatchOptions.from_kwargs(
        batch_size, options, caller="torch_loader", defaults=_TORCH_DEFAULTS
    )
    return TorchLoader(EpochBatches(images, labels, opts), pin_memory=pin_memory, device=device)
