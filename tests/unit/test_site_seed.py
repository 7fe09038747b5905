"""site.yml and upgrade_triton.yml with image_cache_source seed (real ansible-playbook on this host, hosts on the local
connection, check mode, no role run: --tags never, or the upgrade's roles skipped): the seed host's part is a play
of its own, on the seed host alone, before the first rolling batch, whatever the seed host's place in the inventory;
the batches follow the inventory's order; a node whose seed host is not in the run, or whose seed host's own
settings do not save the node's image, stops the run before any change, named with the reason. Molecule's
image_cache_seed scenario runs the roles."""

from __future__ import annotations

import sys

from _site_run import failure, plays, run_rolling

IMAGE = "nvcr.io/nvidia/tritonserver:24.10-py3"
SEED_PLAY = "Save the image on the seed host and fetch its tarball to the controller, before any batch"
ROLLOUT_PLAY = "Take GPU nodes to serving Triton"
REGISTRY_PLAY = "Run the site registry and push the image into it, before any batch"


def site(ansible_bin, tmp_path, hosts, *args, playbook="site.yml"):
    """site.yml (or another rolling playbook) over `hosts` ({name: host vars}, in this inventory order, all seeded by
    "seed" unless they say otherwise), one node per batch: (rc, the JSON report or None, the text output)."""
    common = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable,
              "image_cache_source": "seed", "image_cache_seed_host": "seed", "image_cache_image": IMAGE}  # fmt: skip
    inventory = {"all": {"vars": common, "children": {"triton_nodes": {"hosts": hosts}}}}
    return run_rolling(ansible_bin, tmp_path, inventory, playbook, "ngc_login,image_cache,triton_server", *args)


def test_seed_play_comes_first_whatever_the_seed_hosts_place(ansible_bin, tmp_path):
    """The seed host last in the inventory: its play runs before the first batch; a node of another source adds no
    seed play host; batches go in the inventory's order."""
    hosts = {"node-b": {}, "node-a": {}, "seed": {}, "other": {"image_cache_source": "tarball"}}
    rc, report, out = site(ansible_bin, tmp_path, hosts)
    assert rc == 0, out[-3000:]
    ran = plays(report)
    names = [name for name, _, _ in ran]
    assert names.count(SEED_PLAY) == 1, names
    seed = names.index(SEED_PLAY)
    # (then the site registry's play, with no hosts here)
    assert names[seed + 1 : seed + 3] == [REGISTRY_PLAY, ROLLOUT_PLAY] and ROLLOUT_PLAY not in names[:seed], names
    assert ran[seed][1] == ["seed"]
    said = " ".join(ran[seed][2])
    assert f"3 node(s) of this run load this seed host's tarball of {IMAGE}: node-b, node-a, seed" in said, said
    assert [h for name, h, _ in ran if name == ROLLOUT_PLAY] == [["node-b"], ["node-a"], ["seed"], ["other"]]


def test_no_seed_play_hosts_without_a_seed_node(ansible_bin, tmp_path):
    rc, report, out = site(ansible_bin, tmp_path, {"a": {"image_cache_source": "tarball"}})
    assert rc == 0, out[-3000:]
    assert [(name, h) for name, h, _ in plays(report) if name == SEED_PLAY] == [(SEED_PLAY, [])]


def test_seed_host_left_out_of_the_run_stops_it(ansible_bin, tmp_path):
    rc, report, out = site(ansible_bin, tmp_path, {"node-1": {}, "seed": {}}, "--limit", "node-1")
    assert rc != 0, out[-3000:]
    msg = failure(report)
    assert 'image_cache_seed_host "seed" of node-1 is not a host of this run' in msg, msg
    assert msg.endswith("Nothing was changed on any node."), msg
    assert [name for name, _, _ in plays(report)] == ["Find the nodes that need a run"]


def test_seed_host_that_does_not_seed_stops_the_run(ansible_bin, tmp_path):
    hosts = {f"node-{i}": {} for i in range(1, 8)} | {"seed": {"image_cache_source": "registry"}}
    rc, report, out = site(ansible_bin, tmp_path, hosts)
    assert rc != 0, out[-3000:]
    msg = failure(report)
    assert (
        "image_cache_seed_host seed of node-1, node-2, node-3, node-4, node-5 and 2 more must have"
        ' image_cache_source=seed and image_cache_seed_host=seed itself (it has registry and "seed").' in msg
    ), msg
    assert [name for name, _, _ in plays(report)] == ["Find the nodes that need a run"]


def test_seed_host_that_saves_another_image_stops_the_run(ansible_bin, tmp_path):
    hosts = {"node-1": {}, "node-2": {"image_cache_image": IMAGE + "-other"}, "seed": {}}
    rc, report, out = site(ansible_bin, tmp_path, hosts)
    assert rc != 0, out[-3000:]
    msg = failure(report)
    assert msg == (
        f'node-2 needs image_cache_image "{IMAGE}-other", its image_cache_seed_host seed saves "{IMAGE}".'
        " Nothing was changed on any node."
    ), msg
    assert [name for name, _, _ in plays(report)] == ["Find the nodes that need a run"]


def test_upgrade_runs_the_seed_play_before_its_batches(ansible_bin, tmp_path):
    """upgrade_triton.yml moves nodes to a new image, which the seed host saves first: the same play, after the
    driver check, before the first batch."""
    hosts = {"node-b": {}, "node-a": {}, "seed": {}}
    rc, report, out = site(ansible_bin, tmp_path, hosts, playbook="upgrade_triton.yml")
    assert rc == 0, out[-3000:]
    ran = plays(report)
    names = [name for name, _, _ in ran]
    driver_check = "Check each node's driver against the Triton image"
    assert names == [driver_check, SEED_PLAY, REGISTRY_PLAY] + ["Upgrade Triton"] * 3, names
    assert ran[1][1] == ["seed"]
    assert [h for name, h, _ in ran if name == "Upgrade Triton"] == [["node-b"], ["node-a"], ["seed"]]


def test_upgrade_without_the_seed_host_stops_before_any_change(ansible_bin, tmp_path):
    hosts = {"node-1": {}, "seed": {}}
    rc, report, out = site(ansible_bin, tmp_path, hosts, "--limit", "node-1", playbook="upgrade_triton.yml")
    assert rc != 0, out[-3000:]
    assert 'image_cache_seed_host "seed" of node-1 is not a host of this run' in failure(report)
    assert [name for name, _, _ in plays(report)] == ["Check each node's driver against the Triton image"]
