#!/usr/bin/env python3
"""The container image, end to end (issue 13).

Builds the OCI image with scripts/build-image.sh (buildah, from scratch), unpacks its root file
system from the archive as a runtime would (index -> manifest -> layers, with the image's own
configuration), and runs `purser` inside it under chroot as the image's user, with the image's
entrypoint and environment plus what deploy/compose.yaml gives the sidecar: nothing of the host
is visible to it, so the unpacked image alone must be enough. The local testnet runs on the host;
the chrooted proxy reaches it over loopback. Then:

- the compose file's init command creates the agent, twice (the second time changes nothing);
- the proxy creates its CA on first start in the CA volume, with bundle.pem beside it;
- curl, configured with the agent container's environment from the compose file, pays for an
  HTTP and an HTTPS call through it; the chain's balance moves by what Purser-Paid says; the
  ledger (read inside the image) has both rows paid; the access log arrives on stdout;
- SIGTERM stops it with exit code 0 (it runs as PID 1 of a PID namespace, as in a container,
  where a signal left at its default action would be dropped); the documented exit codes hold for a wrong password, a bad
  setting, an unusable store, an unusable CA directory and a listen address in use.

deploy/compose.yaml and deploy/kubernetes/ are parsed and checked against the image and each
other (volumes, user, proxy address, CA paths, probes), and every ```yaml block of the README's
sidecar section must be a verbatim excerpt of one of them, so the examples cannot drift.

Needs root (chroot, and buildah's mount) and buildah (PURSER_WITH_IMAGE=1
scripts/install-deps.sh); without root it exits 77, which ctest reports as skipped.
"""
import argparse
import glob
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import time

import yaml

SKIP = 77
failures = []


def check(condition, what):
    if not condition:
        failures.append(what)
        print(f"FAIL: {what}", file=sys.stderr)
    return condition


def require(condition, what):
    if not condition:
        raise SystemExit(f"FAIL: {what}")


# --- the image ---------------------------------------------------------------------------------

def unpack(archive, dest):
    """Unpacks an OCI archive's image: returns (root file system path, image config)."""
    layout = os.path.join(dest, "oci")
    os.makedirs(layout)
    with tarfile.open(archive) as t:
        t.extractall(layout)

    def blob(digest):
        algo, hexdigest = digest.split(":", 1)
        return os.path.join(layout, "blobs", algo, hexdigest)

    with open(os.path.join(layout, "index.json")) as f:
        index = json.load(f)
    require(len(index["manifests"]) == 1, "the archive holds one image")
    with open(blob(index["manifests"][0]["digest"])) as f:
        manifest = json.load(f)
    with open(blob(manifest["config"]["digest"])) as f:
        config = json.load(f)
    rootfs = os.path.join(dest, "rootfs")
    os.makedirs(rootfs)
    for layer in manifest["layers"]:
        with tarfile.open(blob(layer["digest"]), "r:*") as t:
            members = t.getmembers()
            require(not any(os.path.basename(m.name).startswith(".wh.") for m in members),
                    "no whiteouts (one layer from scratch)")
            t.extractall(rootfs, numeric_owner=True)
    return rootfs, config["config"]


def image_user(rootfs, user):
    """The image's USER ("name", "uid" or "uid:gid") resolved through the image's /etc/passwd."""
    name, _, group = user.partition(":")
    with open(os.path.join(rootfs, "etc", "passwd")) as f:
        for line in f:
            fields = line.strip().split(":")
            if name in (fields[0], fields[2]):
                return int(fields[2]), int(group or fields[3])
    raise SystemExit(f"FAIL: the image's user {user} is not in its /etc/passwd")


def env_list(pairs):
    return dict(p.split("=", 1) for p in pairs)


# --- the deploy files --------------------------------------------------------------------------

def k8s_pod(source_dir):
    docs = []
    for path in sorted(glob.glob(os.path.join(source_dir, "deploy", "kubernetes", "*.yaml"))):
        with open(path) as f:
            docs += [d for d in yaml.safe_load_all(f) if d]
    deployments = [d for d in docs if d["kind"] == "Deployment"]
    require(len(deployments) == 1, "deploy/kubernetes/ has one Deployment")
    return deployments[0]["spec"]["template"]["spec"]


