"""A class on one server: JupyterHub with hub/jupyterhub_config.py, for real, on loopback.

The hub starts in the config's trial mode (one shared password, servers as this user, homes in a temp
dir) with its proxy from npm. Alice and Bob log in through the login form in headless Chromium; each
gets their own running server and their own copy of the course, runs lesson 02 in it, and Alice's
edits stay in her copy: Bob's copy and the repository's are unchanged, Alice cannot open Bob's server,
and restarting her server keeps her work. Stopping the hub must stop everything it started.

Without Chromium, node, the proxy (``make test`` installs it) or jupyterhub these tests skip, except
with ``CI=true``, where they fail instead.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

from tests.test_browser import ALL_CELLS_DONE, CHROMIUM, CHROMIUM_ARGS, KERNEL_IDLE, error_outputs

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "hub" / "jupyterhub_config.py"
PROXY = ROOT / "hub" / "node_modules" / ".bin" / "configurable-http-proxy"
LESSON = "notebooks/02_cross_entropy.ipynb"
LEARNERS = ("alice", "bob")
MARKER = "# alice was here"

OUTPUTS = """() => {
  const cells = window.jupyterapp.shell.currentWidget.content.model.cells;
  return Array.from({length: cells.length}, (_, i) => cells.get(i))
              .filter(c => c.type === 'code').map(c => c.toJSON().outputs);
}"""

pytestmark = pytest.mark.e2e


def _require_hub():
    missing = []
    if not CHROMIUM.exists():
        missing.append(f"{CHROMIUM} (apt-get install chromium)")
    if shutil.which("node") is None:
        missing.append("node")
    if not PROXY.exists():
        missing.append(f"{PROXY.relative_to(ROOT)} (npm ci --prefix hub)")
    for module in ("playwright.sync_api", "jupyterhub"):
        try:
            __import__(module)
        except ImportError:
            missing.append(f"the {module.split('.')[0]} Python package")
    if missing:
        reason = "the JupyterHub test needs " + " and ".join(missing)
        if os.environ.get("CI") == "true":
            pytest.fail(reason + ": with CI=true it must run, not skip")
        pytest.skip(reason)


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except OSError:
        return False
    return True


def _processes() -> dict[int, tuple[int, str]]:
    """Every process on the machine, read from /proc: pid -> (parent pid, state letter).

    /proc/<pid>/stat is "pid (comm) state ppid ...": comm may hold spaces and parentheses, so the
    fields are read after its last ")". No `ps`, whose columns depend on terminal width and locale.
    """
    table = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # the process ended while we looked
            continue
        state, ppid = stat[stat.rindex(")") + 2 :].split()[:2]
        table[int(entry.name)] = (int(ppid), state)
    return table


def _argv(pid: int) -> list[str]:
    """A process's command line as its argv list (from /proc, never truncated); [] once it has ended."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [arg.decode(errors="replace") for arg in raw.split(b"\0") if arg]


def _descendants(pid: int) -> set[int]:
    table = _processes()
    found, todo = set(), [pid]
    while todo:
        parent = todo.pop()
        children = [p for p, (pp, _) in table.items() if pp == parent and p not in found]
        found.update(children)
        todo.extend(children)
    return found


def _alive(pids) -> set[int]:
    table = _processes()
    return {p for p in pids if p in table and table[p][1] not in ("Z", "X")}  # zombies are dead


