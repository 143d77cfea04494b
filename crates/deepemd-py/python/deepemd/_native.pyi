# Type stubs of the native module (src/*.rs), so that editors complete the API and type
# checkers check calls; tests/test_api.py checks them against the module's own signatures.
import os
from typing import Any, Optional, Sequence, Union

import numpy as np
import numpy.typing as npt

__version__: str

class Model:
    """A DeepEMD model's weights on a device, from :func:`load_model`."""

class EmdResult:
    distance: float
    method: str
    cost: str
    unequal: Optional[str]
    matching: Optional[npt.NDArray[np.int64]]
    mass: Optional[npt.NDArray[np.float64]]
    grad_a: Optional[npt.NDArray[np.floating[Any]]]
    grad_b: Optional[npt.NDArray[np.floating[Any]]]
    certificate_gap: Optional[float]
    transport_cost: Optional[float]
    seconds: float
    def __float__(self) -> float: ...

def emd(
    a: npt.ArrayLike,
    b: npt.ArrayLike,
    method: str = "exact",
    cost: str = "euclidean",
    matching: bool = False,
    gradient: bool = False,
    rounding: Optional[str] = None,
    unequal: str = "uniform",
    model: Optional[Model] = None,
) -> EmdResult: ...
def _emd_batch(
    a: Union[npt.ArrayLike, Sequence[Any]],
    b: Optional[Union[npt.ArrayLike, Sequence[npt.ArrayLike]]] = None,
    method: str = "exact",
    cost: str = "euclidean",
    matching: bool = False,
    gradient: bool = False,
    rounding: Optional[str] = None,
    unequal: str = "uniform",
    model: Optional[Model] = None,
) -> list[EmdResult]: ...
def read_cloud(path: Union[str, os.PathLike[str]]) -> npt.NDArray[np.float64]: ...
def load_model(
    path: Optional[Union[str, os.PathLike[str]]] = None, device: str = "cpu"
) -> Model: ...
def gen_metrics(
    *,
    reference: npt.ArrayLike,
    generated: npt.ArrayLike,
    brute_force: bool = False,
    format: str = "deepemd",
    out: Optional[Union[str, os.PathLike[str]]] = None,
    chunk_size: Optional[int] = None,
    progress: bool = True,
) -> dict[str, Optional[float]]: ...
