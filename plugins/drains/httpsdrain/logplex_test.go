package httpsdrain

import (
	"context"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/core/logplex"
	"github.com/paasd/paasd/core/logplex/syslog"
)

// TestThroughLogplex runs dyno output through Logplex and this drain to a
// real HTTPS receiver that refuses the first four requests: the drain's own
// two retries are used up, Logplex redelivers the batch with the same
// Logplex-Frame-Id, and the receiver ends up with every line once, in order.
func TestThroughLogplex(t *testing.T) {
	var mu sync.Mutex
	var frames []string
	var got []core.LogMessage
	seen := map[string]bool{}
	refuse := 4
	changed := make(chan struct{}, 1)
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		defer func() {
			select {
			case changed <- struct{}{}:
			default:
			}
		}()
		if r.Header.Get("Content-Type") != ContentType || r.Header.Get("Logplex-Drain-Token") == "" || r.Header.Get("User-Agent") != "Logplex/paasd" {
			t.Errorf("headers %v", r.Header)
		}
		user, pass, ok := r.BasicAuth()
		if !ok || user != "u" || pass != "secret" {
			t.Errorf("basic auth %q %q %v", user, pass, ok)
		}
		id := r.Header.Get("Logplex-Frame-Id")
		frames = append(frames, id)
		if refuse > 0 {
			refuse--
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		msgs, err := syslog.ParseFrames(body, 0)
		if err != nil {
			t.Errorf("body: %v", err)
		}
		if fmt.Sprint(len(msgs)) != r.Header.Get("Logplex-Msg-Count") {
			t.Errorf("Logplex-Msg-Count %s for %d frames", r.Header.Get("Logplex-Msg-Count"), len(msgs))
		}
		if !seen[id] {
			seen[id] = true
			got = append(got, msgs...)
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	factory, err := Factory(Config{TLSCAPEM: string(ca)})
	if err != nil {
		t.Fatal(err)
	}
	lp := logplex.New(logplex.Config{
		Drains: logplex.Schemes{"https": factory},
		Retry:  logplex.RetryPolicy{Min: 10 * time.Millisecond, Max: 50 * time.Millisecond},
	})
	defer lp.Close()
	u := "https://u:secret@" + srv.Listener.Addr().String() + "/logs"
	st, err := lp.AddDrain(context.Background(), "myapp", u, logplex.DrainOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w := lp.Dyno("myapp", "web.1")
	for i := range 50 {
		fmt.Fprintf(w, "line %d\n", i)
	}
	deadline := time.After(60 * time.Second)
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n >= 50 {
			break
		}
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("receiver has %d of 50 lines", n)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for i, m := range got {
		if m.Text != fmt.Sprintf("line %d", i) || m.App != "app" || m.ProcID != "web.1" {
			t.Fatalf("line %d: %+v", i, m)
		}
	}
	if len(frames) < 5 || frames[0] != frames[4] {
		t.Errorf("frame ids across the drain's and Logplex's retries: %q", frames)
	}
	s := lp.Drains("myapp")[0]
	if s.ID != st.ID || s.Retries < 1 {
		t.Errorf("status %+v", s)
	}
}
