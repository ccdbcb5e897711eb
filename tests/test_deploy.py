"""deploy/ tested as shipped: Debian's nginx with deploy/nginx/bertlens.conf.template in front of two replicas.

The `deploy` test fills the template's three variables with loopback addresses (as envsubst does in the nginx image),
starts two `streamlit run app.py` replicas on the tiny random model and an unprivileged nginx on a free 127.0.0.1
port with every path it writes under a temporary folder, and drives two headless chromium browsers through it. The
access log names the replica (upstream) that served each request and the affinity key it was routed by.

The `container` test builds deploy/Dockerfile and runs the image's HEALTHCHECK when this machine can build images
(podman, buildah or a docker daemon, and the base image at hand); otherwise it skips and says why.
"""
from __future__ import annotations

import contextlib
import os
import re
import shlex
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

from bertlens import bias
from bertlens.fill_mask import fill_mask
from browser_support import ARTIFACTS, ROOT, chromium_available, free_port, launch_chromium, running_app, stop
from test_e2e_browser import TIMEOUT_MS, click, open_page, type_into, wait_idle

DEPLOY = ROOT / "deploy"
TEMPLATE = DEPLOY / "nginx" / "bertlens.conf.template"
DOCKERFILE = DEPLOY / "Dockerfile"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
COOKIE = "bertlens_replica"
SHOTS = ARTIFACTS / "deploy"
LOG_FORMAT = "'$bertlens_affinity|$upstream_addr|$status|$request_method|$uri'"

needs_nginx = pytest.mark.skipif(not Path(NGINX).is_file(), reason="nginx is not installed (make deploy-tools)")
needs_chromium = pytest.mark.skipif(not chromium_available(), reason="chromium is not installed (make browser)")


def fill_template(text: str, values: dict[str, str]) -> str:
    """What `envsubst` does with these variables: replace ${NAME} and $NAME; nginx's own variables stay."""
    for name, value in values.items():
        text = re.sub(r"\$(\{%s\}|%s\b)" % (name, name), value, text)
    left = re.findall(r"\$\{?BERT_LENS_\w+", text)
    assert not left, f"the template uses variables the test does not fill: {left}"
    return text


@dataclass
class Proxy:
    """A running nginx: its URL and the access log of `affinity key|upstream|status|method|uri` lines."""

    url: str
    port: int
    folder: Path
    process: subprocess.Popen

    def log(self) -> list[tuple[str, str, int, str, str]]:
        path = self.folder / "access.log"
        rows = []
        for line in path.read_text(encoding="utf-8").splitlines() if path.exists() else []:
            key, upstream, status, method, uri = line.split("|", 4)
            # After a failed try nginx lists every upstream it tried, the one that answered last.
            rows.append((key, upstream.split(",")[-1].strip(), int(status), method, uri))
        return rows

    def upstreams_of(self, key: str) -> set[str]:
        return {upstream for k, upstream, *_ in self.log() if k == key}


