"""Accelerator records for the sizing tests, with the values of /work/shared/data/accelerators.csv.

Used while the bundled catalog cannot be loaded; once it can, the `accelerators` fixture serves the
catalog's own records so the tests exercise the data the selector uses.
"""

from __future__ import annotations

import pytest

from servestack.catalog.types import Accelerator

_NV = "NVIDIA datasheet (dense figures; sparse/2 where the sheet prints sparsity)"
_AS_OF = "2026-11-28"


def _acc(id_: str, vendor: str, mem: float, bw: float, fp16: float, bf16: float | None, fp8: float | None,
         int8: float | None, link: str, link_gbps: float, source: str = _NV) -> Accelerator:
    return Accelerator(id_, vendor, mem, bw, fp16, bf16, fp8, int8, link, link_gbps, (), source, _AS_OF)  # type: ignore[arg-type]


ACCELERATORS: dict[str, Accelerator] = {
    a.id: a
    for a in (
        _acc("T4", "nvidia", 16, 320, 65, None, None, 130, "pcie", 32),
        _acc("A10G", "nvidia", 24, 600, 125, 125, None, 250, "pcie", 64),
        _acc("L4", "nvidia", 24, 300, 121, 121, 242, 242, "pcie", 64),
        _acc("L40S", "nvidia", 48, 864, 362, 362, 733, 733, "pcie", 64),
        _acc("A100-40GB", "nvidia", 40, 1555, 312, 312, None, 624, "nvlink", 600),
        _acc("A100-80GB", "nvidia", 80, 2039, 312, 312, None, 624, "nvlink", 600),
        _acc("H100", "nvidia", 80, 3350, 989, 989, 1979, 1979, "nvlink", 900),
        _acc("H100-PCIe", "nvidia", 80, 2000, 756, 756, 1513, 1513, "pcie", 128),
        _acc("H200", "nvidia", 141, 4800, 989, 989, 1979, 1979, "nvlink", 900),
        _acc("B200", "nvidia", 180, 8000, 2250, 2250, 4500, 4500, "nvlink", 1800),
        _acc("MI300X", "amd", 192, 5300, 1307, 1307, 2615, 2615, "xgmi", 896, "AMD Instinct MI300X data sheet"),
        # NeuronLink-v2 per-chip bandwidth is not in the data file; 192 GB/s is an assumption for tests.
        _acc("Inferentia2", "aws", 32, 820, 190, 190, 190, 380, "neuronlink", 192,
             "AWS Neuron docs, Inferentia2 architecture"),
    )
}


def _catalog_accelerators() -> dict[str, Accelerator] | None:
    from servestack.catalog import load_catalog
    from servestack.errors import ServestackError

    try:
        return dict(load_catalog().accelerators)
    except (ServestackError, OSError):
        return None


@pytest.fixture(scope="session")
def accelerators() -> dict[str, Accelerator]:
    """The bundled catalog's accelerators; the datasheet table above while the catalog cannot load."""
    return _catalog_accelerators() or ACCELERATORS


@pytest.fixture
def cli_catalog(monkeypatch: pytest.MonkeyPatch) -> None:
    """Lets `servestack estimate` resolve accelerators from the table above when the bundled catalog cannot load."""
    if _catalog_accelerators() is not None:
        return
    from servestack.errors import SpecError

    def resolve(name: str) -> Accelerator:
        for acc in ACCELERATORS.values():
            if acc.id.lower() == name.strip().lower():
                return acc
        raise SpecError("--accelerator", name, "allowed: " + ", ".join(sorted(ACCELERATORS)))

    monkeypatch.setattr("servestack.cli.estimate_cmd._resolve_accelerator", resolve)
