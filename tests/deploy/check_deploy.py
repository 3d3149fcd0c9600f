#!/usr/bin/python3
"""Checks deploy/ against the server it deploys: the Kubernetes manifests, the Dockerfile and the
nginx template. Run by ctest (deploy_check) with Debian's python3 and python3-yaml:

    /usr/bin/python3 tests/deploy/check_deploy.py --source . --server build/bin/fun-notes-server

What the server offers is read from the server itself: its flags and their variables from
`fun-notes-server --help`, its HTTP endpoints from server/net/http_api.cpp, the headers it
believes from a proxy from server/net/listener.cpp. Every problem is printed; exit 1 if any.
"""

import argparse
import json
import os
import pwd
import re
import shutil
import subprocess
import sys
import tempfile

import yaml

failures = []
passed = []


def check(ok, what, why=""):
    """Records one check: `what` is what must hold, `why` what was found instead."""
    if ok:
        passed.append(what)
    else:
        failures.append(f"{what}{': ' + why if why else ''}")
    return ok


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


# --- the server --------------------------------------------------------------------------------


class Server:
    def __init__(self, source, binary):
        self.binary = binary
        result = subprocess.run([binary, "--help"], capture_output=True, text=True, timeout=10)
        if result.returncode != 0:
            sys.exit(f"deploy check: {binary} --help exited {result.returncode}: {result.stderr}")
        self.help = result.stdout
        self.flags = set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", self.help))
        # The variables the server reads: the flags' (CLI11 prints "(Env:NAME)") and those the
        # help text names (FUN_NOTES_JWT_SECRET).
        self.env = set(re.findall(r"\bFUN_NOTES_[A-Z0-9_]+\b", self.help))
        default_port = re.search(r"--port \S+?=(\d+)", self.help)  # "--port UINT=8080"
        self.default_port = int(default_port.group(1)) if default_port else None
        api = read(os.path.join(source, "server/net/http_api.cpp"))
        self.endpoints = set(re.findall(r'\bp == "(/[^"]*)"', api))
        listener = read(os.path.join(source, "server/net/listener.cpp"))
        self.proxy_headers = set(re.findall(r'req\.find\("(X-Forwarded-[A-Za-z]+)"\)', listener))


# --- the Dockerfile ----------------------------------------------------------------------------


class Dockerfile:
    """The instructions of a Dockerfile, by stage: (keyword, arguments) with continuations
    joined and comments dropped."""

    def __init__(self, path):
        self.stages = []  # [{"name", "base", "instructions": [(kw, args)]}]
        logical = ""
        for raw in read(path).splitlines():
            line = raw.strip()
            if not logical and (not line or line.startswith("#")):
                continue
            if line.startswith("#"):
                continue
            if line.endswith("\\"):
                logical += line[:-1] + " "
                continue
            logical += line
            kw, _, args = logical.partition(" ")
            kw = kw.upper()
            args = args.strip()
            logical = ""
            if kw == "FROM":
                m = re.match(r"(\S+)(?:\s+AS\s+(\S+))?", args, re.IGNORECASE)
                self.stages.append({"base": m.group(1), "name": m.group(2), "instructions": []})
            elif self.stages:
                self.stages[-1]["instructions"].append((kw, args))

    def all(self, keyword, stage=None):
        stages = [stage] if stage else self.stages
        return [a for s in stages for kw, a in s["instructions"] if kw == keyword]

    @staticmethod
    def exec_form(args):
        try:
            value = json.loads(args)
            return value if isinstance(value, list) else None
        except json.JSONDecodeError:
            return None


def workdir_at(stage, index):
    wd = "/"
    for kw, args in stage["instructions"][:index]:
        if kw == "WORKDIR":
            wd = os.path.join(wd, args)
    return wd


