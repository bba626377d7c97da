"""End-to-end: who may write and read the report directory, and what is
in it.

Servers whose processes switch users (varnish: root, then its manager's
user, then its child's; our user_switch: two users forked from one root
process) must each write their reports; tinyproxy runs under umask 0177.
Whatever the users and the umask, reports are 0600, a directory reqprof
makes is 0700, and no other user is let in: only the users the server
switched to, by ACL entries. A directory the user made is never opened
up. In a shared directory, a planted link is never written through. With
REQPROF_REDACT=query, no query value is written anywhere.

These tests run as root (make test does), as servers that switch users do.
"""

import gzip
import os
import pwd
import shutil
import stat
import struct
import tempfile
import time

import servers
from harness import Server, curl, share

REPORT_TIMEOUT = 20

# system.posix_acl_access (linux/posix_acl_xattr.h): tags of its entries.
ACL_USER = 0x02
ACL_GROUP_OBJ = 0x04
ACL_GROUP = 0x08
ACL_OTHER = 0x20


def uid(user):
    return pwd.getpwnam(user).pw_uid


def acl(path):
    """The ACL's entries as (tag, permissions, id), or [] without one."""
    try:
        data = os.getxattr(path, "system.posix_acl_access",
                           follow_symlinks=False)
    except OSError:
        return []
    return [struct.unpack_from("<HHI", data, offset)
            for offset in range(4, len(data), 8)]


def check_private(path, owner, mode, users=()):
    """path belongs to owner, has mode (with no ACL) or, with users, lets
    in those users (uid: permissions) by ACL entries and no one else: no
    group, no others."""
    status = os.lstat(path)
    entries = acl(path)
    found = {
        "owner": pwd.getpwuid(status.st_uid).pw_name,
        "mode": oct(stat.S_IMODE(status.st_mode)),
        "users": {pwd.getpwuid(i).pw_name: p for t, p, i in entries
                  if t == ACL_USER},
        "group and others": [(t, p) for t, p, _ in entries
                             if t in (ACL_GROUP_OBJ, ACL_GROUP, ACL_OTHER) and p],
    }
    owner_bits = stat.S_IMODE(status.st_mode) & 0o700
    expected = {
        "owner": owner,
        # With an ACL the group bits show its mask, not the group's access.
        "mode": oct(mode) if not users else found["mode"],
        "users": dict(users),
        "group and others": [],
    }
    assert found == expected and owner_bits == mode & 0o700 and \
        stat.S_IMODE(status.st_mode) & 0o007 == 0, \
        "%s: %s, expected %s" % (path, found, expected)


def said(stderr):
    """How many lines reqprof wrote."""
    return sum(line.startswith("reqprof:") for line in stderr.splitlines())


def wait_index(server, count):
    """Waits for count index lines; returns them."""
    deadline = time.monotonic() + REPORT_TIMEOUT
    while time.monotonic() < deadline and len(server.index()) < count:
        time.sleep(0.05)
    time.sleep(0.3)  # room for a line that should not be there
    return server.index()


def report_files(server, line):
    """The paths of a request's report files."""
    return [os.path.join(server.report_dir, name)
            for name in os.listdir(server.report_dir)
            if name.startswith(line[8] + ".")]


def check_lines(server, lines, expected, name):
    got = sorted((line[2], line[3], int(line[4])) for line in lines)
    assert got == sorted(expected), "%s: index %s, expected %s; output:\n%s" % (
        name, got, sorted(expected), server.stderr()[-3000:])


