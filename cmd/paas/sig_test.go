package main_test

import "syscall"

// sigwinch is sent by hand after resizing the test's pty: the kernel sends
// it only to the terminal's foreground process group.
var sigwinch = syscall.SIGWINCH
