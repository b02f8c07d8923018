package seccompexec

import (
	"fmt"

	"golang.org/x/net/bpf"
)

// Seccomp return values and seccomp_data offsets (linux/seccomp.h).
const (
	retAllow = 0x7fff0000
	retErrno = 0x00050000
	ePerm    = 1
	eNoSys   = 38

	offNr   = 0
	offArch = 4
	offArg0 = 16 // low 32 bits of args[0] on a little-endian machine

	auditArchX8664 = 0xc000003e
	x32Bit         = 0x40000000
)

// Syscall is one x86-64 system call number with its name.
type Syscall struct {
	Name string
	Nr   uint32
}

// DeniedSyscalls are refused with EPERM: kernel modules and kexec, mounts
// and new namespaces, keyrings, tracing and other processes' memory, BPF and
// perf, clock and reboot, swap, quotas, raw I/O ports, handles, io_uring and
// obsolete calls. Docker's default profile refuses them too (to a process
// without capabilities). The numbers are x86-64's.
var DeniedSyscalls = []Syscall{
	{"ptrace", 101}, {"syslog", 103}, {"uselib", 134}, {"ustat", 136}, {"sysfs", 139},
	{"pivot_root", 155}, {"_sysctl", 156}, {"acct", 163}, {"settimeofday", 164},
	{"mount", 165}, {"umount2", 166}, {"swapon", 167}, {"swapoff", 168}, {"reboot", 169},
	{"iopl", 172}, {"ioperm", 173}, {"create_module", 174}, {"init_module", 175},
	{"delete_module", 176}, {"get_kernel_syms", 177}, {"query_module", 178},
	{"quotactl", 179}, {"nfsservctl", 180}, {"lookup_dcookie", 212},
	{"clock_settime", 227}, {"kexec_load", 246}, {"add_key", 248}, {"request_key", 249},
	{"keyctl", 250}, {"unshare", 272}, {"perf_event_open", 298}, {"fanotify_init", 300},
	{"name_to_handle_at", 303}, {"open_by_handle_at", 304}, {"clock_adjtime", 305},
	{"setns", 308}, {"process_vm_readv", 310}, {"process_vm_writev", 311}, {"kcmp", 312},
	{"finit_module", 313}, {"kexec_file_load", 320}, {"bpf", 321}, {"userfaultfd", 323},
	{"io_uring_setup", 425}, {"io_uring_enter", 426}, {"io_uring_register", 427},
	{"open_tree", 428}, {"move_mount", 429}, {"fsopen", 430}, {"fsconfig", 431},
	{"fsmount", 432}, {"fspick", 433}, {"mount_setattr", 442}, {"quotactl_fd", 443},
}

// Inspected system calls: allowed or refused depending on their arguments.
const (
	sysClone       = 56
	sysPersonality = 135
	sysClone3      = 435
)

// cloneNamespaces are the CLONE_NEW* flags: clone with any of them is
// refused (CLONE_NEWUSER would work unprivileged).
const cloneNamespaces = 0x00020000 | // CLONE_NEWNS
	0x02000000 | // CLONE_NEWCGROUP
	0x04000000 | // CLONE_NEWUTS
	0x08000000 | // CLONE_NEWIPC
	0x10000000 | // CLONE_NEWUSER
	0x20000000 | // CLONE_NEWPID
	0x40000000 // CLONE_NEWNET

// allowedPersonalities are the personality(2) arguments allowed, as in
// Docker's profile: PER_LINUX, UNAME26, ADDR_NO_RANDOMIZE (alone or with
// UNAME26) and the 0xffffffff query.
var allowedPersonalities = []uint32{0x0, 0x8, 0x20000, 0x20008, 0xffffffff}

// Filter returns the seccomp BPF program of the default profile:
//   - a system call of another architecture than x86-64 (i386 through
//     int 0x80) or of the x32 ABI fails with EPERM;
//   - the [DeniedSyscalls] fail with EPERM;
//   - clone with a CLONE_NEW* flag fails with EPERM, clone3 (whose flags a
//     filter cannot read) with ENOSYS so that the C library falls back to
//     clone, personality other than the common values with EPERM;
//   - everything else is allowed.
func Filter() ([]bpf.RawInstruction, error) {
	var p program
	p.add(bpf.LoadAbsolute{Off: offArch, Size: 4})
	p.jeq(auditArchX8664, "", "deny")
	p.add(bpf.LoadAbsolute{Off: offNr, Size: 4})
	p.jump(bpf.JumpIf{Cond: bpf.JumpGreaterOrEqual, Val: x32Bit}, "deny", "")
	p.jeq(sysClone, "clone", "")
	p.jeq(sysClone3, "enosys", "")
	p.jeq(sysPersonality, "personality", "")
	for _, s := range DeniedSyscalls {
		p.jeq(s.Nr, "deny", "")
	}
	p.label("allow")
	p.add(bpf.RetConstant{Val: retAllow})
	p.label("deny")
	p.add(bpf.RetConstant{Val: retErrno | ePerm})
	p.label("enosys")
	p.add(bpf.RetConstant{Val: retErrno | eNoSys})
	p.label("clone")
	p.add(bpf.LoadAbsolute{Off: offArg0, Size: 4})
	p.jump(bpf.JumpIf{Cond: bpf.JumpBitsSet, Val: cloneNamespaces}, "deny2", "allow2")
	p.label("personality")
	p.add(bpf.LoadAbsolute{Off: offArg0, Size: 4})
	for _, v := range allowedPersonalities {
		p.jeq(v, "allow2", "")
	}
	// BPF only jumps forwards: the blocks above end here.
	p.label("deny2")
	p.add(bpf.RetConstant{Val: retErrno | ePerm})
	p.label("allow2")
	p.add(bpf.RetConstant{Val: retAllow})
	return p.assemble()
}

// program is a BPF program under construction whose jumps name labels; an
// empty label is the next instruction.
type program struct {
	ins    []bpf.Instruction
	jumps  map[int][2]string
	labels map[string]int
}

func (p *program) add(i bpf.Instruction) { p.ins = append(p.ins, i) }

func (p *program) label(name string) {
	if p.labels == nil {
		p.labels = map[string]int{}
	}
	p.labels[name] = len(p.ins)
}

func (p *program) jump(j bpf.JumpIf, ifTrue, ifFalse string) {
	if p.jumps == nil {
		p.jumps = map[int][2]string{}
	}
	p.jumps[len(p.ins)] = [2]string{ifTrue, ifFalse}
	p.add(j)
}

func (p *program) jeq(v uint32, ifTrue, ifFalse string) {
	p.jump(bpf.JumpIf{Cond: bpf.JumpEqual, Val: v}, ifTrue, ifFalse)
}

func (p *program) assemble() ([]bpf.RawInstruction, error) {
	skip := func(at int, label string) (uint8, error) {
		if label == "" {
			return 0, nil
		}
		to, ok := p.labels[label]
		if !ok {
			return 0, fmt.Errorf("seccomp filter: no label %q", label)
		}
		n := to - at - 1
		if n < 0 || n > 255 {
			return 0, fmt.Errorf("seccomp filter: jump from %d to %q (%d) out of range", at, label, to)
		}
		return uint8(n), nil
	}
	for at, targets := range p.jumps {
		j := p.ins[at].(bpf.JumpIf)
		var err error
		if j.SkipTrue, err = skip(at, targets[0]); err != nil {
			return nil, err
		}
		if j.SkipFalse, err = skip(at, targets[1]); err != nil {
			return nil, err
		}
		p.ins[at] = j
	}
	return bpf.Assemble(p.ins)
}
