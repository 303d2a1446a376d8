#!/usr/bin/env python3
"""The scale benchmark of `make bench`: N simulated boards (`kinglet-sim nodes`, the agent's
own link code, N clients on one event loop) against one kinglet-relay, one mosquitto and
the test API server (kinglet-testapi on a real etcd), all on this machine.

For each N it reports:
- pod delivery latency: from just before the API create of a pod bound to a simulated node
  to the moment a pod watch opened before the creates delivers it Running (p50, p99, max);
- the relay's RSS and CPU, per connected node, over a steady window;
- the worst Lease age seen in kube-node-lease (every lease must be renewed before its
  40 s duration runs out), and the median age in the last sample;
- the API's write rate (etcd revisions per second) over the steady window;
- the CPU share of every process (relay, test API, etcd, mosquitto, simulator) over the
  steady window, and the machine's idle share, to show what limits the next N.

Run: python3 bench/scale.py [N ...]  (default 1 100 1000 10000). Expects release builds of
kinglet-sim, kinglet-relay and kinglet-testapi in .build/release. Every process it starts
is stopped and reaped; every wait is bounded.

Environment: BENCH_SCALE_STEADY (seconds of the steady window, default 45),
BENCH_SCALE_PODS (pods created per N, default 100), BENCH_SCALE_POD_RATE (creates per
second, default 50), BENCH_SCALE_CONNECT_RATE (simulator connects per second, default 500),
BENCH_SCALE_RELAY_ARGS (extra `kinglet-relay run` arguments, for experiments).
A simulator process holds at most (hard open-files limit - 64) / 3 boards (libmosquitto
keeps a socket pair per client besides its connection), so a larger N is split over
several `kinglet-sim nodes --first K` processes, each one loop and one thread.
"""
import datetime
import json
import os
import random
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RELEASE = os.path.join(ROOT, ".build", "release")
TOKEN = "kinglet-bench"
STEADY_SECONDS = float(os.environ.get("BENCH_SCALE_STEADY", "45"))
POD_COUNT = int(os.environ.get("BENCH_SCALE_PODS", "100"))
POD_RATE = float(os.environ.get("BENCH_SCALE_POD_RATE", "50"))
CONNECT_RATE = float(os.environ.get("BENCH_SCALE_CONNECT_RATE", "500"))
# Extra `kinglet-relay run` arguments, for experiments (e.g. "--write-concurrency 128").
RELAY_ARGS = os.environ.get("BENCH_SCALE_RELAY_ARGS", "").split()
PREFIX = "sim-"
# The hard limit is the most a process may raise its open-files limit to.
HARD_FILES = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
BOARDS_PER_SIM = (HARD_FILES - 64) // 3 if HARD_FILES != resource.RLIM_INFINITY else 100000


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, seconds, what, interval=0.2):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise RuntimeError(f"timed out after {seconds} s waiting for {what}")


def wait_port(port, seconds, what):
    def accepts():
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            return False
    wait_for(accepts, seconds, what)


class Processes:
    """Starts processes with output to log files; stops them all (SIGTERM, then SIGKILL)."""

    def __init__(self, folder):
        self.folder = folder
        self.children = []

    def start(self, name, command, **kwargs):
        log = open(os.path.join(self.folder, name + ".log"), "wb")
        child = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                 cwd=ROOT, **kwargs)
        self.children.append((name, child))
        return child

    def log(self, name):
        with open(os.path.join(self.folder, name + ".log"), "rb") as f:
            return f.read().decode(errors="replace")

    def stop_all(self):
        for name, child in reversed(self.children):
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for name, child in reversed(self.children):
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()


class API:
    def __init__(self, url):
        self.url = url

    def request(self, method, path, body=None, content_type="application/json"):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("Authorization", "Bearer " + TOKEN)
        if data is not None:
            req.add_header("Content-Type", content_type)
        with urllib.request.urlopen(req, timeout=30) as response:
            return json.loads(response.read())

    def get(self, path):
        return self.request("GET", path)


