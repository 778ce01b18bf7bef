"""The supervisor: readiness, early exits quoted from the log, deaths noticed, nothing left over."""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest

from harness.errors import InterruptedRunError, ProvisionError, WaitTimeoutError
from harness.launchers.base import ProcessSpec, TaskSpec, free_port
from harness.supervisor import Supervisor, stop_recorded

FAKE = str(Path(__file__).parent / "helpers" / "fake_server.py")


def spec(name: str, *args: str, port: int | None = None, timeout_s: float = 20) -> ProcessSpec:
    port = port or free_port()
    return ProcessSpec(name=name, argv=[sys.executable, *args], timeout_s=timeout_s,
                       health_url=f"http://127.0.0.1:{port}/health")


def server(name: str, children: int = 0) -> ProcessSpec:
    port = free_port()
    return spec(name, FAKE, str(port), str(children), port=port)


def tree(pid: int) -> list[psutil.Process]:
    parent = psutil.Process(pid)
    return [parent, *parent.children(recursive=True)]


@pytest.fixture
def supervisor(tmp_path: Path):  # type: ignore[no-untyped-def]
    deaths: list[str] = []
    instance = Supervisor(tmp_path / "logs", tmp_path / "pids.json", on_death=deaths.append)
    instance.deaths = deaths  # type: ignore[attr-defined]
    yield instance
    instance.stop_all()


def test_ready_then_stopped_with_children(supervisor: Supervisor, tmp_path: Path) -> None:
    running = supervisor.start(server("web", children=2))
    assert running.executor.process is not None
    processes = tree(running.executor.process.pid)
    assert len(processes) == 3
    assert "serving on" in (tmp_path / "logs" / "web.log").read_text(encoding="utf-8")
    assert (tmp_path / "pids.json").is_file()
    supervisor.stop_all()
    gone, alive = psutil.wait_procs(processes, timeout=5)
    assert not alive, f"left running: {alive}"
    assert not (tmp_path / "pids.json").exists()


def test_early_exit_quotes_the_log(supervisor: Supervisor) -> None:
    crash = spec("crashy", "-c", "import sys; print('config: no such database'); sys.exit(3)")
    with pytest.raises(ProvisionError) as caught:
        supervisor.start(crash)
    message = str(caught.value)
    assert message.startswith("crashy exited with code 3 before it was ready")
    assert "config: no such database" in message


def test_clean_exit_before_ready_is_a_failure_too(supervisor: Supervisor) -> None:
    with pytest.raises(ProvisionError, match="quitter exited with code 0"):
        supervisor.start(spec("quitter", "-c", "print('bye')"))


def test_not_ready_in_time(supervisor: Supervisor) -> None:
    sleeper = spec("sleepy", "-c", "import time; print('waiting'); time.sleep(60)", timeout_s=1.5)
    started = time.monotonic()
    with pytest.raises(WaitTimeoutError, match=r"sleepy not ready after 1.5s"):
        supervisor.start(sleeper)
    assert time.monotonic() - started < 10


def test_death_after_ready_is_reported_within_seconds(supervisor: Supervisor) -> None:
    running = supervisor.start(server("victim"))
    supervisor.watch(interval_s=0.2)
    assert running.executor.process is not None
    os.kill(running.executor.process.pid, 9)
    deadline = time.monotonic() + 5
    while supervisor.failure is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert supervisor.failure is not None
    assert supervisor.failure.startswith("victim died (exit code -9)")
    assert supervisor.deaths == [supervisor.failure]  # type: ignore[attr-defined]


@pytest.mark.parametrize("how", ["stop", "restart"])
def test_a_reaped_servers_reused_pid_is_not_signalled(supervisor: Supervisor, how: str) -> None:
    """A server that died and was reaped leaves its pid free; by the time it is stopped (or
    restarted) that pid can lead another process's session, here a bystander's, which must
    not get the stop signal (the Prefect worker's is SIGKILL).
    """
    import dataclasses
    import signal
    import subprocess

    running = supervisor.start(dataclasses.replace(server("worker"), stop_signal=signal.SIGKILL))
    process = running.executor.process
    assert process is not None
    os.kill(process.pid, signal.SIGKILL)
    process.wait()  # reaped, as the death watch's poll does
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"],
                                 start_new_session=True)
    try:
        process.pid = bystander.pid  # the kernel handed the freed pid to the bystander
        if how == "stop":
            assert supervisor.stop_all() == []
        else:
            supervisor.restart("worker")  # stops the dead one first, then starts it again
            assert running.executor.process is not None
            assert running.executor.process.pid != bystander.pid
        time.sleep(0.5)
        assert bystander.poll() is None, f"the bystander got signal {-bystander.returncode}"
    finally:
        bystander.kill()
        bystander.wait()


def test_a_reaped_leaders_remaining_group_is_still_stopped(supervisor: Supervisor) -> None:
    """When the leader is gone but its children hold its group, the pid cannot be reused:
    the children are the server's and are stopped with it.
    """
    running = supervisor.start(server("web", children=2))
    process = running.executor.process
    assert process is not None
    children = psutil.Process(process.pid).children(recursive=True)
    assert len(children) == 2
    os.kill(process.pid, 9)
    process.wait()
    assert supervisor.stop_all() == []
    gone, alive = psutil.wait_procs(children, timeout=5)
    assert not alive, f"left running: {alive}"


def test_no_start_after_shutdown(supervisor: Supervisor) -> None:
    supervisor.stop_all()
    with pytest.raises(InterruptedRunError):
        supervisor.start(server("late"))


