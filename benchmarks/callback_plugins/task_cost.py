# Copyright: Contributors to the gpufleet.triton project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What each task of a benchmark run cost the controller: wall seconds and CPU seconds, by task name.

Enabled by benchmarks/fleet.py (ANSIBLE_CALLBACKS_ENABLED=task_cost, ANSIBLE_CALLBACK_PLUGINS=this folder), which
runs ansible-playbook in a cgroup of its own: the CPU a task costs is what that cgroup used (the playbook, its
workers, their ssh clients and masters) from the task's start to the next task's start. With the linear strategy
every host of a batch finishes a task before the next starts, so nothing of one task falls into another's figure.
The figures of a task that runs in several batches (serial) add up. Writes {name: {wall, cpu, starts}} as JSON to
$GPUFLEET_TASK_COST at the end of the run; without a cgroup CPU counter the CPU figures are null.
"""

import json
import os
import time

from ansible.plugins.callback import CallbackBase


def _cpu_counter():
    """(file, what it counts in seconds) of this process's cgroup CPU time: v1 cpuacct.usage (nanoseconds) where this
    machine has the cpuacct hierarchy, else v2 cpu.stat's usage_usec; None without either."""
    try:
        with open("/proc/self/cgroup") as handle:
            lines = [line.rstrip("\n").split(":", 2) for line in handle]
    except OSError:
        return None
    for _, controllers, path in lines:
        if "cpuacct" in controllers.split(","):
            found = "/sys/fs/cgroup/cpuacct" + path + "/cpuacct.usage"
            if os.path.exists(found):
                return found, 1e-9
    for hierarchy, _, path in lines:
        if hierarchy == "0":
            found = "/sys/fs/cgroup" + path + "/cpu.stat"
            if os.path.exists(found):
                return found, 1e-6
    return None


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "task_cost"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.counter = _cpu_counter()
        self.costs, self.current = {}, None

    def _cpu(self):
        if not self.counter:
            return None
        path, unit = self.counter
        with open(path) as handle:
            text = handle.read()
        if path.endswith("cpu.stat"):
            text = next((line.split()[1] for line in text.splitlines() if line.startswith("usage_usec")), "0")
        return int(text) * unit

    def _mark(self, name):
        now, cpu = time.monotonic(), self._cpu()
        if self.current:
            started, cpu_started, previous = self.current
            cost = self.costs.setdefault(previous, {"wall": 0.0, "cpu": 0.0 if cpu is not None else None, "starts": 0})
            cost["wall"] += now - started
            cost["starts"] += 1
            if cpu is not None:
                cost["cpu"] += cpu - cpu_started
        self.current = (now, cpu, name) if name else None

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._mark(task.get_name())

    def v2_playbook_on_handler_task_start(self, task):
        self._mark("handler: " + task.get_name())

    def v2_playbook_on_play_start(self, play):
        self._mark("play: " + play.get_name())

    def v2_playbook_on_stats(self, stats):
        self._mark(None)
        path = os.environ.get("GPUFLEET_TASK_COST")
        if path:
            with open(path, "w") as handle:
                json.dump(self.costs, handle, indent=1, sort_keys=True)