def check_dockerfile(source, server, df):
    stages = df.stages
    if not check(len(stages) >= 2, "the Dockerfile has a build stage and a runtime stage"):
        return None
    runtime = stages[-1]
    check(stages[0]["base"].startswith("debian:bookworm"), "the build stage is debian:bookworm",
          stages[0]["base"])
    check(runtime["base"] == "debian:bookworm-slim", "the runtime stage is debian:bookworm-slim",
          runtime["base"])

    runs = " && ".join(df.all("RUN"))
    setup = [s for s in stages if any(kw == "RUN" and re.search(r"\bscripts/setup\.sh\b", a)
                                      for kw, a in s["instructions"])]
    check(bool(setup), "the Dockerfile runs scripts/setup.sh (the README's dependencies)")
    if setup:
        stage_runs = " && ".join(a for kw, a in setup[0]["instructions"] if kw == "RUN")
        check("cmake --preset release" in stage_runs and
              "cmake --build --preset release" in stage_runs,
              "the stage that runs scripts/setup.sh does the release build (Makefile's build)")
    check(re.search(r"\bscripts/web\.sh\b", runs) is not None,
          "the Dockerfile builds the page with scripts/web.sh")

    # COPY sources from the context exist; COPY --from sources are what the build makes.
    presets = json.loads(read(os.path.join(source, "CMakePresets.json")))
    release_dir = next(p["binaryDir"] for p in presets["configurePresets"]
                       if p["name"] == "release").replace("${sourceDir}/", "")
    cmake = read(os.path.join(source, "CMakeLists.txt"))
    out = re.search(r"CMAKE_RUNTIME_OUTPUT_DIRECTORY \$\{CMAKE_BINARY_DIR\}/(\S+)\)", cmake)
    built_server = f"{release_dir}/{out.group(1) if out else 'bin'}/fun-notes-server"
    vite = read(os.path.join(source, "web/vite.config.ts"))
    out_dir = re.search(r"outDir:\s*'([^']+)'", vite)
    built_page = f"web/{out_dir.group(1) if out_dir else 'dist'}"
    named = {s["name"]: s for s in stages if s["name"]}
    copied = {}  # what the build made -> where the runtime has it
    for stage in stages:
        for i, (kw, args) in enumerate(stage["instructions"]):
            if kw != "COPY":
                continue
            words = args.split()
            from_stage = next((w.split("=", 1)[1] for w in words if w.startswith("--from=")),
                              None)
            paths = [w for w in words if not w.startswith("--")]
            sources, dest = paths[:-1], paths[-1]
            for src in sources:
                if from_stage is None:
                    check(os.path.exists(os.path.join(source, src)),
                          f"COPY source {src} exists in the tree")
                    continue
                if not check(from_stage in named, f"COPY --from={from_stage} names a stage"):
                    continue
                wd = workdir_at(named[from_stage], len(named[from_stage]["instructions"]))
                rel = os.path.relpath(src, wd)
                check(rel in (built_server, built_page),
                      f"COPY --from={from_stage} {src} is the server binary or the page the "
                      f"build makes ({built_server}, {built_page})", rel)
                copied[rel] = dest

    # What the runtime starts: the copied binary, with flags the server has.
    entry = [Dockerfile.exec_form(a) for a in df.all("ENTRYPOINT", runtime)]
    check(len(entry) == 1 and entry[0], "the runtime has one exec-form ENTRYPOINT")
    entry = entry[0] if entry and entry[0] else []
    cmd = [Dockerfile.exec_form(a) or [] for a in df.all("CMD", runtime)]
    argv = entry + (cmd[-1] if cmd else [])
    if entry:
        check(entry[0] == copied.get(built_server), "the ENTRYPOINT runs the copied server",
              f"{entry[0]} (copied to {copied.get(built_server)})")
    for flag in (a.split("=", 1)[0] for a in argv[1:] if a.startswith("--")):
        check(flag in server.flags, f"Dockerfile flag {flag} is one of the server's")
    if "--web-dir" in argv:
        web_dir = argv[argv.index("--web-dir") + 1]
        check(web_dir == copied.get(built_page), "--web-dir is where the page was copied",
              f"{web_dir} (copied to {copied.get(built_page)})")

    env = {}
    for args in df.all("ENV", runtime):
        for name, value in re.findall(r"(\w+)=(\S+)", args):
            env[name] = value
    for name in env:
        if name.startswith("FUN_NOTES_"):
            check(name in server.env, f"Dockerfile ENV {name} is read by the server")
    port = int(env.get("FUN_NOTES_PORT", server.default_port or 0))
    exposed = [int(p.split("/")[0]) for a in df.all("EXPOSE", runtime) for p in a.split()]
    check(exposed == [port], f"the runtime EXPOSEs the server's port {port}", str(exposed))
    health = df.all("HEALTHCHECK", runtime)
    check(len(health) == 1 and "/healthz" in health[0] and "/healthz" in server.endpoints,
          "the HEALTHCHECK asks /healthz, an endpoint of the server")
    users = df.all("USER", runtime)
    uid = users[-1].split(":")[0] if users else "0"
    check(uid.isdigit() and int(uid) != 0,
          "the runtime runs as a numeric non-root USER (Kubernetes runAsNonRoot can check it)",
          uid)

    # The runtime's packages hold every shared library the server binary needs (libc6,
    # libgcc-s1 and libstdc++6 are in every Debian image).
    installs = " ".join(a for a in df.all("RUN", runtime) if "apt-get install" in a)
    check("--no-install-recommends" in installs,
          "the runtime installs with apt-get --no-install-recommends")
    packages = set(re.findall(r"\b(lib[\w.+-]+|ca-certificates)\b", installs))
    for package in sorted(runtime_packages(server.binary)):
        if package not in ("libc6", "libgcc-s1", "libstdc++6"):
            check(package in packages, f"the runtime installs {package} (the server links it)")
    return {"port": port, "uid": int(uid) if uid.isdigit() else None, "env": env,
            "image": re.search(r'org\.opencontainers\.image\.title="([^"]+)"',
                               " ".join(df.all("LABEL", runtime))),
            "data": env.get("FUN_NOTES_DATA")}


