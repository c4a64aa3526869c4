package devserver

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"syscall"
)

// portReservation holds listeners on the ports chosen for the server, so
// that no two of its services are handed the same free port, until release
// hands the ports over to the services.
type portReservation struct {
	listeners []net.Listener
}

// reserve listens on ip:port and returns the port. A zero port asks the
// kernel for a free one; a fixed port that is taken is reported against the
// Options field that asked for it.
func (r *portReservation) reserve(ip string, port int, field string) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(port)))
	if err != nil {
		if port != 0 && errors.Is(err, syscall.EADDRINUSE) {
			return 0, optionError(field, port, err, "on %s is already in use (is another Temporal server running?): stop that process, choose another port, or 0 for a free port", ip)
		}
		if port != 0 {
			return 0, optionError(field, port, err, "cannot be listened on on %s: %v", ip, err)
		}
		return 0, fmt.Errorf("devserver: cannot find a free port on %s for %s: %w", ip, field, err)
	}
	r.listeners = append(r.listeners, l)
	return l.Addr().(*net.TCPAddr).Port, nil
}

// release closes every listener. It is safe to call more than once.
func (r *portReservation) release() {
	for _, l := range r.listeners {
		_ = l.Close()
	}
	r.listeners = nil
}
