"""Reading and validating the catalog data files (cached per process)."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from servestack.catalog import compiled
from servestack.catalog.catalog import Catalog, InstanceFacts
from servestack.catalog.types import Accelerator, Offering
from servestack.errors import CatalogError

if TYPE_CHECKING:
    from pydantic import BaseModel

# The schema models (pydantic) are imported only when a data file is validated: a process that finds a
# compiled copy of the catalog (servestack.catalog.compiled) never builds them.
SCHEMA_VERSION = 1
"""The data files' schema_version this servestack reads (equal to servestack.catalog.models.SCHEMA_VERSION)."""

__all__ = ["load_catalog", "parse_catalog", "DATA_DIR", "ACCELERATORS_FILE", "OFFERINGS_FILE"]

DATA_DIR = Path(__file__).resolve().parent / "data"
ACCELERATORS_FILE = "accelerators.json"
OFFERINGS_FILE = "offerings.json"


def load_catalog(path: str | Path | None = None) -> Catalog:
    """The catalog in directory `path` (holding accelerators.json and offerings.json), bundled when None.

    Loaded once per process and directory; raises CatalogError naming the file, row and field
    of the first problem found.
    """
    directory = DATA_DIR if path is None else Path(path)
    return _load_cached(str(directory.resolve()))


@lru_cache(maxsize=8)
def _load_cached(directory: str) -> Catalog:
    base = Path(directory)
    accs_bytes = _read_bytes(base / ACCELERATORS_FILE)
    offs_bytes = _read_bytes(base / OFFERINGS_FILE)
    key = compiled.compiled_key(accs_bytes, offs_bytes)
    found = compiled.read_compiled(key)
    if found is not None:
        return found
    accs_raw = _decode_json(base / ACCELERATORS_FILE, accs_bytes)
    offs_raw = _decode_json(base / OFFERINGS_FILE, offs_bytes)
    catalog = parse_catalog(accs_raw, offs_raw, accelerators_name=ACCELERATORS_FILE, offerings_name=OFFERINGS_FILE)
    compiled.write_compiled(key, catalog)  # only a catalog that passed validation is compiled
    return catalog


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise CatalogError(f"{path}: cannot read catalog file ({exc.strerror or exc})") from exc


