"""A framework written with pymesos, a third-party Mesos v1 HTTP client, unchanged.

Usage: pymesos_framework.py MASTER TASKS
Launches TASKS shell tasks through offers and exits 0 once all have finished, 1 if any ends
in another terminal state, 2 on timeout.
"""
import logging
import sys
import threading
import uuid

from addict import Dict
from pymesos import MesosSchedulerDriver, Scheduler

TERMINAL = {"TASK_FINISHED", "TASK_FAILED", "TASK_KILLED", "TASK_ERROR",
            "TASK_LOST", "TASK_DROPPED", "TASK_GONE"}


def scalar(offer, name):
    return sum(r.scalar.value for r in offer.resources if r.name == name)


class Launcher(Scheduler):
    def __init__(self, total):
        self.total = total
        self.launched = 0
        self.states = {}
        self.done = threading.Event()
        self.lock = threading.Lock()

    def resourceOffers(self, driver, offers):
        for offer in offers:
            cpus, mem = scalar(offer, "cpus"), scalar(offer, "mem")
            tasks = []
            with self.lock:
                while self.launched < self.total and cpus >= 0.1 and mem >= 32:
                    self.launched += 1
                    task = Dict()
                    task.task_id.value = "pymesos-%d-%s" % (self.launched, uuid.uuid4().hex[:6])
                    task.agent_id.value = offer.agent_id.value
                    task.name = "pymesos-%d" % self.launched
                    task.command.value = "echo hello from pymesos"
                    task.resources = [
                        dict(name="cpus", type="SCALAR", scalar={"value": 0.1}),
                        dict(name="mem", type="SCALAR", scalar={"value": 32}),
                    ]
                    tasks.append(task)
                    cpus -= 0.1
                    mem -= 32
            if tasks:
                driver.launchTasks(offer.id, tasks)
            else:
                driver.declineOffer(offer.id)

    def statusUpdate(self, driver, update):
        print("%s %s" % (update.task_id.value, update.state), flush=True)
        with self.lock:
            self.states[update.task_id.value] = update.state
            finished = [s for s in self.states.values() if s in TERMINAL]
            if len(finished) == self.total:
                self.done.set()


def main():
    logging.basicConfig(level=logging.WARNING)
    master, total = sys.argv[1], int(sys.argv[2])
    # Optional: a principal and secret, sent as HTTP Basic (pymesos' own support).
    principal, secret = (sys.argv[3], sys.argv[4]) if len(sys.argv) > 4 else (None, None)
    framework = Dict()
    framework.user = "root"
    framework.name = "pymesos-compat"
    framework.hostname = "localhost"
    scheduler = Launcher(total)
    driver = MesosSchedulerDriver(
        scheduler, framework, master, use_addict=True, principal=principal, secret=secret
    )
    driver.start()
    ok = scheduler.done.wait(60)
    driver.stop()
    if not ok:
        print("timed out: %s" % scheduler.states, flush=True)
        return 2
    failed = {t: s for t, s in scheduler.states.items() if s != "TASK_FINISHED"}
    if failed:
        print("not finished: %s" % failed, flush=True)
        return 1
    print("all %d tasks finished" % total, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