def runtime_packages(binary):
    """The Debian packages of the shared libraries the binary needs (readelf, ldconfig, dpkg)."""
    if not (shutil.which("readelf") and shutil.which("dpkg") and os.path.exists("/sbin/ldconfig")):
        check(False, "readelf, ldconfig and dpkg are there to list the server's libraries")
        return set()
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]",
                        subprocess.run(["readelf", "-d", binary], capture_output=True,
                                       text=True).stdout)
    cache = subprocess.run(["/sbin/ldconfig", "-p"], capture_output=True, text=True).stdout
    found = {}  # soname -> path, the first the dynamic linker's cache lists
    for line in cache.splitlines():
        m = re.match(r"\s*(\S+) \([^)]*\) => (\S+)", line)
        if m:
            found.setdefault(m.group(1), m.group(2))
    packages = set()
    for lib in needed:
        path = found.get(lib)
        owner = None
        for candidate in filter(None, {path, path and os.path.realpath(path)}):
            for variant in {candidate, re.sub(r"^/usr/lib/", "/lib/", candidate),
                            re.sub(r"^/lib/", "/usr/lib/", candidate)}:
                r = subprocess.run(["dpkg", "-S", variant], capture_output=True, text=True)
                if r.returncode == 0:
                    owner = r.stdout.split(":")[0]
                    break
            if owner:
                break
        if check(owner is not None, f"{lib} (needed by the server) belongs to a Debian package"):
            packages.add(owner)
    return packages


# --- the Kubernetes manifests ------------------------------------------------------------------


def load_manifests(k8s):
    docs = {}
    for name in sorted(os.listdir(k8s)):
        if not name.endswith((".yaml", ".yml")):
            continue
        try:
            loaded = [d for d in yaml.safe_load_all(read(os.path.join(k8s, name))) if d]
        except yaml.YAMLError as e:
            check(False, f"{name} parses as YAML", str(e).replace("\n", " "))
            continue
        check(bool(loaded), f"{name} parses as YAML and holds a document")
        for d in loaded:
            ok = isinstance(d, dict) and d.get("apiVersion") and d.get("kind") and (
                d.get("kind") == "Kustomization" or d.get("metadata", {}).get("name"))
            check(bool(ok), f"every document of {name} has apiVersion, kind and metadata.name")
        docs[name] = loaded
    return docs


def of_kind(docs, kind):
    return [d for ds in docs.values() for d in ds if isinstance(d, dict) and d.get("kind") == kind]


def port_of(container, ref):
    """A probe's or Service's port (a number or a port name) as a container port number."""
    if isinstance(ref, int):
        return ref
    return next((p.get("containerPort") for p in container.get("ports", [])
                 if p.get("name") == ref), None)


