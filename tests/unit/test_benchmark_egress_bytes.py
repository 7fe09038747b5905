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
