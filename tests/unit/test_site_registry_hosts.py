"""site.yml and upgrade_triton.yml with image_cache_source site_registry (real ansible-playbook on this host, hosts on
the local connection, check mode, no role run): the registry host's part is a play of its own, on the registry host
alone (a host of the inventory that is no Triton node), before the first rolling batch; a node whose registry host is
not in the inventory, does not name itself, or pushes another image or tarball, stops the run before any change,
named with the reason. Molecule's image_cache_site_registry scenario runs the roles."""

from __future__ import annotations

import sys

from _site_run import failure, plays, run_rolling

IMAGE = "registry.dc1.internal:5000/nvidia/tritonserver:24.10-py3"
SHA = "a" * 64
REGISTRY_PLAY = "Run the site registry and push the image into it, before any batch"
ROLLOUT_PLAY = "Take GPU nodes to serving Triton"
LOCAL = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}


def site(ansible_bin, tmp_path, nodes, registry=None, *args, playbook="site.yml"):
    """`playbook` over the Triton nodes `nodes` and the registry host "registry" ({name: host vars}), all pulling from
    "registry" unless they say otherwise, one node per batch: (rc, the JSON report or None, the text output)."""
    common = {**LOCAL, "image_cache_source": "site_registry", "image_cache_site_registry_host": "registry",
              "image_cache_image": IMAGE, "image_cache_tarball": "/srv/tritonserver-24.10-py3.tar",
              "image_cache_tarball_sha256": SHA}  # fmt: skip
    children = {"triton_nodes": {"hosts": nodes}, "site_registry": {"hosts": {"registry": registry or {}}}}
    inventory = {"all": {"vars": common, "children": children}}
    skip = "ngc_login,image_cache,triton_server,docker_engine,site_registry"
    return run_rolling(ansible_bin, tmp_path, inventory, playbook, skip, *args)


def test_registry_play_runs_on_the_registry_host_before_the_first_batch(ansible_bin, tmp_path):
    nodes = {"node-b": {}, "node-a": {}, "other": {"image_cache_source": "tarball"}}
    rc, report, out = site(ansible_bin, tmp_path, nodes)
    assert rc == 0, out[-3000:]
    ran = plays(report)
    names = [name for name, _, _ in ran]
    assert names.count(REGISTRY_PLAY) == 1, names
    at = names.index(REGISTRY_PLAY)
    assert names[at + 1] == ROLLOUT_PLAY and ROLLOUT_PLAY not in names[:at], names
    assert ran[at][1] == ["registry"]
    said = " ".join(ran[at][2])
    assert f"2 node(s) of this run pull {IMAGE} from this registry: node-b, node-a" in said, said
    # The registry host is no Triton node: no batch of its own.
    assert [h for name, h, _ in ran if name == ROLLOUT_PLAY] == [["node-b"], ["node-a"], ["other"]]


def test_no_registry_play_hosts_without_a_node_that_pulls_from_one(ansible_bin, tmp_path):
    rc, report, out = site(ansible_bin, tmp_path, {"a": {"image_cache_source": "tarball"}})
    assert rc == 0, out[-3000:]
    assert [(name, h) for name, h, _ in plays(report) if name == REGISTRY_PLAY] == [(REGISTRY_PLAY, [])]


def test_registry_host_not_in_the_inventory_stops_the_run(ansible_bin, tmp_path):
    nodes = {"node-1": {"image_cache_site_registry_host": "regsitry"}}
    rc, report, out = site(ansible_bin, tmp_path, nodes)
    assert rc != 0, out[-3000:]
    msg = failure(report)
    assert 'image_cache_site_registry_host "regsitry" of node-1 is not a host of the inventory.' in msg, msg
    assert msg.endswith("Nothing was changed on any node."), msg
    assert [name for name, _, _ in plays(report)] == ["Find the nodes that need a run"]


def test_registry_host_that_names_another_stops_the_run(ansible_bin, tmp_path):
    nodes = {f"node-{i}": {} for i in range(1, 8)}
    rc, report, out = site(ansible_bin, tmp_path, nodes, {"image_cache_source": "tarball"})
    assert rc != 0, out[-3000:]
    msg = failure(report)
    assert (
        "image_cache_site_registry_host registry of node-1, node-2, node-3, node-4, node-5 and 2 more must have"
        " image_cache_source=site_registry and image_cache_site_registry_host=registry itself (it has tarball and"
        ' "registry").' in msg
    ), msg


def test_registry_host_with_another_tarball_stops_the_run(ansible_bin, tmp_path):
    """A node whose image or tarball is not the registry host's would pull an image nobody pushed."""
    nodes = {"node-1": {}, "node-2": {"image_cache_tarball_sha256": "b" * 64}}
    rc, report, out = site(ansible_bin, tmp_path, nodes)
    assert rc != 0, out[-3000:]
    assert failure(report) == (
        f'node-2 has image_cache_tarball_sha256 "{"b" * 64}", its site registry host registry "{SHA}".'
        " Nothing was changed on any node."
    )


def test_upgrade_runs_the_registry_play_before_its_batches(ansible_bin, tmp_path):
    rc, report, out = site(ansible_bin, tmp_path, {"node-b": {}, "node-a": {}}, playbook="upgrade_triton.yml")
    assert rc == 0, out[-3000:]
    ran = plays(report)
    names = [name for name, _, _ in ran]
    assert (
        names
        == [
            "Check each node's driver against the Triton image",
            "Save the image on the seed host and fetch its tarball to the controller, before any batch",
            REGISTRY_PLAY,
        ]
        + ["Upgrade Triton"] * 2
    ), names
    assert ran[2][1] == ["registry"]
