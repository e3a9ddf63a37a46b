"""A pymesos framework (checkpointing) that launches 2 tasks, "gated-1" and "gated-2", under
pymesos_gated_executor.py and prints each status update as "<task name> <state> <reason>".
Exits 0 once both finished, 1 if one ends in another state, 2 after 120 s.

Usage: pymesos_gated_framework.py MASTER GATE_DIR EXECUTOR_PID_FILE
"""
import logging
import os
import sys
import threading
import uuid

from addict import Dict
from pymesos import MesosSchedulerDriver, Scheduler

TERMINAL = {"TASK_FINISHED", "TASK_FAILED", "TASK_KILLED", "TASK_ERROR",
            "TASK_LOST", "TASK_DROPPED", "TASK_GONE"}
HERE = os.path.dirname(os.path.abspath(__file__))


def resources(cpus, mem):
    return [
        dict(name="cpus", type="SCALAR", scalar={"value": cpus}),
        dict(name="mem", type="SCALAR", scalar={"value": mem}),
    ]


class Launcher(Scheduler):
    def __init__(self, gate_dir, pid_file):
        self.executor = Dict()
        self.executor.type = "CUSTOM"
        self.executor.executor_id.value = "gated-" + uuid.uuid4().hex[:6]
        self.executor.command.value = "%s %s" % (
            sys.executable, os.path.join(HERE, "pymesos_gated_executor.py"))
        self.executor.command.environment.variables = [
            dict(name="GATE_DIR", value=gate_dir),
            dict(name="EXECUTOR_PID_FILE", value=pid_file),
        ]
        self.executor.resources = resources(0.1, 64)
        self.launched = False
        self.names = {}
        self.states = {}
        self.done = threading.Event()
        self.lock = threading.Lock()

    def resourceOffers(self, driver, offers):
        for offer in offers:
            with self.lock:
                if self.launched:
                    driver.declineOffer(offer.id)
                    continue
                self.launched = True
            tasks = []
            for i in (1, 2):
                task = Dict()
                task.task_id.value = "gated-%d-%s" % (i, uuid.uuid4().hex[:6])
                task.agent_id.value = offer.agent_id.value
                task.name = "gated-%d" % i
                task.executor = self.executor
                task.resources = resources(0.1, 32)
                self.names[task.task_id.value] = task.name
                tasks.append(task)
            driver.launchTasks(offer.id, tasks)

    def statusUpdate(self, driver, update):
        name = self.names.get(update.task_id.value, update.task_id.value)
        print("%s %s %s" % (name, update.state, update.reason or "-"), flush=True)
        with self.lock:
            self.states[name] = update.state
            if len([s for s in self.states.values() if s in TERMINAL]) == 2:
                self.done.set()


def main():
    logging.basicConfig(level=logging.WARNING)
    master, gate_dir, pid_file = sys.argv[1], sys.argv[2], sys.argv[3]
    framework = Dict()
    framework.user = "root"
    framework.name = "pymesos-gated"
    framework.hostname = "localhost"
    framework.checkpoint = True
    scheduler = Launcher(gate_dir, pid_file)
    driver = MesosSchedulerDriver(scheduler, framework, master, use_addict=True)
    driver.start()
    ok = scheduler.done.wait(120)
    driver.stop()
    driver.join()
    if not ok:
        print("timed out: %s" % scheduler.states, flush=True)
        return 2
    if any(s != "TASK_FINISHED" for s in scheduler.states.values()):
        print("not finished: %s" % scheduler.states, flush=True)
        return 1
    print("both finished", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
