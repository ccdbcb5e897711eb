"""deploy/ tested as shipped: Debian's nginx with deploy/nginx/bertlens.conf.template in front of two replicas.

The `deploy` test fills the template's three variables with loopback addresses (as envsubst does in the nginx image),
starts two `streamlit run serve.py` replicas (as the image does) on the tiny random model and an unprivileged nginx
on a free 127.0.0.1 port with every path it writes under a temporary folder, and drives two headless chromium
browsers through it. The access log names the replica (upstream) that served each request and the affinity key it
was routed by.

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


# Every Content-Security-Policy violation of a page and of its frames (srcdoc frames share the origin).
CSP_LISTENER = """
document.addEventListener('securitypolicyviolation', e => {
  const top = (() => { try { return window.top; } catch (_) { return window; } })();
  (top.__csp = top.__csp || []).push(e.violatedDirective + ' ' + (e.blockedURI || '') + ' ' + (e.sourceFile || ''));
});
"""


def csp_violations(tab) -> list[str]:
    return tab.evaluate("() => window.__csp || []")


def csp_console(tab) -> list[str]:
    """Console lines in which the browser says it refused something under the policy."""
    refused: list[str] = []
    tab.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
    return refused


def bertviz_under_csp(tab, proxy: Proxy) -> None:
    open_page(tab, proxy, "attention")
    tab.get_by_role("tab", name="bertviz").click()
    tab.get_by_text("Show bertviz's own views").click()
    tab.wait_for_function("[...document.querySelectorAll('iframe')].some(f => (f.srcdoc || '').includes('bertviz'))",
                          timeout=TIMEOUT_MS)
    tab.wait_for_timeout(500)
    frame = next(f for f in tab.frames if f != tab.main_frame and "bertviz" in (f.content() or ""))
    frame.locator("svg text").first.wait_for(timeout=TIMEOUT_MS)


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
        replicas = [stack.enter_context(running_app(tiny_model_dir, log_dir=tmp_path / f"replica-{i}",
                                                    script="serve.py"))  # as the image starts them
                    for i in (1, 2)]
        addresses = [f"{r.host}:{r.port}" for r in replicas]
        proxy = stack.enter_context(running_nginx(addresses, tmp_path / "nginx"))
        playwright = stack.enter_context(sync_playwright())
        browser = launch_chromium(playwright)
        stack.callback(browser.close)
        SHOTS.mkdir(parents=True, exist_ok=True)

        # Browser 1: whatever replica nginx picks, every request of its session goes there.
        first = browser.new_context(viewport={"width": 1400, "height": 1000})
        first.add_init_script(CSP_LISTENER)
        tab1 = first.new_page()
        refused1 = csp_console(tab1)
        answers1: list[tuple[int, str]] = []
        tab1.on("response", lambda response: answers1.append((response.status, response.url)))
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
        second.add_init_script(CSP_LISTENER)
        second.add_cookies([{"name": COOKIE, "value": issued_key(proxy, other), "url": proxy.url}])
        tab2 = second.new_page()
        refused2 = csp_console(tab2)
        run_fill_mask(tab2, proxy, lm, "She bought a [MASK] at the market.")
        run_probe(tab2, proxy, expected_probe)
        tab2.screenshot(path=str(SHOTS / "browser-2-probe.png"))
        key2 = next(c["value"] for c in second.cookies() if c["name"] == COOKIE)
        assert proxy.upstreams_of(key2) == {other}
        # Under the shipped Content-Security-Policy the charts and bertviz's own views (srcdoc frames running
        # the vendored require.js, d3 and jquery) still work, and nothing was refused on any page.
        bertviz_under_csp(tab2, proxy)
        tab2.screenshot(path=str(SHOTS / "browser-2-bertviz-under-csp.png"))
        assert csp_violations(tab2) == [] and refused2 == [], (csp_violations(tab2), refused2)
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
        assert csp_violations(tab1) == [] and refused1 == [], (csp_violations(tab1), refused1)
        # Deep links (/fill-mask, /bias-probe) asked no /PAGE/_stcore/health or /host-config, which answer 404.
        assert not [(status, url) for status, url in answers1 if status == 404], answers1
        assert any(url.endswith("/_stcore/health") for _, url in answers1)
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
        self.hold_sockets = 0.0

    def headers_of(self, path: str) -> dict[str, str]:
        return next(h for _, h, p in reversed(self.requests) if p == path)


@contextlib.contextmanager
def running_upstub(ports: list[int]) -> Iterator[_Stub]:
    import http.server
    import threading

    stub = _Stub()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802
            stub.requests.append((self.server.server_port, dict(self.headers), self.path))
            if self.path == "/_stcore/stream" and self.headers.get("Upgrade") == "websocket" and stub.hold_sockets:
                self.send_response(101)  # a WebSocket that stays open a while, as a browser tab's does
                self.send_header("Upgrade", "websocket")
                self.send_header("Connection", "Upgrade")
                self.end_headers()
                self.wfile.flush()
                time.sleep(stub.hold_sockets)
                self.close_connection = True
                return
            self._ok()

        def do_POST(self) -> None:  # noqa: N802
            stub.requests.append((self.server.server_port, dict(self.headers), self.path))
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self._ok()

        def _ok(self) -> None:
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


# ---------------------------------------------------------------------------------------------------------------
# A public server: headers, limits, the image's contents

CONFIG_TOML = ROOT / ".streamlit" / "config.toml"
DOCKERIGNORE = ROOT / ".dockerignore"
SECURITY_HEADERS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin",
                    "X-Frame-Options": "SAMEORIGIN"}


def upload_limit_bytes() -> int:
    import tomllib

    return int(tomllib.loads(CONFIG_TOML.read_text(encoding="utf-8"))["server"]["maxUploadSize"]) * 1024 * 1024


def nginx_size(value: str) -> int:
    number, unit = re.fullmatch(r"(\d+)([kKmMgG]?)", value).groups()
    return int(number) * {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}[unit.lower()]


def raw_request(port: int, request: bytes, timeout: float = 10.0) -> tuple[int, dict[str, str], bytes]:
    """Send raw bytes to nginx on 127.0.0.1:port; (status, headers, body) of the answer (0 when none)."""
    import http.client
    import socket

    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as connection:
        connection.sendall(request)
        response = http.client.HTTPResponse(connection)
        try:
            response.begin()
        except (OSError, http.client.HTTPException):
            return 0, {}, b""
        body = b"" if response.status == 101 else response.read()
        return response.status, {k: v for k, v in response.getheaders()}, body


def csp_of(headers: dict[str, str]) -> dict[str, list[str]]:
    policy = headers.get("Content-Security-Policy", "")
    return {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}


@pytest.mark.deploy
def test_the_site_file_is_written_for_a_public_server():
    """Static: the directives are there, and the body limit equals the app's own upload limit."""
    site = TEMPLATE.read_text(encoding="utf-8")
    assert re.search(r"^\s*server_tokens off;", site, re.M)
    (body,) = re.findall(r"^\s*client_max_body_size (\S+);", site, re.M)
    assert nginx_size(body) == upload_limit_bytes(), "nginx and Streamlit disagree on the upload limit"
    server = site[site.index("server {"):]
    stream = server[server.index("location /_stcore/stream"):]
    stream = stream[:stream.index("}")]
    outside = server.replace(stream, "")
    for where in (outside, stream):  # a location with its own limit_* does not inherit the server's
        assert re.search(r"^\s*limit_req zone=\w+", where, re.M) and re.search(r"^\s*limit_conn \w+ \d+;", where, re.M)
    assert "add_header" not in stream, "a location's add_header would drop every header set for the server"
    for name in (*SECURITY_HEADERS, "Content-Security-Policy"):
        assert re.search(rf"^\s*add_header {name} .* always;", site, re.M), name