def nginx_main_conf(folder: Path, site: Path) -> str:
    """A main configuration that keeps every file nginx writes under `folder`, then includes the site file."""
    temp = "\n".join(f"    {kind}_temp_path {folder / 'temp' / kind};"
                     for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    # As root, nginx would otherwise run its workers as nobody, who cannot enter a private temporary folder.
    user = "user root;\n" if os.geteuid() == 0 else ""
    return (f"{user}worker_processes 1;\ndaemon off;\npid {folder / 'nginx.pid'};\n"
            f"error_log {folder / 'error.log'} notice;\nevents {{ worker_connections 256; }}\n"
            f"http {{\n{temp}\n    include {site};\n    log_format replicas {LOG_FORMAT};\n"
            f"    access_log {folder / 'access.log'} replicas;\n}}\n")


@contextlib.contextmanager
def running_nginx(replicas: list[str], folder: Path, timeout: float = 30.0) -> Iterator[Proxy]:
    """nginx on a free 127.0.0.1 port in front of `replicas` ("host:port"), with the shipped site file."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "temp").mkdir(exist_ok=True)
    port = free_port()
    site = folder / "bertlens.conf"
    site.write_text(fill_template(TEMPLATE.read_text(encoding="utf-8"), {
        "BERT_LENS_LISTEN": f"127.0.0.1:{port}",
        "BERT_LENS_REPLICA_1": replicas[0], "BERT_LENS_REPLICA_2": replicas[1],
    }), encoding="utf-8")
    main = folder / "nginx.conf"
    main.write_text(nginx_main_conf(folder, site), encoding="utf-8")
    command = [NGINX, "-p", str(folder), "-e", str(folder / "error.log"), "-c", str(main)]
    check = subprocess.run([*command, "-t"], capture_output=True, text=True, timeout=30)
    assert check.returncode == 0, f"nginx rejects the configuration:\n{check.stderr}"
    with (folder / "nginx.out").open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    proxy = Proxy(f"http://127.0.0.1:{port}", port, folder, process)
    try:
        deadline = time.monotonic() + timeout
        while get(f"{proxy.url}/_stcore/health")[1] != b"ok":
            assert process.poll() is None, (folder / "error.log").read_text(errors="replace")
            assert time.monotonic() < deadline, "nginx did not answer /_stcore/health"
            time.sleep(0.3)
        yield proxy
    finally:
        stop(process)


def get(url: str, cookie: str | None = None) -> tuple[int, bytes, str | None]:
    """GET url: (status, body, the Set-Cookie header for COOKIE or None); status 0 when the connection fails."""
    request = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read(), _our_cookie(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), _our_cookie(exc.headers)
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return 0, b"", None


def _our_cookie(headers) -> str | None:
    ours = [h for h in headers.get_all("Set-Cookie") or [] if h.startswith(f"{COOKIE}=")]
    assert len(ours) <= 1, f"nginx set its cookie twice: {ours}"
    return ours[0] if ours else None


def issued_key(proxy: Proxy, upstream: str, tries: int = 40) -> str:
    """An affinity key that nginx itself issues to a new browser and that routes to `upstream`."""
    for _ in range(tries):
        status, _, set_cookie = get(f"{proxy.url}/_stcore/health")
        assert status == 200 and set_cookie, f"a new browser gets no {COOKIE} cookie: {status} {set_cookie!r}"
        key = re.match(rf"{COOKIE}=([^;]+)", set_cookie).group(1)
        time.sleep(0.1)  # the access log line is written once the response is sent
        if proxy.upstreams_of(key) == {upstream}:
            return key
    raise AssertionError(f"{tries} new browsers in a row were all sent away from {upstream}")


def probe_chart(tab) -> list[tuple[str, float]]:
    """The occupation chart's points as the browser holds them: (occupation, log-ratio), lowest first."""
    tab.wait_for_function("() => [...document.querySelectorAll('.js-plotly-plot')]"
                          ".some(g => (g.data || []).some(t => t.error_x || t.mode === 'markers'))", timeout=TIMEOUT_MS)
    traces = tab.evaluate("() => [...document.querySelectorAll('.js-plotly-plot')].flatMap(g => g.data || [])"
                          ".filter(t => t.mode === 'markers' && Array.isArray(t.y)).map(t => [t.y, t.x])")
    labels, values = traces[0]
    return [(str(label).replace(" †", ""), float(value)) for label, value in zip(labels, values)]


def run_fill_mask(tab, proxy: Proxy, lm, text: str) -> None:
    open_page(tab, proxy, "fill_mask")
    type_into(tab, "fm_text", text)
    expected = fill_mask(lm, text, top_k=10).completed
    tab.wait_for_function("t => [...document.querySelectorAll('[data-testid=stCode]')].some(e => e.innerText"
                          ".includes(t))", arg=expected, timeout=TIMEOUT_MS)


def run_probe(tab, proxy: Proxy, expected: list[tuple[str, float]]) -> None:
    open_page(tab, proxy, "bias_probe")
    click(tab, "Occupation scores")
    click(tab, "Run probe")
    shown = probe_chart(tab)
    assert [o for o, _ in shown] == [o for o, _ in expected], "the probe's occupations are not in the core's order"
    assert max(abs(a - b) for (_, a), (_, b) in zip(shown, expected)) < 1e-4


def side_by_side_rerun(tab, lm, template: str) -> None:
    """On the open probe page: type a side-by-side template and see the core's female sentence."""
    click(tab, "Side by side")
    type_into(tab, "bias_side_template", template)
    expected = bias.side_by_side(lm, template, bias.load_pairs()[0]).female_text
    tab.wait_for_function("t => [...document.querySelectorAll('[data-testid=stText]')].some(e => e.innerText"
                          ".includes(t))", arg=expected, timeout=TIMEOUT_MS)


class Sockets:
    """The WebSockets a tab opens and whether any of them closed."""

    def __init__(self, tab) -> None:
        self.opened: list[str] = []
        self.closed: list[str] = []
        tab.on("websocket", self._on)

    def _on(self, socket) -> None:
        self.opened.append(socket.url)
        socket.on("close", lambda s: self.closed.append(s.url))


@pytest.mark.deploy
@needs_nginx
@needs_chromium
def test_two_replicas_behind_the_shipped_nginx(tiny_model_dir, lm, tmp_path):
    from playwright.sync_api import sync_playwright

    core = bias.run_probe(lm, bias.default_config())
    expected_probe = [(o.occupation, o.log_ratio) for o in sorted(core.occupations, key=lambda o: o.log_ratio)]
    with contextlib.ExitStack() as stack:
        replicas = [stack.enter_context(running_app(tiny_model_dir, log_dir=tmp_path / f"replica-{i}"))
                    for i in (1, 2)]
        addresses = [f"{r.host}:{r.port}" for r in replicas]
        proxy = stack.enter_context(running_nginx(addresses, tmp_path / "nginx"))
        playwright = stack.enter_context(sync_playwright())
        browser = launch_chromium(playwright)
        stack.callback(browser.close)
        SHOTS.mkdir(parents=True, exist_ok=True)

        # Browser 1: whatever replica nginx picks, every request of its session goes there.
        first = browser.new_context(viewport={"width": 1400, "height": 1000})
        tab1 = first.new_page()
        run_fill_mask(tab1, proxy, lm, "The [MASK] sat on the mat.")
        (key1,) = [c["value"] for c in first.cookies() if c["name"] == COOKIE]
        pinned = proxy.upstreams_of(key1)
        assert len(pinned) == 1 and pinned <= set(addresses), f"browser 1 was served by {pinned}"
        (home,) = pinned
        other = next(a for a in addresses if a != home)
        sockets1 = Sockets(tab1)
        run_probe(tab1, proxy, expected_probe)
        assert len(sockets1.opened) == 1 and not sockets1.closed

        # Browser 2, with a cookie nginx issued to a new browser and that routes to the other replica.
        second = browser.new_context(viewport={"width": 1400, "height": 1000})
        second.add_cookies([{"name": COOKIE, "value": issued_key(proxy, other), "url": proxy.url}])
        tab2 = second.new_page()
        run_fill_mask(tab2, proxy, lm, "She bought a [MASK] at the market.")
        run_probe(tab2, proxy, expected_probe)
        tab2.screenshot(path=str(SHOTS / "browser-2-probe.png"))
        key2 = next(c["value"] for c in second.cookies() if c["name"] == COOKIE)
        assert proxy.upstreams_of(key2) == {other}
        assert proxy.upstreams_of(key1) == {home}, "browser 1 left its replica while browser 2 worked"

        # The other replica stops; browser 1's session goes on over the same WebSocket, on the same replica.
        stop(next(r for r in replicas if f"{r.host}:{r.port}" == other).process)
        assert get(f"http://{other}/_stcore/health")[0] == 0, "the stopped replica still answers"
        side_by_side_rerun(tab1, lm, "{person} is a [MASK] at home.")
        wait_idle(tab1)
        tab1.screenshot(path=str(SHOTS / "browser-1-after-stop.png"))
        assert not sockets1.closed and len(sockets1.opened) == 1, "browser 1's session was reconnected"
        assert "Connection error" not in tab1.locator("body").inner_text()
        assert proxy.upstreams_of(key1) == {home}
        assert get(f"{proxy.url}/_stcore/health", cookie=f"{COOKIE}={key1}")[1] == b"ok"
        first.close()
        second.close()


@pytest.mark.deploy
@needs_nginx
def test_nginx_routes_by_the_cookie_it_issues(tmp_path):
    """Without replicas behind it: a new browser gets a cookie once, and the WebSocket location asks to upgrade."""
    ports = [free_port(), free_port()]
    with running_upstub(ports) as stub, running_nginx([f"127.0.0.1:{p}" for p in ports], tmp_path / "nginx") as proxy:
        status, body, set_cookie = get(f"{proxy.url}/_stcore/health")
        assert status == 200 and set_cookie.startswith(f"{COOKIE}=") and "HttpOnly" in set_cookie
        key = set_cookie.split(";")[0].split("=", 1)[1]
        for _ in range(5):
            status, body, again = get(f"{proxy.url}/app/page", cookie=f"{COOKIE}={key}")
            assert status == 200 and again is None, "a pinned browser got a new cookie"
        assert len(proxy.upstreams_of(key)) == 1
        assert len({port for port, _, path in stub.requests if path == "/app/page"}) == 1
        stream = urllib.request.Request(f"{proxy.url}/_stcore/stream", headers={
            "Cookie": f"{COOKIE}={key}", "Upgrade": "websocket", "Connection": "Upgrade"})
        with urllib.request.urlopen(stream, timeout=10):
            pass
        headers = stub.headers_of("/_stcore/stream")
        assert headers["Upgrade"] == "websocket" and headers["Connection"].lower() == "upgrade"
        assert headers["Host"] == f"127.0.0.1:{proxy.port}", "Streamlit checks the Origin against this Host"


@pytest.mark.deploy
def test_compose_and_dockerfile_agree_with_the_template():
    """compose.yaml fills every variable of the nginx template and mounts it where the nginx image fills templates;
    the replicas share one Hugging Face cache at the image's HF_HOME; the image runs as a user, with a HEALTHCHECK."""
    import yaml

    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))
    services = compose["services"]
    proxy = services["proxy"]
    wanted = set(re.findall(r"\$\{(BERT_LENS_\w+)\}", TEMPLATE.read_text(encoding="utf-8")))
    assert wanted == set(proxy["environment"]), "compose.yaml and the template name different variables"
    mounts = {m.split(":")[1]: m.split(":")[0] for m in proxy["volumes"]}
    assert mounts["/etc/nginx/templates/bertlens.conf.template"] == "./nginx/bertlens.conf.template"
    upstreams = {proxy["environment"][f"BERT_LENS_REPLICA_{i}"].split(":")[0] for i in (1, 2)}
    replicas = {name: services[name] for name in upstreams}
    assert len(replicas) == 2 and set(proxy["depends_on"]) == upstreams
    dockerfile = DOCKERFILE.read_text(encoding="utf-8")
    hf_home = re.search(r"HF_HOME=(\S+)", dockerfile).group(1)
    caches = {next(v for v in r["volumes"] if v.endswith(f":{hf_home}")).split(":")[0] for r in replicas.values()}
    assert len(caches) == 1 and caches <= set(compose["volumes"]), "the replicas do not share one cache volume"
    assert all(r["environment"]["HF_HUB_OFFLINE"] == "1" for r in replicas.values())
    assert re.search(r"^USER (?!root\b|0\b)\S+", dockerfile, re.M), "the image runs as root"
    assert re.search(r"^HEALTHCHECK .*_stcore/health", dockerfile, re.M | re.S)


