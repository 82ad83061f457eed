"""JupyterHub config: the Loss & Optimization course for a whole class on one server.

Every learner logs in, gets their own JupyterLab server started from the course's pinned virtualenv
(``.venv``, made by ``make setup``), opening on their own copy of the lessons (``notebooks/`` and
``exercises/``), copied into their home folder the first time their server starts.

Start it with ``make hub``, or ``.venv/bin/jupyterhub -f hub/jupyterhub_config.py`` from anywhere.
The proxy in front of the hub is ``configurable-http-proxy`` from npm (``hub/package.json``; ``make hub``
installs it). JupyterHub serves from Linux or macOS, not Windows.

Two ways to run it, chosen by environment variables (the DEPLOYMENT section below):

* A real class (the default): learners are system users who log in with their system password (PAM),
  and each server runs as its learner (``LocalProcessSpawner``), so learners cannot see each other's
  files. The hub must run as root for that: ``sudo make hub COURSE_HUB_USERS="ana ben"``.
  For a bigger class or stronger isolation use ``dockerspawner.DockerSpawner`` (an image with the pinned
  environment) and a real login (``oauthenticator``, ``ldapauthenticator``) instead.
* A trial run, or the test (tests/test_hub.py): set ``COURSE_HUB_SHARED_PASSWORD``. Anyone listed logs in
  with that one password, and servers run as the hub's own user with homes under ``COURSE_HUB_HOMES``
  (``SimpleLocalProcessSpawner``): nothing separates the learners but their folders. Never for a class.

Whatever the hub writes at run time (database, cookie secret, pid files) goes to ``COURSE_HUB_STATE``,
never into this repository.
"""

import os
import pwd  # the hub runs on Linux/macOS only
import shlex
import shutil
from pathlib import Path

c = get_config()  # noqa: F821 (JupyterHub provides get_config when it loads this file)

HERE = Path(__file__).resolve().parent
COURSE = HERE.parent
SINGLEUSER = COURSE / ".venv" / "bin" / "jupyterhub-singleuser"  # the pinned environment, from `make setup`
PROXY = HERE / "node_modules" / ".bin" / "configurable-http-proxy"  # from `npm ci --prefix hub`
COURSE_FOLDERS = ("notebooks", "exercises")  # not solutions/: the answers stay with the instructor

# ---- DEPLOYMENT: everything a class (or the test) changes, as environment variables ----------------
env = os.environ.get
_xdg_state = Path(env("XDG_STATE_HOME") or Path.home() / ".local" / "state")
STATE = Path(env("COURSE_HUB_STATE") or _xdg_state / "loss-optimization-hub")  # db, cookie secret, pids
IP = env("COURSE_HUB_IP", "")  # where learners connect: "" is every interface; 127.0.0.1 for this machine only
PORT = int(env("COURSE_HUB_PORT", "8000"))  # the one public port (the proxy's)
HUB_PORT = int(env("COURSE_HUB_HUB_PORT", "8081"))  # the hub's own port, on loopback
PROXY_API_PORT = int(env("COURSE_HUB_PROXY_API_PORT", "8001"))  # the proxy's REST API, on loopback
SSL_CERT, SSL_KEY = env("COURSE_HUB_SSL_CERT"), env("COURSE_HUB_SSL_KEY")  # serve https: a class must
USERS = set(env("COURSE_HUB_USERS", "").replace(",", " ").split())  # who may log in; empty: everyone
ADMINS = set(env("COURSE_HUB_ADMINS", "").replace(",", " ").split())  # see the admin page, manage servers
SHARED_PASSWORD = env("COURSE_HUB_SHARED_PASSWORD")  # set: trial mode (see above), at least 8 characters
HOMES = Path(env("COURSE_HUB_HOMES") or STATE / "homes")  # trial mode: learners' folders, one per name
API_TOKEN = env("COURSE_HUB_API_TOKEN")  # set: a "course-admin" service with this token manages users
SINGLEUSER_ARGS = shlex.split(env("COURSE_HUB_SINGLEUSER_ARGS", ""))  # extra options for every JupyterLab
TRIAL = bool(SHARED_PASSWORD)

# ---- The hub and its proxy -----------------------------------------------------------------------
STATE.mkdir(parents=True, exist_ok=True, mode=0o700)
c.JupyterHub.db_url = f"sqlite:///{STATE / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(STATE / "jupyterhub_cookie_secret")
c.JupyterHub.pid_file = str(STATE / "jupyterhub.pid")
c.JupyterHub.bind_url = f"{'https' if SSL_CERT else 'http'}://{IP}:{PORT}"
c.JupyterHub.hub_bind_url = f"http://127.0.0.1:{HUB_PORT}"
if SSL_CERT:
    c.JupyterHub.ssl_cert, c.JupyterHub.ssl_key = SSL_CERT, SSL_KEY