@pytest.mark.deploy
@needs_nginx
def test_nginx_sends_the_headers_and_hides_its_version(tmp_path):
    ports = [free_port(), free_port()]
    with running_upstub(ports), running_nginx([f"127.0.0.1:{p}" for p in ports], tmp_path / "nginx") as proxy:
        for request in (b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                        b"GET /nothing/../../etc/passwd HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                        b"BREW / HTTP/1.1\r\n\r\n"):
            status, headers, body = raw_request(proxy.port, request)
            assert status, request
            assert headers.get("Server") == "nginx", f"the version shows: {headers.get('Server')}"
            assert not re.search(rb"nginx/\d", body), "an error page shows the version"
            if status < 500:
                for name, value in SECURITY_HEADERS.items():
                    assert headers.get(name) == value, (request, name, headers)
                policy = csp_of(headers)
                assert policy["frame-ancestors"] == ["'self'"] and policy["object-src"] == ["'none'"]
                assert policy["default-src"] == ["'self'"] and policy["connect-src"] == ["'self'"]
                assert not any(src.startswith(("http", "*")) for sources in policy.values() for src in sources), \
                    "the policy lets the page fetch from another site"


@pytest.mark.deploy
@needs_nginx
def test_request_bodies_stop_at_the_upload_limit(tmp_path):
    ports = [free_port(), free_port()]
    limit = upload_limit_bytes()
    with running_upstub(ports) as stub, running_nginx([f"127.0.0.1:{p}" for p in ports], tmp_path / "nginx") as proxy:
        head = "POST /_stcore/upload_file/x HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {}\r\n\r\n"
        status, _, _ = raw_request(proxy.port, head.format(limit).encode() + b"a" * limit, timeout=30)
        assert status == 200 and stub.requests[-1][2] == "/_stcore/upload_file/x"
        before = len(stub.requests)
        status, _, _ = raw_request(proxy.port, head.format(limit + 1).encode() + b"a" * (limit + 1), timeout=30)
        assert status == 413 and len(stub.requests) == before, "a body over the limit reached the app"


@pytest.mark.deploy
@needs_nginx
def test_one_client_cannot_flood_requests(tmp_path):
    import concurrent.futures

    ports = [free_port(), free_port()]
    with running_upstub(ports), running_nginx([f"127.0.0.1:{p}" for p in ports], tmp_path / "nginx") as proxy:
        request = b"GET /static/x.js HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            statuses = list(pool.map(lambda _: raw_request(proxy.port, request)[0], range(800)))
        assert statuses.count(200) >= 300, "the burst a class needs was refused"
        assert statuses.count(429) > 0, "800 requests at once were all served: no limit_req"


@pytest.mark.deploy
@needs_nginx
def test_one_client_cannot_open_websockets_without_end(tmp_path):
    """WebSocket upgrades count against per-client limits too (connections held open, new sockets per second)."""
    import concurrent.futures

    ports = [free_port(), free_port()]
    with running_upstub(ports) as stub, running_nginx([f"127.0.0.1:{p}" for p in ports], tmp_path / "nginx") as proxy:
        stub.hold_sockets = 4.0
        upgrade = (b"GET /_stcore/stream HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
        with concurrent.futures.ThreadPoolExecutor(60) as pool:
            statuses = list(pool.map(lambda _: raw_request(proxy.port, upgrade, timeout=20)[0], range(60)))
        assert statuses.count(101) >= 1, statuses
        assert statuses.count(429) >= 20, f"60 WebSockets at once from one client: {sorted(statuses)}"


@pytest.mark.deploy
def test_compose_serves_loopback_only_unless_told():
    import yaml

    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))
    for service in compose["services"].values():
        for mapping in service.get("ports", []):
            host = re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", str(mapping))
            assert host.startswith("127.0.0.1:"), f"compose publishes {mapping} beyond loopback by default"
    readme = (DEPLOY / "README.md").read_text(encoding="utf-8")
    assert "TLS" in readme and "BERT_LENS_BIND" in readme