class _Stub:
    """Two plain HTTP servers that answer "ok" and record (port, headers, path) of every request."""

    def __init__(self) -> None:
        self.requests: list[tuple[int, dict[str, str], str]] = []

    def headers_of(self, path: str) -> dict[str, str]:
        return next(h for _, h, p in reversed(self.requests) if p == path)


@contextlib.contextmanager
def running_upstub(ports: list[int]) -> Iterator[_Stub]:
    import http.server
    import threading

    stub = _Stub()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            stub.requests.append((self.server.server_port, dict(self.headers), self.path))
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args) -> None:
            pass

    servers = [http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler) for port in ports]
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in servers]
    for thread in threads:
        thread.start()
    try:
        yield stub
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()


# ---------------------------------------------------------------------------------------------------------------
# The image


def base_image() -> str:
    """BERT_LENS_BASE_IMAGE if set (as in compose.yaml), else the Dockerfile's default BASE_IMAGE."""
    default = re.search(r"^ARG BASE_IMAGE=(\S+)", DOCKERFILE.read_text(encoding="utf-8"), re.M).group(1)
    return os.environ.get("BERT_LENS_BASE_IMAGE") or default


def _opts(name: str) -> list[str]:
    return shlex.split(os.environ.get(name, ""))


def container_tool() -> tuple[list[str] | None, str]:
    """The command that builds and runs images here (with BERT_LENS_CONTAINER_OPTS), or None and the reason."""
    for name in ("podman", "docker"):
        path = shutil.which(name)
        if path is None:
            continue
        tool = [path, *_opts("BERT_LENS_CONTAINER_OPTS")]
        probe = subprocess.run([*tool, "info"], capture_output=True, text=True, timeout=60)
        if probe.returncode == 0:
            return tool, ""
        reason = f"{name} is installed but cannot run ({(probe.stderr or probe.stdout).strip().splitlines()[-1]})"
        if name == "docker":
            return None, reason
    if shutil.which("buildah"):
        return None, "only buildah is installed: it builds but cannot run the HEALTHCHECK (install podman)"
    return None, "no podman, buildah or docker daemon on this machine (apt-get install podman)"


