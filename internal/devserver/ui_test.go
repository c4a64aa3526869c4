package devserver

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestUIServesTheServer starts the Web UI next to an in-memory server and
// checks that it serves its pages and reaches the server through its API.
func TestUIServesTheServer(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv, err := Start(ctx, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	ui, err := StartUI(ctx, UIOptions{Frontend: srv.FrontendAddress()})
	if err != nil {
		t.Fatal(err)
	}
	defer ui.Stop()

	get := func(path string) (int, string) {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+ui.Address()+path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	if code, body := get("/"); code != http.StatusOK || !strings.Contains(body, "<html") {
		t.Errorf("GET /: got: %d %.200q, want: 200 and a page", code, body)
	}
	code, body := get("/api/v1/namespaces/" + srv.Namespace())
	if code != http.StatusOK || !strings.Contains(body, srv.Namespace()) {
		t.Errorf("GET namespace through the UI's API: got: %d %.300q, want: 200 naming %q", code, body, srv.Namespace())
	}

	if _, err := StartUI(ctx, UIOptions{Frontend: srv.FrontendAddress(), Port: portOf(t, ui.Address())}); err == nil || !strings.Contains(err.Error(), "not available") {
		t.Errorf("second UI on a taken port: got: %v, want: an error naming the port", err)
	}
}