@pytest.mark.deploy
def test_the_image_uses_one_index_per_install_and_a_base_pinned_by_digest():
    from devtools.runtime_lock import LOCK, lock_text, top_level

    dockerfile = DOCKERFILE.read_text(encoding="utf-8")
    base = re.search(r"^ARG BASE_IMAGE=(\S+)", dockerfile, re.M).group(1)
    assert re.fullmatch(r"[\w./:-]+@sha256:[0-9a-f]{64}", base), f"the base is not pinned by digest: {base}"
    assert re.search(r"^FROM \$\{BASE_IMAGE\}\s*$", dockerfile, re.M)
    compose = (DEPLOY / "compose.yaml").read_text(encoding="utf-8")
    assert f"BERT_LENS_BASE_IMAGE:-{base}}}" in compose, "compose.yaml builds from another base by default"
    code = "\n".join(line for line in dockerfile.splitlines() if not line.lstrip().startswith("#"))
    installs = re.findall(r"pip install[^&\n]*(?:\\\n[^&\n]*)*", code)
    assert installs and "extra-index-url" not in code
    for command in installs:
        assert len(re.findall(r"--index-url", command)) == 1, f"not exactly one index: {command}"
        assert re.search(r"requirements\.lock|torch==", command), command
    locked = dict(line.split("==") for line in LOCK.read_text(encoding="utf-8").splitlines()
                  if line and not line.startswith("#"))
    for requirement in top_level():
        pinned = str(requirement.specifier).removeprefix("==")
        assert locked.get(requirement.name.lower().replace("_", "-")) == pinned, requirement
    assert LOCK.read_text(encoding="utf-8") == lock_text(), "deploy/requirements.lock is stale: " \
                                                           "python -m devtools.runtime_lock"


