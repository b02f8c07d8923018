// Package seccompexec makes paasd's seccomp wrapper: a tiny static x86-64
// Linux executable (hand-assembled machine code, no libc, about 1 KB) that
// sets no_new_privs, installs paasd's default seccomp filter and then
// executes its arguments:
//
//	WRAPPER /bin/sh -c COMMAND
//
// runs "/bin/sh -c COMMAND" (no PATH search: argv[1] must be a path) under
// the filter, with the wrapper's environment. It exits with status 127 when
// it is given no command or when prctl, seccomp or execve fail.
//
// This gives every dyno a seccomp profile without libseccomp: the runtime
// bind-mounts the wrapper read-only into the container and prefixes the
// dyno's command with it. The filter is built with golang.org/x/net/bpf and
// is a deny-list in the spirit of Docker's default profile (see
// [DeniedSyscalls]); it only exists for amd64 hosts ([Supported]).
package seccompexec

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
)

// Supported reports whether the wrapper runs on this host: it is x86-64
// machine code filtering x86-64 system calls.
func Supported() bool { return runtime.GOARCH == "amd64" }

// base is the virtual address the wrapper's single segment is loaded at.
const base = 0x400000

// ELF layout: header, two program headers (PT_LOAD, PT_GNU_STACK), code,
// then the sock_fprog and the filter, 8-byte aligned.
const (
	ehdrSize = 64
	phdrSize = 56
	codeOff  = ehdrSize + 2*phdrSize
)

// Wrapper returns the wrapper executable's bytes.
func Wrapper() ([]byte, error) {
	filter, err := Filter()
	if err != nil {
		return nil, err
	}
	// The code depends on the address of the sock_fprog, which follows it:
	// its length does not depend on that address, so assemble twice.
	code := machineCode(0)
	progOff := align8(codeOff + len(code))
	code = machineCode(base + uint32(progOff))
	filterOff := progOff + 16
	size := filterOff + 8*len(filter)

	var b bytes.Buffer
	le := binary.LittleEndian
	w := func(v any) { _ = binary.Write(&b, le, v) }
	// ELF header.
	b.Write([]byte{0x7f, 'E', 'L', 'F', 2 /* 64-bit */, 1 /* little-endian */, 1 /* version */, 0 /* System V */})
	b.Write(make([]byte, 8))
	w(uint16(2))              // e_type: ET_EXEC
	w(uint16(0x3e))           // e_machine: EM_X86_64
	w(uint32(1))              // e_version
	w(uint64(base + codeOff)) // e_entry
	w(uint64(ehdrSize))       // e_phoff
	w(uint64(0))              // e_shoff
	w(uint32(0))              // e_flags
	w(uint16(ehdrSize))       // e_ehsize
	w(uint16(phdrSize))       // e_phentsize
	w(uint16(2))              // e_phnum
	w(uint16(0))              // e_shentsize
	w(uint16(0))              // e_shnum
	w(uint16(0))              // e_shstrndx
	// PT_LOAD: the whole file, read and execute.
	w(uint32(1))      // p_type
	w(uint32(5))      // p_flags: R+X
	w(uint64(0))      // p_offset
	w(uint64(base))   // p_vaddr
	w(uint64(base))   // p_paddr
	w(uint64(size))   // p_filesz
	w(uint64(size))   // p_memsz
	w(uint64(0x1000)) // p_align
	// PT_GNU_STACK: a non-executable stack.
	w(uint32(0x6474e551))
	w(uint32(6)) // R+W
	for i := 0; i < 6; i++ {
		w(uint64(0))
	}
	if b.Len() != codeOff {
		return nil, fmt.Errorf("seccompexec: headers are %d bytes, want %d", b.Len(), codeOff)
	}
	b.Write(code)
	b.Write(make([]byte, progOff-b.Len()))
	// struct sock_fprog { unsigned short len; struct sock_filter *filter; }
	w(uint16(len(filter)))
	b.Write(make([]byte, 6))
	w(uint64(base + filterOff))
	for _, ins := range filter {
		w(ins.Op)
		w(ins.Jt)
		w(ins.Jf)
		w(ins.K)
	}
	if b.Len() != size {
		return nil, fmt.Errorf("seccompexec: wrapper is %d bytes, want %d", b.Len(), size)
	}
	return b.Bytes(), nil
}

