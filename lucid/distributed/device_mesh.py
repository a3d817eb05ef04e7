"""``DeviceMesh``: the processes laid out as an n-dimensional array of global ranks (torch's
``torch.distributed.device_mesh``), with one process group per mesh dimension: along dimension d, the processes
whose coordinates differ only in d form a group (a 2x2 mesh ``[[0, 1], [2, 3]]`` has the groups {0, 2}, {1, 3}
along dimension 0 and {0, 1}, {2, 3} along dimension 1). ``mesh["dp"]`` is the one-dimensional mesh of this
process's group along the dimension named "dp".
"""

from __future__ import annotations

import math

import numpy  # the mesh layout is host bookkeeping

from .._tensor import Tensor, tensor
from ..dtypes import int64
from .common import Backend, get_default_backend_for_device
from .process_group import (
    _default_group,
    get_rank,
    get_world_size,
    init_process_group,
    is_initialized,
    new_group,
)

__all__ = ["DeviceMesh", "init_device_mesh"]


class DeviceMesh:
    """The global ranks ``mesh`` (an int tensor or nested list, every rank once) on ``device_type`` ("cpu",
    "cuda"), with optional ``mesh_dim_names``. Every process of the default group constructs it, in the same order
    as its other group creations: it makes one group per line of the mesh along each dimension (a line spanning the
    whole world uses the default group). A process outside the mesh gets ``get_coordinate()`` None."""

    def __init__(self, device_type: str, mesh, *, mesh_dim_names: tuple[str, ...] | None = None,
                 backend_override=None, _init_backend: bool = True, _groups=None):
        if not isinstance(device_type, str) or ":" in device_type:
            raise RuntimeError(f"DeviceMesh: device_type must be a device type without index like 'cpu' or "
                               f"'cuda', not {device_type!r}")
        layout = numpy.asarray(mesh.tolist() if isinstance(mesh, Tensor) else mesh)
        if layout.dtype.kind not in "iu" or layout.ndim == 0 or layout.size == 0:
            raise ValueError(f"DeviceMesh: mesh must be a non-empty n-dimensional array of integer ranks, not {mesh!r}")
        if len(set(layout.ravel().tolist())) != layout.size:
            raise RuntimeError(f"DeviceMesh: mesh {layout.tolist()} has duplicate ranks; each rank appears once")
        names = None if mesh_dim_names is None else tuple(mesh_dim_names)
        if names is not None:
            if len(names) != layout.ndim:
                raise ValueError(f"DeviceMesh: mesh_dim_names {names} must have one name per mesh dimension "
                                 f"({layout.ndim} for a mesh of shape {list(layout.shape)})")
            if len(set(names)) != len(names):
                raise RuntimeError(f"DeviceMesh: each mesh_dim_name must be unique, got {names}")
        if backend_override is not None:
            raise ValueError("DeviceMesh(backend_override=...) is not supported: lucid's groups use the default "
                             "group's backend")
        self.device_type, self.mesh_dim_names, self._layout = device_type, names, layout
        self.mesh = tensor(layout.tolist(), dtype=int64)
        if _groups is None:
            world = get_world_size()
            if layout.max() >= world or layout.min() < 0:
                raise ValueError(f"DeviceMesh: mesh {layout.tolist()} names ranks outside the world "
                                 f"(0..{world - 1})")
            _groups = [_dim_groups(layout, d) for d in range(layout.ndim)] if _init_backend else None
        self._groups = _groups  # per dimension: this process's group along it (None when outside the mesh)
        where = numpy.argwhere(layout == get_rank())
        self._coordinate = [int(c) for c in where[0]] if len(where) else None

    # ---- the layout -----------------------------------------------------------------------------------------------
    @property
    def ndim(self) -> int:
        return self._layout.ndim

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self._layout.shape)

    def size(self, mesh_dim: int | str | None = None) -> int:
        """The number of processes in the mesh, or along ``mesh_dim``."""
        return self._layout.size if mesh_dim is None else self._layout.shape[self._dim(mesh_dim)]

    def get_rank(self) -> int:
        """This process's global rank."""
        return get_rank()

    def get_coordinate(self) -> list[int] | None:
        """This process's index in the mesh (None when it is not in it)."""
        return None if self._coordinate is None else list(self._coordinate)

    def get_local_rank(self, mesh_dim: int | str | None = None) -> int:
        """This process's rank in its group along ``mesh_dim`` (its coordinate there when the mesh's lines are in
        rank order, as ``init_device_mesh``'s are); a mesh of one dimension needs no ``mesh_dim``."""
        return get_rank(self.get_group(mesh_dim))

    # ---- the groups ---------------------------------------------------------------------------------------------
    def get_group(self, mesh_dim: int | str | None = None):
        """This process's group along ``mesh_dim`` (a mesh of one dimension needs no ``mesh_dim``)."""
        if mesh_dim is None:
            if self.ndim > 1:
                raise RuntimeError(f"Found the DeviceMesh have {self.ndim} dimensions; optional mesh_dim is only "
                                   "allowed for a 1D mesh. Call `get_group(mesh_dim)` or `get_all_groups()`")
            mesh_dim = 0
        dim = self._dim(mesh_dim)
        self._member()
        if self._groups is None:
            raise RuntimeError("DeviceMesh was made with _init_backend=False: it has no process groups")
        return self._groups[dim]

    def get_all_groups(self) -> list:
        return [self.get_group(d) for d in range(self.ndim)]

    def __getitem__(self, mesh_dim_names: str | tuple[str, ...]) -> DeviceMesh:
        """The sub-mesh of the named dimensions (in the order named) that holds this process: it reuses this mesh's
        groups, so only this process takes part (no collective)."""
        names = (mesh_dim_names,) if isinstance(mesh_dim_names, str) else tuple(mesh_dim_names)
        if not self.mesh_dim_names:
            raise RuntimeError("Cannot slice a DeviceMesh without mesh_dim_names (pass mesh_dim_names= to "
                               "init_device_mesh)")
        if not names:
            raise KeyError("DeviceMesh slicing needs at least one mesh dimension name")
        unknown = [n for n in names if n not in self.mesh_dim_names]
        if unknown:
            raise KeyError(f"Invalid mesh_dim_names {unknown} specified. Valid mesh_dim_names are "
                           f"{list(self.mesh_dim_names)}.")
        dims = [self.mesh_dim_names.index(n) for n in names]
        if len(set(dims)) != len(dims):
            raise RuntimeError(f"Invalid mesh_dim_names {names}: name each dimension once")
        if names == self.mesh_dim_names:
            return self
        where = self._member()
        index = tuple(slice(None) if d in dims else where[d] for d in range(self.ndim))
        layout = self._layout[index].transpose([sorted(dims).index(d) for d in dims])  # axes in the order named
        return DeviceMesh(self.device_type, layout, mesh_dim_names=names, _groups=None
                          if self._groups is None else [self._groups[d] for d in dims])

    # ---- helpers ------------------------------------------------------------------------------------------------
    def _dim(self, mesh_dim) -> int:
        if isinstance(mesh_dim, str):
            if not self.mesh_dim_names or mesh_dim not in self.mesh_dim_names:
                raise KeyError(f"Mesh dimension '{mesh_dim}' does not exist. Available mesh dimensions are: "
                               f"mesh_dim_names={self.mesh_dim_names}")
            return self.mesh_dim_names.index(mesh_dim)
        if isinstance(mesh_dim, bool) or not isinstance(mesh_dim, int) or not -self.ndim <= mesh_dim < self.ndim:
            raise IndexError(f"mesh_dim {mesh_dim!r} is out of range for a mesh of {self.ndim} dimensions")
        return mesh_dim % self.ndim

    def _member(self) -> list[int]:
        if self._coordinate is None:
            raise RuntimeError(f"rank {get_rank()} is not part of DeviceMesh {self._layout.tolist()}")
        return self._coordinate

    def __repr__(self):
        names = "" if self.mesh_dim_names is None else f", mesh_dim_names={self.mesh_dim_names}"
        return f"DeviceMesh('{self.device_type}', {self._layout.tolist()}{names})"

    def __eq__(self, other):
        return (isinstance(other, DeviceMesh) and self.device_type == other.device_type
                and self._layout.shape == other._layout.shape and bool((self._layout == other._layout).all())
                and self.mesh_dim_names == other.mesh_dim_names)

    def __hash__(self):
        return hash((self.device_type, self._layout.shape, tuple(self._layout.ravel().tolist()), self.mesh_dim_names))


