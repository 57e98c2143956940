//go:build linux

package sim

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"syscall"
)

// canDropSYN: on Linux the node's listen backlog is set explicitly, so a
// blackholed node can fill its accept queue and have the kernel drop SYNs.
const canDropSYN = true

// listenNode listens on ip:port with the backlog nodeBacklog (net.Listen
// would use the system's somaxconn, thousands, too many to fill).
func listenNode(ip string, port int) (net.Listener, error) {
	a, err := netip.ParseAddr(ip)
	if err != nil || !a.Is4() {
		return nil, fmt.Errorf("listen %s: not an IPv4 address", ip)
	}
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC|syscall.SOCK_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("listen %s:%d: socket: %w", ip, port, err)
	}
	fail := func(op string, err error) (net.Listener, error) {
		syscall.Close(fd)
		return nil, fmt.Errorf("listen %s:%d: %s: %w", ip, port, op, err)
	}
	if err := syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1); err != nil {
		return fail("setsockopt", err)
	}
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Port: port, Addr: a.As4()}); err != nil {
		return fail("bind", err)
	}
	if err := syscall.Listen(fd, nodeBacklog); err != nil {
		return fail("listen", err)
	}
	f := os.NewFile(uintptr(fd), fmt.Sprintf("node %s:%d", ip, port))
	ln, err := net.FileListener(f) // dups the descriptor
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("listen %s:%d: %w", ip, port, err)
	}
	return ln, nil
}
