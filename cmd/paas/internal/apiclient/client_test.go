package apiclient

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestListFollowsNextRange(t *testing.T) {
	var ranges []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Accept") != Accept || r.Header.Get("Authorization") != "Bearer tok" {
			w.WriteHeader(400)
			return
		}
		rng := r.Header.Get("Range")
		ranges = append(ranges, rng)
		switch rng {
		case "":
			w.Header().Set("Next-Range", "name ]b..; max=2")
			w.WriteHeader(206)
			fmt.Fprint(w, `[{"name":"a"},{"name":"b"}]`)
		case "name ]b..; max=2":
			fmt.Fprint(w, `[{"name":"c"}]`)
		}
	}))
	defer srv.Close()
	c := &Client{BaseURL: srv.URL + "/", Token: "tok"}
	var apps []App
	if err := c.List(context.Background(), "/apps", &apps); err != nil {
		t.Fatal(err)
	}
	if len(apps) != 3 || apps[2].Name != "c" || len(ranges) != 2 {
		t.Fatalf("apps %v, ranges %q", apps, ranges)
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		desc   string
		status int
		body   string
		want   string
		id     string
	}{
		{"heroku error", 404, `{"id":"not_found","message":"Couldn't find that app."}`, "Couldn't find that app.", "not_found"},
		{"no JSON", 502, `bad gateway`, "HTTP 502 Bad Gateway", ""},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tt.status)
				fmt.Fprint(w, tt.body)
			}))
			defer srv.Close()
			err := (&Client{BaseURL: srv.URL}).Get(context.Background(), "/apps/x", nil)
			var e *Error
			if !errors.As(err, &e) || e.Error() != tt.want || e.ID != tt.id || e.Status != tt.status {
				t.Fatalf("err = %#v", err)
			}
			if IsNotFound(err) != (tt.status == 404) {
				t.Fatal("IsNotFound")
			}
		})
	}
	err := (&Client{BaseURL: "http://127.0.0.1:1"}).Get(context.Background(), "/x", nil)
	if err == nil || !strings.Contains(err.Error(), "cannot reach the API") {
		t.Fatalf("unreachable: %v", err)
	}
}