def check_manifests(source, server, image, docker, docs):
    kustomization = docs.get("kustomization.yaml", [{}])[0]
    listed = kustomization.get("resources", [])
    others = sorted(n for n in docs if n != "kustomization.yaml")
    check(sorted(listed) == others, "kustomization.yaml lists every manifest, and only those",
          f"lists {listed}, files {others}")
    for kind in ("Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget",
                 "ConfigMap", "Secret"):
        check(bool(of_kind(docs, kind)), f"the manifests have a {kind}")
    for entry in kustomization.get("images", []):
        check(entry.get("name") == image, "kustomization.yaml's images name the Dockerfile's image",
              f"{entry.get('name')} (the Dockerfile's: {image})")

    config_maps = {d["metadata"]["name"]: d.get("data", {}) or {} for d in of_kind(docs, "ConfigMap")}
    secrets = {d["metadata"]["name"]: {**(d.get("data") or {}), **(d.get("stringData") or {})}
               for d in of_kind(docs, "Secret")}
    for values in config_maps.values():
        if "FUN_NOTES_REDIS_URL" in values:
            for url in str(values["FUN_NOTES_REDIS_URL"]).split(","):
                check(re.fullmatch(r"redis://[^@/?#]+", url) is not None,
                      "FUN_NOTES_REDIS_URL has the form the server takes (redis://host:port)", url)
    for values in secrets.values():
        if "FUN_NOTES_POSTGRES_URL" in values:
            check(re.match(r"postgres(ql)?://", str(values["FUN_NOTES_POSTGRES_URL"])) is not None,
                  "FUN_NOTES_POSTGRES_URL is a postgresql:// URL")

    deployments = of_kind(docs, "Deployment")
    pod_labels = {}
    for dep in deployments:
        name = dep["metadata"]["name"]
        spec = dep.get("spec", {})
        template = spec.get("template", {})
        labels = template.get("metadata", {}).get("labels", {}) or {}
        pod_labels[name] = (labels, template.get("spec", {}).get("containers", []))
        selector = spec.get("selector", {}).get("matchLabels", {}) or {}
        check(selector.items() <= labels.items() and selector,
              f"Deployment {name}'s selector matches its pods")
        pod = template.get("spec", {})
        security = pod.get("securityContext", {}) or {}
        check(security.get("runAsNonRoot") is True, f"Deployment {name} runs as non-root")
        if docker and docker["uid"] is not None and "runAsUser" in security:
            check(security["runAsUser"] == docker["uid"],
                  f"Deployment {name}'s runAsUser is the Dockerfile's USER",
                  f"{security['runAsUser']} vs {docker['uid']}")
        for c in pod.get("containers", []):
            check_container(name, pod, c, server, image, docker, config_maps, secrets)

    for svc in of_kind(docs, "Service"):
        selector = svc.get("spec", {}).get("selector")
        if not selector:
            continue  # the external services
        matches = [(n, cs) for n, (labels, cs) in pod_labels.items()
                   if selector.items() <= labels.items()]
        svc_name = svc["metadata"]["name"]
        if not check(bool(matches), f"Service {svc_name} selects the server pods"):
            continue
        for p in svc["spec"].get("ports", []):
            target = p.get("targetPort", p.get("port"))
            resolved = [port_of(c, target) for _, cs in matches for c in cs]
            check(any(r == docker["port"] for r in resolved),
                  f"Service {svc_name}'s targetPort {target} is the server's port {docker['port']}",
                  str(resolved))
    for hpa in of_kind(docs, "HorizontalPodAutoscaler"):
        ref = hpa.get("spec", {}).get("scaleTargetRef", {})
        check(hpa["apiVersion"] == "autoscaling/v2", "the HorizontalPodAutoscaler is autoscaling/v2")
        check(ref.get("kind") == "Deployment" and ref.get("name") in pod_labels,
              "the HorizontalPodAutoscaler scales the Deployment", str(ref))
        for c in pod_labels.get(ref.get("name"), ({}, []))[1]:
            check("cpu" in (c.get("resources", {}).get("requests") or {}),
                  "the autoscaled containers request CPU (utilization is relative to it)")
    for pdb in of_kind(docs, "PodDisruptionBudget"):
        selector = pdb.get("spec", {}).get("selector", {}).get("matchLabels", {}) or {}
        check(bool(selector) and any(selector.items() <= l.items() for l, _ in pod_labels.values()),
              "the PodDisruptionBudget selects the server pods")


