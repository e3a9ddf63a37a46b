"""A pymesos framework that runs its tasks under a custom executor written with pymesos
(pymesos_executor.py), all unchanged Mesos v1 clients.

Usage: pymesos_executor_framework.py MASTER EXECUTOR_PID_FILE
Launches 2 tasks with one ExecutorInfo, prints each status update (with its data) and each
framework message, pings the executor with a framework message, and exits 0 once both tasks
finished and the executor answered the ping (then tears the framework down, which shuts the executor down), 1 if
one ends in another state, 2 on timeout.
"""
import logging
import os
import sys
import threading
import uuid

from addict import Dict
from pymesos import MesosSchedulerDriver, Scheduler, decode_data, encode_data

TERMINAL = {"TASK_FINISHED", "TASK_FAILED", "TASK_KILLED", "TASK_ERROR",
            "TASK_LOST", "TASK_DROPPED", "TASK_GONE"}
TASKS = 2
HERE = os.path.dirname(os.path.abspath(__file__))


def scalar(offer, name):
    return sum(r.scalar.value for r in offer.resources if r.name == name)


def resources(cpus, mem):
    return [
        dict(name="cpus", type="SCALAR", scalar={"value": cpus}),
        dict(name="mem", type="SCALAR", scalar={"value": mem}),
    ]


class Launcher(Scheduler):
    def __init__(self, pid_file):
        self.executor = Dict()
        self.executor.type = "CUSTOM"
        self.executor.executor_id.value = "pymesos-executor-" + uuid.uuid4().hex[:6]
        self.executor.name = "pymesos executor"
        self.executor.command.value = "%s %s" % (sys.executable,
                                                os.path.join(HERE, "pymesos_executor.py"))
        self.executor.command.environment.variables = [
            dict(name="EXECUTOR_PID_FILE", value=pid_file),
        ]
        self.executor.resources = resources(0.1, 64)
        self.launched = False
        self.pinged = False
        self.ponged = threading.Event()
        self.states = {}
        self.done = threading.Event()
        self.lock = threading.Lock()

    def resourceOffers(self, driver, offers):
        for offer in offers:
            with self.lock:
                enough = scalar(offer, "cpus") >= 0.2 and scalar(offer, "mem") >= 128
                if self.launched or not enough:
                    driver.declineOffer(offer.id)
                    continue
                self.launched = True
            tasks = []
            for i in range(1, TASKS + 1):
                task = Dict()
                task.task_id.value = "exec-task-%d-%s" % (i, uuid.uuid4().hex[:6])
                task.agent_id.value = offer.agent_id.value
                task.name = "exec-task-%d" % i
                task.executor = self.executor
                task.data = encode_data(("payload %d" % i).encode("utf-8"))
                task.resources = resources(0.1, 64)
                tasks.append(task)
            driver.launchTasks(offer.id, tasks)

    def statusUpdate(self, driver, update):
        data = decode_data(update.data).decode("utf-8") if update.data else ""
        print("%s %s data=%r source=%s executor=%s" % (
            update.task_id.value, update.state, data, update.source,
            update.executor_id.value), flush=True)
        with self.lock:
            ping = update.state == "TASK_RUNNING" and not self.pinged
            self.pinged = self.pinged or ping
        if ping:
            driver.sendFrameworkMessage(update.executor_id, update.agent_id,
                                        encode_data(b"ping"))
        with self.lock:
            self.states[update.task_id.value] = update.state
            ended = [s for s in self.states.values() if s in TERMINAL]
            if len(ended) == TASKS:
                self.done.set()

    def frameworkMessage(self, driver, executor_id, agent_id, data):
        text = decode_data(data).decode("utf-8")
        print("message from %s: %s" % (executor_id.value, text), flush=True)
        if text.startswith("pong: "):
            self.ponged.set()


def main():
    logging.basicConfig(level=logging.WARNING)
    master, pid_file = sys.argv[1], sys.argv[2]
    framework = Dict()
    framework.user = "root"
    framework.name = "pymesos-executor-compat"
    framework.hostname = "localhost"
    scheduler = Launcher(pid_file)
    driver = MesosSchedulerDriver(scheduler, framework, master, use_addict=True)
    driver.start()
    ok = scheduler.done.wait(60) and scheduler.ponged.wait(30)
    driver.stop()  # not a failover: tears the framework down
    driver.join()
    if not ok:
        print("timed out: %s, pong: %s" % (scheduler.states, scheduler.ponged.is_set()),
              flush=True)
        return 2
    failed = {t: s for t, s in scheduler.states.items() if s != "TASK_FINISHED"}
    if failed:
        print("not finished: %s" % failed, flush=True)
        return 1
    print("all %d tasks finished" % TASKS, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
