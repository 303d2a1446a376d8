#!/usr/bin/env python3
"""The scale benchmark of `make bench`: N simulated boards (`kinglet-sim nodes`, the agent's
own link code, N clients on one event loop) against one kinglet-relay, one mosquitto and
the test API server (kinglet-testapi on a real etcd), all on this machine.

For each N it reports:
- pod delivery latency: API create of a pod bound to a simulated node -> the API shows it
  Running (p50, p99, max);
- the relay's RSS and CPU, per connected node, over a steady window;
- the worst Lease age seen in kube-node-lease (every lease must be renewed before its
  40 s duration runs out).

Run: python3 bench/scale.py [N ...]  (default 1 100 1000 10000). Expects release builds of
kinglet-sim, kinglet-relay and kinglet-testapi in .build/release. Every process it starts
is stopped and reaped; every wait is bounded.
"""
import datetime
import json
import os
import random
import resource
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RELEASE = os.path.join(ROOT, ".build", "release")
TOKEN = "kinglet-bench"
STEADY_SECONDS = float(os.environ.get("BENCH_SCALE_STEADY", "60"))


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


def parse_time(text):
    return datetime.datetime.strptime(text.replace("Z", "+0000").split(".")[0].replace("+0000", "") + "+0000",
                                      "%Y-%m-%dT%H:%M:%S%z")


def ready_nodes(api, prefix):
    count = 0
    for node in api.get("/api/v1/nodes").get("items", []):
        if not node["metadata"]["name"].startswith(prefix):
            continue
        for condition in node.get("status", {}).get("conditions", []):
            if condition.get("type") == "Ready" and condition.get("status") == "True":
                count += 1
    return count


def worst_lease_age(api, prefix):
    """The oldest renewTime among the simulated nodes' leases, in seconds (micro-second
    renew times are read at full precision)."""
    now = datetime.datetime.now(datetime.timezone.utc)
    worst = 0.0
    for lease in api.get("/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases").get("items", []):
        if not lease["metadata"]["name"].startswith(prefix):
            continue
        renew = lease.get("spec", {}).get("renewTime")
        if not renew:
            continue
        stamp = datetime.datetime.strptime(renew.rstrip("Z").split(".")[0], "%Y-%m-%dT%H:%M:%S")
        fraction = renew.rstrip("Z").split(".")[1] if "." in renew else "0"
        seconds = stamp.replace(tzinfo=datetime.timezone.utc).timestamp() + float("0." + fraction)
        worst = max(worst, now.timestamp() - seconds)
    return worst


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