c.ConfigurableHTTPProxy.command = [str(PROXY)]
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{PROXY_API_PORT}"
c.ConfigurableHTTPProxy.pid_file = str(STATE / "jupyterhub-proxy.pid")
# Stopping the hub stops the learners' servers and the proxy too (JupyterHub's default, said out loud:
# the test relies on it). A long-running class may prefer False, so a hub restart keeps everyone working.
c.JupyterHub.cleanup_servers = True
c.JupyterHub.cleanup_proxy = True

# ---- Who can log in ------------------------------------------------------------------------------
if TRIAL:
    c.JupyterHub.authenticator_class = "shared-password"
    c.SharedPasswordAuthenticator.user_password = SHARED_PASSWORD
    # Admins would need SharedPasswordAuthenticator.admin_password (32+ characters) to log in here.
else:
    c.JupyterHub.authenticator_class = "pam"  # system users and their passwords: create them first (useradd, passwd)
c.Authenticator.allowed_users = USERS
c.Authenticator.allow_all = not USERS
c.Authenticator.admin_users = ADMINS

# ---- Each learner's JupyterLab: the pinned environment, opening on the lessons --------------------
if TRIAL:
    c.JupyterHub.spawner_class = "simple"  # runs as the hub's user: no isolation, trial runs only
    c.SimpleLocalProcessSpawner.home_dir_template = str(HOMES / "{username}")
    HOMES.mkdir(parents=True, exist_ok=True)
else:
    c.JupyterHub.spawner_class = "localprocess"  # runs as the learner's system user, in their home
c.Spawner.cmd = [str(SINGLEUSER)]
c.Spawner.notebook_dir = "~"  # the learner's home, where their copy of the course is
c.Spawner.default_url = "/lab/tree/notebooks"
# What `make lab` sets: keeps TensorFlow's C++ start-up logging out of the learners' notebooks.
c.Spawner.environment = {"TF_CPP_MIN_LOG_LEVEL": "3", "TF_ENABLE_ONEDNN_OPTS": "0"}
# In trial mode a root hub (containers, CI) starts its servers as root, which Jupyter refuses unless told.
c.Spawner.args = SINGLEUSER_ARGS + (["--allow-root"] if TRIAL and os.geteuid() == 0 else [])
# course_utils comes from the venv (an editable install pointing at this checkout): with system users,
# the checkout and .venv must be readable by every learner (or install it with `pip install .` instead).


def learner_home(spawner) -> Path:
    if TRIAL:
        return Path(spawner.home_dir)
    return Path(pwd.getpwnam(spawner.user.name).pw_dir)


def font_list() -> Path:
    """matplotlib's list of this machine's fonts, built once for the hub (a few seconds, at the first spawn)."""
    import matplotlib
    from matplotlib import font_manager

    font_manager.fontManager  # noqa: B018 (loading it writes the list to the cache if it was missing)
    return Path(matplotlib.get_cachedir()) / f"fontlist-v{font_manager.FontManager.__version__}.json"


def course_files(home: Path):
    """(source, target) for every file a learner gets: the course folders, and matplotlib's font list.

    Without the font list, a learner's first plot waits 5-10 s while matplotlib lists the machine's fonts,
    and under load it prints "Matplotlib is building the font cache" into the lesson.
    """
    for folder in COURSE_FOLDERS:
        for source in sorted((COURSE / folder).rglob("*")):
            relative = source.relative_to(COURSE)
            if source.is_file() and not any(part.startswith(".") or part == "__pycache__" for part in relative.parts):
                yield source, home / relative
    fonts = font_list()
    yield fonts, home / ".cache" / "matplotlib" / fonts.name


def copy_course(spawner):
    """Give a learner their own copy of the lessons before their server starts.

    Copies each file only when it is missing: a learner's edits are never overwritten, a lesson the
    instructor adds later still arrives, and a learner who deletes a notebook gets a fresh one back.
    """
    home = learner_home(spawner)
    owner = None
    if not TRIAL and os.geteuid() == 0:  # files a root hub creates must belong to the learner
        entry = pwd.getpwnam(spawner.user.name)
        owner = (entry.pw_uid, entry.pw_gid)
    copied = 0
    for source, target in course_files(home):
        if target.exists():
            continue
        for directory in [home, *(home / p for p in reversed(target.relative_to(home).parents[:-1]))]:
            if not directory.exists():  # one level at a time, so each new folder gets its owner
                directory.mkdir()
                if owner:
                    os.chown(directory, *owner)
        shutil.copy(source, target)
        if owner:
            os.chown(target, *owner)
        copied += 1
    spawner.log.info("course: copied %d new file(s) into %s", copied, home)


c.Spawner.pre_spawn_hook = copy_course

# ---- An API token for scripts (and the test): list users, start and stop their servers ------------
if API_TOKEN:
    c.JupyterHub.services = [{"name": "course-admin", "api_token": API_TOKEN}]
    c.JupyterHub.load_roles = [
        {"name": "course-admin", "scopes": ["admin:users", "admin:servers"], "services": ["course-admin"]}
    ]

# Not included, worth adding for a real class: jupyterhub-idle-culler (a service that stops idle
# servers), and TLS (COURSE_HUB_SSL_CERT/KEY, or a reverse proxy such as nginx or Caddy in front).
