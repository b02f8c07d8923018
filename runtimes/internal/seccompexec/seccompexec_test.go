package seccompexec

import (
	"debug/elf"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// seccompData lays out a struct seccomp_data for the BPF VM, which loads
// words big-endian (the kernel loads them in the host's byte order: the
// result is the same word).
func seccompData(arch, nr, arg0 uint32) []byte {
	b := make([]byte, 64)
	binary.BigEndian.PutUint32(b[offNr:], nr)
	binary.BigEndian.PutUint32(b[offArch:], arch)
	binary.BigEndian.PutUint32(b[offArg0:], arg0)
	return b
}

func TestFilter(t *testing.T) {
	raw, err := Filter()
	if err != nil {
		t.Fatal(err)
	}
	ins, ok := bpf.Disassemble(raw)
	if !ok {
		t.Fatalf("filter does not disassemble: %v", ins)
	}
	vm, err := bpf.NewVM(ins)
	if err != nil {
		t.Fatal(err)
	}
	const (
		allow  = retAllow
		eperm  = retErrno | ePerm
		enosys = retErrno | eNoSys
		i386   = 0x40000003
	)
	tests := []struct {
		desc           string
		arch, nr, arg0 uint32
		want           int
	}{
		{"read", auditArchX8664, 0, 0, allow},
		{"execve", auditArchX8664, 59, 0, allow},
		{"mount", auditArchX8664, 165, 0, eperm},
		{"unshare", auditArchX8664, 272, 0x10000000, eperm},
		{"keyctl", auditArchX8664, 250, 0, eperm},
		{"bpf", auditArchX8664, 321, 0, eperm},
		{"quotactl_fd (last)", auditArchX8664, 443, 0, eperm},
		{"ptrace (first)", auditArchX8664, 101, 0, eperm},
		{"fork-like clone", auditArchX8664, sysClone, 0x01200011, allow},
		{"clone of a thread", auditArchX8664, sysClone, 0x003d0f00, allow},
		{"clone into a user namespace", auditArchX8664, sysClone, 0x10000000 | 17, eperm},
		{"clone into a network namespace", auditArchX8664, sysClone, 0x40000000, eperm},
		{"clone3", auditArchX8664, sysClone3, 0, enosys},
		{"personality query", auditArchX8664, sysPersonality, 0xffffffff, allow},
		{"personality linux", auditArchX8664, sysPersonality, 0, allow},
		{"personality READ_IMPLIES_EXEC", auditArchX8664, sysPersonality, 0x0400000, eperm},
		{"x32 read", auditArchX8664, x32Bit, 0, eperm},
		{"i386 syscall", i386, 3, 0, eperm},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			got, err := vm.Run(seccompData(tc.arch, tc.nr, tc.arg0))
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("got %#x, want %#x", got, tc.want)
			}
		})
	}
}

