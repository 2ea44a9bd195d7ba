-- nsbox.seccomp.default: the behaviour of the container runtimes' default
-- profile (Docker's, podman's) as nsbox data. Calls an ordinary program makes
-- are allowed; calls that reach past the container (other namespaces, the
-- kernel's keyring, modules, the clock, accounting, tracing other processes)
-- fail with EPERM unless the command holds the capability that governs them;
-- a few are allowed only with harmless arguments. Differences from Docker's:
-- ptrace and its kin need CAP_SYS_PTRACE (Docker allows them from kernel 4.8
-- on), and io_uring's calls are refused, as recent Docker releases do.

-- Allowed to everyone, grouped by what they serve. A name the running
-- kernel's architecture lacks is skipped when the filter is built.
local ALLOWED = {
  files = {
    "access", "chdir", "chmod", "chown", "chown32", "close", "close_range", "copy_file_range", "creat", "dup", "dup2",
    "dup3", "faccessat", "faccessat2", "fadvise64", "fadvise64_64", "fallocate", "fchdir", "fchmod", "fchmodat",
    "fchmodat2", "fchown", "fchown32", "fchownat", "fcntl", "fcntl64", "fdatasync", "flock", "fstat", "fstat64",
    "fstatat64", "fstatfs", "fstatfs64", "fsync", "ftruncate", "ftruncate64", "futimesat", "getcwd", "getdents",
    "getdents64", "ioctl", "lchown", "lchown32", "link", "linkat", "_llseek", "lseek", "lstat", "lstat64", "mkdir",
    "mkdirat", "mknod", "mknodat", "name_to_handle_at", "newfstatat", "open", "openat", "openat2", "pread64", "preadv",
    "preadv2", "pwrite64", "pwritev", "pwritev2", "read", "readahead", "readlink", "readlinkat", "readv", "rename",
    "renameat", "renameat2", "rmdir", "sendfile", "sendfile64", "splice", "stat", "stat64", "statfs", "statfs64",
    "statx", "symlink", "symlinkat", "sync", "sync_file_range", "syncfs", "tee", "truncate", "truncate64", "umask",
    "unlink", "unlinkat", "utime", "utimensat", "utimensat_time64", "utimes", "vmsplice", "write", "writev",
    "arm_fadvise64_64", "arm_sync_file_range", "sync_file_range2",
  },
  attributes = {
    "fgetxattr", "flistxattr", "fremovexattr", "fsetxattr", "getxattr", "lgetxattr", "listxattr", "llistxattr",
    "lremovexattr", "lsetxattr", "removexattr", "setxattr",
  },
  waiting = {
    "epoll_create", "epoll_create1", "epoll_ctl", "epoll_ctl_old", "epoll_pwait", "epoll_pwait2", "epoll_wait",
    "epoll_wait_old", "eventfd", "eventfd2", "fanotify_mark", "futex", "futex_time64", "futex_waitv",
    "inotify_add_watch", "inotify_init", "inotify_init1", "inotify_rm_watch", "io_cancel", "io_destroy",
    "io_getevents", "io_pgetevents", "io_pgetevents_time64", "io_setup", "io_submit", "_newselect", "pause", "poll",
    "ppoll", "ppoll_time64", "pselect6", "pselect6_time64", "select",
  },
  processes = {
    "arch_prctl", "capget", "capset", "execve", "execveat", "exit", "exit_group", "fork", "getcpu", "getegid",
    "getegid32", "geteuid", "geteuid32", "getgid", "getgid32", "getgroups", "getgroups32", "getpgid", "getpgrp",
    "getpid", "getppid", "getpriority", "getresgid", "getresgid32", "getresuid", "getresuid32", "getrlimit",
    "get_robust_list", "getrusage", "getsid", "get_thread_area", "gettid", "getuid", "getuid32", "ioprio_get",
    "ioprio_set", "kill", "membarrier", "modify_ldt", "pidfd_open", "pidfd_send_signal", "prctl", "prlimit64",
    "restart_syscall", "rseq", "sched_getaffinity", "sched_getattr", "sched_getparam", "sched_get_priority_max",
    "sched_get_priority_min", "sched_getscheduler", "sched_rr_get_interval", "sched_rr_get_interval_time64",
    "sched_setaffinity", "sched_setattr", "sched_setparam", "sched_setscheduler", "sched_yield", "seccomp",
    "setfsgid", "setfsgid32", "setfsuid", "setfsuid32", "setgid", "setgid32", "setgroups", "setgroups32", "setpgid",
    "setpriority", "setregid", "setregid32", "setresgid", "setresgid32", "setresuid", "setresuid32", "setreuid",
    "setreuid32", "setrlimit", "set_robust_list", "setsid", "set_thread_area", "set_tid_address", "setuid",
    "setuid32", "set_tls", "tgkill", "tkill", "ugetrlimit", "uname", "vfork", "wait4", "waitid", "waitpid",
    "landlock_add_rule", "landlock_create_ruleset", "landlock_restrict_self", "breakpoint", "cacheflush",
    "riscv_flush_icache", "s390_runtime_instr",
  },
  signals = {
    "rt_sigaction", "rt_sigpending", "rt_sigprocmask", "rt_sigqueueinfo", "rt_sigreturn", "rt_sigsuspend",
    "rt_sigtimedwait", "rt_sigtimedwait_time64", "rt_tgsigqueueinfo", "sigaltstack", "signalfd", "signalfd4",
    "sigprocmask", "sigreturn",
  },
  memory = {
    "brk", "madvise", "memfd_create", "memfd_secret", "mincore", "mlock", "mlock2", "mlockall", "mmap", "mmap2",
    "mprotect", "mremap", "msync", "munlock", "munlockall", "munmap", "pkey_alloc", "pkey_free", "pkey_mprotect",
    "process_mrelease", "remap_file_pages", "map_shadow_stack",
  },
  time = {
    "alarm", "clock_adjtime", "clock_adjtime64", "clock_getres", "clock_getres_time64", "clock_gettime",
    "clock_gettime64", "clock_nanosleep", "clock_nanosleep_time64", "getitimer", "gettimeofday", "nanosleep",
    "setitimer", "time", "timer_create", "timer_delete", "timer_getoverrun", "timer_gettime", "timer_gettime64",
    "timer_settime", "timer_settime64", "timerfd_create", "timerfd_gettime", "timerfd_gettime64", "timerfd_settime",
    "timerfd_settime64", "times", "adjtimex",
  },
  sockets = {
    "accept", "accept4", "bind", "connect", "getpeername", "getsockname", "getsockopt", "listen", "recv", "recvfrom",
    "recvmmsg", "recvmmsg_time64", "recvmsg", "send", "sendmmsg", "sendmsg", "sendto", "setsockopt", "shutdown",
    "socketcall", "socketpair",
  },
  ipc = {
    "ipc", "mq_getsetattr", "mq_notify", "mq_open", "mq_timedreceive", "mq_timedreceive_time64", "mq_timedsend",
    "mq_timedsend_time64", "mq_unlink", "msgctl", "msgget", "msgrcv", "msgsnd", "pipe", "pipe2", "semctl", "semget",
    "semop", "semtimedop", "semtimedop_time64", "shmat", "shmctl", "shmdt", "shmget",
  },
  system = { "getrandom", "sysinfo" },
}

-- Allowed to a command holding the capability that governs what they do.
local BY_CAPABILITY = {
  cap_sys_admin = {
    "bpf", "clone", "clone3", "fanotify_init", "fsconfig", "fsmount", "fsopen", "fspick", "lookup_dcookie", "mount",
    "mount_setattr", "move_mount", "open_tree", "perf_event_open", "quotactl", "quotactl_fd", "setdomainname",
    "sethostname", "setns", "syslog", "umount", "umount2", "unshare",
  },
  cap_sys_boot = { "reboot" },
  cap_sys_chroot = { "chroot" },
  cap_sys_module = { "delete_module", "finit_module", "init_module" },
  cap_sys_pacct = { "acct" },
  cap_sys_ptrace = { "kcmp", "pidfd_getfd", "process_madvise", "process_vm_readv", "process_vm_writev", "ptrace" },
  cap_sys_rawio = { "ioperm", "iopl" },
  cap_sys_time = { "clock_settime", "clock_settime64", "settimeofday", "stime" },
  cap_sys_tty_config = { "vhangup" },
  cap_sys_nice = { "get_mempolicy", "mbind", "set_mempolicy", "set_mempolicy_home_node" },
  cap_syslog = { "syslog" },
  cap_bpf = { "bpf" },
  cap_perfmon = { "perf_event_open" },
  cap_dac_read_search = { "open_by_handle_at" },
}

local CLONE_NEW_ANY = 0x7E020000 -- CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET
local AF_VSOCK = 40

-- Allowed only with these arguments (and the calls they guard, otherwise denied).
local BY_ARGUMENT = {
  -- Execution domains: Linux's own, with or without the address-space
  -- randomization switch, and the query (0xffffffff); not the others.
  { action = "allow", syscalls = { "personality" }, args = { { index = 0, op = "eq", value = 0x0 } } },
  { action = "allow", syscalls = { "personality" }, args = { { index = 0, op = "eq", value = 0x8 } } },
  { action = "allow", syscalls = { "personality" }, args = { { index = 0, op = "eq", value = 0x20000 } } },
  { action = "allow", syscalls = { "personality" }, args = { { index = 0, op = "eq", value = 0x20008 } } },
  { action = "allow", syscalls = { "personality" }, args = { { index = 0, op = "eq", value = 0xffffffff } } },
  -- Without CAP_SYS_ADMIN: threads and processes, but no new namespace. The
  -- flags are clone's first argument on x86 and arm (s390 swaps the first two).
  { action = "allow", syscalls = { "clone" }, unless_caps = { "cap_sys_admin" },
    args = { { index = 0, op = "masked_eq", value = CLONE_NEW_ANY, value2 = 0 } } },
  -- clone3 passes its flags in memory, out of a filter's reach: ENOSYS makes
  -- the C library fall back to clone, where the rule above applies.
  { action = "errno", errno = "ENOSYS", syscalls = { "clone3" }, unless_caps = { "cap_sys_admin" } },
}

-- Every socket family but vsock, the host's channel to its virtual machines.
-- The kernel reads the family as an int, so a 64-bit "ne 40" would let
-- 0x100000028 through to a vsock socket; libseccomp lets an unconditional
-- allow of socket erase a conditional deny beside it, and compares an
-- argument once per rule. So socket is allowed by ranges that leave 40 out:
-- below 40, then 41, 42-43, 44-47 and 48-63 as masked blocks (the kernel
-- knows families up to 45). A family with any upper bit set, which no C
-- library passes, is refused like vsock.
local function allow_socket(op, value, value2)
  BY_ARGUMENT[#BY_ARGUMENT + 1] = { action = "allow", syscalls = { "socket" },
    args = { { index = 0, op = op, value = value, value2 = value2 } } }
end
allow_socket("lt", AF_VSOCK)
allow_socket("eq", AF_VSOCK + 1)
for _, block in ipairs { { first = 42, size = 2 }, { first = 44, size = 4 }, { first = 48, size = 16 } } do
  allow_socket("masked_eq", ~(block.size - 1), block.first)
end

local function sorted_group_names(groups)
  local names = {}
  for name in pairs(groups) do names[#names + 1] = name end
  table.sort(names)
  return names
end

-- The profile for these architectures: one rule per group, in a stable order.
return function(architectures)
  local rules = {}
  for _, group in ipairs(sorted_group_names(ALLOWED)) do
    rules[#rules + 1] = { action = "allow", syscalls = ALLOWED[group] }
  end
  for _, cap in ipairs(sorted_group_names(BY_CAPABILITY)) do
    rules[#rules + 1] = { action = "allow", syscalls = BY_CAPABILITY[cap], if_caps = { cap } }
  end
  for _, rule in ipairs(BY_ARGUMENT) do rules[#rules + 1] = rule end
  return { default = "errno", errno = "EPERM", architectures = architectures, rules = rules }
end