def test_varnish_manager_and_child_users_both_reach_the_reports():
    """varnishd's child (vcache) serves; its manager (varnish) dropped
    first. Before each user change the new user is let in: the child
    writes its reports, as vcache, 0600, with nobody else let in."""
    with servers.upstream() as upstream, \
            servers.varnish(upstream.port) as server:
        assert curl(server.url("/synth/page?token=SECRET")).find("synthetic") >= 0
        assert "burned" in curl(server.url("/burn?ms=30"))
        lines = wait_index(server, 2)
        check_lines(server, lines, [("GET", "/synth/page?token=SECRET", 200),
                                    ("GET", "/burn?ms=30", 200)], "varnish")
        for line in lines:
            report = server.report(line[8])
            assert report["request"]["response_bytes"] > 0, report["request"]
            for path in report_files(server, line):
                check_private(path, "vcache", 0o600)
        users = {"varnish": 7, "vcache": 7}
        check_private(server.report_dir, "root", 0o700, users)
        # The files every process shares: the index and the disk count.
        for shared in ["index.tsv", ".reqprof-disk"]:
            check_private(os.path.join(server.report_dir, shared), "root",
                          0o600, {user: 6 for user in users})
        assert "reqprof:" not in server.stderr(), server.stderr()[-3000:]


def test_tinyproxy_under_umask_0177():
    """tinyproxy drops to its user under umask 0177: the directory must
    still be one its user can enter, and the reports 0600."""
    with servers.upstream() as upstream, servers.tinyproxy() as server:
        target = "http://127.0.0.1:%d/burn?ms=40" % upstream.port
        assert "burned" in curl("-x", server.url(""), target)
        [line] = wait_index(server, 1)
        check_lines(server, [line], [("GET", target, 200)], "tinyproxy")
        [path] = report_files(server, line)
        check_private(path, "tinyproxy", 0o600)
        check_private(server.report_dir, "root", 0o700, {"tinyproxy": 7})
        assert "reqprof:" not in server.stderr(), server.stderr()[-3000:]


def test_two_users_forked_from_one_root_process_both_write_reports():
    """Like varnish without varnish: the second user must not find the
    directory handed to the first. Each server's reports are its user's."""
    with servers.user_switch(["nobody", "daemon"]) as server:
        first, second = server.ports
        assert "burned" in curl("http://127.0.0.1:%d/burn?ms=30" % first)
        assert "burned" in curl(
            "http://127.0.0.1:%d/burn?ms=30&fn=beta" % second)
        lines = wait_index(server, 2)
        check_lines(server, lines, [("GET", "/burn?ms=30", 200),
                                    ("GET", "/burn?ms=30&fn=beta", 200)],
                    "user_switch")
        for line in lines:
            owner = "daemon" if "fn=beta" in line[3] else "nobody"
            function = "burn_beta" if owner == "daemon" else "burn_alpha"
            assert share(server.report(line[8]), function) >= 0.5, line
            for path in report_files(server, line):
                check_private(path, owner, 0o600)
        check_private(server.report_dir, "root", 0o700,
                      {"nobody": 7, "daemon": 7})


def test_an_existing_directory_is_never_opened_up():
    """A directory the user made stays as they made it, even when the
    server's users cannot write there: reqprof says so, once per process,
    and the server serves."""
    directory = tempfile.mkdtemp(prefix="reqprof-users-")
    os.chmod(directory, 0o750)
    try:
        with servers.user_switch(["nobody", "daemon"],
                                 env={"REQPROF_DIR": directory}) as server:
            for port in server.ports:
                assert "burned" in curl("http://127.0.0.1:%d/burn?ms=5" % port)
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and said(server.stderr()) < 2:
                time.sleep(0.05)
            time.sleep(0.3)  # room for a line too many
            stderr = server.stderr()
            assert said(stderr) == 2 and \
                stderr.count("cannot write reports to REQPROF_DIR") == 2, stderr
            check_private(directory, "root", 0o750)
            assert os.listdir(directory) == [], os.listdir(directory)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def test_reports_are_private_under_the_usual_umask():
    """Under umask 022 files used to be 0644 in a 0755 directory: any
    local user could read the paths. Parents reqprof makes are 0711."""
    previous = os.umask(0o022)
    try:
        server = Server(env={"REQPROF_DIR": "made/reqprof",
                             "REQPROF_OUTPUT": "text,json,html"})
    finally:
        os.umask(previous)
    with server:
        server.report_dir = os.path.join(server.workdir, "made", "reqprof")
        curl(server.url("/burn?ms=10"))
        [line] = wait_index(server, 1)
        paths = report_files(server, line)
        assert len(paths) == 3, paths
        for path in paths + [os.path.join(server.report_dir, name)
                             for name in ["index.tsv", ".reqprof-disk"]]:
            check_private(path, "root", 0o600)
        check_private(server.report_dir, "root", 0o700)
        parent = os.stat(os.path.dirname(server.report_dir))
        assert (parent.st_uid, oct(stat.S_IMODE(parent.st_mode))) == \
            (0, oct(0o711)), parent