def _decode_json(path: Path, data: bytes) -> Any:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CatalogError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise CatalogError(f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from exc


def _check_version(raw: Any, name: str) -> None:
    if not isinstance(raw, dict):
        raise CatalogError(f"{name}: top level must be an object with schema_version")
    version = raw.get("schema_version")
    if version != SCHEMA_VERSION:
        raise CatalogError(
            f"{name}: schema_version {version!r} is not supported; "
            f"this servestack reads schema_version {SCHEMA_VERSION}"
        )


def _row_label(raw: Any, loc: tuple[int | str, ...]) -> str:
    """'prices[3] (aws us-east-1 g5.xlarge)' for a location inside a list of rows."""
    if len(loc) >= 2 and isinstance(loc[0], str) and isinstance(loc[1], int):
        label = f"{loc[0]}[{loc[1]}]"
        try:
            row = raw[loc[0]][loc[1]]
        except (KeyError, IndexError, TypeError):
            return label
        if isinstance(row, dict):
            parts = [str(row[k]) for k in ("cloud", "region", "instance_type", "id") if k in row]
            if parts:
                label += f" ({' '.join(parts)})"
        return label
    return ".".join(str(p) for p in loc[:1]) or "file"


def _validate(model: type[BaseModel], raw: Any, name: str) -> Any:
    from pydantic import ValidationError

    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(err["loc"])
        field_path = [str(p) for p in loc[2:]] if len(loc) >= 2 and isinstance(loc[1], int) else [str(p) for p in loc]
        field = ".".join(field_path) or "?"
        more = f" (and {exc.error_count() - 1} more problems)" if exc.error_count() > 1 else ""
        raise CatalogError(f"{name}: {_row_label(raw, loc)}: field {field!r}: {err['msg']}{more}") from None


def parse_catalog(
    accelerators_raw: Any,
    offerings_raw: Any,
    *,
    accelerators_name: str = ACCELERATORS_FILE,
    offerings_name: str = OFFERINGS_FILE,
) -> Catalog:
    """Validate the two decoded JSON documents and build the catalog."""
    from servestack.catalog.models import AcceleratorsFile, OfferingsFile

    _check_version(accelerators_raw, accelerators_name)
    _check_version(offerings_raw, offerings_name)
    accs_file: AcceleratorsFile = _validate(AcceleratorsFile, accelerators_raw, accelerators_name)
    offs_file: OfferingsFile = _validate(OfferingsFile, offerings_raw, offerings_name)

    accelerators: dict[str, Accelerator] = {}
    seen_names: dict[str, str] = {}
    for i, rec in enumerate(accs_file.accelerators):
        if rec.id in accelerators:
            raise CatalogError(f"{accelerators_name}: accelerators[{i}] ({rec.id}): field 'id': duplicate id")
        for name in (rec.id, *rec.aliases):
            key = name.lower()
            if key in seen_names and seen_names[key] != rec.id:
                raise CatalogError(
                    f"{accelerators_name}: accelerators[{i}] ({rec.id}): field 'aliases': "
                    f"{name!r} already names {seen_names[key]}"
                )
            seen_names[key] = rec.id
        accelerators[rec.id] = Accelerator(
            id=rec.id,
            vendor=rec.vendor,
            memory_gib=rec.memory_gib,
            memory_bandwidth_gbps=rec.memory_bandwidth_gbps,
            fp16_tflops=rec.fp16_tflops,
            bf16_tflops=rec.bf16_tflops,
            fp8_tflops=rec.fp8_tflops,
            int8_tops=rec.int8_tops,
            interconnect=rec.interconnect,
            interconnect_gbps=rec.interconnect_gbps,
            aliases=tuple(rec.aliases),
            source=rec.source,
            as_of=rec.as_of,
        )

    facts: dict[tuple[str, str], InstanceFacts] = {}
    for i, it in enumerate(offs_file.instance_types):
        label = f"{offerings_name}: instance_types[{i}] ({it.cloud} {it.instance_type})"
        if (it.cloud, it.instance_type) in facts:
            raise CatalogError(f"{label}: field 'instance_type': duplicate instance type")
        acc = accelerators.get(it.accelerator)
        if acc is None:
            raise CatalogError(
                f"{label}: field 'accelerator': {it.accelerator!r} is not a canonical id in {accelerators_name}"
            )
        facts[(it.cloud, it.instance_type)] = InstanceFacts(
            cloud=it.cloud,
            instance_type=it.instance_type,
            accelerator=acc.id,
            accelerators_per_node=it.accelerators_per_node,
            accelerator_memory_gib=acc.memory_gib,
            vcpus=it.vcpus,
            memory_gib=it.memory_gib,
            local_nvme_gib=it.local_nvme_gib,
            multi_node_network=it.multi_node_network,
            network_gbps=it.network_gbps,
            gcp_accelerator_type=it.gcp_accelerator_type,
            source=it.source,
            as_of=it.as_of,
        )

    offerings: list[Offering] = []
    seen_rows: set[tuple[str, str, str]] = set()
    for i, pr in enumerate(offs_file.prices):
        label = f"{offerings_name}: prices[{i}] ({pr.cloud} {pr.region} {pr.instance_type})"
        f = facts.get((pr.cloud, pr.instance_type))
        if f is None:
            raise CatalogError(f"{label}: field 'instance_type': not listed in instance_types")
        row_key = (pr.cloud, pr.region, pr.instance_type)
        if row_key in seen_rows:
            raise CatalogError(f"{label}: field 'region': duplicate row for this cloud, region and type")
        seen_rows.add(row_key)
        if pr.on_demand is None and pr.spot is None and pr.committed_1y is None and pr.committed_3y is None:
            raise CatalogError(f"{label}: field 'on_demand': a row needs at least one price")
        offerings.append(
            Offering(
                cloud=pr.cloud,
                region=pr.region,
                zones=tuple(pr.zones),
                instance_type=pr.instance_type,
                accelerator=f.accelerator,
                accelerators_per_node=f.accelerators_per_node,
                accelerator_memory_gib=f.accelerator_memory_gib,
                vcpus=f.vcpus,
                memory_gib=f.memory_gib,
                local_nvme_gib=f.local_nvme_gib,
                multi_node_network=f.multi_node_network,
                network_gbps=f.network_gbps,
                price_on_demand=pr.on_demand,
                price_spot=pr.spot,
                price_1y=pr.committed_1y,
                price_3y=pr.committed_3y,
                source=pr.source,
                as_of=pr.as_of,
                price_1y_estimated=pr.committed_1y_estimated,
                price_3y_estimated=pr.committed_3y_estimated,
                spot_zones=tuple(pr.spot_zones),
                spot_as_of=pr.spot_as_of,
            )
        )
    return Catalog(accelerators, offerings, offs_file.as_of, facts.values())
