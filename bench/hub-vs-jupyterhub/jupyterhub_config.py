# JupyterHub 3.0 (Debian 12 package) as the peer of bench/hub-vs-jupyterhub.
#
# bench.mjs picks free ports and a throw-away state directory and passes them in:
#   HVJ_STATE_DIR       sqlite db, cookie secret, pid files, homes     (required)
#   HVJ_PROXY_PORT      public port of configurable-http-proxy         (required)
#   HVJ_PROXY_API_PORT  CHP's REST API port                            (required)
#   HVJ_HUB_PORT        the hub's own port                             (required)
#   HVJ_API_TOKEN       token of the admin service "bench"             (required)
#   HVJ_PASSWORD        DummyAuthenticator's shared password           (default bench-password)
#   HVJ_LOG_LEVEL       hub log level                                  (default INFO)
# Everything listens on 127.0.0.1. Single-user servers run as the hub's own user
# (SimpleLocalProcessSpawner): no Unix accounts, no sandbox.
import os

c = get_config()  # noqa: F821 (provided by traitlets when the file is loaded)

state = os.environ["HVJ_STATE_DIR"]
os.makedirs(state, exist_ok=True)

# Debian's configurable-http-proxy finds its modules (commander, ...) only through
# /usr/share/nodejs, which a nodesource Node does not search; the hub hands its
# environment down to the proxy it starts.
_paths = [p for p in os.environ.get("NODE_PATH", "").split(":") if p]
if "/usr/share/nodejs" not in _paths:
    os.environ["NODE_PATH"] = ":".join(_paths + ["/usr/share/nodejs"])

# Loopback only.
c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = int(os.environ["HVJ_PROXY_PORT"])
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = int(os.environ["HVJ_HUB_PORT"])
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:%s" % os.environ["HVJ_PROXY_API_PORT"]
c.ConfigurableHTTPProxy.command = ["/usr/bin/configurable-http-proxy"]
c.ConfigurableHTTPProxy.pid_file = os.path.join(state, "proxy.pid")
c.Spawner.ip = "127.0.0.1"

# State in the throw-away directory.
c.JupyterHub.db_url = "sqlite:///" + os.path.join(state, "jupyterhub.sqlite")
c.JupyterHub.cookie_secret_file = os.path.join(state, "cookie_secret")
c.JupyterHub.pid_file = os.path.join(state, "jupyterhub.pid")

# Any user name logs in with the shared password.
c.JupyterHub.authenticator_class = "jupyterhub.auth.DummyAuthenticator"
c.DummyAuthenticator.password = os.environ.get("HVJ_PASSWORD", "bench-password")

# The driver's admin token: a service with the built-in admin role (3.0 style).
c.JupyterHub.services = [{"name": "bench", "api_token": os.environ["HVJ_API_TOKEN"]}]
c.JupyterHub.load_roles = [{"name": "admin", "services": ["bench"]}]

# GET /hub/api/users without the pagination Accept header returns at most
# api_page_max_limit (200) users; with it, pages of api_page_default_limit (50).
# 200 makes both forms return the benchmark's 100 users in one response.
c.JupyterHub.api_page_default_limit = 200

# Servers: plain local processes of the classic Notebook 6.4 app.
c.JupyterHub.spawner_class = "jupyterhub.spawner.SimpleLocalProcessSpawner"
c.SimpleLocalProcessSpawner.home_dir_template = os.path.join(state, "home", "{username}")
# Debian's interpreter by path: another python3 (pyenv) may come first on PATH.
c.Spawner.cmd = ["/usr/bin/python3", "-m", "jupyterhub.singleuser"]
# 3.0 would pick jupyter_server's ServerApp (no UI in Debian 12); our hub runs the classic
# Notebook app too, so both hubs serve the same single-user application.
c.Spawner.environment = {"JUPYTERHUB_SINGLEUSER_APP": "notebook.notebookapp.NotebookApp"}
# The Notebook app refuses to start as root without --allow-root (the spawn then fails
# after ~10 s with "Spawner failed to start [status=1]").
if os.geteuid() == 0:
    c.Spawner.args = ["--allow-root"]
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 60
c.JupyterHub.concurrent_spawn_limit = 100
# Idle culling is not configured (JupyterHub has none built in); our hub's is disabled.
c.JupyterHub.cleanup_servers = True
c.JupyterHub.cleanup_proxy = True

c.JupyterHub.log_level = os.environ.get("HVJ_LOG_LEVEL", "INFO")
