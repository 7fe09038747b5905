"""The byte accounting of benchmarks/egress.py (helpers in benchmarks/_lab.py): which interfaces count as a container's
links, the differences of two readings, the layers an upgrade adds, and the inventory that reaches the fleet on the
benchmark's own network."""

import io
import json
import sys
import tarfile
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import egress  # benchmarks/ is not a package: on sys.path above
from _lab import fleet_inventory, link_bytes, net_dev, traffic

# A lab node's /proc/<pid>/net/dev: its links to the lab network and the benchmark's, and its own engine's bridge and
# a container's veth (whose traffic also crosses a link when it leaves the node).
NODE = """Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compr
    lo:  5000      10    0    0    0     0          0         0     5000      10    0    0    0     0       0          0
  eth0: 1000000   700    0    0    0     0          0         0    20000     300    0    0    0     0       0          0
  eth1: 363000000 9000   0    0    0     0          0         0   400000    4000    0    0    0     0       0          0
docker0:  777     3    0    0    0     0          0         0      888       4    0    0    0     0       0          0
vethab12cd: 999   5    0    0    0     0          0         0      111       2    0    0    0     0       0          0
"""


def test_net_dev_reads_each_interface_rx_and_tx():
    counters = net_dev(NODE)
    assert counters == {
        "lo": (5000, 5000),
        "eth0": (1000000, 20000),
        "eth1": (363000000, 400000),
        "docker0": (777, 888),
        "vethab12cd": (999, 111),
    }


def test_link_bytes_sums_the_links_only():
    assert link_bytes(net_dev(NODE)) == (1000000 + 363000000, 20000 + 400000)


def test_net_dev_reads_this_process_namespace():
    counters = net_dev(Path("/proc/self/net/dev").read_text())
    assert "lo" in counters
    assert link_bytes({"lo": counters["lo"]}) == (0, 0)


def test_traffic_is_the_difference_per_counter():
    before = {"egress-fleet-1": (100, 50), "controller": (7, 1000)}
    after = {"egress-fleet-1": (400, 80), "controller": (9, 364000)}
    assert traffic(before, after) == {
        "egress-fleet-1": {"rx": 300, "tx": 30},
        "controller": {"rx": 2, "tx": 363000},
    }


def _saved_image(path: Path, layers: list, folders: list) -> None:
    """A `docker save` archive: manifest.json, the config with the layers' diff IDs, one folder per layer."""
    config = json.dumps({"rootfs": {"type": "layers", "diff_ids": [f"sha256:{name}" for name, _ in layers]}}).encode()
    members = {"cfg.json": config}
    members.update({f"{folder}/layer.tar": b"x" * size for folder, (_, size) in zip(folders, layers)})
    members["manifest.json"] = json.dumps(
        [{"Config": "cfg.json", "RepoTags": ["i:t"], "Layers": [f"{f}/layer.tar" for f in folders]}]
    ).encode()
    with tarfile.open(path, "w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def test_new_layer_bytes_counts_the_layers_the_base_lacks_by_content(tmp_path):
    # docker save names a shared layer's folder differently in each archive: the content (diff ID) decides.
    _saved_image(tmp_path / "base.tar", [("a", 300), ("b", 200)], ["f1", "f2"])
    _saved_image(tmp_path / "up.tar", [("a", 300), ("b", 200), ("c", 40)], ["g1", "g2", "g3"])
    assert egress.new_layer_bytes(tmp_path / "base.tar", tmp_path / "up.tar") == 40


def test_fleet_inventory_reaches_the_fleet_on_the_given_network(tmp_path):
    folder = Path(fleet_inventory(tmp_path / "inv", "egress-fleet", "egress-net"))
    config = yaml.safe_load((folder / "fleet.docker.yml").read_text())
    assert config["compose"]["ansible_ssh_host"] == "docker_networksettings.Networks['egress-net'].IPAddress"
    assert "== 'egress-fleet'" in config["filters"][0]["include"]
    assert (folder / "group_vars").is_symlink()


def _registry_run(n, run, controller_tx, registry_rx, served):
    return {"n": n, "source": "site_registry", "run": run, "controller_tx": controller_tx, "served": served,
            "bytes": {egress.REGISTRY: {"rx": registry_rx, "tx": served}}}  # fmt: skip


FIGURES = {"tarball": 1000 * egress.MIB, "upgrade_tarball": 1010 * egress.MIB, "new_layer": 10 * egress.MIB}


def test_goals_split_the_controller_egress_and_find_the_largest_fleet_that_meets_it():
    # 1010 MiB to the registry host, 40 MiB to 8 nodes (5 a node): 1.05 x; 1100 - 1010 = 90 MiB left, 18 nodes.
    [line] = egress.goals([_registry_run(8, "first", 1050 * egress.MIB, 1010 * egress.MIB, 0)], FIGURES)
    assert "1.050 x" in line and ", met;" in line
    assert "5.00 MiB a node" in line and "holds up to N = 18" in line


def test_goals_fail_past_1_1_x_the_tarball():
    [line] = egress.goals([_registry_run(8, "first", 1101 * egress.MIB, 1010 * egress.MIB, 0)], FIGURES)
    assert "NOT met" in line


def test_goals_of_an_upgrade_compare_what_each_node_pulled_with_the_new_layer():
    met, missed = egress.goals(
        [_registry_run(4, "upgrade", 0, 0, 44 * egress.MIB), _registry_run(4, "upgrade", 0, 0, 45 * egress.MIB)],
        FIGURES,
    )
    assert "11.00 MiB per node, 1.10 x" in met and met.endswith(", met")
    assert "11.25 MiB per node" in missed and missed.endswith("NOT met")


def test_goals_leave_other_sources_out():
    assert egress.goals([dict(_registry_run(4, "first", 1, 1, 1), source="tarball")], FIGURES) == []
