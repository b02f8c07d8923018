package classic

import (
	"errors"
	"reflect"
	"testing"

	"github.com/paasd/paasd/core"
)

func TestParseRelease(t *testing.T) {
	tests := []struct {
		desc    string
		in      string
		want    core.ReleaseResponse
		wantErr bool
	}{
		{desc: "empty output", in: "", want: core.ReleaseResponse{}},
		{desc: "heroku go buildpack shape", in: "---\ndefault_process_types:\n  web: bin/hello\n",
			want: core.ReleaseResponse{DefaultProcessTypes: map[string]string{"web": "bin/hello"}}},
		{desc: "addons block and several types", in: "---\naddons:\n  - heroku-postgresql\n  - 'heroku-redis:mini'\ndefault_process_types:\n  web: npm start\n  worker: \"node worker.js --queue=a:b\"\n",
			want: core.ReleaseResponse{Addons: []string{"heroku-postgresql", "heroku-redis:mini"},
				DefaultProcessTypes: map[string]string{"web": "npm start", "worker": "node worker.js --queue=a:b"}}},
		{desc: "flow addons and empty types", in: "addons: [a, \"b\"]\ndefault_process_types: {}\n",
			want: core.ReleaseResponse{Addons: []string{"a", "b"}}},
		{desc: "empty flow addons", in: "addons: []\n", want: core.ReleaseResponse{}},
		{desc: "legacy config_vars skipped", in: "config_vars:\n  PATH: /app/bin:/usr/bin\ndefault_process_types:\n  web: bin/x\n",
			want: core.ReleaseResponse{DefaultProcessTypes: map[string]string{"web": "bin/x"}}},
		{desc: "comments and CRLF", in: "# generated\r\ndefault_process_types:\r\n  # the web\r\n  web: bin/x --port $PORT # trailing\r\n",
			want: core.ReleaseResponse{DefaultProcessTypes: map[string]string{"web": "bin/x --port $PORT"}}},
		{desc: "command with colons", in: "default_process_types:\n  web: python3 -m http.server $PORT --bind 0.0.0.0\n",
			want: core.ReleaseResponse{DefaultProcessTypes: map[string]string{"web": "python3 -m http.server $PORT --bind 0.0.0.0"}}},
		{desc: "single quote escape", in: "default_process_types:\n  web: 'echo ''hi'''\n",
			want: core.ReleaseResponse{DefaultProcessTypes: map[string]string{"web": "echo 'hi'"}}},
		{desc: "indented line first", in: "  web: x\n", wantErr: true},
		{desc: "no colon at top level", in: "garbage\n", wantErr: true},
		{desc: "bad process type", in: "default_process_types:\n  we/b: x\n", wantErr: true},
		{desc: "empty command", in: "default_process_types:\n  web:\n", wantErr: true},
		{desc: "duplicate type", in: "default_process_types:\n  web: a\n  web: b\n", wantErr: true},
		{desc: "inline mapping", in: "default_process_types: {web: x}\n", wantErr: true},
		{desc: "addon not a list item", in: "addons:\n  foo\n", wantErr: true},
		{desc: "unterminated quote", in: "default_process_types:\n  web: \"x\n", wantErr: true},
		{desc: "not UTF-8", in: "default_process_types:\n  web: \xff\n", wantErr: true},
		{desc: "tab indentation", in: "default_process_types:\n\tweb: x\n", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			got, err := ParseRelease([]byte(tc.in))
			if tc.wantErr {
				if !errors.Is(err, core.ErrInvalid) {
					t.Fatalf("err = %v, want ErrInvalid (got %+v)", err, got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func FuzzParseRelease(f *testing.F) {
	for _, s := range []string{
		"---\ndefault_process_types:\n  web: bin/hello\n",
		"addons:\n  - a\n  - 'b'\nconfig_vars:\n  X: y\n",
		"addons: [a, \"b\\\"c\"]\ndefault_process_types: {}\n",
		"default_process_types:\n  \"web\": 'x''y' # c\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := ParseRelease(b)
		if err != nil {
			if !errors.Is(err, core.ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		for k, v := range got.DefaultProcessTypes {
			if !validType(k) || v == "" {
				t.Fatalf("accepted bad process type %q: %q", k, v)
			}
		}
		for _, a := range got.Addons {
			if a == "" {
				t.Fatalf("accepted an empty add-on")
			}
		}
	})
}

func TestParseExport(t *testing.T) {
	raw := []byte("PATH=/new:/usr/bin\x00HOME=/app\x00FOO=bar\x00PWD=/x\x00SHLVL=2\x00_=/usr/bin/env\x00MULTI=a\nb\x00")
	got := parseExport(raw, map[string]string{"PATH": "/usr/bin", "HOME": "/app"})
	want := map[string]string{"PATH": "/new:/usr/bin", "FOO": "bar", "MULTI": "a\nb"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}
