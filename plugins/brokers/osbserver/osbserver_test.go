package osbserver_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/plugins/brokers/osbserver"
	"github.com/paasd/paasd/sdk/examples/broker-memory/memory"
)

func TestRequests(t *testing.T) {
	srv := httptest.NewServer(&osbserver.Server{Broker: memory.New(), Username: "u", Password: "p"})
	t.Cleanup(srv.Close)
	for _, tc := range []struct {
		desc, method, path, body string
		noVersion, noAuth        bool
		wantCode                 int
		wantBody                 string
	}{
		{desc: "catalog", method: "GET", path: "/v2/catalog", wantCode: 200, wantBody: `"config_var_prefix":"MEMORY_KV"`},
		{desc: "no version header", method: "GET", path: "/v2/catalog", noVersion: true, wantCode: 412},
		{desc: "no credentials", method: "GET", path: "/v2/catalog", noAuth: true, wantCode: 401},
		{desc: "provision without plan", method: "PUT", path: "/v2/service_instances/a", body: `{"service_id":"memory-kv"}`, wantCode: 400, wantBody: "plan_id is required"},
		{desc: "provision with array parameters", method: "PUT", path: "/v2/service_instances/a", body: `{"service_id":"memory-kv","plan_id":"memory-kv.small","parameters":[1]}`, wantCode: 400, wantBody: "parameters must be a JSON object"},
		{desc: "provision not JSON", method: "PUT", path: "/v2/service_instances/a", body: `{`, wantCode: 400},
		{desc: "provision sync refused", method: "PUT", path: "/v2/service_instances/a", body: `{"service_id":"memory-kv","plan_id":"memory-kv.small"}`, wantCode: 422, wantBody: `"error":"AsyncRequired"`},
		{desc: "provision async", method: "PUT", path: "/v2/service_instances/a?accepts_incomplete=true", body: `{"service_id":"memory-kv","plan_id":"memory-kv.small"}`, wantCode: 202, wantBody: `"operation":"provision-`},
		{desc: "provision while running", method: "PUT", path: "/v2/service_instances/a?accepts_incomplete=true", body: `{"service_id":"memory-kv","plan_id":"memory-kv.large"}`, wantCode: 422, wantBody: `"error":"ConcurrencyError"`},
		{desc: "poll", method: "GET", path: "/v2/service_instances/a/last_operation", wantCode: 200, wantBody: `"state":"in progress"`},
		{desc: "deprovision unknown", method: "DELETE", path: "/v2/service_instances/zzz?service_id=memory-kv&plan_id=memory-kv.small", wantCode: 410},
		{desc: "deprovision without service", method: "DELETE", path: "/v2/service_instances/zzz", wantCode: 400},
		{desc: "unbind unknown", method: "DELETE", path: "/v2/service_instances/zzz/service_bindings/b?service_id=memory-kv&plan_id=memory-kv.small", wantCode: 410},
		{desc: "last operation unknown", method: "GET", path: "/v2/service_instances/zzz/last_operation", wantCode: 404},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, srv.URL+tc.path, strings.NewReader(tc.body))
			if !tc.noVersion {
				req.Header.Set("X-Broker-API-Version", "2.17")
			}
			if !tc.noAuth {
				req.SetBasicAuth("u", "p")
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.wantCode {
				t.Errorf("%s %s: %d %s, want %d", tc.method, tc.path, resp.StatusCode, body, tc.wantCode)
			}
			if tc.wantBody != "" && !strings.Contains(string(body), tc.wantBody) {
				t.Errorf("body %s does not contain %s", body, tc.wantBody)
			}
			if !json.Valid(body) {
				t.Errorf("body %q is not JSON", body)
			}
		})
	}
}

func FuzzDecodeInstanceBody(f *testing.F) {
	for _, s := range []string{`{"service_id":"s","plan_id":"p"}`, `{"service_id":"s","plan_id":"p","parameters":{"a":1}}`,
		`{"service_id":"s","parameters":"x"}`, `{}`, `[]`, `{"previous_values":{"plan_id":"x"},"service_id":"s"}`, ``} {
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, in string, planOptional bool) {
		b, err := osbserver.DecodeInstanceBody(strings.NewReader(in), planOptional)
		if err != nil {
			if !errors.Is(err, core.ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		if b.ServiceID == "" || (!planOptional && b.PlanID == "") {
			t.Fatalf("accepted a body without ids: %+v", b)
		}
	})
}
