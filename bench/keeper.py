"""The keeper bench: what containers that outlive the agent cost, with the static x86_64
agent and 100 static `sleep` pods (containers outlive the agent: the default).

- the keeper's RSS (VmRSS and RssAnon) holding no container and holding 100: the memory
  each container costs in the keeper, against a full process per container for conmon;
- adoption: kill -9 the agent, start it again, time until every pod's container is
  running again (the same processes, adopted), beside the restore figure of bench/run
  (containersOutliveAgent false: every pod spawned again).
"""
import os
import shutil
import signal
import statistics
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STATIC = os.path.join(ROOT, "build", "x86_64", "kinglet")
POD_COUNT = 100
RUNS = 3


def field_kib(pid, field):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} for pid {pid}")


def make_board(pods):
    board = tempfile.mkdtemp(prefix="kinglet-bench-keeper-", dir=os.path.join(ROOT, "build"))
    os.makedirs(os.path.join(board, "manifests"))
    with open(os.path.join(board, "kinglet.yaml"), "w") as f:
        f.write("node: {name: bench}\npaths: {cacheFile: state/cache.kc, staticPods: manifests, logs: logs, socket: state/k.sock}\n")
    for index in range(pods):
        with open(os.path.join(board, "manifests", f"p{index}.yaml"), "w") as f:
            f.write(f"metadata: {{name: p{index}}}\nspec: {{containers: [{{name: c, image: /bin/sleep, args: ['100000']}}]}}\n")
    return board


def running_pids(board):
    """The containers' pids once every pod runs, else None."""
    done = subprocess.run([STATIC, "status", "-o", "json", "--socket", os.path.join(board, "state", "k.sock")],
                          capture_output=True, timeout=10)
    if done.returncode != 0:
        return None
    import json
    pods = json.loads(done.stdout)["pods"]
    pids = []
    for pod in pods:
        for container in pod["status"]["containerStatuses"]:
            if "running" not in container["state"]:
                return None
            pids.append(container.get("containerID", ""))
    return pids


def wait_running(board, pods, seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        pids = running_pids(board)
        if pids is not None and len(pids) == pods:
            return pids
        time.sleep(0.05)
    raise RuntimeError("the pods did not all run")


def keeper_pid(board, seconds=20):
    path = os.path.join(board, "state", "keeper.pid")
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with open(path) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            time.sleep(0.05)
    raise RuntimeError("no keeper started")


def start(board):
    return subprocess.Popen([STATIC, "run", "--config", os.path.join(board, "kinglet.yaml")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop_keeper(board):
    subprocess.run([STATIC, "keeper", "--stop", "--state", os.path.join(board, "state")],
                   capture_output=True, timeout=60)


def one_run(pods):
    """(keeper VmRSS, keeper RssAnon, ms from the restarted agent's exec until every pod
    runs again, whether every container was adopted) for `pods` pods."""
    board = make_board(pods)
    agent = None
    try:
        agent = start(board)
        before = wait_running(board, pods)
        keeper = keeper_pid(board)
        time.sleep(1.0)
        rss, anon = field_kib(keeper, "VmRSS"), field_kib(keeper, "RssAnon")
        agent.kill()
        agent.wait()
        began = time.monotonic()
        agent = start(board)
        after = wait_running(board, pods)
        adopt_ms = (time.monotonic() - began) * 1000
        return rss, anon, adopt_ms, sorted(before) == sorted(after)
    finally:
        if agent is not None:
            agent.send_signal(signal.SIGTERM)
            try:
                agent.wait(timeout=30)
            except subprocess.TimeoutExpired:
                agent.kill()
                agent.wait()
        stop_keeper(board)
        shutil.rmtree(board, ignore_errors=True)


def keeper_bench(log):
    if not os.path.exists(STATIC):
        log("bench: keeper skipped: build/x86_64/kinglet is missing")
        return {}
    empty = [one_run(1) for _ in range(RUNS)]
    full = [one_run(POD_COUNT) for _ in range(RUNS)]
    log(f"bench: keeper RSS with 1 container {[r[0] for r in empty]} KiB (anon {[r[1] for r in empty]}), "
        f"with {POD_COUNT} {[r[0] for r in full]} KiB (anon {[r[1] for r in full]}); "
        f"adopt {POD_COUNT} after kill -9: {', '.join(f'{r[2]:.0f}' for r in full)} ms; all adopted: {all(r[3] for r in full)}")
    rss_one = statistics.median(r[0] for r in empty)
    rss_full = statistics.median(r[0] for r in full)
    anon_one = statistics.median(r[1] for r in empty)
    anon_full = statistics.median(r[1] for r in full)
    per = (anon_full - anon_one) / (POD_COUNT - 1)
    return {
        "keeper_rss_kib.x86_64_static_1_container": {"value": rss_one, "unit": "KiB"},
        "keeper_rss_kib.x86_64_static_100_containers": {"value": rss_full, "unit": "KiB"},
        "keeper_rss_anon_kib.x86_64_static_1_container": {"value": anon_one, "unit": "KiB"},
        "keeper_rss_anon_kib.x86_64_static_100_containers": {"value": anon_full, "unit": "KiB"},
        "keeper_anon_kib_per_container.x86_64_static": {"value": round(per, 2), "unit": "KiB"},
        "adopt_after_kill9_to_all_running_ms.x86_64_static_100_pods": {
            "value": round(statistics.median(r[2] for r in full), 1), "unit": "ms"},
        "adopt_after_kill9_same_processes.x86_64_static_100_pods": {"value": all(r[3] for r in full), "unit": "bool"},
    }


if __name__ == "__main__":
    for key, figure in keeper_bench(print).items():
        print(key, figure)
