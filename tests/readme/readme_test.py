#!/usr/bin/env python3
"""Runs the README as a user would and fails when it no longer tells the truth.

Every ```console block of README.md, and of the Markdown files it links, is a transcript: lines
starting with "$ " are commands (a trailing backslash continues one), the lines after a command
are what it prints (its stdout, then its stderr). The blocks of one file run in order, in one
bash session, in a fresh temporary HOME (so PURSER_HOME is ~/.purser), with the built `purser`
first on PATH. A command that exits non-zero, or whose output does not match, fails the test.

Matching: "..." inside a line stands for any text; a line that is only "..." stands for any
number of lines; runs of spaces compare equal to one space; trailing blank lines are ignored.
The only rewrite of what commands print: the proxy listens on a free port chosen here (the
README shows its default, 8402), so that port is shown as 8402. Background processes the blocks
started with --detach are stopped at the end, whatever happened.
"""
import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

FENCE = re.compile(r"^```(\S*)\s*$")
LINK = re.compile(r"\]\(([^)#\s]+\.md)(?:#[^)]*)?\)")


def console_blocks(path):
    """[(line number, [lines])] of the ```console blocks of one Markdown file."""
    blocks, current, start = [], None, 0
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            m = FENCE.match(line)
            if m and current is None:
                if m.group(1) == "console":
                    current, start = [], n + 1
                else:
                    current, start = False, n + 1  # another language: skip to its end
            elif m and current is not None:
                if current is not False:
                    blocks.append((start, current))
                current = None
            elif current not in (None, False):
                current.append(line)
    return blocks


def steps(path):
    """[(where, command, expected lines)] in file order."""
    out = []
    for start, lines in console_blocks(path):
        i = 0
        while i < len(lines):
            if not lines[i].startswith("$ "):
                raise SystemExit(f"{path}:{start + i}: output before any command in a console block")
            where = f"{path}:{start + i}"
            command = lines[i][2:]
            while command.endswith("\\") and i + 1 < len(lines):
                i += 1
                command = command + "\n" + lines[i]
            i += 1
            expected = []
            while i < len(lines) and not lines[i].startswith("$ "):
                expected.append(lines[i])
                i += 1
            out.append((where, command, expected))
    return out


def linked_docs(readme):
    """README.md, then each Markdown file it links, in order of first mention."""
    root = os.path.dirname(readme)
    docs = [readme]
    with open(readme, encoding="utf-8") as f:
        for target in LINK.findall(f.read()):
            if "://" in target:
                continue
            p = os.path.normpath(os.path.join(root, target))
            if os.path.isfile(p) and p not in docs:
                docs.append(p)
    return docs


def line_matches(pattern, line):
    squash = lambda s: re.sub(r" +", " ", s.rstrip())
    parts = [re.escape(p) for p in squash(pattern).split("...")]
    return re.fullmatch(".*".join(parts), squash(line), re.S) is not None


def output_matches(expected, actual):
    while expected and not expected[-1].strip():
        expected = expected[:-1]
    while actual and not actual[-1].strip():
        actual = actual[:-1]

    def match(i, j):
        if i == len(expected):
            return j == len(actual)
        if expected[i].strip() == "...":
            return any(match(i + 1, k) for k in range(j, len(actual) + 1))
        return j < len(actual) and line_matches(expected[i], actual[j]) and match(i + 1, j + 1)

    return match(0, 0)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop_background(home):
    """Ends what --detach left running: the proxy (proxy.pid) and the testnet (testnet.pid)."""
    for pid_file in (os.path.join(home, ".purser", "proxy.pid"),
                     os.path.join(home, ".purser", "testnet", "testnet.pid")):
        try:
            pid = int(open(pid_file).read().strip())
            os.kill(pid, signal.SIGTERM)
        except (OSError, ValueError):
            continue
        for _ in range(100):
            try:
                os.kill(pid, 0)
            except OSError:
                break
            time.sleep(0.1)
        else:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass


def run_doc(doc, bin_dir, keep):
    todo = steps(doc)
    if not todo:
        print(f"{doc}: no console blocks")
        return True
    home = tempfile.mkdtemp(prefix="purser-readme-")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PURSER_")}
    env.update(HOME=home, PATH=bin_dir + os.pathsep + env.get("PATH", "/usr/bin:/bin"),
               PURSER_LISTEN=f"127.0.0.1:{port}", PURSER_TESTNET_BASE_PORT="0",
               # The admin listener on a free port too, so no test collides on its default.
               PURSER_ADMIN_LISTEN="127.0.0.1:0")
    for k in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "all_proxy"):
        env.pop(k, None)
    work = os.path.join(home, "work")
    os.makedirs(work)
    # One bash for the whole file, so `export`, `source` and `eval` carry from block to block.
    # Each command runs in a brace group (the current shell) with its streams in files.
    script = ["set -u", f"cd {work!r}"]
    for n, (_, command, _) in enumerate(todo):
        script.append(f"{{\n{command}\n}} >{work}/.out{n} 2>{work}/.err{n} </dev/null")
        script.append(f"echo $? >{work}/.rc{n}")
        script.append(f"[ \"$(cat {work}/.rc{n})\" = 0 ] || exit 0")
    ok = True
    try:
        subprocess.run(["bash", "-c", "\n".join(script)], env=env, cwd=work, timeout=600,
                       start_new_session=True)
        for n, (where, command, expected) in enumerate(todo):
            rc_file = f"{work}/.rc{n}"
            if not os.path.exists(rc_file):
                print(f"FAIL {where}: not run (an earlier command failed)\n  $ {command}")
                ok = False
                break
            out = open(f"{work}/.out{n}", encoding="utf-8", errors="replace").read()
            err = open(f"{work}/.err{n}", encoding="utf-8", errors="replace").read()
            actual = (out + err).replace(f"127.0.0.1:{port}", "127.0.0.1:8402").splitlines()
            rc = open(rc_file).read().strip()
            if rc != "0":
                print(f"FAIL {where}: exit code {rc}\n  $ {command}\n" +
                      "".join(f"  | {l}\n" for l in actual))
                ok = False
                break
            if not output_matches(expected, actual):
                print(f"FAIL {where}: the output no longer matches the README\n  $ {command}\n"
                      "  README shows:\n" + "".join(f"  | {l}\n" for l in expected) +
                      "  printed:\n" + "".join(f"  | {l}\n" for l in actual))
                ok = False
            else:
                print(f"ok   {where}: $ {command.splitlines()[0]}")
    except subprocess.TimeoutExpired:
        print(f"FAIL {doc}: timed out after 600 s")
        ok = False
    finally:
        stop_background(home)
        if keep:
            print(f"kept {home}")
        else:
            shutil.rmtree(home, ignore_errors=True)
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bin-dir", required=True, help="directory holding the built purser")
    ap.add_argument("--readme", required=True, help="README.md to test (and the docs it links)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary homes")
    args = ap.parse_args()
    docs = linked_docs(os.path.abspath(args.readme))
    if not steps(docs[0]):
        print(f"FAIL {docs[0]}: no console blocks; the quick start must be tested")
        return 1
    results = [run_doc(d, os.path.abspath(args.bin_dir), args.keep) for d in docs]
    print(f"{sum(results)} passed, {len(results) - sum(results)} failed")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
