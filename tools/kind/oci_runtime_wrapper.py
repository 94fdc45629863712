# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# OCI runtime wrapper for dockerd on hosts whose capability bounding set lacks some capabilities (this project's CI
# VMs lack CAP_SYS_RESOURCE). `docker run --privileged` asks runc for every capability it knows, and runc fails
# with "unable to apply caps: operation not permitted" when one is outside the bounding set. This wrapper removes
# the capabilities the host cannot grant from the bundle's config.json (create/run) and from the --process file
# (exec), then execs runc with the same arguments. Everything else --privileged gives is kept.
# Registered by tools/kind/engine.sh with `dockerd --add-runtime NAME=PATH --default-runtime NAME`, only when needed,
# through the oci-runtime-wrapper launcher beside it (dockerd needs an executable).
import json
import os
import sys

RUNC = os.environ.get("CLUSTEROPS_RUNC", "runc")
CAP_NAMES = {  # bit number -> name, as in linux/capability.h
    0: "CAP_CHOWN", 1: "CAP_DAC_OVERRIDE", 2: "CAP_DAC_READ_SEARCH", 3: "CAP_FOWNER", 4: "CAP_FSETID",
    5: "CAP_KILL", 6: "CAP_SETGID", 7: "CAP_SETUID", 8: "CAP_SETPCAP", 9: "CAP_LINUX_IMMUTABLE",
    10: "CAP_NET_BIND_SERVICE", 11: "CAP_NET_BROADCAST", 12: "CAP_NET_ADMIN", 13: "CAP_NET_RAW",
    14: "CAP_IPC_LOCK", 15: "CAP_IPC_OWNER", 16: "CAP_SYS_MODULE", 17: "CAP_SYS_RAWIO", 18: "CAP_SYS_CHROOT",
    19: "CAP_SYS_PTRACE", 20: "CAP_SYS_PACCT", 21: "CAP_SYS_ADMIN", 22: "CAP_SYS_BOOT", 23: "CAP_SYS_NICE",
    24: "CAP_SYS_RESOURCE", 25: "CAP_SYS_TIME", 26: "CAP_SYS_TTY_CONFIG", 27: "CAP_MKNOD", 28: "CAP_LEASE",
    29: "CAP_AUDIT_WRITE", 30: "CAP_AUDIT_CONTROL", 31: "CAP_SETFCAP", 32: "CAP_MAC_OVERRIDE",
    33: "CAP_MAC_ADMIN", 34: "CAP_SYSLOG", 35: "CAP_WAKE_ALARM", 36: "CAP_BLOCK_SUSPEND", 37: "CAP_AUDIT_READ",
    38: "CAP_PERFMON", 39: "CAP_BPF", 40: "CAP_CHECKPOINT_RESTORE",
}


def missing_capabilities():
    """Names of the known capabilities outside this process's bounding set."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("CapBnd:"):
                bounding = int(line.split()[1], 16)
                return {name for bit, name in CAP_NAMES.items() if not bounding >> bit & 1}
    return set()


def strip(process, drop):
    caps = process.get("capabilities") or {}
    changed = False
    for key, names in caps.items():
        kept = [name for name in names if name not in drop]
        if len(kept) != len(names):
            caps[key] = kept
            changed = True
    return changed


def rewrite(path, drop, whole_spec):
    with open(path, encoding="utf-8") as source:
        document = json.load(source)
    process = document.get("process", {}) if whole_spec else document
    if strip(process, drop):
        with open(path + ".tmp", "w", encoding="utf-8") as target:
            json.dump(document, target)
        os.replace(path + ".tmp", path)


def option(args, name, default=None):
    for index, arg in enumerate(args):
        if arg == name and index + 1 < len(args):
            return args[index + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    return default


GLOBAL_OPTIONS_WITH_VALUE = {"--root", "--log", "--log-format", "--criu", "--rootless"}


def subcommand(args):
    """runc's subcommand: the first argument that is neither a global option nor its value."""
    skip = False
    for arg in args:
        if skip:
            skip = False
        elif arg in GLOBAL_OPTIONS_WITH_VALUE:
            skip = True
        elif not arg.startswith("-"):
            return arg
    return None


def main(args):
    drop = missing_capabilities()
    command = subcommand(args)
    if drop and command in ("create", "run"):
        bundle = option(args, "--bundle") or option(args, "-b") or os.getcwd()
        rewrite(os.path.join(bundle, "config.json"), drop, whole_spec=True)
    elif drop and command == "exec":
        process_file = option(args, "--process") or option(args, "-p")
        if process_file:
            rewrite(process_file, drop, whole_spec=False)
    os.execvp(RUNC, [RUNC] + args)


if __name__ == "__main__":
    main(sys.argv[1:])
