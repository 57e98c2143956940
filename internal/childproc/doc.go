// Package childproc starts helper processes that never outlive their
// parent: each gets a process group of its own (so a stop reaches its
// children too) and, on Linux, SIGKILL from the kernel when the thread that
// started it dies (PR_SET_PDEATHSIG). The sandbox's ECS tasks use it; it is
// the same recipe as generators' local workers (generators/sysproc_linux.go,
// kill_unix.go), kept here so packages below generators can share it.
package childproc