func align8(n int) int { return (n + 7) &^ 7 }

// machineCode is the wrapper's x86-64 code; prog is the address of its
// struct sock_fprog. On entry (the System V process start) [rsp] is argc,
// argv starts at rsp+8 and envp follows argv's terminating NULL.
func machineCode(prog uint32) []byte {
	var c []byte
	emit := func(b ...byte) { c = append(c, b...) }
	imm32 := func(v uint32) { c = binary.LittleEndian.AppendUint32(c, v) }
	var fixups []int // offsets of rel8 jumps to fail
	jumpFail := func(op byte) { emit(op, 0); fixups = append(fixups, len(c)-1) }

	// prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
	emit(0xb8)
	imm32(157) // mov eax, SYS_prctl
	emit(0xbf)
	imm32(38) // mov edi, PR_SET_NO_NEW_PRIVS
	emit(0xbe)
	imm32(1)               // mov esi, 1
	emit(0x31, 0xd2)       // xor edx, edx
	emit(0x45, 0x31, 0xd2) // xor r10d, r10d
	emit(0x45, 0x31, 0xc0) // xor r8d, r8d
	emit(0x0f, 0x05)       // syscall
	emit(0x85, 0xc0)       // test eax, eax
	jumpFail(0x75)         // jnz fail
	// seccomp(SECCOMP_SET_MODE_FILTER, 0, &prog)
	emit(0xb8)
	imm32(317) // mov eax, SYS_seccomp
	emit(0xbf)
	imm32(1)         // mov edi, SECCOMP_SET_MODE_FILTER
	emit(0x31, 0xf6) // xor esi, esi
	emit(0xba)
	imm32(prog)      // mov edx, prog
	emit(0x0f, 0x05) // syscall
	emit(0x85, 0xc0) // test eax, eax
	jumpFail(0x75)   // jnz fail
	// execve(argv[1], &argv[1], envp)
	emit(0x48, 0x8b, 0x0c, 0x24)       // mov rcx, [rsp]          ; argc
	emit(0x48, 0x83, 0xf9, 0x02)       // cmp rcx, 2
	jumpFail(0x72)                     // jb fail
	emit(0x48, 0x8b, 0x7c, 0x24, 0x10) // mov rdi, [rsp+16]       ; argv[1]
	emit(0x48, 0x8d, 0x74, 0x24, 0x10) // lea rsi, [rsp+16]       ; &argv[1]
	emit(0x48, 0x8d, 0x54, 0xcc, 0x10) // lea rdx, [rsp+rcx*8+16] ; envp
	emit(0xb8)
	imm32(59)        // mov eax, SYS_execve
	emit(0x0f, 0x05) // syscall
	// fail: exit_group(127)
	fail := len(c)
	emit(0xb8)
	imm32(231) // mov eax, SYS_exit_group
	emit(0xbf)
	imm32(127)       // mov edi, 127
	emit(0x0f, 0x05) // syscall
	for _, at := range fixups {
		c[at] = byte(fail - (at + 1))
	}
	return c
}

// Install writes the wrapper to path (mode 0755, through a temporary file
// and a rename, so that a running dyno's mount source is never half
// written) unless path already holds it.
func Install(path string) error {
	b, err := Wrapper()
	if err != nil {
		return err
	}
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, b) {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("seccomp wrapper: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o755); err != nil {
		return fmt.Errorf("seccomp wrapper: %w", err)
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return fmt.Errorf("seccomp wrapper: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("seccomp wrapper: %w", err)
	}
	return nil
}
