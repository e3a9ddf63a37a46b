"""A pymesos executor (MesosExecutorDriver, unchanged) whose tasks report TASK_RUNNING, then
wait for a gate file ($GATE_DIR/<task name>) before reporting TASK_FINISHED. It writes its
pid to $EXECUTOR_PID_FILE. A test uses it to restart the agent while tasks run.
"""
import logging
import os
import threading
import time

from addict import Dict
from pymesos import Executor, MesosExecutorDriver


def report(driver, task_id, state):
    status = Dict()
    status.task_id.value = task_id
    status.state = state
    # The agent may be down: try again until it takes the update.
    for _ in range(120):
        try:
            driver.sendStatusUpdate(status)
            return
        except Exception as e:  # noqa: BLE001 - the driver raises plain exceptions
            logging.warning("update %s %s not sent: %s", task_id, state, e)
            time.sleep(0.5)


class GatedExecutor(Executor):
    def launchTask(self, driver, task):
        def run():
            report(driver, task.task_id.value, "TASK_RUNNING")
            gate = os.path.join(os.environ["GATE_DIR"], task.name)
            while not os.path.exists(gate):
                time.sleep(0.1)
            report(driver, task.task_id.value, "TASK_FINISHED")

        threading.Thread(target=run, daemon=True).start()

    def killTask(self, driver, task_id):
        report(driver, task_id.value, "TASK_KILLED")


def main():
    logging.basicConfig(level=logging.INFO)
    with open(os.environ["EXECUTOR_PID_FILE"], "w") as f:
        f.write("%d\n" % os.getpid())
    driver = MesosExecutorDriver(GatedExecutor(), use_addict=True)
    driver.run()


if __name__ == "__main__":
    main()