// TestSyscallNumbers checks the hand-written x86-64 numbers against x/sys.
func TestSyscallNumbers(t *testing.T) {
	if !Supported() {
		t.Skip("x/sys numbers are this host's, not x86-64's")
	}
	known := map[string]uint32{
		"ptrace": unix.SYS_PTRACE, "syslog": unix.SYS_SYSLOG, "uselib": unix.SYS_USELIB,
		"ustat": unix.SYS_USTAT, "sysfs": unix.SYS_SYSFS, "pivot_root": unix.SYS_PIVOT_ROOT,
		"_sysctl": unix.SYS__SYSCTL, "acct": unix.SYS_ACCT, "settimeofday": unix.SYS_SETTIMEOFDAY,
		"mount": unix.SYS_MOUNT, "umount2": unix.SYS_UMOUNT2, "swapon": unix.SYS_SWAPON,
		"swapoff": unix.SYS_SWAPOFF, "reboot": unix.SYS_REBOOT, "iopl": unix.SYS_IOPL,
		"ioperm": unix.SYS_IOPERM, "create_module": unix.SYS_CREATE_MODULE,
		"init_module": unix.SYS_INIT_MODULE, "delete_module": unix.SYS_DELETE_MODULE,
		"get_kernel_syms": unix.SYS_GET_KERNEL_SYMS, "query_module": unix.SYS_QUERY_MODULE,
		"quotactl": unix.SYS_QUOTACTL, "nfsservctl": unix.SYS_NFSSERVCTL,
		"lookup_dcookie": unix.SYS_LOOKUP_DCOOKIE, "clock_settime": unix.SYS_CLOCK_SETTIME,
		"kexec_load": unix.SYS_KEXEC_LOAD, "add_key": unix.SYS_ADD_KEY,
		"request_key": unix.SYS_REQUEST_KEY, "keyctl": unix.SYS_KEYCTL, "unshare": unix.SYS_UNSHARE,
		"perf_event_open": unix.SYS_PERF_EVENT_OPEN, "fanotify_init": unix.SYS_FANOTIFY_INIT,
		"name_to_handle_at": unix.SYS_NAME_TO_HANDLE_AT, "open_by_handle_at": unix.SYS_OPEN_BY_HANDLE_AT,
		"clock_adjtime": unix.SYS_CLOCK_ADJTIME, "setns": unix.SYS_SETNS,
		"process_vm_readv": unix.SYS_PROCESS_VM_READV, "process_vm_writev": unix.SYS_PROCESS_VM_WRITEV,
		"kcmp": unix.SYS_KCMP, "finit_module": unix.SYS_FINIT_MODULE,
		"kexec_file_load": unix.SYS_KEXEC_FILE_LOAD, "bpf": unix.SYS_BPF, "userfaultfd": unix.SYS_USERFAULTFD,
		"io_uring_setup": unix.SYS_IO_URING_SETUP, "io_uring_enter": unix.SYS_IO_URING_ENTER,
		"io_uring_register": unix.SYS_IO_URING_REGISTER, "open_tree": unix.SYS_OPEN_TREE,
		"move_mount": unix.SYS_MOVE_MOUNT, "fsopen": unix.SYS_FSOPEN, "fsconfig": unix.SYS_FSCONFIG,
		"fsmount": unix.SYS_FSMOUNT, "fspick": unix.SYS_FSPICK, "mount_setattr": unix.SYS_MOUNT_SETATTR,
		"quotactl_fd": unix.SYS_QUOTACTL_FD,
	}
	for _, s := range DeniedSyscalls {
		want, ok := known[s.Name]
		if !ok {
			t.Errorf("%s: not checked", s.Name)
			continue
		}
		if s.Nr != want {
			t.Errorf("%s = %d, want %d", s.Name, s.Nr, want)
		}
	}
	for name, got := range map[string][2]uint32{
		"clone": {sysClone, unix.SYS_CLONE}, "clone3": {sysClone3, unix.SYS_CLONE3},
		"personality": {sysPersonality, unix.SYS_PERSONALITY},
	} {
		if got[0] != got[1] {
			t.Errorf("%s = %d, want %d", name, got[0], got[1])
		}
	}
}

func TestWrapperIsELF(t *testing.T) {
	b, err := Wrapper()
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > 4096 {
		t.Errorf("wrapper is %d bytes", len(b))
	}
	path := filepath.Join(t.TempDir(), "w")
	if err := os.WriteFile(path, b, 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := elf.Open(path)
	if err != nil {
		t.Fatalf("not an ELF file: %v", err)
	}
	defer f.Close()
	if f.Machine != elf.EM_X86_64 || f.Type != elf.ET_EXEC || f.Entry != base+codeOff {
		t.Errorf("machine %v type %v entry %#x", f.Machine, f.Type, f.Entry)
	}
}

// TestWrapper runs the real wrapper (seccomp filters need no privilege
// once no_new_privs is set).
func TestWrapper(t *testing.T) {
	if !Supported() {
		t.Skip("the wrapper is x86-64 code")
	}
	path := filepath.Join(t.TempDir(), "seccomp-exec")
	if err := Install(path); err != nil {
		t.Fatal(err)
	}
	if err := Install(path); err != nil { // idempotent
		t.Fatal(err)
	}
	tests := []struct {
		desc string
		args []string
		env  []string
		want string
		code int
	}{
		{desc: "runs the command with its args and env", args: []string{"/bin/sh", "-c", `echo "$1 $FOO"`, "sh", "arg"}, env: []string{"FOO=bar"}, want: "arg bar\n"},
		{desc: "filter is installed", args: []string{"/bin/sh", "-c", "grep -E '^(Seccomp|NoNewPrivs):' /proc/self/status"}, want: "NoNewPrivs:\t1\nSeccomp:\t2\n"},
		{desc: "unshare is refused", args: []string{"/bin/sh", "-c", "unshare -U true 2>/dev/null; echo rc=$?"}, want: "rc=1\n"},
		{desc: "exit code passes through", args: []string{"/bin/sh", "-c", "exit 3"}, code: 3},
		{desc: "no command", code: 127},
		{desc: "missing command", args: []string{"/nonexistent"}, code: 127},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			if strings.Contains(tc.desc, "unshare") {
				if _, err := exec.LookPath("unshare"); err != nil {
					t.Skip("no unshare(1)")
				}
			}
			cmd := exec.Command(path, tc.args...)
			cmd.Env = tc.env
			out, err := cmd.Output()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tc.code || string(out) != tc.want {
				t.Errorf("exit %d, output %q; want %d, %q", code, out, tc.code, tc.want)
			}
		})
	}
}
