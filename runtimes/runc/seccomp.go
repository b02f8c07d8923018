package runc

import specs "github.com/opencontainers/runtime-spec/specs-go"

// deniedSyscalls are refused with EPERM by the default seccomp profile:
// kernel module, mount, namespace, keyring, tracing, clock and reboot calls
// that an app has no business making (Docker's default profile denies them
// too). Everything else is allowed.
var deniedSyscalls = []string{
	"acct", "add_key", "bpf", "clock_adjtime", "clock_settime", "create_module",
	"delete_module", "finit_module", "fsconfig", "fsmount", "fsopen", "fspick",
	"get_kernel_syms", "init_module", "ioperm", "iopl", "kcmp", "kexec_file_load",
	"kexec_load", "keyctl", "lookup_dcookie", "mount", "mount_setattr", "move_mount",
	"name_to_handle_at", "nfsservctl", "open_by_handle_at", "open_tree", "perf_event_open",
	"personality", "pivot_root", "process_vm_readv", "process_vm_writev", "ptrace",
	"query_module", "quotactl", "reboot", "request_key", "setns", "settimeofday",
	"swapoff", "swapon", "sysfs", "syslog", "umount", "umount2", "unshare", "uselib",
	"userfaultfd", "ustat", "vm86", "vm86old",
}

// defaultSeccomp returns the default profile, or nil when the binary was
// built without seccomp support.
func defaultSeccomp() *specs.LinuxSeccomp {
	if !seccompBuilt {
		return nil
	}
	eperm := uint(1)
	return &specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Architectures: []specs.Arch{specs.ArchX86_64, specs.ArchX86, specs.ArchX32, specs.ArchAARCH64, specs.ArchARM},
		Syscalls: []specs.LinuxSyscall{{
			Names: deniedSyscalls, Action: specs.ActErrno, ErrnoRet: &eperm,
		}},
	}
}