def check_container(dep, pod, c, server, image, docker, config_maps, secrets):
    where = f"Deployment {dep} container {c.get('name')}"
    name = re.sub(r"[:@].*$", "", c.get("image", "").rsplit("/", 1)[-1])
    check(name == image, f"{where}'s image is the Dockerfile's ({image})", c.get("image"))

    env_names = {e["name"] for e in c.get("env", [])}
    consumed = {}  # variable -> "configmap NAME" / "secret NAME"
    for ref in c.get("envFrom", []):
        if "configMapRef" in ref:
            n = ref["configMapRef"]["name"]
            if check(n in config_maps, f"{where}'s envFrom ConfigMap {n} is in the manifests"):
                consumed.update({k: f"ConfigMap {n}" for k in config_maps[n]})
        if "secretRef" in ref:
            n = ref["secretRef"]["name"]
            if check(n in secrets, f"{where}'s envFrom Secret {n} is in the manifests"):
                consumed.update({k: f"Secret {n}" for k in secrets[n]})
    for e in c.get("env", []):
        source = e.get("valueFrom", {})
        for kind, table in (("configMapKeyRef", config_maps), ("secretKeyRef", secrets)):
            if kind in source:
                ref = source[kind]
                check(ref.get("key") in table.get(ref.get("name"), {}),
                      f"{where}'s env {e['name']} comes from a key that exists", str(ref))
    defined = env_names | set(consumed)

    args = [str(a) for a in (c.get("command") or []) + (c.get("args") or [])]
    referenced = set()
    for a in args:
        for var in re.findall(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", a):
            referenced.add(var)
            check(var in defined, f"{where}'s args use $({var}), which the container defines")
        if a.startswith("--"):
            flag = a.split("=", 1)[0]
            check(flag in server.flags, f"{where}'s flag {flag} is one of the server's")
    for var, origin in sorted(consumed.items()):
        check(var in server.env or var in referenced,
              f"{origin}'s {var} is read by the server or passed as a flag in the args")
    for var in sorted(env_names):
        if var.startswith("FUN_NOTES_"):
            check(var in server.env or var in referenced,
                  f"{where}'s env {var} is read by the server or passed as a flag in the args")

    values = {k: v for table in config_maps.values() for k, v in table.items()}
    values.update({e["name"]: e["value"] for e in c.get("env", []) if "value" in e})
    port = int(values.get("FUN_NOTES_PORT", docker["port"]))
    ports = [p.get("containerPort") for p in c.get("ports", [])]
    check(ports == [port], f"{where} declares the server's port {port}", str(ports))
    probes = {"readinessProbe": "/readyz", "livenessProbe": "/healthz"}
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        spec = c.get(probe)
        if spec is None:
            check(probe == "startupProbe", f"{where} has a {probe}")
            continue
        get = spec.get("httpGet", {})
        path = get.get("path")
        check(path in server.endpoints, f"{where}'s {probe} asks {path}, an endpoint of the server",
              f"endpoints: {sorted(server.endpoints)}")
        if probe in probes:
            check(path == probes[probe], f"{where}'s {probe} asks {probes[probe]}", str(path))
        check(port_of(c, get.get("port")) == port,
              f"{where}'s {probe} port {get.get('port')} is the server's port {port}")

    pre_stop = c.get("lifecycle", {}).get("preStop", {})
    check(bool(pre_stop), f"{where} has a preStop hook (let load balancers stop sending first)")
    sleep = 0
    command = pre_stop.get("exec", {}).get("command", [])
    if len(command) == 2 and command[0] == "sleep":
        sleep = int(command[1])
    elif "sleep" in pre_stop:
        sleep = int(pre_stop["sleep"].get("seconds", 0))
    # After SIGTERM the server waits up to 5 s for its WebSockets to close, then flushes.
    grace = pod.get("terminationGracePeriodSeconds", 30)
    check(grace >= sleep + 5 + 10,
          f"{dep}'s terminationGracePeriodSeconds ({grace}) covers preStop ({sleep} s), closing "
          "the WebSockets (5 s) and a flush (10 s)")
    mounts = {m.get("mountPath") for m in c.get("volumeMounts", [])}
    if (c.get("securityContext") or {}).get("readOnlyRootFilesystem"):
        data = values.get("FUN_NOTES_DATA", docker.get("data"))
        check(data in mounts, f"{where} has a writable volume at the data dir {data} "
              "(readOnlyRootFilesystem)", str(sorted(mounts)))


# --- nginx -------------------------------------------------------------------------------------


def check_nginx(source, server):
    template = read(os.path.join(source, "deploy/nginx.conf"))
    for header in sorted(server.proxy_headers):
        check(re.search(rf"proxy_set_header\s+{header}\s", template) is not None,
              f"nginx.conf sets {header}, which the server reads from a trusted proxy")
    # Comments may name the placeholders; the configuration's own lines hold them.
    lines = template.splitlines()
    config = [(i, l) for i, l in enumerate(lines) if not l.lstrip().startswith("#")]
    server_lines = [i for i, l in config if "@SERVER@" in l]
    if not check(len(server_lines) == 1 and any("@FRONTEND_PORT@" in l for _, l in config),
                 "nginx.conf has @FRONTEND_PORT@ and one line with @SERVER@"):
        return
    nginx = next((p for p in ("/usr/sbin/nginx", "/usr/bin/nginx") if os.access(p, os.X_OK)),
                 shutil.which("nginx"))
    if not check(nginx is not None, "nginx is installed (scripts/setup.sh) to test nginx.conf"):
        return
    line = lines[server_lines[0]]
    rendered = lines[:server_lines[0]] + [line.replace("@SERVER@", f"127.0.0.1:{p}")
                                          for p in (40001, 40002)] + lines[server_lines[0] + 1:]
    with tempfile.TemporaryDirectory(prefix="fun-notes-nginx-check-") as prefix:
        conf = os.path.join(prefix, "nginx.conf")
        with open(conf, "w", encoding="utf-8") as f:
            f.write("\n".join(rendered).replace("@FRONTEND_PORT@", "18080") + "\n")
        # Unprivileged, as the tests run it: nothing outside the prefix may be needed.
        preexec = None
        if os.geteuid() == 0:
            nobody = pwd.getpwnam("nobody")
            os.chown(prefix, nobody.pw_uid, nobody.pw_gid)

            def preexec():
                os.setgroups([])
                os.setgid(nobody.pw_gid)
                os.setuid(nobody.pw_uid)
        r = subprocess.run([nginx, "-t", "-p", prefix + "/", "-c", conf, "-e", "stderr"],
                           capture_output=True, text=True, preexec_fn=preexec, timeout=10)
        out = (r.stdout + r.stderr).strip()
        check(r.returncode == 0 and not re.search(r"\[(warn|emerg|alert|crit)\]", out),
              "nginx -t accepts the rendered nginx.conf without a warning, unprivileged", out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", required=True, help="the repository root")
    parser.add_argument("--server", required=True, help="the built fun-notes-server")
    opts = parser.parse_args()
    source = os.path.abspath(opts.source)
    if not os.access(opts.server, os.X_OK):
        sys.exit(f"deploy check: no server binary at {opts.server}: build it first (make build)")
    server = Server(source, opts.server)
    check(server.default_port is not None, "--help shows the server's default port")
    check({"/readyz", "/healthz"} <= server.endpoints,
          "the server has /readyz and /healthz", str(sorted(server.endpoints)))

    df = Dockerfile(os.path.join(source, "deploy/Dockerfile"))
    docker = check_dockerfile(source, server, df)
    image = docker["image"].group(1) if docker and docker["image"] else None
    check(image is not None,
          "the Dockerfile names its image (LABEL org.opencontainers.image.title)")
    docs = load_manifests(os.path.join(source, "deploy/k8s"))
    if docker:
        check_manifests(source, server, image, docker, docs)
    check_nginx(source, server)

    for f in failures:
        print(f"FAIL: {f}")
    print(f"deploy check: {len(passed)} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