def container_env(c):
    return {e["name"]: e["value"] for e in c.get("env", [])}


def check_deploy_files(source_dir, compose, image_env, image_cfg):
    """The compose file and the pod agree with the image and with each other."""
    pod = k8s_pod(source_dir)
    inits = {c["name"]: c for c in pod.get("initContainers", [])}
    containers = {c["name"]: c for c in pod["containers"]}
    sidecar, init, agent = inits["purser"], inits["purser-agent"], containers["agent"]
    svc = compose["services"]
    home, ca_dir = image_env["PURSER_HOME"], image_env["PURSER_CA_DIR"]
    listen_port = image_env["PURSER_LISTEN"].rsplit(":", 1)[1]
    proxy_url = f"http://127.0.0.1:{listen_port}"

    check(image_env["PURSER_LISTEN"].startswith("127.0.0.1:"),
          "the image's proxy listens on the pod's loopback")
    check(set(image_cfg.get("Volumes", {})) == {home, ca_dir},
          "the image's volumes are PURSER_HOME and PURSER_CA_DIR")
    check(sidecar.get("restartPolicy") == "Always", "Purser is a native sidecar")
    check(sidecar.get("args", image_cfg.get("Cmd")) == image_cfg.get("Cmd"),
          "the sidecar runs the image's command")
    check(container_env(sidecar) == {k: str(v) for k, v in svc["purser"]["environment"].items()},
          "the sidecar's environment in the pod is the compose file's")
    check(init["args"] == svc["purser-init"]["command"],
          "the pod's init step is the compose file's purser-init command")

    mounts = {m["name"]: m for m in sidecar["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    by_path = {m["mountPath"]: volumes[m["name"]] for m in sidecar["volumeMounts"]}
    check("persistentVolumeClaim" in by_path.get(home, {}), "the store is on a persistent volume")
    check("emptyDir" in by_path.get(ca_dir, {}), "the CA is on a volume shared in the pod")
    secret_dirs = [m["mountPath"] for m in sidecar["volumeMounts"]
                   if "secret" in volumes[m["name"]]]
    env = container_env(sidecar)
    for key in ("PURSER_KEYSTORE", "PURSER_WALLET_PASSWORD_FILE", "PURSER_ADMIN_TOKEN_FILE"):
        check(any(env[key].startswith(d + "/") for d in secret_dirs),
              f"{key} is a file of the Secret's volume")
    check([m["mountPath"] for m in init["volumeMounts"]] == [home],
          "the init step writes the store the sidecar reads")
    check(pod["securityContext"]["runAsUser"] == int(image_cfg["User"].split(":")[0]),
          "the pod runs as the image's user")

    admin_port = env["PURSER_ADMIN_LISTEN"].rsplit(":", 1)[1]
    ports = {p["name"]: str(p["containerPort"]) for p in sidecar.get("ports", [])}
    for probe, path in (("startupProbe", "/readyz"), ("readinessProbe", "/readyz"),
                        ("livenessProbe", "/healthz")):
        get = sidecar[probe]["httpGet"]
        check(get["path"] == path, f"{probe} asks {path}")
        check(str(ports.get(get["port"], get["port"])) == admin_port,
              f"{probe} asks the admin listener's port")

    compose_volumes = {v.split(":")[1]: v.split(":")[0] for v in svc["purser"]["volumes"]}
    check(set(compose_volumes) == {home, ca_dir}, "compose mounts the image's two volumes")
    check(svc["purser-init"]["volumes"] == [f"{compose_volumes[home]}:{home}"],
          "compose's init step writes the sidecar's store")
    secret_targets = {s["target"] for s in svc["purser"]["secrets"]}
    for key in ("PURSER_KEYSTORE", "PURSER_WALLET_PASSWORD_FILE", "PURSER_ADMIN_TOKEN_FILE"):
        check(env[key] in secret_targets, f"compose mounts a secret at {key}")
    check(svc["agent"]["network_mode"] == "service:purser",
          "the compose agent shares the proxy's loopback")

    agent_envs = {"pod": container_env(agent), "compose": svc["agent"]["environment"]}
    check(agent_envs["pod"] == agent_envs["compose"],
          "the agent's environment is the same in the pod and in compose")
    for where, aenv in agent_envs.items():
        for key in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
            check(aenv.get(key) == proxy_url, f"{where}: the agent's {key} is {proxy_url}")
        for key in ("SSL_CERT_FILE", "CURL_CA_BUNDLE", "REQUESTS_CA_BUNDLE"):
            check(aenv.get(key) == f"{ca_dir}/bundle.pem", f"{where}: {key} is the CA's bundle")
        check(aenv.get("NODE_EXTRA_CA_CERTS") == f"{ca_dir}/ca.crt", f"{where}: Node gets the CA")
    check([m["mountPath"] for m in agent["volumeMounts"]] == [ca_dir] and
          agent["volumeMounts"][0].get("readOnly") is True,
          "the agent container mounts the CA volume, read-only")
    check(agent.get("securityContext", {}).get("runAsUser") not in (None, pod["securityContext"]["runAsUser"]),
          "the agent runs as another user than Purser (the CA key stays Purser's)")
    check(svc["agent"]["volumes"] == [f"{compose_volumes[ca_dir]}:{ca_dir}:ro"],
          "the compose agent mounts the CA volume, read-only")


def check_readme(source_dir):
    """Every ```yaml block of the README's sidecar section is a verbatim excerpt of a deploy file."""
    with open(os.path.join(source_dir, "README.md")) as f:
        readme = f.read()
    m = re.search(r"^## Running as a sidecar container\n(.*?)(?=^## )", readme, re.S | re.M)
    require(m is not None, "README.md has a section 'Running as a sidecar container'")
    blocks = re.findall(r"^```yaml\n(.*?)^```", m.group(1), re.S | re.M)
    files = {}
    for path in [os.path.join(source_dir, "deploy", "compose.yaml")] + sorted(
            glob.glob(os.path.join(source_dir, "deploy", "kubernetes", "*.yaml"))):
        with open(path) as f:
            files[os.path.relpath(path, source_dir)] = f.read()
    shown = set()
    for block in blocks:
        where = [name for name, text in files.items() if ("\n" + block) in ("\n" + text)]
        check(where, "a README yaml block is an excerpt of a deploy file:\n" + block[:200])
        shown.update(where)
    check("deploy/compose.yaml" in shown, "the README shows the compose example")
    check(any(name.startswith("deploy/kubernetes/") for name in shown),
          "the README shows the Kubernetes example")


# --- running the image -------------------------------------------------------------------------

class chrooted:
    """`purser` inside the unpacked image, as the image's user, with only the given environment."""

    def __init__(self, rootfs, uid, gid, entrypoint, env):
        self.rootfs, self.uid, self.gid = rootfs, uid, gid
        self.entrypoint, self.env = entrypoint, env

    def argv(self, args):
        return [shutil.which("chroot") or "/usr/sbin/chroot", f"--userspec={self.uid}:{self.gid}",
                "--groups=", self.rootfs] + self.entrypoint + args

    def run(self, args, extra_env=None, timeout=120):
        env = dict(self.env, **(extra_env or {}))
        return subprocess.run(self.argv(args), env=env, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=timeout)

    def start(self, args, extra_env, log_dir, name):
        """Starts it as a container runtime would: PID 1 of a new PID namespace (unshare), where
        a signal the process left at its default action would be dropped. Returns the unshare
        process (its exit status is purser's) and purser's stdout and stderr files."""
        env = dict(self.env, **extra_env)
        out = open(os.path.join(log_dir, name + ".out"), "w+")
        err = open(os.path.join(log_dir, name + ".err"), "w+")
        proc = subprocess.Popen(pid_namespace() + self.argv(args), env=env,
                                stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        return proc, out, err


def pid_namespace():
    """The unshare prefix that makes a new PID namespace, or [] where this machine refuses one
    (a container without CAP_SYS_ADMIN): the test then runs purser as an ordinary process and
    says so, rather than failing on the machine instead of on Purser."""
    unshare = [shutil.which("unshare") or "/usr/bin/unshare", "--pid", "--fork", "--kill-child"]
    probe = subprocess.run(unshare + ["true"], capture_output=True, text=True)
    if probe.returncode != 0:
        print(f"note: no PID namespace here ({probe.stderr.strip()}): purser is not PID 1",
              file=sys.stderr)
        return []
    return unshare


def namespace_init(proc):
    """The host's pid of the PID namespace's first process (purser, PID 1 inside), or purser's
    own pid when it runs without a namespace."""
    if os.path.basename(proc.args[0]) != "unshare":
        return proc.pid
    for _ in range(200):
        try:
            with open(f"/proc/{proc.pid}/task/{proc.pid}/children") as f:
                children = f.read().split()
            if children:
                return int(children[0])
        except FileNotFoundError:
            break
        time.sleep(0.05)
    raise SystemExit("FAIL: unshare started no child")


def wait_for(proc, files, pattern, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for f in files:
            f.seek(0)
            m = re.search(pattern, f.read())
            if m:
                return m
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    text = "".join((f.seek(0), f.read())[1] for f in files)
    raise SystemExit(f"FAIL: no /{pattern}/ (exit {proc.poll()}); output:\n{text}")


def stop(proc, timeout=30):
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait()


def curl(url, env, extra=()):
    r = subprocess.run(["curl", "-sS", "-i", "--max-time", "60", *extra, url], env=env,
                       capture_output=True, timeout=90)
    # Bytes, not text mode: text mode would turn the header block's CRLFs into LFs.
    head, _, body = r.stdout.decode("utf-8", "replace").rpartition("\r\n\r\n")
    status = re.findall(r"^HTTP/[0-9.]+ (\d+)", head, re.M)
    headers = {}
    last = head.split("\r\n\r\n")[-1]
    for line in last.split("\r\n")[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    return (int(status[-1]) if status else 0), headers, body, r.stderr.decode("utf-8", "replace")


def atomic(decimal_text, decimals=6):
    whole, _, frac = decimal_text.partition(".")
    require(len(frac) <= decimals, f"amount {decimal_text} has at most {decimals} decimals")
    return int(whole) * 10 ** decimals + int((frac + "0" * decimals)[:decimals] or 0)


def balance(bin_path, env, address, rpc):
    r = subprocess.run([bin_path, "wallet", "balance", "--address", address, "--rpc", rpc],
                       env=env, capture_output=True, text=True, timeout=60)
    m = re.search(r"\((\d+) atomic\)", r.stdout)
    require(m is not None, f"wallet balance prints the atomic balance: {r.stdout} {r.stderr}")
    return int(m.group(1))


def place(rootfs, path, data, uid, gid, mode):
    """Writes a file into the image's tree, as a volume or Secret would show it."""
    dest = rootfs + path
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    with open(dest, "wb") as f:
        f.write(data)
    os.chown(dest, uid, gid)
    os.chmod(dest, mode)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", required=True)
    parser.add_argument("--source-dir", required=True)
    parser.add_argument("--work-dir", required=True, help="where the image archive is written")
    args = parser.parse_args()
    source = os.path.abspath(args.source_dir)

    if os.geteuid() != 0:
        print("skipped: chroot and buildah's mount need root", file=sys.stderr)
        return SKIP
    require(shutil.which("buildah"), "buildah is installed (PURSER_WITH_IMAGE=1 scripts/install-deps.sh)")

    archive = os.path.join(os.path.abspath(args.work_dir), "purser-image.tar")
    subprocess.run([os.path.join(source, "scripts", "build-image.sh"), args.bin, archive],
                   check=True, timeout=600)

    tmp = tempfile.mkdtemp(prefix="purser-image-test.")
    testnet = None
    proxy = None
    try:
        rootfs, cfg = unpack(archive, tmp)
        image_env = env_list(cfg["Env"])
        uid, gid = image_user(rootfs, cfg["User"])
        check(uid != 0 and gid != 0, "the image runs as a non-root user")
        home, ca_dir = image_env["PURSER_HOME"], image_env["PURSER_CA_DIR"]
        check(image_env.get("PURSER_LOG") == "stdout", "the image logs to stdout")

        with open(os.path.join(source, "deploy", "compose.yaml")) as f:
            compose = yaml.safe_load(f)
        check_deploy_files(source, compose, image_env, cfg)
        check_readme(source)

        # The testnet, on the host.
        host_env = dict(os.environ, PURSER_HOME=os.path.join(tmp, "host-home"))
        testnet_dir = os.path.join(tmp, "testnet")
        logs = os.path.join(tmp, "logs")
        os.makedirs(logs)
        testnet = subprocess.Popen([args.bin, "testnet", "up", "--dir", testnet_dir, "--base-port", "0"],
                                   env=host_env, stdout=open(os.path.join(logs, "testnet.out"), "w"),
                                   stderr=subprocess.STDOUT)
        for _ in range(1200):
            if os.path.exists(os.path.join(testnet_dir, "testnet.env")) or testnet.poll() is not None:
                break
            time.sleep(0.1)
        time.sleep(0.2)
        tn = {}
        with open(os.path.join(testnet_dir, "testnet.env")) as f:
            for line in f:
                line = line.strip()
                if line.startswith("export "):
                    line = line[len("export "):]
                if "=" in line and not line.startswith("#"):
                    k, v = line.split("=", 1)
                    tn[k] = v.strip("'\"")

        # What the volumes and the Secret hold at the pod's first start: the wallet (the testnet's
        # funded one), its password and an admin token; the store and the CA volume are empty.
        svc_env = {k: str(v) for k, v in compose["services"]["purser"]["environment"].items()}
        with open(tn["PURSER_TESTNET_KEYSTORE"], "rb") as f:
            place(rootfs, svc_env["PURSER_KEYSTORE"], f.read(), uid, gid, 0o400)
        with open(tn["PURSER_TESTNET_PASSWORD_FILE"], "rb") as f:
            password = f.read()
        place(rootfs, svc_env["PURSER_WALLET_PASSWORD_FILE"], password, uid, gid, 0o400)
        place(rootfs, svc_env["PURSER_ADMIN_TOKEN_FILE"], os.urandom(16).hex().encode(), uid, gid, 0o400)
        # Paying on the local testnet takes its env file and CA: a volume at the same path.
        with open(os.path.join(testnet_dir, "testnet.env"), "rb") as f:
            place(rootfs, os.path.join(testnet_dir, "testnet.env"), f.read(), uid, gid, 0o444)
        with open(tn["PURSER_TESTNET_CA"], "rb") as f:
            place(rootfs, tn["PURSER_TESTNET_CA"], f.read(), uid, gid, 0o444)
        check(not os.listdir(rootfs + home) and not os.listdir(rootfs + ca_dir),
              "the image's volumes start empty")

        image = chrooted(rootfs, uid, gid, cfg["Entrypoint"], image_env)
        # Only the listen ports differ from the compose file (random free ones: tests run in
        # parallel), and the testnet is named (never paid unless configured).
        overrides = {"PURSER_LISTEN": "127.0.0.1:0", "PURSER_ADMIN_LISTEN": "127.0.0.1:0",
                     "PURSER_TESTNET_ENV": os.path.join(testnet_dir, "testnet.env")}
        run_env = dict(svc_env, **overrides)

        init_cmd = compose["services"]["purser-init"]["command"]
        first = image.run(init_cmd)
        check(first.returncode == 0 and "added agent" in first.stdout,
              f"the init step adds the agent: {first.stdout} {first.stderr}")
        again = image.run(init_cmd)
        check(again.returncode == 0 and "nothing changed" in again.stdout,
              f"the init step at a later start changes nothing: {again.stdout} {again.stderr}")

        proxy, out, err = image.start(cfg["Cmd"], run_env, logs, "proxy")
        port = wait_for(proxy, [out, err], r"purser proxy listening on 127\.0\.0\.1:(\d+)").group(1)

        # The CA, created on first start in its volume, with the agent's bundle beside it.
        ca_crt, ca_key, bundle = (rootfs + ca_dir + "/" + n for n in ("ca.crt", "ca.key", "bundle.pem"))
        check(os.path.exists(ca_crt) and os.path.exists(bundle), "the CA and its bundle are in the CA volume")
        check(os.stat(ca_key).st_uid == uid and (os.stat(ca_key).st_mode & 0o077) == 0,
              "the CA key is the image user's alone")
        with open(ca_crt) as f:
            ca_pem = f.read()
        with open(bundle) as f:
            bundle_pem = f.read()
        with open(rootfs + "/etc/ssl/certs/ca-certificates.crt") as f:
            roots = f.read()
        check(ca_pem in bundle_pem and roots.strip() in bundle_pem,
              "bundle.pem holds the system roots and Purser's CA")

        # The agent container, as compose configures it (its CA volume is the image's CA dir).
        agent_env = {k: str(v) for k, v in compose["services"]["agent"]["environment"].items()}
        curl_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        for k, v in agent_env.items():
            if k.lower().endswith("_proxy"):
                v = re.sub(r":\d+$", ":" + port, v)
            elif v.startswith(ca_dir + "/"):
                v = rootfs + v
            curl_env[k] = v
        payer = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
        before = balance(args.bin, host_env, payer, tn["PURSER_TESTNET_RPC"])
        paid_atomic = 0
        for url in (tn["PURSER_TESTNET_MERCHANT_HTTP"] + "/weather",
                    tn["PURSER_TESTNET_MERCHANT_HTTPS"] + "/weather"):
            status, headers, body, cerr = curl(url, curl_env)
            check(status == 200 and "sunny" in body, f"{url}: paid answer through the image ({status} {cerr})")
            check(headers.get("purser-decision", "").startswith("paid;"), f"{url}: Purser-Decision paid")
            paid = headers.get("purser-paid", "")
            check(paid != "", f"{url}: Purser-Paid")
            if paid:
                paid_atomic += atomic(paid.split()[0])
        after = balance(args.bin, host_env, payer, tn["PURSER_TESTNET_RPC"])
        check(before - after == paid_atomic and paid_atomic > 0,
              f"the chain moved what Purser-Paid says ({before} - {after} vs {paid_atomic})")

        ledger = image.run(["ledger", "--format", "json"], svc_env)
        rows = [json.loads(l) for l in ledger.stdout.splitlines() if l.strip()]
        check(ledger.returncode == 0 and [r["status"] for r in rows] == ["paid", "paid"],
              f"the ledger in the store volume has both payments: {ledger.stdout} {ledger.stderr}")

        # SIGTERM to purser itself, PID 1 of its namespace (as `docker stop` sends it).
        os.kill(namespace_init(proxy), signal.SIGTERM)
        try:
            code = proxy.wait(timeout=30)
        except subprocess.TimeoutExpired:
            code = "none: still running 30 s after SIGTERM"
        check(code == 0, f"SIGTERM to PID 1: exit code 0 (got {code})")
        proxy = None
        out.seek(0)
        access = [json.loads(l) for l in out.read().splitlines() if l.startswith("{")]
        check(sum(1 for a in access if a.get("ledger_status") == "paid") == 2,
              "the access log (one JSON line per request) is on stdout")

        # Exit codes (README "Exit codes"), each from a start-up that cannot succeed.
        def exit_code(extra):
            r = image.run(cfg["Cmd"], dict(run_env, **extra), timeout=120)
            return r.returncode, r.stderr.strip()

        place(rootfs, "/run/secrets/wrong-password", b"not-the-password", uid, gid, 0o400)
        busy = socket.socket()
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        cases = [
            (2, {"PURSER_THREADS": "many"}, "a bad PURSER_* value"),
            (2, {"PURSER_DEFAULT_AGENT": "nobody"}, "a default agent the store does not have"),
            (3, {"PURSER_WALLET_PASSWORD_FILE": "/run/secrets/wrong-password"}, "a wrong password"),
            (3, {"PURSER_WALLET_PASSWORD_FILE": "/run/secrets/none"}, "no password file"),
            (4, {"PURSER_STORE_DIR": "/usr/local/bin/purser"}, "a store that cannot be opened"),
            (5, {"PURSER_LISTEN": f"127.0.0.1:{busy.getsockname()[1]}"}, "a listen address in use"),
            (6, {"PURSER_CA_DIR": "/etc/passwd/ca"}, "a CA directory that cannot be made"),
        ]
        for expected, extra, what in cases:
            code, text = exit_code(extra)
            check(code == expected, f"exit code {expected} for {what}: got {code} ({text})")
        busy.close()
    finally:
        if proxy is not None:
            proxy.kill()
            proxy.wait()
        if testnet is not None:
            stop(testnet)
        if not failures:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print(f"kept {tmp} for a look", file=sys.stderr)
    if failures:
        print(f"{len(failures)} check(s) failed", file=sys.stderr)
        return 1
    print("image test: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