@pytest.mark.container
def test_image_builds_and_its_healthcheck_passes():
    """Build deploy/Dockerfile, start it without weights, and wait until its own HEALTHCHECK passes.

    Where the host needs it: BERT_LENS_BASE_IMAGE names a base already at hand, BERT_LENS_BUILD_OPTS and
    BERT_LENS_RUN_OPTS are added to `build` and `run`, BERT_LENS_CONTAINER_OPTS to every podman/docker call."""
    tool, reason = container_tool()
    if tool is None:
        pytest.skip(reason)
    podman = Path(tool[0]).name == "podman"
    base = base_image()
    if subprocess.run([*tool, "image", "inspect", base], capture_output=True, timeout=60).returncode != 0:
        pytest.skip(f"the base image {base} is not on this machine, and the test never pulls one (this workplace "
                    "reaches no container registry): build a local base and name it in BERT_LENS_BASE_IMAGE, as "
                    "deploy/README.md shows")
    tag, name = f"localhost/bert-lens-test:{os.getpid()}", f"bert-lens-test-{os.getpid()}"
    build = [*tool, "build", *(["--format", "docker"] if podman else []), *_opts("BERT_LENS_BUILD_OPTS"),
             "--build-arg", f"BASE_IMAGE={base}", "-f", str(DOCKERFILE), "-t", tag, str(ROOT)]
    built = subprocess.run(build, capture_output=True, text=True, timeout=1800)
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    try:
        started = subprocess.run([*tool, "run", "-d", *_opts("BERT_LENS_RUN_OPTS"), "--name", name,
                                  "-e", "HF_HUB_OFFLINE=1", tag], capture_output=True, text=True, timeout=120)
        assert started.returncode == 0, started.stderr[-3000:]
        deadline = time.monotonic() + 180
        while True:
            check = subprocess.run([*tool, "healthcheck", "run", name] if podman
                                   else [*tool, "inspect", "-f", "{{.State.Health.Status}}", name],
                                   capture_output=True, text=True, timeout=60)
            if check.returncode == 0 and (podman or check.stdout.strip() == "healthy"):
                break
            assert time.monotonic() < deadline, f"the container never became healthy: {check.stdout}{check.stderr}"
            time.sleep(3)
        user = subprocess.run([*tool, "exec", name, "id", "-u"], capture_output=True, text=True, timeout=60)
        assert user.stdout.strip() not in ("", "0"), f"the container runs as root: {user.stdout}{user.stderr}"
    finally:
        subprocess.run([*tool, "rm", "-f", name], capture_output=True, timeout=120)
        subprocess.run([*tool, "rmi", "-f", tag], capture_output=True, timeout=120)
