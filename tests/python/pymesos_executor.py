"""A Mesos executor written with pymesos' MesosExecutorDriver (the v1 HTTP executor API),
unchanged. Each launched task reports TASK_RUNNING, then TASK_FINISHED carrying data that
echoes the task's own data, and sends a framework message; a framework message is answered
with "pong: " and the message. With $EXECUTOR_PID_FILE set it
writes its pid there first, so a test can check it is gone after SHUTDOWN.
"""
import logging
import os
import threading

from addict import Dict
from pymesos import Executor, MesosExecutorDriver, decode_data, encode_data


class EchoExecutor(Executor):
    def launchTask(self, driver, task):
        def run():
            running = Dict()
            running.task_id.value = task.task_id.value
            running.state = "TASK_RUNNING"
            driver.sendStatusUpdate(running)

            given = decode_data(task.data).decode("utf-8") if task.data else ""
            finished = Dict()
            finished.task_id.value = task.task_id.value
            finished.state = "TASK_FINISHED"
            finished.message = "finished by the pymesos executor"
            finished.data = encode_data(("done: " + given).encode("utf-8"))
            driver.sendStatusUpdate(finished)
            driver.sendFrameworkMessage(encode_data(b"hello from the executor"))

        threading.Thread(target=run, daemon=True).start()

    def frameworkMessage(self, driver, message):
        driver.sendFrameworkMessage(encode_data(b"pong: " + decode_data(message)))

    def killTask(self, driver, task_id):
        killed = Dict()
        killed.task_id.value = task_id.value
        killed.state = "TASK_KILLED"
        driver.sendStatusUpdate(killed)


def main():
    logging.basicConfig(level=logging.INFO)
    pid_file = os.environ.get("EXECUTOR_PID_FILE")
    if pid_file:
        with open(pid_file, "w") as f:
            f.write("%d\n" % os.getpid())
    driver = MesosExecutorDriver(EchoExecutor(), use_addict=True)
    driver.run()


if __name__ == "__main__":
    main()
