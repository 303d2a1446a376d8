"""The image bench: Debian's docker-registry on loopback, images of busybox-static plus 1 MB
and 10 MB of random bytes (built with umoci, pushed with skopeo, as the tests do), and
the static x86_64 agent:

- pull time and peak RSS of `kinglet pull` (the agent's own pull code, in one process);
- pull-and-start: an agent with `runtime.oci: runc` and one static pod of that image,
  from the agent's start until the container runs (the pull included).
"""
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time

import scale

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STATIC = os.path.join(ROOT, "build", "x86_64", "kinglet")
RUNC = next((p for p in ("/usr/sbin/runc", "/usr/bin/runc") if os.path.exists(p)), None)
SIZES_MB = (1, 10)
RUNS = 3


def missing():
    """Why the image bench cannot run here, or None."""
    for tool in ("/usr/bin/docker-registry", "/usr/bin/umoci", "/usr/bin/skopeo", "/bin/busybox"):
        if not os.path.exists(tool):
            return f"{tool} is missing (make test installs it)"
    if os.geteuid() != 0 or RUNC is None:
        return "needs root and runc"
    return None


def run(command, timeout=120):
    subprocess.run(command, check=True, capture_output=True, timeout=timeout)


def start_registry(folder):
    port = scale.free_port()
    config = os.path.join(folder, "registry.yml")
    with open(config, "w") as f:
        f.write(f"version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: {folder}/storage\n"
                f"http:\n  addr: 127.0.0.1:{port}\n")
    log = open(os.path.join(folder, "registry.log"), "wb")
    process = subprocess.Popen(["/usr/bin/docker-registry", "serve", config], stdout=log, stderr=subprocess.STDOUT)
    scale.wait_port(port, 30, "docker-registry")
    return process, port


def build_image(folder, megabytes):
    """An OCI layout with busybox and `megabytes` of random bytes; returns its path."""
    layout = os.path.join(folder, f"layout-{megabytes}")
    bundle = os.path.join(folder, f"bundle-{megabytes}")
    run(["umoci", "init", "--layout", layout])
    run(["umoci", "new", "--image", f"{layout}:img"])
    run(["umoci", "unpack", "--rootless", "--image", f"{layout}:img", bundle])
    rootfs = os.path.join(bundle, "rootfs")
    os.makedirs(os.path.join(rootfs, "bin"), exist_ok=True)
    shutil.copy("/bin/busybox", os.path.join(rootfs, "bin", "busybox"))
    for applet in ("sh", "sleep"):
        os.symlink("busybox", os.path.join(rootfs, "bin", applet))
    with open(os.path.join(rootfs, "random.bin"), "wb") as f:
        f.write(os.urandom(megabytes * 1024 * 1024))
    run(["umoci", "repack", "--image", f"{layout}:img", bundle])
    run(["umoci", "config", "--image", f"{layout}:img", "--config.cmd", "sleep", "--config.cmd", "100000",
         "--config.env", "PATH=/bin"])
    return layout


def pull_run(port, megabytes, folder, index):
    """One `kinglet pull` into a fresh store: (seconds, peak RSS KiB)."""
    board = os.path.join(folder, f"pull-{megabytes}-{index}")
    os.makedirs(board)
    with open(os.path.join(board, "kinglet.yaml"), "w") as f:
        f.write("paths: {images: images}\n")
    errors = open(os.path.join(board, "pull.err"), "wb")
    started = time.monotonic()
    child = subprocess.Popen([STATIC, "pull", f"127.0.0.1:{port}/bench/img{megabytes}:1", "--config",
                              os.path.join(board, "kinglet.yaml")], stdout=subprocess.DEVNULL, stderr=errors)
    # The peak RSS of the agent's own image (VmHWM; ru_maxrss would include the forked
    # Python's memory from before the exec), sampled until it exits: it only grows.
    peak = 0
    while child.poll() is None:
        try:
            with open(f"/proc/{child.pid}/status") as status:
                for line in status:
                    if line.startswith("VmHWM:"):
                        peak = max(peak, int(line.split()[1]))
        except (FileNotFoundError, ProcessLookupError, ValueError):
            pass
        time.sleep(0.0005)
    seconds = time.monotonic() - started
    if child.returncode != 0:
        raise RuntimeError(f"kinglet pull failed: {open(os.path.join(board, 'pull.err')).read()[-500:]}")
    return seconds, peak


