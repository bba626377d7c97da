"""Real servers for end-to-end tests: each configured into a temporary
directory, listening on 127.0.0.1 only, started under reqprof in the
foreground and stopped when the test ends.

Every function here returns a started harness.Server (use it in a with
statement). The servers come from Debian's packages (test/install-deps
installs them); a server that is not installed fails the test that wants
it, with the package to install. Nothing here reads or writes /etc, and no
port is fixed: each server gets a free ephemeral port.

Servers that start as root and drop to nobody (nginx, apache2, h2o) get a
working directory that every user may enter and only root may write to, as
a server's directory usually is: reqprof makes the report directory in it
before the switch and must leave it writable by the workers.
"""

import os
import random
import shutil
import signal
import socket
import string
import tempfile

from harness import BUILD, TEST_SERVER, Server

HERE = os.path.dirname(os.path.abspath(__file__))
TEST_SOURCES = os.path.join(os.path.dirname(HERE), "server")

# Debian's binaries and the packages they come from.
NGINX = ("/usr/sbin/nginx", "nginx")
LIGHTTPD = ("/usr/sbin/lighttpd", "lighttpd")
LIGHTTPD_DEFLATE = ("/usr/lib/lighttpd/mod_deflate.so", "lighttpd-mod-deflate")
H2O = ("/usr/bin/h2o", "h2o")
APACHE2 = ("/usr/sbin/apache2", "apache2")
APACHE2_MODULES = "/usr/lib/apache2/modules"
PYTHON3 = ("/usr/bin/python3", "python3")
NODE = ("/usr/bin/node", "nodejs")
LIBMICROHTTPD = ("/usr/lib/x86_64-linux-gnu/libmicrohttpd.so.12",
                 "libmicrohttpd-dev")
VARNISHD = ("/usr/sbin/varnishd", "varnish")
TINYPROXY = ("/usr/bin/tinyproxy", "tinyproxy")
BUSYBOX = ("/usr/bin/busybox", "busybox")
HAPROXY = ("/usr/sbin/haproxy", "haproxy")

# The static files every web server serves, under html/static/: a big one
# sent as it is (with sendfile where the server uses it), a small one, and
# a text the servers compress on the fly when asked (Accept-Encoding:
# gzip), which keeps them busy in their own code and zlib's. Sending a
# file costs a server little CPU time: sendfile on loopback hands pages
# over without copying them.
BIG_FILE = "big.bin"
BIG_FILE_BYTES = 64 * 1024 * 1024
SMALL_FILE = "small.txt"
SMALL_FILE_TEXT = "a small static file\n"
TEXT_FILE = "text.txt"
TEXT_FILE_BYTES = 4 * 1024 * 1024


def require(program):
    """Fails the test, saying what to install, unless the file exists."""
    path, package = program
    assert os.path.exists(path), (
        "%s is missing: install Debian's package %s (test/install-deps does, "
        "as root)" % (path, package))
    return path


def built_program(name):
    path = os.path.abspath(os.path.join(BUILD, "test", name))
    assert os.path.exists(path), "%s is missing: run make test" % path
    return path


