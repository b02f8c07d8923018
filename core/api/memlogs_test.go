package api_test

import (
	"bufio"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/core/api"
)

// readEvents reads n SSE data lines from an open response.
func readEvents(t *testing.T, sc *bufio.Scanner, n int) []string {
	t.Helper()
	var out []string
	for len(out) < n && sc.Scan() {
		if l, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			out = append(out, l)
		}
	}
	return out
}

func TestMemoryLogs(t *testing.T) {
	logs := &api.MemoryLogs{}
	srv := httptest.NewServer(logs)
	defer srv.Close()
	logs.BaseURL = srv.URL
	ctx := context.Background()
	app := core.App{ID: "a1", Name: "app"}
	other := core.App{ID: "a2", Name: "other"}
	for i := range 3 {
		logs.LogAPI(ctx, app, "Release v"+string(rune('1'+i))+" created by user u@example.com")
	}
	logs.LogAPI(ctx, other, "Release v1 created by user x@example.com")

	tests := []struct {
		desc string
		req  api.LogSessionRequest
		want []string
	}{
		{"recent lines", api.LogSessionRequest{}, []string{"v1", "v2", "v3"}},
		{"lines=2", api.LogSessionRequest{Lines: 2}, []string{"v2", "v3"}},
		{"dyno api", api.LogSessionRequest{Dyno: "api"}, []string{"v1", "v2", "v3"}},
		{"app source has no api lines", api.LogSessionRequest{Source: "app"}, nil},
		{"another dyno", api.LogSessionRequest{Dyno: "web.1"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			u, err := logs.NewLogSession(ctx, app, tt.req)
			if err != nil {
				t.Fatal(err)
			}
			res, err := http.Get(u)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/event-stream" {
				t.Fatalf("%d %s", res.StatusCode, res.Header.Get("Content-Type"))
			}
			got := readEvents(t, bufio.NewScanner(res.Body), 100)
			if len(got) != len(tt.want) {
				t.Fatalf("got %q, want lines with %q", got, tt.want)
			}
			for i, w := range tt.want {
				if !strings.Contains(got[i], " heroku[api]: Release "+w+" created by user u@example.com") {
					t.Fatalf("line %d = %q, want %s", i, got[i], w)
				}
			}
			// A session URL is good for one use.
			again, _ := http.Get(u)
			again.Body.Close()
			if again.StatusCode != 404 {
				t.Fatalf("second use: %d", again.StatusCode)
			}
		})
	}
	t.Run("tail", func(t *testing.T) {
		u, _ := logs.NewLogSession(ctx, app, api.LogSessionRequest{Tail: true, Lines: 1})
		ctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "GET", u, nil)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		sc := bufio.NewScanner(res.Body)
		if got := readEvents(t, sc, 1); len(got) != 1 || !strings.Contains(got[0], "v3") {
			t.Fatalf("recent = %q", got)
		}
		logs.LogAPI(context.Background(), other, "not for this session")
		logs.LogAPI(context.Background(), app, "Scaled to web@2:basic by user u@example.com")
		if got := readEvents(t, sc, 1); len(got) != 1 || !strings.Contains(got[0], "Scaled to web@2") {
			t.Fatalf("tailed = %q", got)
		}
	})
	t.Run("unknown session", func(t *testing.T) {
		res, err := http.Get(srv.URL + "/log-sessions/nope")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 404 {
			t.Fatalf("%d", res.StatusCode)
		}
	})
}