def dockerignore_rules() -> list[tuple[re.Pattern, bool]]:
    """(pattern, is an exception) per line of .dockerignore, as Docker reads them (Go filepath.Match with **)."""
    rules = []
    for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        pattern = line[1:] if negate else line
        regex = ""
        for part in re.split(r"(\*\*/?|\*|\?)", pattern.strip("/")):
            regex += {"**/": "(?:.*/)?", "**": ".*", "*": "[^/]*", "?": "[^/]"}.get(part, re.escape(part))
        rules.append((re.compile(regex + r"(?:/.*)?\Z"), negate))
    return rules


def in_image(relative: str, rules=None) -> bool:
    """Whether `COPY . /app` copies the file at `relative` (the last matching rule decides)."""
    keep = True
    for pattern, negate in rules or dockerignore_rules():
        if pattern.match(relative):
            keep = negate
    return keep


@pytest.mark.deploy
def test_dockerignore_keeps_secrets_out():
    for secret in (".env", ".env.production", "deploy/.env", ".streamlit/secrets.toml", "certs/server.key",
                   "tls/fullchain.pem", ".git/config", ".venv/bin/python", "tests/conftest.py"):
        assert not in_image(secret), f"{secret} would be copied into the image"
    for needed in ("app.py", "serve.py", "bertlens/data/precision_agreement.json", ".streamlit/config.toml",
                   "deploy/requirements.lock",
                   "bertlens/data/occupations.csv", "static/vendor/require-2.3.6.js"):
        assert in_image(needed), f"{needed} would be left out of the image"


@pytest.mark.deploy
def test_the_image_holds_every_file_the_app_reads(app_env, tmp_path):
    """Trace every file under the project that the app opens while every page runs and the command line works,
    then check each against .dockerignore: the image (COPY . /app) must hold them all."""
    import sys

    from streamlit.testing.v1 import AppTest

    from bertlens.cli import main
    from bertlens.settings import agreement_figure
    from browser_support import app_pages

    opened: set[str] = set()
    root = str(ROOT) + os.sep

    def hook(event: str, args: tuple) -> None:
        if event == "open" and isinstance(args[0], (str, bytes, os.PathLike)):
            path = os.path.abspath(os.fsdecode(args[0]))
            if path.startswith(root):
                opened.add(path[len(root):])

    sys.addaudithook(hook)  # stays for the process, but only records into this test's set
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300).run()
    for page in app_pages():
        at.switch_page(page.script).run()
        assert not at.exception, page.script
    assert main(["info"]) == 0
    assert main(["fill-mask", "The [MASK] sat.", "--json"]) == 0
    assert main(["probe", "--json", "--bootstrap", "100"]) == 0
    agreement_figure("int8")  # what the sidebar reads when an approximate precision is chosen
    hook_done = set(opened)
    opened.clear()
    read = {p for p in hook_done if not p.startswith(("tests/", ".venv/", ".git/")) and "__pycache__" not in p}
    assert "bertlens/data/precision_agreement.json" in read and "bertlens/data/occupations.csv" in read, sorted(read)
    rules = dockerignore_rules()
    missing = sorted(p for p in read if not in_image(p, rules))
    assert not missing, f"the app reads files that .dockerignore leaves out of the image: {missing}"
