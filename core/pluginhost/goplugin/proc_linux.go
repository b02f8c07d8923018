package goplugin

import (
	"os/exec"
	"syscall"
)

// dieWithParent has the kernel kill the plugin when paasd dies without
// closing it (SIGKILL, OOM), so that no orphaned plugin keeps running.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