def as_user(user, action):
    """Runs action() in a child process switched to user."""
    child = os.fork()
    if child == 0:
        try:
            os.setuid(uid(user))
            action()
        finally:
            os._exit(0)
    os.waitpid(child, 0)


def test_links_planted_in_a_shared_directory_are_not_followed():
    """REQPROF_DIR is shared, world-writable and not sticky; another user
    planted index.tsv as a link to a file only root may write, or as a
    dangling link (following it would create its target), or made
    REQPROF_DIR itself a link to a directory only root may write. A root
    server must write through none of them, say so once, and serve on."""
    private = tempfile.mkdtemp(prefix="reqprof-root-only-")
    shared = tempfile.mkdtemp(prefix="reqprof-shared-")
    os.chmod(shared, 0o777)
    victim = os.path.join(private, "root-only")
    created = os.path.join(private, "created")
    with open(victim, "w") as f:
        f.write("root's only\n")
    os.chmod(victim, 0o600)
    cases = [
        ("index.tsv -> a root-only file", shared, "index.tsv", victim),
        ("index.tsv -> nothing yet", shared, "index.tsv", created),
        ("REQPROF_DIR -> a root-only directory",
         os.path.join(shared, "reqprof"), "reqprof", private),
    ]
    try:
        for name, report_dir, planted, target in cases:
            link = os.path.join(shared, planted)
            as_user("nobody", lambda: os.symlink(target, link))
            assert os.path.islink(link), name
            with Server(env={"REQPROF_DIR": report_dir}) as server:
                assert "burned" in curl(server.url("/burn?ms=10"))
                assert "burned" in curl(server.url("/burn?ms=10"))
                server.wait_stderr("reqprof:")
                time.sleep(1.5)  # the writer's rounds, for a second failure
                stderr = server.stderr()
            with open(victim) as f:
                assert f.read() == "root's only\n", name
            assert sorted(os.listdir(private)) == ["root-only"], (
                name, os.listdir(private))
            assert said(stderr) == 1, (name, stderr)
            os.unlink(link)
    finally:
        shutil.rmtree(private, ignore_errors=True)
        shutil.rmtree(shared, ignore_errors=True)


def test_redacted_paths_hold_no_query_value_anywhere():
    """REQPROF_REDACT=query: the index, the file names and every format of
    report have the path without its query values."""
    with Server(env={"REQPROF_REDACT": "query",
                     "REQPROF_OUTPUT": "text,json,html"}) as server:
        curl(server.url("/burn?ms=20&token=SECRET&fn=beta"))
        [line] = wait_index(server, 1)
        assert line[3] == "/burn?ms=&token=&fn=", line
        report = server.report(line[8])
        assert report["request"]["path"] == "/burn?ms=&token=&fn=", \
            report["request"]
        # Only the path was redacted: the request ran as asked.
        assert share(report, "burn_beta") >= 0.5, share(report, "burn_beta")
        names = [name for name in os.listdir(server.report_dir)
                 if name != ".reqprof-disk"]
        assert len(names) == 4, names
        for name in names:
            assert "SECRET" not in name, name
            path = os.path.join(server.report_dir, name)
            opener = gzip.open if name.endswith(".gz") else open
            with opener(path, "rb") as f:
                content = f.read()
            assert b"SECRET" not in content and b"token=" in content, name
