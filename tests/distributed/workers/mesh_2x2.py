"""A 2x2 DeviceMesh and new_subgroups on 4 processes (``mpiexec -n 4 python mesh_2x2.py``): init_device_mesh joins
the default group itself (with "gloo", the CPU's default backend); every rank checks its coordinate, its group along
each dimension (the column {r % 2, r % 2 + 2} for "dp", the row for "tp"), the sub-meshes, a transposed slice and a
reduction over each group, against the layout [[0, 1], [2, 3]]."""

import sys

import lucid
import lucid.distributed as dist

assert not dist.is_initialized()
mesh = dist.init_device_mesh("cpu", (2, 2), mesh_dim_names=("dp", "tp"))
assert dist.get_backend() == dist.Backend.GLOO
rank = dist.get_rank()
assert dist.get_world_size() == 4, "mesh_2x2.py runs on 4 processes"
row, col = divmod(rank, 2)
assert mesh.mesh.tolist() == [[0, 1], [2, 3]] and mesh.get_coordinate() == [row, col]
assert [dist.get_process_group_ranks(g) for g in mesh.get_all_groups()] == [[col, col + 2], [2 * row, 2 * row + 1]]
assert (mesh.get_local_rank("dp"), mesh.get_local_rank("tp")) == (row, col)
assert mesh["dp"].mesh.tolist() == [col, col + 2] and mesh["tp"].mesh.tolist() == [2 * row, 2 * row + 1]
assert mesh[("tp", "dp")].mesh.tolist() == [[0, 2], [1, 3]] and mesh[("tp", "dp")].get_local_rank("tp") == col
for name, expected in (("dp", 2 * col + 2), ("tp", 4 * row + 1)):
    t = lucid.tensor([float(rank)])
    dist.all_reduce(t, group=mesh[name].get_group())
    assert t.item() == expected, (name, t.item(), expected)
mine, groups = dist.new_subgroups(2)
assert dist.get_process_group_ranks(mine) == [2 * row, 2 * row + 1] and len(groups) == 2
mine, groups = dist.new_subgroups_by_enumeration([[0, 3], [1]])
assert (mine is None) == (rank == 2) and (rank == 2 or rank in dist.get_process_group_ranks(mine))
dist.destroy_process_group()
sys.stdout.write(f"rank {rank}: mesh 2x2 ok\n")
