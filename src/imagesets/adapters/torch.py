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
from dataclasses import replace
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
        self,
        epochs: EpochBatches,
        *,
        pin_memory: bool = False,
        device: Any = None,
        on_device: _OnDevice | None = None,
    ) -> None:
        self.torch = _torch()
        if pin_memory and not self.torch.cuda.is_available():
            raise ArgumentError(
                "pin_memory=True: page-locked memory needs a CUDA device and torch found none;"
                " pass pin_memory=False"
            )
        self.epochs, self.pin_memory, self.device = epochs, pin_memory, device
        self.on_device = on_device

    def set_epoch(self, epoch: int) -> None:
        """Serve ``epoch`` on the next iteration (as ``DistributedSampler.set_epoch``)."""
        self.epochs.set_epoch(epoch)

    def __len__(self) -> int:
        return len(self.epochs)

    def __iter__(self) -> Iterator[tuple[Any, Any]]:
        for x, y in self.epochs:
            images, labels = self._tensor(x), self._tensor(y)
            if self.on_device is not None:
                images = self.on_device(images)
            yield images, labels

    def _tensor(self, array: Array) -> Any:
        tensor = self.torch.from_numpy(array)
        if self.pin_memory:
            tensor = tensor.pin_memory()
        if self.device is not None:
            tensor = tensor.to(self.device, non_blocking=self.pin_memory)
        return tensor


class _OnDevice:
    """The conversion of a uint8 NHWC batch already on its device: layout, dtype, ``/ 255``.

    The operations of torchvision's ``ToTensor`` (``permute(...).contiguous()``, then
    ``.to(float32).div(255)``), with the divisor a tensor on the device: CUDA divides by a CPU
    scalar as a multiplication by its reciprocal, which is not bit-exact. Half types are
    divided in float32 and then cast, as numpy does. So the values equal those of the host
    path bit for bit.
    """

    def __init__(self, torch: Any, layout: str, dtype: Any, normalize: bool) -> None:
        self.torch, self.layout, self.dtype, self.normalize = torch, layout, dtype, normalize
        half = dtype in (torch.float16, torch.bfloat16)
        self.work = torch.float32 if half else dtype
        self.divisors: dict[Any, Any] = {}

    def __call__(self, x: Any) -> Any:
        if self.layout == "NCHW":
            x = x.unsqueeze(1) if x.ndim == 3 else x.permute(0, 3, 1, 2).contiguous()
        if self.dtype is None:
            return x
        if not self.normalize:
            return x.to(self.dtype)
        divisor = self.divisors.get(x.device)
        if divisor is None:
            divisor = self.torch.full((), 255, dtype=self.work, device=x.device)
            self.divisors[x.device] = divisor
        return x.to(self.work).div_(divisor).to(self.dtype)


#: torch_loader's own defaults, which suit torch models; every other keyword as ``batches``.
_TORCH_DEFAULTS = {"normalize": True, "layout": "NCHW"}


def _torch_dtype(torch: Any, dtype: Any, normalize: bool) -> Any:
    """``dtype`` (a ``torch.dtype`` or anything numpy takes) as a ``torch.dtype``, or None for
    the stored uint8; ``normalize`` without a dtype gives float32."""
    if dtype is None:
        return torch.float32 if normalize else None
    if not isinstance(dtype, torch.dtype):
        try:
            dtype = torch.from_numpy(np.zeros(0, np.dtype(dtype))).dtype
        except (TypeError, ValueError) as exc:
            raise ArgumentError(
                f"dtype: expected a torch or numpy dtype such as torch.float32, found {dtype!r}"
            ) from exc
    if normalize and not dtype.is_floating_point:
        raise ArgumentError(f"dtype: normalize=True needs a float dtype, found {dtype}")
    return dtype


def torch_loader(
    images: Images,
    labels: npt.ArrayLike,
    batch_size: int,
    *,
    pin_memory: bool | None = None,
    device: Any = None,
    **options: Any,
) -> TorchLoader:
    """Batches of torch tensors, each made by one vectorised numpy gather.

    Takes the keywords of :class:`imagesets.batching.BatchOptions`, with defaults that suit
    torch models (``normalize=True, layout="NCHW"``): float32 in ``[0, 1]``, ``(B, C, H, W)``;
    labels are int64 ``(B,)``. The values are exactly those of
    :func:`imagesets.batching.batches` with the same arguments. Iterating the loader again
    serves the next epoch (``epoch``, ``epoch + 1``, ...); ``set_epoch`` overrides it.

    Without ``device``, each batch is converted on the host and wrapped by
    ``torch.from_numpy`` without a copy.

    With ``device`` (``"cuda"``, ``torch.device(...)``, ``"cpu"``) the loader takes the fast
    path for accelerators: it moves the *uint8* batch (4x fewer bytes than float32), from
    pinned memory and ``non_blocking`` when the device is CUDA, and converts it there
    (layout, ``dtype``, ``/ 255``) with torch ops. ``dtype`` may then be a ``torch.dtype``
    (``torch.float16``, ``torch.bfloat16``, ...). On a CPU device the same code runs (that
    is how it is tested), but torch's CPU copy of a permuted uint8 batch is slow (a CIFAR epoch
    ~10x slower than the numpy path in bench/bench_torchvision.py): on the CPU leave ``device``
    unset. A ``transform`` takes numpy batches, so with one the batch is
    converted and transformed on the host and then moved.

    ``pin_memory``: pin each host batch for fast asynchronous copies (default: when ``device``
    is a CUDA device; True needs CUDA).
    """
    torch = _torch()
    on_device = None
    if device is not None and options.get("transform") is None:
        dtype = options.pop("dtype", None)
        opts = BatchOptions.from_kwargs(
            batch_size, options, caller="torch_loader", defaults=_TORCH_DEFAULTS
        )
        target = _torch_dtype(torch, dtype, opts.normalize)
        on_device = _OnDevice(torch, opts.layout, target, opts.normalize)
        opts = replace(opts, normalize=False, dtype=None, layout="NHWC")  # uint8 to the device
    else:
        opts = BatchOptions.from_kwargs(
            batch_size, options, caller="torch_loader", defaults=_TORCH_DEFAULTS
        )
    if pin_memory is None:
        pin_memory = device is not None and torch.device(device).type == "cuda"
    return TorchLoader(
        EpochBatches(images, labels, opts),
        pin_memory=pin_memory,
        device=device,
        on_device=on_device,
    )