def test_stop_recorded_stops_a_kept_stack(tmp_path: Path) -> None:
    kept = Supervisor(tmp_path / "logs", tmp_path / "pids.json", on_death=lambda _: None)
    running = kept.start(server("kept", children=1))
    assert running.executor.process is not None
    processes = tree(running.executor.process.pid)
    assert stop_recorded(tmp_path / "pids.json") == ["kept"]
    gone, alive = psutil.wait_procs(processes, timeout=5)
    assert not alive
    kept.stop_all()


def test_port_already_taken_is_a_provision_error(supervisor: Supervisor) -> None:
    first = server("first")
    supervisor.start(first)
    squatter = ProcessSpec(name="squatter", argv=[sys.executable, "-c", "print(1)"],
                           health_url=first.health_url)
    with pytest.raises(ProvisionError, match="squatter: .* already answers before it started"):
        supervisor.start(squatter)


def task(name: str, code: str, timeout_s: float = 20) -> TaskSpec:
    return TaskSpec(name=name, argv=[sys.executable, "-c", code], timeout_s=timeout_s)


def test_task_runs_to_its_end(supervisor: Supervisor, tmp_path: Path) -> None:
    out = tmp_path / "out"
    supervisor.run_task(task("init", f"open({str(out)!r}, 'w').write('done'); print('made')"))
    assert out.read_text(encoding="utf-8") == "done"
    assert "made" in (tmp_path / "logs" / "init.log").read_text(encoding="utf-8")


def test_failed_task_quotes_its_log(supervisor: Supervisor) -> None:
    with pytest.raises(ProvisionError, match=r"initdb failed with exit code 4") as caught:
        supervisor.run_task(task("initdb", "import sys; print('bad locale'); sys.exit(4)"))
    assert "bad locale" in str(caught.value)


def test_task_over_its_time_is_killed(supervisor: Supervisor, tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    code = f"import os, time; open({str(pid_file)!r}, 'w').write(str(os.getpid())); time.sleep(60)"
    with pytest.raises(WaitTimeoutError, match="slow did not finish within 1s"):
        supervisor.run_task(task("slow", code, timeout_s=1))
    assert not psutil.pid_exists(int(pid_file.read_text(encoding="utf-8")))


def test_stopping_kills_a_running_task_and_its_children(supervisor: Supervisor,
                                                        tmp_path: Path) -> None:
    # The task forks a child, as initdb runs postgres and uv runs its resolver.
    pids = tmp_path / "pids"
    code = ("import os, subprocess, sys, time\n"
            "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
            f"open({str(pids)!r}, 'w').write(f'{{os.getpid()}} {{child.pid}}')\n"
            "time.sleep(60)\n")
    errors: list[BaseException] = []

    def run() -> None:
        try:
            supervisor.run_task(task("build", code, timeout_s=60))
        except BaseException as exc:  # handed to the test thread
            errors.append(exc)

    worker = threading.Thread(target=run)
    worker.start()
    deadline = time.monotonic() + 20
    while not pids.exists() or len(pids.read_text(encoding="utf-8").split()) < 2:
        assert time.monotonic() < deadline, "the task never started"
        time.sleep(0.05)
    processes = [psutil.Process(int(p)) for p in pids.read_text(encoding="utf-8").split()]
    supervisor.stop_all()
    _, alive = psutil.wait_procs(processes, timeout=5)
    assert not alive, f"left running: {alive}"
    worker.join(timeout=10)
    assert len(errors) == 1
    assert isinstance(errors[0], InterruptedRunError)
    with pytest.raises(InterruptedRunError, match="not started"):
        supervisor.run_task(task("late", "pass"))


# A server that, on SIGTERM, notes when it was asked to stop and when it is gone: a stop
# that takes a moment, as a server's shutdown does.
SLOW_STOP = '''
import http.server, pathlib, signal, sys, time
name, port, journal = sys.argv[1], int(sys.argv[2]), pathlib.Path(sys.argv[3])

def note(event):
    with journal.open("a") as handle:
        handle.write(f"{name} {event}\\n")

def stop(*_):
    note("stopping")
    time.sleep(0.8)
    note("gone")
    sys.exit(0)

class Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.end_headers()

signal.signal(signal.SIGTERM, stop)
http.server.HTTPServer(("127.0.0.1", port), Health).serve_forever()
'''


def test_servers_stop_after_their_users_and_independent_ones_side_by_side(
    supervisor: Supervisor, tmp_path: Path
) -> None:
    journal = tmp_path / "journal"
    for name in ("database", "api", "worker"):
        port = free_port()
        supervisor.start(spec(name, "-c", SLOW_STOP, name, str(port), str(journal), port=port))
    problems = supervisor.stop_all({"database": ["api", "worker"], "api": [], "worker": []})
    assert problems == []
    events = journal.read_text(encoding="utf-8").split("\n")[:-1]
    position = {event: index for index, event in enumerate(events)}
    # Both users are asked to stop before either is gone: they stop side by side.
    assert max(position["api stopping"], position["worker stopping"]) < \
        min(position["api gone"], position["worker gone"]), events
    # The database they use is asked only once both are gone.
    assert position["database stopping"] > max(position["api gone"], position["worker gone"])


def test_without_users_the_last_started_stops_first(supervisor: Supervisor,
                                                     tmp_path: Path) -> None:
    journal = tmp_path / "journal"
    for name in ("first", "second"):
        port = free_port()
        supervisor.start(spec(name, "-c", SLOW_STOP, name, str(port), str(journal), port=port))
    supervisor.stop_all()
    assert journal.read_text(encoding="utf-8").split() == [
        "second", "stopping", "second", "gone", "first", "stopping", "first", "gone"]