def free_port():
    """A port nothing listens on now (the kernel's pick)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_workdir(name):
    """A fresh directory for one server, enterable by any user."""
    workdir = tempfile.mkdtemp(prefix="reqprof-%s-" % name)
    os.chmod(workdir, 0o755)
    return workdir


def compressible_text(size):
    """size bytes of words drawn at random: deflate finds short matches
    only, and works for them. A 64 KiB piece repeats, farther apart than
    deflate's 32 KiB window looks back."""
    generator = random.Random(3)
    words = ["".join(generator.choice(string.ascii_lowercase)
                     for _ in range(generator.randint(2, 9)))
             for _ in range(3000)]
    piece = " ".join(generator.choice(words) for _ in range(12000))
    piece = piece.encode()[:65536]
    return (piece * (size // len(piece) + 1))[:size]


def make_site(workdir):
    """html/static/ with the three files, readable by all."""
    static = os.path.join(workdir, "html", "static")
    os.makedirs(static)
    os.chmod(os.path.join(workdir, "html"), 0o755)
    os.chmod(static, 0o755)
    with open(os.path.join(static, SMALL_FILE), "w") as f:
        f.write(SMALL_FILE_TEXT)
    with open(os.path.join(static, TEXT_FILE), "wb") as f:
        f.write(compressible_text(TEXT_FILE_BYTES))
    block = bytes(range(256)) * 4096
    with open(os.path.join(static, BIG_FILE), "wb") as f:
        for _ in range(BIG_FILE_BYTES // len(block)):
            f.write(block)
    for name in (SMALL_FILE, TEXT_FILE, BIG_FILE):
        os.chmod(os.path.join(static, name), 0o644)
    return os.path.join(workdir, "html")


def write(workdir, name, text):
    path = os.path.join(workdir, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def start(workdir, command, port, stop_signal=signal.SIGTERM, env=None):
    """Starts command in workdir under reqprof, reports into workdir/reqprof
    (an absolute path: servers may change directory) unless env (more
    settings) names another REQPROF_DIR."""
    environment = {"REQPROF_DIR": os.path.join(workdir, "reqprof")}
    environment.update(env or {})
    try:
        server = Server(command=command, port=port, workdir=workdir,
                        stop_signal=stop_signal, env=environment,
                        start_timeout=20)
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    server.report_dir = environment["REQPROF_DIR"]
    return server


def upstream():
    """Our test server, without reqprof, as the upstream of proxies: its
    requests must not show up among the proxy's reports."""
    return Server(preload=False)


def nginx(upstream_port, access_log=False):
    """nginx: a master and 2 worker processes that switch to nobody; static
    files sent with sendfile (text compressed when asked), a `return 200`
    location, and /upstream/ passed to upstream_port. With access_log, it
    logs every request it answers in access.log of its directory
    (nginx_access_log tells its lines)."""
    binary = require(NGINX)
    workdir = make_workdir("nginx")
    root = make_site(workdir)
    port = free_port()
    config = write(workdir, "nginx.conf", """\
worker_processes 2;
user nobody nogroup;
pid %(dir)s/nginx.pid;
error_log stderr warn;
events { worker_connections 256; }
http {
    access_log %(access_log)s;
    client_body_temp_path %(dir)s/client_body;
    proxy_temp_path %(dir)s/proxy;
    fastcgi_temp_path %(dir)s/fastcgi;
    uwsgi_temp_path %(dir)s/uwsgi;
    scgi_temp_path %(dir)s/scgi;
    types { text/plain txt; }
    default_type application/octet-stream;
    sendfile on;
    gzip on;
    gzip_types text/plain;
    gzip_comp_level 6;
    keepalive_requests 1000;
    server {
        listen 127.0.0.1:%(port)d;
        root %(root)s;
        location = /return { return 200 "returned\\n"; }
        location /upstream/ { proxy_pass http://127.0.0.1:%(upstream)d/; }
    }
}
""" % {"dir": workdir, "root": root, "port": port, "upstream": upstream_port,
       "access_log": os.path.join(workdir, "access.log") if access_log
       else "off"})
    return start(workdir, [binary, "-p", workdir, "-c", config, "-e", "stderr",
                           "-g", "daemon off;"], port,
                 stop_signal=signal.SIGQUIT)


def nginx_access_log(server):
    """The lines of the access log of nginx(access_log=True)."""
    with open(os.path.join(server.workdir, "access.log")) as f:
        return f.read().splitlines()


def lighttpd(upstream_port):
    """lighttpd: one process, one thread; static files (text compressed
    when asked, by mod_deflate), /upstream/ passed to upstream_port with
    mod_proxy."""
    binary = require(LIGHTTPD)
    require(LIGHTTPD_DEFLATE)
    workdir = make_workdir("lighttpd")
    root = make_site(workdir)
    port = free_port()
    config = write(workdir, "lighttpd.conf", """\
server.document-root = "%(root)s"
server.bind = "127.0.0.1"
server.port = %(port)d
server.errorlog = "%(dir)s/error.log"
server.modules = ("mod_proxy", "mod_deflate")
server.max-keep-alive-requests = 1000
mimetype.assign = (".txt" => "text/plain", "" => "application/octet-stream")
deflate.mimetypes = ("text/plain")
deflate.allowed-encodings = ("gzip")
deflate.compression-level = 6
$HTTP["url"] =~ "^/upstream/" {
    proxy.server = ("" => (("host" => "127.0.0.1", "port" => %(upstream)d)))
    proxy.header = ("map-urlpath" => ("/upstream/" => "/"))
}
""" % {"dir": workdir, "root": root, "port": port, "upstream": upstream_port})
    return start(workdir, [binary, "-D", "-f", config], port)


def h2o(upstream_port):
    """h2o: 2 threads, each with its own event loop, switching to nobody;
    static files (text compressed when asked), /upstream passed to
    upstream_port."""
    binary = require(H2O)
    workdir = make_workdir("h2o")
    root = make_site(workdir)
    port = free_port()
    config = write(workdir, "h2o.conf", """\
user: nobody
num-threads: 2
listen:
  host: 127.0.0.1
  port: %(port)d
hosts:
  default:
    paths:
      /upstream:
        proxy.reverse.url: http://127.0.0.1:%(upstream)d/
      /:
        file.dir: %(root)s
        compress: ON
""" % {"dir": workdir, "root": root, "port": port, "upstream": upstream_port})
    return start(workdir, [binary, "-c", config], port)


def apache2(upstream_port, mpm):
    """apache2 with mpm "event" (one child: a listener thread and 8 worker
    threads) or "prefork" (processes); children switch to nobody. Static
    files with sendfile (text compressed when asked, by mod_deflate),
    /upstream/ passed to upstream_port."""
    binary = require(APACHE2)
    workdir = make_workdir("apache2-" + mpm)
    root = make_site(workdir)
    port = free_port()
    os.makedirs(os.path.join(workdir, "run"))
    config = write(workdir, "apache2.conf", """\
ServerRoot "%(dir)s"
ServerName 127.0.0.1
DefaultRuntimeDir "%(dir)s/run"
PidFile "%(dir)s/run/apache2.pid"
Mutex file:%(dir)s/run default
ErrorLog "%(dir)s/error.log"
LogLevel warn
LoadModule mpm_%(mpm)s_module %(modules)s/mod_mpm_%(mpm)s.so
LoadModule authz_core_module %(modules)s/mod_authz_core.so
LoadModule proxy_module %(modules)s/mod_proxy.so
LoadModule proxy_http_module %(modules)s/mod_proxy_http.so
LoadModule filter_module %(modules)s/mod_filter.so
LoadModule deflate_module %(modules)s/mod_deflate.so
User nobody
Group nogroup
Listen 127.0.0.1:%(port)d
DocumentRoot "%(root)s"
<Directory "%(root)s">
    Require all granted
</Directory>
<Files "*.txt">
    ForceType text/plain
    SetOutputFilter DEFLATE
</Files>
DeflateCompressionLevel 6
EnableSendfile On
KeepAlive On
KeepAliveTimeout 5
MaxKeepAliveRequests 1000
ProxyPass "/upstream/" "http://127.0.0.1:%(upstream)d/"
<IfModule mpm_event_module>
    ServerLimit 1
    StartServers 1
    ThreadLimit 8
    ThreadsPerChild 8
    MinSpareThreads 1
    MaxSpareThreads 8
    MaxRequestWorkers 8
</IfModule>
<IfModule mpm_prefork_module>
    StartServers 2
    MinSpareServers 2
    MaxSpareServers 4
    ServerLimit 8
    MaxRequestWorkers 8
</IfModule>
""" % {"dir": workdir, "root": root, "port": port, "upstream": upstream_port,
       "mpm": mpm, "modules": APACHE2_MODULES})
    return start(workdir, [binary, "-d", workdir, "-f", config,
                           "-DFOREGROUND"], port)


def varnish(upstream_port):
    """varnishd as Debian runs it, started as root: a manager that drops
    to the user varnish and a child (the one that serves) that drops to
    vcache. Storage in memory (-s malloc), no management port; /synth is
    answered by VCL itself (a synthetic response), anything else passed to
    upstream_port."""
    binary = require(VARNISHD)
    workdir = make_workdir("varnish")
    port = free_port()
    config = write(workdir, "default.vcl", """\
vcl 4.1;
backend default { .host = "127.0.0.1"; .port = "%(upstream)d"; }
sub vcl_recv {
    if (req.url ~ "^/synth") { return (synth(200, "synthetic")); }
    return (pass);
}
""" % {"upstream": upstream_port})
    return start(workdir, [binary, "-F", "-a", "127.0.0.1:%d" % port,
                           "-f", config, "-s", "malloc,16m", "-T", "none",
                           "-n", os.path.join(workdir, "instance")], port)


# haproxy's Lua service of lua_burn(): burn_cpu runs the loop the query's
# n asks for (iterations of a few instructions each), all of it in Lua.
# haproxy makes a Lua service yield every 10,000 instructions
# (tune.lua.forced-yield) and runs the other streams' tasks in between,
# so under concurrency a thread works for several requests at once.
HAPROXY_LUA = """\
local function burn_cpu(iterations)
  local x = 0
  for i = 1, iterations do x = x + (i % 7) end
  return x
end

core.register_service("burn", "http", function(applet)
  local n = tonumber(applet.qs:match("n=(%d+)") or "0")
  local body = "burned " .. burn_cpu(n) .. "\\n"
  applet:set_status(200)
  applet:add_header("content-length", string.len(body))
  applet:start_response()
  applet:send(body)
end)
"""


def haproxy_lua(threads=2):
    """haproxy as a Lua application server: threads threads, each an event
    loop of its own (the listener's connections are handed between them),
    every request answered by a Lua service (http mode) that burns CPU in
    burn_cpu for /burn?n=ITERATIONS. In the foreground (-db), so that
    stopping it stops everything it started."""
    binary = require(HAPROXY)
    workdir = make_workdir("haproxy")
    port = free_port()
    script = write(workdir, "burn.lua", HAPROXY_LUA)
    config = write(workdir, "haproxy.cfg", """\
global
    nbthread %(threads)d
    lua-load %(script)s
defaults
    mode http
    timeout client 10s
    timeout server 10s
    timeout connect 2s
frontend burn
    bind 127.0.0.1:%(port)d
    http-request use-service lua.burn
""" % {"threads": threads, "script": script, "port": port})
    return start(workdir, [binary, "-db", "-f", config], port)


def tinyproxy():
    """tinyproxy as Debian runs it: started as root, it drops to the user
    tinyproxy, and it runs under umask 0177 (files it makes are 0600,
    directories too). A forward proxy: send it absolute-form targets."""
    binary = require(TINYPROXY)
    workdir = make_workdir("tinyproxy")
    port = free_port()
    config = write(workdir, "tinyproxy.conf", """\
User tinyproxy
Group tinyproxy
Port %(port)d
Listen 127.0.0.1
Allow 127.0.0.1
Timeout 10
MaxClients 8
LogLevel Warning
""" % {"port": port})
    return start(workdir, [binary, "-d", "-c", config], port)


def user_switch(users, env=None):
    """Our test server twice, under the two users named, forked from one
    root process that first switched its effective user to the first and
    back (test/server/user_switch.c). Returns the harness.Server of the
    parent, whose port is the first user's; its attribute ports holds
    both."""
    workdir = make_workdir("user-switch")
    ports = [free_port(), free_port()]
    command = [built_program("user_switch"), TEST_SERVER] + [
        "%s:%d" % (user, port) for user, port in zip(users, ports)]
    server = start(workdir, command, ports[0], env=env)
    server.ports = ports
    server.wait_accepting(20, ports[1])
    return server


def busybox(env=None):
    """busybox httpd in the foreground: the parent accepts and forks a child
    per connection, which moves the socket to fds 0 and 1 (dup2) and
    serves one request there, then ends with _exit. html/small.txt is a
    static file; html/cgi-bin/burn is test/server/cgi_burn.c, which the
    child runs (vfork, exec) and whose answer it reads from a pipe. env:
    more settings."""
    binary = require(BUSYBOX)
    workdir = make_workdir("busybox")
    root = os.path.join(workdir, "html")
    os.makedirs(os.path.join(root, "cgi-bin"))
    write(root, SMALL_FILE, SMALL_FILE_TEXT)
    shutil.copy(built_program("cgi_burn"), os.path.join(root, "cgi-bin", "burn"))
    port = free_port()
    return start(workdir, [binary, "httpd", "-f", "-p", "127.0.0.1:%d" % port,
                           "-h", root], port, env=env)


def python_server():
    """Debian's python3 running ThreadingHTTPServer
    (test/server/python_server.py)."""
    binary = require(PYTHON3)
    return Server(command=[binary, os.path.join(TEST_SOURCES,
                                                "python_server.py")])


def read_ahead_server():
    """Debian's python3 reading all of a connection's requests before it
    answers any (test/server/read_ahead_server.py)."""
    binary = require(PYTHON3)
    return Server(command=[binary, os.path.join(TEST_SOURCES,
                                                "read_ahead_server.py")])


def node_server():
    """node's http.createServer (test/server/node_server.js)."""
    binary = require(NODE)
    return Server(command=[binary, os.path.join(TEST_SOURCES,
                                                "node_server.js")])


def mhd_server(mode):
    """Our libmicrohttpd program, mode "internal" (one polling thread) or
    "per-connection" (a thread per connection)."""
    require(LIBMICROHTTPD)
    return Server(command=[built_program("mhd_server"), "--mode", mode])


def event_server(upstream_port):
    """Our one-thread epoll server, waiting on upstream_port."""
    return Server(command=[built_program("event_server"), "--upstream",
                           str(upstream_port)])



def pool_server(queue, workers=4):
    """Our worker-pool server: an epoll I/O thread hands each request to a
    pool of workers threads through a queue woken by queue ("cond", "sem"
    or "futex"), and takes the results back through an eventfd."""
    return Server(command=[built_program("pool_server"), "--queue", queue,
                           "--workers", str(workers)])