def ready_nodes(api, prefix):
    count = 0
    for node in api.get("/api/v1/nodes").get("items", []):
        if not node["metadata"]["name"].startswith(prefix):
            continue
        for condition in node.get("status", {}).get("conditions", []):
            if condition.get("type") == "Ready" and condition.get("status") == "True":
                count += 1
    return count


def lease_ages(api, prefix):
    """Seconds since each simulated node's lease was last renewed (micro-second renew
    times read at full precision), measured after the list returned."""
    items = api.get("/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases").get("items", [])
    now = datetime.datetime.now(datetime.timezone.utc).timestamp()
    ages = []
    for lease in items:
        if not lease["metadata"]["name"].startswith(prefix):
            continue
        renew = lease.get("spec", {}).get("renewTime")
        if not renew:
            continue
        stamp = datetime.datetime.strptime(renew.rstrip("Z").split(".")[0], "%Y-%m-%dT%H:%M:%S")
        fraction = renew.rstrip("Z").split(".")[1] if "." in renew else "0"
        seconds = stamp.replace(tzinfo=datetime.timezone.utc).timestamp() + float("0." + fraction)
        ages.append(now - seconds)
    return ages


def etcd_revision(port):
    """etcd's current revision: one per write, so its rate is the API's write rate."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}/v3/maintenance/status", data=b"{}", method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:
        return int(json.loads(response.read())["header"]["revision"])


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def percentile(values, fraction):
    ordered = sorted(values)
    if not ordered:
        return None
    index = min(len(ordered) - 1, max(0, int(round(fraction * (len(ordered) - 1)))))
    return ordered[index]




class PodWatch:
    """Watches the pods of `default` from a resourceVersion taken before any create, in a
    thread, and notes the monotonic time at which each pod is first seen Running (the
    moment the API shows it, not when a poll happens to look). Reconnects if the stream ends."""

    def __init__(self, api, resource_version):
        self.api = api
        self.version = resource_version
        self.running = {}
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.error = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.done.is_set():
            url = (f"{self.api.url}/api/v1/namespaces/default/pods?watch=1&resourceVersion={self.version}"
                   "&allowWatchBookmarks=true&timeoutSeconds=600")
            request = urllib.request.Request(url)
            request.add_header("Authorization", "Bearer " + TOKEN)
            try:
                with urllib.request.urlopen(request, timeout=30) as stream:
                    for line in stream:
                        if self.done.is_set():
                            return
                        seen = time.monotonic()
                        event = json.loads(line)
                        pod = event.get("object", {})
                        version = pod.get("metadata", {}).get("resourceVersion")
                        if version:
                            self.version = version
                        if event.get("type") in ("ADDED", "MODIFIED") and pod.get("status", {}).get("phase") == "Running":
                            with self.lock:
                                self.running.setdefault(pod["metadata"]["name"], seen)
            except Exception as error:  # a read timeout between events is normal: watch again
                self.error = error
                time.sleep(0.2)

    def running_at(self):
        with self.lock:
            return dict(self.running)

    def stop(self):
        self.done.set()


def machine_cpu():
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    with open("/proc/stat") as f:
        fields = [int(value) for value in f.readline().split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


def figure(value, unit):
    return {"value": value, "unit": unit}


def sim_commands(count, broker_port):
    """One `kinglet-sim nodes` per BOARDS_PER_SIM boards (see the module's doc)."""
    processes = -(-count // BOARDS_PER_SIM)
    share = -(-count // processes)  # as even as possible
    commands, first = [], 1
    while first <= count:
        size = min(share, count - first + 1)
        rate = CONNECT_RATE * size / count  # the whole fleet connects at CONNECT_RATE
        commands.append([RELEASE + "/kinglet-sim", "nodes", "--count", str(size), "--first", str(first),
                         "--prefix", PREFIX, "--broker", f"mqtt://127.0.0.1:{broker_port}",
                         "--connect-rate", str(round(rate, 1)), "--progress-seconds", "5"])
        first += size
    return commands


def run_scale(count, log=print):
    """Runs one N; returns {figure key: {"value", "unit"}} (an `error` figure on failure)."""
    folder = tempfile.mkdtemp(prefix=f"kinglet-scale-{count}-")
    processes = Processes(folder)
    key = lambda name: f"scale.{count}.{name}"
    try:
        etcd_port, etcd_peer = free_port(), free_port()
        etcd = processes.start("etcd", ["etcd", "--name", "bench", "--data-dir", folder + "/etcd",
                                        "--listen-client-urls", f"http://127.0.0.1:{etcd_port}",
                                        "--advertise-client-urls", f"http://127.0.0.1:{etcd_port}",
                                        "--listen-peer-urls", f"http://127.0.0.1:{etcd_peer}",
                                        "--initial-advertise-peer-urls", f"http://127.0.0.1:{etcd_peer}",
                                        "--initial-cluster", f"bench=http://127.0.0.1:{etcd_peer}",
                                        "--quota-backend-bytes", str(8 * 1024 ** 3)])
        wait_port(etcd_port, 30, "etcd")
        api_port = free_port()
        kubeconfig = folder + "/kubeconfig"
        testapi = processes.start("testapi", [RELEASE + "/kinglet-testapi", "--etcd", f"http://127.0.0.1:{etcd_port}",
                                              "--port", str(api_port), "--token", TOKEN, "--kubeconfig-out", kubeconfig,
                                              "--log-level", "warning"])
        wait_port(api_port, 60, "kinglet-testapi")
        api = API(f"http://127.0.0.1:{api_port}")
        # deploy/relay-rbac.yaml creates the relay's namespace (its membership Lease lives there).
        api.request("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                                   "metadata": {"name": "kinglet-system"}})
        broker_port = free_port()
        # Anonymous plain MQTT on loopback without an ACL: the link sends no MQTT username,
        # which the generated config's plain listener would need (see kinglet-sim nodes --help).
        with open(folder + "/mosquitto.conf", "w") as conf:
            conf.write(f"listener {broker_port} 127.0.0.1\nallow_anonymous true\nmax_connections -1\n"
                       "persistence false\nmax_queued_messages 10000\n")
        raise_files = lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (HARD_FILES, HARD_FILES))
        broker = processes.start("mosquitto", ["mosquitto", "-c", folder + "/mosquitto.conf"], preexec_fn=raise_files)
        wait_port(broker_port, 30, "mosquitto")
        relay = processes.start("relay", [RELEASE + "/kinglet-relay", "run", "--kubeconfig", kubeconfig,
                                          "--broker", f"mqtt://127.0.0.1:{broker_port}", "--replica-id", "bench-0",
                                          "--log-level", "warning"] + RELAY_ARGS, preexec_fn=raise_files)
        began = time.monotonic()
        sims = [processes.start(f"sim-{index}", command, preexec_fn=raise_files)
                for index, command in enumerate(sim_commands(count, broker_port))]
        # Registration: connects at CONNECT_RATE, then the relay's Node, status and Lease writes.
        ready_within = 60 + count / CONNECT_RATE + count / 25
        wait_for(lambda: ready_nodes(api, PREFIX) >= count, ready_within, f"{count} Ready nodes",
                 interval=max(1, count / 2000))
        registration_s = time.monotonic() - began
        log(f"  {count} nodes Ready after {registration_s:.1f} s")

        # Steady state: every process's CPU, the relay's RSS, the worst lease age.
        watched = {"relay": relay, "testapi": testapi, "etcd": etcd, "mosquitto": broker}
        cpu_start = {name: cpu_seconds(child.pid) for name, child in watched.items()}
        sim_start = sum(cpu_seconds(child.pid) for child in sims)
        busy_start, total_start = machine_cpu()
        revision_start = etcd_revision(etcd_port)
        t_start = time.monotonic()
        worst_age, rss, ages = 0.0, [], []
        while time.monotonic() - t_start < STEADY_SECONDS:
            ages = lease_ages(api, PREFIX)
            worst_age = max([worst_age] + ages)
            rss.append(rss_kib(relay.pid))
            time.sleep(max(2, count / 2000))
        window = time.monotonic() - t_start
        writes_per_s = (etcd_revision(etcd_port) - revision_start) / window
        shares = {name: (cpu_seconds(child.pid) - cpu_start[name]) / window for name, child in watched.items()}
        shares["sim"] = (sum(cpu_seconds(child.pid) for child in sims) - sim_start) / window
        busy_end, total_end = machine_cpu()
        machine_busy = (busy_end - busy_start) / max(1, total_end - total_start)
        # What else ran meanwhile (other users of this machine): it shares the cores.
        others = max(0.0, machine_busy * os.cpu_count() - sum(shares.values()))

        # Pod delivery: a watch opened first, then pods created at POD_RATE on random nodes.
        listed = api.get("/api/v1/namespaces/default/pods")
        watch = PodWatch(api, listed["metadata"]["resourceVersion"])
        nodes = [f"{PREFIX}{i:05d}" for i in range(1, count + 1)]
        created = {}
        try:
            for index in range(POD_COUNT):
                name = f"bench-{index}"
                body = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
                        "spec": {"nodeName": random.choice(nodes),
                                 "containers": [{"name": "app", "image": "/bin/sleep", "args": ["1000"]}]}}
                created[name] = time.monotonic()
                api.request("POST", "/api/v1/namespaces/default/pods", body)
                time.sleep(1 / POD_RATE)
            if created:
                wait_for(lambda: len(watch.running_at().keys() & created.keys()) >= len(created), 120,
                         f"{len(created)} pods Running", interval=0.2)
        except RuntimeError as error:
            log(f"  {error}")
        finally:
            watch.stop()
        running_at = watch.running_at()
        ms = [(running_at[name] - created[name]) * 1000 for name in created if name in running_at]
        worst_age = max([worst_age] + lease_ages(api, PREFIX))
        results = {
            key("nodes_ready_s"): figure(round(registration_s, 2), "s"),
            key("pods_created"): figure(len(created), "pods"),
            key("pods_running"): figure(len(ms), "pods"),
            key("pod_delivery_p50_ms"): figure(round(percentile(ms, 0.5), 1) if ms else None, "ms"),
            key("pod_delivery_p99_ms"): figure(round(percentile(ms, 0.99), 1) if ms else None, "ms"),
            key("pod_delivery_max_ms"): figure(round(max(ms), 1) if ms else None, "ms"),
            key("relay_rss_kib"): figure(int(statistics.median(rss)), "KiB"),
            key("relay_rss_per_node_kib"): figure(round(statistics.median(rss) / count, 2), "KiB"),
            key("relay_cpu_cores"): figure(round(shares["relay"], 3), "cores"),
            key("relay_cpu_per_node_millicores"): figure(round(shares["relay"] * 1000 / count, 4), "millicores"),
            key("worst_lease_age_s"): figure(round(worst_age, 1), "s"),
            key("lease_age_p50_s"): figure(round(statistics.median(ages), 1) if ages else None, "s"),
            key("lease_duration_s"): figure(40, "s"),
            key("api_writes_per_s"): figure(round(writes_per_s, 1), "writes/s"),
            key("machine_busy_share"): figure(round(machine_busy, 3), "ratio"),
            key("other_processes_cpu_cores"): figure(round(others, 3), "cores"),
        }
        for name in ("testapi", "etcd", "mosquitto", "sim"):
            results[key(f"{name}_cpu_cores")] = figure(round(shares[name], 3), "cores")
        return results
    except Exception as error:
        for name, _ in processes.children:
            if name in ("relay", "testapi") or name.startswith("sim"):
                try:
                    tail = processes.log(name).splitlines()[-5:]
                    log(f"  {name} log tail: " + " | ".join(tail))
                except OSError:
                    pass
        log(f"  logs kept in {folder}")
        folder = None
        return {key("error"): figure(str(error), "")}
    finally:
        processes.stop_all()
        if folder:  # etcd's data alone is hundreds of MB at 10,000 nodes
            shutil.rmtree(folder, ignore_errors=True)


def main():
    counts = [int(a) for a in sys.argv[1:]] or [1, 100, 1000, 10000]
    results = {}
    for count in counts:
        print(f"scale: {count} node(s)", flush=True)
        figures = run_scale(count)
        results.update(figures)
        for key, figure in figures.items():
            print(f"  {key:<44} {str(figure['value']):>12} {figure['unit']}", flush=True)
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
