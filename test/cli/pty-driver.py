"""Runs a program under a pseudo-terminal, as a person at a terminal would, for tsvirsh's
interactive tests. argv[1] is a JSON file: {"argv": [...], "env": {...}, "steps": [...]} where
each step is {"send": text} or {"expect": regex, "timeout": s}. Prints a JSON report:
{"ok": bool, "failed_step": i or null, "transcript": text, "status": exit status or null}."""
import json, os, pty, re, select, signal, sys, time

spec = json.load(open(sys.argv[1]))
pid, fd = pty.fork()
if pid == 0:
    os.environ.update(spec["env"])
    os.execv(spec["argv"][0], spec["argv"])

out = b""
def read_for(seconds):
    global out
    end = time.time() + seconds
    while time.time() < end:
        r, _, _ = select.select([fd], [], [], max(0, min(0.05, end - time.time())))
        if r:
            try:
                data = os.read(fd, 65536)
            except OSError:
                return False
            if not data:
                return False
            out += data
        else:
            return True
    return True

failed = None
mark = 0
for i, step in enumerate(spec["steps"]):
    if "send" in step:
        os.write(fd, step["send"].encode())
        time.sleep(step.get("pause", 0.05))
    else:
        rx = re.compile(step["expect"].encode(), re.S)
        end = time.time() + step.get("timeout", 20)
        while not rx.search(out, mark) and time.time() < end:
            if not read_for(0.1):
                break
        m = rx.search(out, mark)
        if not m:
            failed = i
            break
        mark = m.end()

status = None
end = time.time() + 10
while time.time() < end:
    read_for(0.1)
    wpid, st = os.waitpid(pid, os.WNOHANG)
    if wpid:
        status = os.waitstatus_to_exitcode(st)
        break
if status is None:
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
print(json.dumps({"ok": failed is None, "failed_step": failed, "transcript": out.decode("utf8", "replace"), "status": status}))