class Hub:
    """A running JupyterHub: its URL, its admin token, and how to stop it and everything it started."""

    def __init__(self, workdir: Path):
        self.ports = _free_ports(3)
        public, hub_port, proxy_api = self.ports
        self.base = f"http://127.0.0.1:{public}"
        self.token, self.password = secrets.token_hex(16), secrets.token_hex(8)
        self.homes = workdir / "homes"
        self.state = workdir / "state"
        self.log = workdir / "hub.log"
        env = dict(
            os.environ,
            COURSE_HUB_STATE=str(self.state),
            COURSE_HUB_HOMES=str(self.homes),
            COURSE_HUB_IP="127.0.0.1",
            COURSE_HUB_PORT=str(public),
            COURSE_HUB_HUB_PORT=str(hub_port),
            COURSE_HUB_PROXY_API_PORT=str(proxy_api),
            COURSE_HUB_SHARED_PASSWORD=self.password,
            COURSE_HUB_USERS=" ".join(LEARNERS),
            COURSE_HUB_API_TOKEN=self.token,
            COURSE_HUB_SINGLEUSER_ARGS="--LabApp.expose_app_in_browser=True",  # window.jupyterapp, as in test_browser
        )
        with open(self.log, "wb") as log:  # the child keeps its own copy of the file descriptor
            self.process = subprocess.Popen(
                [sys.executable, "-m", "jupyterhub", "-f", str(CONFIG)],
                cwd=workdir,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.started: set[int] = set()  # every process the hub started, seen while it ran

    def api(self, method: str, path: str):
        request = urllib.request.Request(
            f"{self.base}/hub/api{path}", method=method, headers={"Authorization": f"token {self.token}"}
        )
        with urllib.request.urlopen(request, timeout=30) as response:  # a stop can take 10 s before it answers
            body = response.read()
            return response.status, (json.loads(body) if body else None)

    def wait_until_up(self, timeout=60):
        deadline = time.time() + timeout
        while True:
            try:
                if self.api("GET", "/")[0] == 200:
                    return
            except OSError:
                pass
            if time.time() > deadline or self.process.poll() is not None:
                raise RuntimeError(f"JupyterHub did not start:\n{self.tail()}")
            time.sleep(0.5)

    def server(self, name: str) -> dict:
        return self.api("GET", f"/users/{name}")[1]["servers"].get("", {})

    def wait_for_server(self, name: str, ready: bool, timeout=60) -> dict:
        deadline = time.time() + timeout
        while (server := self.server(name)).get("ready", False) != ready:
            assert time.time() < deadline, f"{name}'s server is not {'ready' if ready else 'stopped'}:\n{self.tail()}"
            time.sleep(0.5)
        return server

    def tail(self, lines=40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> set[int]:
        """Stop the hub (it stops the proxy and the servers) and return the pids still alive after 30 s."""
        if self.process.poll() is None:
            self.started |= _descendants(self.process.pid)
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        deadline = time.time() + 30
        while (left := _alive(self.started)) and time.time() < deadline:
            time.sleep(0.5)
        return left


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    _require_hub()
    hub = Hub(tmp_path_factory.mktemp("hub"))  # started, not waited for: Chromium starts meanwhile (pages)
    try:
        yield hub
    finally:
        left = hub.stop()
        for pid in left:  # never leave anything behind, even when the test for it failed
            try:
                os.kill(pid, 9)
            except ProcessLookupError:
                pass
        assert not left, f"processes left after the hub stopped: {sorted(left)}"


@pytest.fixture(scope="module")
def pages(hub):
    """One browser context (its own cookies) per learner, logged in through the hub's login form."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            hub.wait_until_up()
            pages = {
                name: browser.new_context(viewport={"width": 1400, "height": 1000}).new_page() for name in LEARNERS
            }
            for page in pages.values():
                page.set_default_timeout(60_000)
                page.goto(f"{hub.base}/hub/login")
            for name, page in pages.items():  # both log in before either waits: the two servers start side by side
                page.fill("#username_input", name)
                page.fill("#password_input", hub.password)
                page.click("#login_submit")
            for name, page in pages.items():  # the spawn page redirects to JupyterLab once the server is up
                page.wait_for_url(f"**/user/{name}/lab/tree/notebooks**", timeout=90_000)
                page.locator(".jp-DirListing-itemName", has_text="02_cross_entropy.ipynb").wait_for()
            yield pages
        finally:
            browser.close()


def test_each_learner_gets_their_own_server(hub, pages):
    servers = {name: hub.wait_for_server(name, ready=True) for name in LEARNERS}
    for name, server in servers.items():
        assert server["url"] == f"/user/{name}/"
        assert _alive([server["state"]["pid"]]), f"{name}'s server process is not running"
        hub.started.add(server["state"]["pid"])
    assert servers["alice"]["state"]["pid"] != servers["bob"]["state"]["pid"]


def test_each_learner_has_their_own_copy_of_the_course(hub, pages):
    for name in LEARNERS:
        home = hub.homes / name
        for folder in ("notebooks", "exercises"):
            for original in (ROOT / folder).glob("*.ipynb"):
                assert (home / folder / original.name).read_bytes() == original.read_bytes()
        assert not (home / "solutions").exists(), "the answers stay with the instructor"
        # matplotlib's font list comes with the course: the first plot need not wait for it (or print about it).
        assert list((home / ".cache" / "matplotlib").glob("fontlist-v*.json"))
        # ... and the learner's server serves that copy.
        response = pages[name].request.get(f"{hub.base}/user/{name}/api/contents/notebooks")
        assert response.status == 200
        listed = {item["name"] for item in response.json()["content"]}
        assert {p.name for p in (ROOT / "notebooks").glob("*.ipynb")} <= listed


def test_a_lesson_runs_in_each_learners_server(hub, pages):
    for page in pages.values():  # open it from the running JupyterLab, as a learner would: no second page load
        page.evaluate("([path]) => { window.jupyterapp.commands.execute('docmanager:open', {path}); }", [LESSON])
    for page in pages.values():
        page.wait_for_function(
            "([path]) => window.jupyterapp.shell.currentWidget?.context?.path === path", arg=[LESSON]
        )
        page.wait_for_function(KERNEL_IDLE, timeout=120_000)
    for page in pages.values():  # run both at once: two kernels, two cores
        page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")
    for name, page in pages.items():
        page.wait_for_function(ALL_CELLS_DONE, timeout=180_000, polling=500)
        page.wait_for_function(KERNEL_IDLE, timeout=60_000)
        assert error_outputs(page) == [], f"errors in {name}'s run"
        # From the notebook's model: JupyterLab renders only the cells in view.
        outputs = [o for cell in page.evaluate(OUTPUTS) for o in cell]
        assert [o for o in outputs if o["output_type"] == "error" or o.get("name") == "stderr"] == []
        # Real results, computed in this kernel: -ln(0.9) for the dog, and the lesson's figures.
        printed = "".join("".join(o["text"]) for o in outputs if o["output_type"] == "stream")
        assert "dog, 90% sure it is a dog:   0.1054" in printed, printed[:500]
        assert sum("image/png" in o.get("data", {}) for o in outputs) >= 3


def test_one_learners_changes_stay_in_their_copy(hub, pages):
    alice, bob = pages["alice"], pages["bob"]
    # Alice edits the first cell in JupyterLab and saves.
    alice.evaluate(
        """([marker]) => {
             const panel = window.jupyterapp.shell.currentWidget;
             const cell = panel.content.widgets[0].model.sharedModel;
             cell.setSource(marker + '\\n' + cell.getSource());
             window.jupyterapp.commands.execute('docmanager:save');
           }""",
        [MARKER],
    )
    alice.wait_for_function("() => !window.jupyterapp.shell.currentWidget.context.model.dirty")
    saved = nbformat.reads((hub.homes / "alice" / LESSON).read_text(), as_version=4)
    assert saved.cells[0].source.startswith(MARKER)

    # Bob's copy (on disk, and as his server shows it) and the course itself have none of it.
    assert MARKER not in (hub.homes / "bob" / LESSON).read_text()
    assert MARKER not in (ROOT / LESSON).read_text()
    response = bob.request.get(f"{hub.base}/user/bob/api/contents/{LESSON}")
    assert response.status == 200
    assert MARKER not in str(response.json()["content"])

    # Alice's login does not open Bob's server: the hub refuses her.
    for path in ("api/contents/notebooks", "lab"):
        response = alice.request.get(f"{hub.base}/user/bob/{path}")
        assert response.status == 403, (path, response.status, response.url)
        assert "02_cross_entropy" not in response.text()

    # Restarting Alice's server copies the course again, but only what is missing: her work stays.
    assert hub.api("DELETE", "/users/alice/server")[0] in (202, 204)
    hub.wait_for_server("alice", ready=False)
    assert hub.api("POST", "/users/alice/server")[0] in (201, 202)
    hub.started.add(hub.wait_for_server("alice", ready=True)["state"]["pid"])
    # The new server needs Alice's login again (a page, not the API, redirects through the hub for it).
    response = alice.request.get(f"{hub.base}/user/alice/files/{LESSON}")
    assert response.status == 200
    assert nbformat.reads(response.text(), as_version=4).cells[0].source.startswith(MARKER)


def test_stopping_the_hub_stops_everything(hub, pages):
    for page in pages.values():
        page.close()
    seen = _descendants(hub.process.pid) | hub.started
    # The proxy by the pid JupyterHub wrote for it (the config's pid_file), the kernels by their argv.
    proxy = int((hub.state / "jupyterhub-proxy.pid").read_text())
    assert proxy in _alive(seen), "the proxy should have been running, started by the hub"
    kernels = [pid for pid in _alive(seen) if any("ipykernel" in arg for arg in _argv(pid))]
    assert kernels, "a kernel should still be running"
    assert hub.stop() == set(), "processes the hub started are still running"
    assert [port for port in hub.ports if _listening(port)] == [], "the hub or its proxy still listens"
