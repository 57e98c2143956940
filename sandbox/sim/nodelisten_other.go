//go:build !linux

package sim

import (
	"net"
	"strconv"
)

// canDropSYN: elsewhere the backlog cannot be relied on, so a blackholed
// node accepts new connections and holds their requests instead.
const canDropSYN = false

func listenNode(ip string, port int) (net.Listener, error) {
	return net.Listen("tcp4", net.JoinHostPort(ip, strconv.Itoa(port)))
}