def pull_and_start_run(port, megabytes, folder, index):
    """An agent with runc and one pod of the image: seconds from its start to the
    container running (pull included)."""
    board = os.path.join(folder, f"run-{megabytes}-{index}")
    os.makedirs(os.path.join(board, "manifests"))
    with open(os.path.join(board, "kinglet.yaml"), "w") as f:
        f.write("node: {name: bench}\n"
                "paths: {cacheFile: state/cache.kc, staticPods: manifests, logs: logs, socket: state/k.sock, images: images}\n"
                f"runtime: {{oci: {RUNC}, containersOutliveAgent: false}}\n")
    with open(os.path.join(board, "manifests", "app.yaml"), "w") as f:
        f.write("metadata: {name: app}\nspec:\n  terminationGracePeriodSeconds: 1\n"
                f"  containers: [{{name: c, image: '127.0.0.1:{port}/bench/img{megabytes}:1'}}]\n")
    log = open(os.path.join(board, "agent.log"), "wb")
    started = time.monotonic()
    agent = subprocess.Popen([STATIC, "run", "--config", os.path.join(board, "kinglet.yaml")], stdout=log,
                             stderr=subprocess.STDOUT)
    socket = os.path.join(board, "state", "k.sock")
    try:
        deadline = started + 120
        while time.monotonic() < deadline:
            status = subprocess.run([STATIC, "status", "-o", "json", "--socket", socket], capture_output=True, timeout=10)
            if status.returncode == 0:
                pods = json.loads(status.stdout).get("pods", [])
                states = [c.get("state", {}) for p in pods for c in p.get("status", {}).get("containerStatuses", [])]
                if states and all("running" in s for s in states):
                    return time.monotonic() - started
            time.sleep(0.02)
        raise RuntimeError("the container did not run within 120 s")
    finally:
        agent.terminate()
        try:
            agent.wait(timeout=30)
        except subprocess.TimeoutExpired:
            agent.kill()
            agent.wait()


def unmount_below(folder):
    """Lazily unmounts what is still mounted below `folder`: an agent's clean stop does not
    wait for its containers' overlayfs roots to be unmounted."""
    with open("/proc/self/mountinfo") as info:
        points = [line.split()[4] for line in info if line.split()[4].startswith(folder + "/")]
    for point in sorted(points, key=len, reverse=True):
        subprocess.run(["umount", "-l", point], capture_output=True, timeout=30)


def image_bench(log):
    reason = missing()
    if reason:
        log(f"bench: images skipped: {reason}")
        return {}
    folder = tempfile.mkdtemp(prefix="kinglet-bench-images-", dir=os.path.join(ROOT, "build"))
    registry = None
    figures = {}
    try:
        registry, port = start_registry(folder)
        for megabytes in SIZES_MB:
            layout = build_image(folder, megabytes)
            run(["skopeo", "copy", "--dest-tls-verify=false", f"oci:{layout}:img",
                 f"docker://127.0.0.1:{port}/bench/img{megabytes}:1"])
            pulls = [pull_run(port, megabytes, folder, i) for i in range(RUNS)]
            starts = [pull_and_start_run(port, megabytes, folder, i) for i in range(RUNS)]
            seconds = [p[0] for p in pulls]
            peaks = [p[1] for p in pulls]
            log(f"bench: images, {megabytes} MB: pull {', '.join(f'{s * 1000:.0f}' for s in seconds)} ms; "
                f"pull and start {', '.join(f'{s * 1000:.0f}' for s in starts)} ms; peak RSS {peaks} KiB")
            figures[f"image_pull_ms.{megabytes}mb_static"] = {"value": round(statistics.median(seconds) * 1000, 1), "unit": "ms"}
            figures[f"image_pull_and_start_ms.{megabytes}mb_static"] = {"value": round(statistics.median(starts) * 1000, 1), "unit": "ms"}
            figures[f"image_pull_peak_rss_kib.{megabytes}mb_static"] = {"value": max(peaks), "unit": "KiB"}
    finally:
        if registry is not None:
            registry.terminate()
            registry.wait(timeout=30)
        unmount_below(folder)
        shutil.rmtree(folder, ignore_errors=True)
    return figures
