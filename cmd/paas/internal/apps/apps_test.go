package apps

import (
	"encoding/json"
	"testing"

	"github.com/paasd/paasd/cmd/paas/internal/golden"
)

func TestFormatInfo(t *testing.T) {
	in := Info{
		App:           json.RawMessage(`{"name":"myapp","git_url":"http://127.0.0.1:5000/myapp.git","web_url":"http://myapp.localhost:8080/","owner":{"email":"owner@example.com"},"region":{"name":"local"},"stack":{"name":"heroku-24"},"repo_size":null,"slug_size":52428800,"maintenance":false}`),
		Addons:        json.RawMessage(`[{"name":"pg-1","plan":{"name":"heroku-postgresql:essential-0"}},{"name":"r-1","plan":{"name":"heroku-redis:mini"}}]`),
		Collaborators: json.RawMessage(`[{"role":"owner","user":{"email":"owner@example.com"}},{"role":"member","user":{"email":"friend@example.com"}}]`),
		Dynos:         json.RawMessage(`[]`),
		Formation:     json.RawMessage(`[{"type":"worker","quantity":0},{"type":"web","quantity":2}]`),
		Domains:       json.RawMessage(`[{"hostname":"myapp.localhost","kind":"heroku"},{"hostname":"www.example.com","kind":"custom"}]`),
	}
	out, err := FormatInfo(in)
	if err != nil {
		t.Fatal(err)
	}
	golden.Check(t, "info", out)
}
