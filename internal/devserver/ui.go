package devserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	uiserver "github.com/temporalio/ui-server/v2/server"
	uiconfig "github.com/temporalio/ui-server/v2/server/config"
	uioptions "github.com/temporalio/ui-server/v2/server/server_options"
)

// UIOptions configure the Temporal Web UI served next to an embedded
// server.
type UIOptions struct {
	// Frontend is the gRPC address (host:port) of the Temporal frontend
	// the UI talks to. Required.
	Frontend string
	// IP is the address the UI listens on. Default "127.0.0.1".
	IP string
	// Port is the UI's HTTP port. Default 0: a free port.
	Port int
	// Namespace is the namespace the UI opens first. Default "default".
	Namespace string
}

// UI is a running Temporal Web UI (the ui-server module, with its built
// assets embedded in the binary).
type UI struct {
	server *uiserver.Server
	addr   string
	done   chan struct{}
}

// StartUI serves the Temporal Web UI for the frontend in opts and returns
// once it answers its health check.
func StartUI(ctx context.Context, opts UIOptions) (*UI, error) {
	if opts.Frontend == "" {
		return nil, errors.New("devserver: UIOptions.Frontend is required: the frontend address the UI talks to")
	}
	if opts.IP == "" {
		opts.IP = DefaultIP
	}
	if opts.Namespace == "" {
		opts.Namespace = DefaultNamespace
	}
	// The UI server exits the process when it cannot listen: check the
	// port first (and pick a free one).
	l, err := net.Listen("tcp", net.JoinHostPort(opts.IP, strconv.Itoa(opts.Port)))
	if err != nil {
		return nil, fmt.Errorf("devserver: UI port %d on %s is not available (%v); choose another UI port or 0 for a free one", opts.Port, opts.IP, err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	if err := l.Close(); err != nil {
		return nil, err
	}
	cfg := &uiconfig.Config{
		TemporalGRPCAddress: opts.Frontend,
		Host:                opts.IP,
		Port:                port,
		EnableUI:            true,
		DefaultNamespace:    opts.Namespace,
		HideLogs:            true,
		DisableNewsFetch:    true,
		CORS:                uiconfig.CORS{CookieInsecure: true},
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("devserver: UI: %w", err)
	}
	u := &UI{
		server: uiserver.NewServer(uioptions.WithConfigProvider(cfg)),
		addr:   net.JoinHostPort(opts.IP, strconv.Itoa(port)),
		done:   make(chan struct{}),
	}
	go func() {
		defer close(u.done)
		_ = u.server.Start()
	}()
	health := "http://" + u.addr + "/healthz"
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, health, nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return u, nil
			}
		}
		select {
		case <-ctx.Done():
			u.Stop()
			return nil, fmt.Errorf("devserver: the UI on %s did not answer: %w", u.addr, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Address returns the UI's host:port; open http://Address() in a browser.
func (u *UI) Address() string { return u.addr }

// Stop closes the UI server.
func (u *UI) Stop() {
	u.server.Stop()
	<-u.done
}