def _dim_groups(layout, dim):
    """This process's group among the lines of ``layout`` along ``dim`` (made on every process, in the same order;
    None when the process is in none). A line of every process of the world is the default group."""
    lines = numpy.moveaxis(layout, dim, -1).reshape(-1, layout.shape[dim])
    world = _default_group()
    mine = None
    for line in lines.tolist():
        if sorted(line) == list(world.ranks):
            group = world
        else:
            group = new_group(line)
        if get_rank() in line:
            mine = group
    return mine


def init_device_mesh(device_type: str, mesh_shape: tuple[int, ...], *, mesh_dim_names=None, backend_override=None):
    """A :class:`DeviceMesh` of shape ``mesh_shape`` over ranks 0..world-1 in row-major order; joins the default
    process group first (with the device's default backend) when it is not initialised."""
    shape = tuple(mesh_shape)
    if not shape or any(isinstance(n, bool) or not isinstance(n, int) or n <= 0 for n in shape):
        raise ValueError(f"init_device_mesh: mesh_shape must be a non-empty tuple of positive ints, not {mesh_shape!r}")
    if mesh_dim_names is not None and len(tuple(mesh_dim_names)) != len(shape):
        raise RuntimeError(f"mesh_shape and mesh_dim_names should have same length! Found len(mesh_dim_names): "
                           f"{len(tuple(mesh_dim_names))} and len(mesh_shape):{len(shape)}.")
    if not isinstance(device_type, str) or ":" in device_type:
        raise RuntimeError(f"Device type with index is not supported but got {device_type}. If you maintained a "
                           "'torch.device' object, it's recommended to pass in 'device.type'.")
    if not is_initialized():
        init_process_group(Backend(get_default_backend_for_device(device_type)))
    world = get_world_size()
    if math.prod(shape) != world:
        raise RuntimeError(f"init_device_mesh: mesh_shape {shape} holds {math.prod(shape)} processes but the world "
                           f"has {world}; their product must equal the world size")
    return DeviceMesh(device_type, numpy.arange(world).reshape(shape), mesh_dim_names=mesh_dim_names,
                      backend_override=backend_override)