def run_scale(count, log=print):
    folder = tempfile.mkdtemp(prefix=f"kinglet-scale-{count}-")
    processes = Processes(folder)
    prefix = "sim-"
    try:
        etcd_port, etcd_peer = free_port(), free_port()
        processes.start("etcd", ["etcd", "--name", "bench", "--data-dir", folder + "/etcd",
                                 "--listen-client-urls", f"http://127.0.0.1:{etcd_port}",
                                 "--advertise-client-urls", f"http://127.0.0.1:{etcd_port}",
                                 "--listen-peer-urls", f"http://127.0.0.1:{etcd_peer}",
                                 "--initial-advertise-peer-urls", f"http://127.0.0.1:{etcd_peer}",
                                 "--initial-cluster", f"bench=http://127.0.0.1:{etcd_peer}",
                                 "--quota-backend-bytes", str(8 * 1024 ** 3)])
        wait_port(etcd_port, 30, "etcd")
        api_port = free_port()
        kubeconfig = folder + "/kubeconfig"
        processes.start("testapi", [RELEASE + "/kinglet-testapi", "--etcd", f"http://127.0.0.1:{etcd_port}",
                                    "--port", str(api_port), "--token", TOKEN, "--kubeconfig-out", kubeconfig])
        wait_port(api_port, 60, "kinglet-testapi")
        api = API(f"http://127.0.0.1:{api_port}")
        broker_port = free_port()
        with open(folder + "/mosquitto.conf", "w") as conf:
            conf.write(f"listener {broker_port} 127.0.0.1\nallow_anonymous true\nmax_connections -1\n"
                       "persistence false\nmax_queued_messages 10000\n")
        _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        raise_files = lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        processes.start("mosquitto", ["mosquitto", "-c", folder + "/mosquitto.conf"], preexec_fn=raise_files)
        wait_port(broker_port, 30, "mosquitto")
        relay = processes.start("relay", [RELEASE + "/kinglet-relay", "run", "--kubeconfig", kubeconfig,
                                          "--broker", f"mqtt://127.0.0.1:{broker_port}", "--replica-id", "bench-0",
                                          "--log-level", "warning"], preexec_fn=raise_files)
        began = time.monotonic()
        processes.start("sim", [RELEASE + "/kinglet-sim", "nodes", "--count", str(count), "--prefix", prefix,
                                "--broker", f"mqtt://127.0.0.1:{broker_port}"], preexec_fn=raise_files)
        wait_for(lambda: ready_nodes(api, prefix) >= count, max(60, count / 20), f"{count} Ready nodes", interval=1)
        registration_s = time.monotonic() - began
        log(f"  {count} nodes Ready after {registration_s:.1f} s")

        # Steady state: relay CPU and RSS, worst lease age.
        cpu_start, t_start = cpu_seconds(relay.pid), time.monotonic()
        worst_age, samples, rss = 0.0, 0, []
        while time.monotonic() - t_start < STEADY_SECONDS:
            worst_age = max(worst_age, worst_lease_age(api, prefix))
            rss.append(rss_kib(relay.pid))
            samples += 1
            time.sleep(2)
        cpu_share = (cpu_seconds(relay.pid) - cpu_start) / (time.monotonic() - t_start)

        # Pod delivery: create pods bound to random nodes, watch for Running in the API.
        pods = min(count, 200)
        nodes = [f"{prefix}{i:05d}" for i in range(1, count + 1)]
        created = {}
        for index in range(pods):
            name = f"bench-{index}"
            body = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
                    "spec": {"nodeName": random.choice(nodes),
                             "containers": [{"name": "app", "image": "/bin/sleep", "args": ["1000"]}]}}
            created[name] = time.monotonic()
            api.request("POST", "/api/v1/namespaces/default/pods", body)
            time.sleep(0.02)  # 50 pods/s: a steady flow, not one burst
        latencies = {}
        deadline = time.monotonic() + 120
        while len(latencies) < pods and time.monotonic() < deadline:
            for pod in api.get("/api/v1/namespaces/default/pods").get("items", []):
                name = pod["metadata"]["name"]
                if name in created and name not in latencies and pod.get("status", {}).get("phase") == "Running":
                    latencies[name] = time.monotonic() - created[name]
            time.sleep(0.05)
        ms = [value * 1000 for value in latencies.values()]
        worst_age = max(worst_age, worst_lease_age(api, prefix))
        return {
            f"scale.{count}.nodes_ready_s": round(registration_s, 2),
            f"scale.{count}.pods_created": pods,
            f"scale.{count}.pods_running": len(latencies),
            f"scale.{count}.pod_delivery_p50_ms": round(percentile(ms, 0.5), 1) if ms else None,
            f"scale.{count}.pod_delivery_p99_ms": round(percentile(ms, 0.99), 1) if ms else None,
            f"scale.{count}.pod_delivery_max_ms": round(max(ms), 1) if ms else None,
            f"scale.{count}.relay_rss_kib": int(statistics.median(rss)),
            f"scale.{count}.relay_rss_per_node_kib": round(statistics.median(rss) / count, 2),
            f"scale.{count}.relay_cpu_cores": round(cpu_share, 3),
            f"scale.{count}.relay_cpu_per_node_millicores": round(cpu_share * 1000 / count, 4),
            f"scale.{count}.worst_lease_age_s": round(worst_age, 1),
            f"scale.{count}.lease_duration_s": 40,
        }
    except Exception as error:
        for name in ("relay", "sim", "testapi"):
            try:
                tail = processes.log(name).splitlines()[-5:]
                log(f"  {name} log tail: " + " | ".join(tail))
            except OSError:
                pass
        return {f"scale.{count}.error": str(error)}
    finally:
        processes.stop_all()


def main():
    counts = [int(a) for a in sys.argv[1:]] or [1, 100, 1000, 10000]
    results = {}
    for count in counts:
        print(f"scale: {count} node(s)", flush=True)
        results.update(run_scale(count))
        print(json.dumps({k: v for k, v in results.items() if k.startswith(f"scale.{count}.")}, indent=1), flush=True)
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
