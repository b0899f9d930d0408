"""fork_map: results in the order of the tasks, shared inputs inherited, jobs that nest keep their own inputs."""

import os

from crmlab.models.parallel import fork_map


def _item(shared, task):
    return shared["values"][task], os.getpid()


def _nested(shared, task):
    # A job inside a worker of another job: each reads its own shared inputs.
    inner = fork_map(lambda inputs, i: inputs[i] * task, [1, 0], shared["inner"], workers=1)
    return shared["name"], inner


def test_results_come_back_in_the_order_of_the_tasks_from_several_processes():
    shared = {"values": list(range(100, 110))}
    tasks = [9, 0, 5, 3, 7, 1]
    results = fork_map(_item, tasks, shared, workers=2)
    assert [value for value, _ in results] == [109, 100, 105, 103, 107, 101]
    assert os.getpid() not in {pid for _, pid in results}  # the work ran in forked processes


def test_one_worker_runs_here():
    results = fork_map(_item, [2, 1], {"values": [5, 6, 7]}, workers=1)
    assert results == [(7, os.getpid()), (6, os.getpid())]


def test_jobs_inside_workers_keep_their_own_shared_inputs():
    results = fork_map(_nested, [2, 3], {"name": "outer", "inner": [10, 20]}, workers=2)
    assert results == [("outer", [40, 20]), ("outer", [60, 30])]
