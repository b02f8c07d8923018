package schemas

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/paasd/paasd/core"
)

var update = flag.Bool("update", false, "rewrite the .err golden files")

func newValidator(t testing.TB) *Validator {
	t.Helper()
	v, err := New()
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return v
}

// TestGolden walks testdata/<Definition>/{valid,invalid}/*.json: valid
// documents must pass, invalid ones must fail with exactly the error in the
// matching .err file.
func TestGolden(t *testing.T) {
	v := newValidator(t)
	covered := map[string][2]int{}
	dirs, err := os.ReadDir("testdata")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dirs {
		def := "#" + d.Name()
		for _, kind := range []string{"valid", "invalid"} {
			files, _ := filepath.Glob(filepath.Join("testdata", d.Name(), kind, "*.json"))
			for _, f := range files {
				c := covered[def]
				if kind == "valid" {
					c[0]++
				} else {
					c[1]++
				}
				covered[def] = c
				t.Run(d.Name()+"/"+kind+"/"+filepath.Base(f), func(t *testing.T) {
					data, err := os.ReadFile(f)
					if err != nil {
						t.Fatal(err)
					}
					got := v.Validate(def, data)
					if kind == "valid" {
						if got != nil {
							t.Fatalf("want valid, got %v", got)
						}
						return
					}
					if got == nil {
						t.Fatal("want an error, got none")
					}
					if !errors.Is(got, core.ErrSchemaViolation) {
						t.Errorf("error %q does not wrap core.ErrSchemaViolation", got)
					}
					golden := strings.TrimSuffix(f, ".json") + ".err"
					if *update {
						if err := os.WriteFile(golden, []byte(got.Error()+"\n"), 0o644); err != nil {
							t.Fatal(err)
						}
						return
					}
					want, err := os.ReadFile(golden)
					if err != nil {
						t.Fatalf("%v (run with -update)", err)
					}
					if got.Error() != strings.TrimSuffix(string(want), "\n") {
						t.Errorf("error:\n got %s\nwant %s", got, want)
					}
				})
			}
		}
	}
	for _, def := range v.Definitions() {
		if c := covered[def]; c[0] == 0 || c[1] == 0 {
			t.Errorf("%s: %d valid and %d invalid fixtures; want at least one of each", def, c[0], c[1])
		}
	}
}

func TestValidateErrors(t *testing.T) {
	v := newValidator(t)
	for _, tc := range []struct {
		desc, def, data string
		want            error
		msg             string
	}{
		{desc: "unknown definition", def: "#Nope", data: `{}`, want: core.ErrNotFound, msg: `schemas: unknown definition "#Nope": not found`},
		{desc: "name without hash", def: "DrainDeliverResponse", data: `{"accepted":1}`},
		{desc: "not JSON", def: "#PluginInfo", data: `{"id":`, want: core.ErrSchemaViolation, msg: "#PluginInfo: not valid JSON: unexpected end of JSON input: schema violation"},
		{desc: "two documents", def: "#Empty", data: `{} {}`, want: core.ErrSchemaViolation},
		{desc: "empty input", def: "#Empty", data: ``, want: core.ErrSchemaViolation},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			err := v.Validate(tc.def, []byte(tc.data))
			if !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if tc.msg != "" && err.Error() != tc.msg {
				t.Errorf("message %q, want %q", err, tc.msg)
			}
		})
	}
}

func TestValidateConfig(t *testing.T) {
	v := newValidator(t)
	for _, tc := range []struct {
		desc, schema, cfg string
		want              error
		msg               string
	}{
		{desc: "fields", schema: `url: string, timeout?: int & >0`, cfg: `{"url":"x","timeout":3}`},
		{desc: "braces", schema: `{url: string}`, cfg: `{"url":"x"}`},
		{desc: "definition with import", schema: "import \"strings\"\n#Config: {url: strings.MinRunes(3)}", cfg: `{"url":"abc"}`},
		{desc: "default fills a missing field", schema: `port: *8080 | int`, cfg: `{}`},
		{desc: "bound", schema: `url: string, timeout?: int & >0`, cfg: `{"url":"x","timeout":-1}`, want: core.ErrInvalid, msg: "config: timeout: invalid value -1 (out of bound >0): invalid request"},
		{desc: "unknown field", schema: `url: string`, cfg: `{"url":"x","urll":1}`, want: core.ErrInvalid, msg: "config: urll: field not allowed: invalid request"},
		{desc: "missing field", schema: `url: string`, cfg: `{}`, want: core.ErrInvalid, msg: "config: url: missing required field: incomplete value string: invalid request"},
		{desc: "not JSON", schema: `url: string`, cfg: `{`, want: core.ErrInvalid},
		{desc: "schema does not parse", schema: `url: strin g`, cfg: `{}`, want: core.ErrSchemaViolation},
		{desc: "schema does not compile", schema: `url: nosuch`, cfg: `{}`, want: core.ErrSchemaViolation},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			err := v.ValidateConfig(tc.schema, []byte(tc.cfg))
			if !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if tc.msg != "" && err.Error() != tc.msg {
				t.Errorf("message %q, want %q", err, tc.msg)
			}
		})
	}
}

// TestRecycle runs past the recycling threshold, concurrently, and checks
// that answers stay right across context replacements.
func TestRecycle(t *testing.T) {
	v := newValidator(t)
	v.recycle = 100
	good := []byte(`{"accepted":3}`)
	bad := []byte(`{"accepted":-3}`)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 150 {
				if err := v.Validate("#DrainDeliverResponse", good); err != nil {
					errs <- fmt.Errorf("worker %d, good %d: %w", w, i, err)
					return
				}
				if err := v.Validate("#DrainDeliverResponse", bad); err == nil {
					errs <- fmt.Errorf("worker %d, bad %d: no error", w, i)
					return
				}
				if i%50 == 0 {
					if err := v.ValidateConfig(`n: int`, []byte(`{"n":1}`)); err != nil {
						errs <- fmt.Errorf("worker %d, config %d: %w", w, i, err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if v.generation < 5 {
		t.Errorf("context replaced %d times, want at least 5", v.generation)
	}
}

func FuzzValidate(f *testing.F) {
	v := newValidator(f)
	defs := v.Definitions()
	seeds, _ := filepath.Glob("testdata/*/*/*.json")
	for i, s := range seeds {
		if b, err := os.ReadFile(s); err == nil {
			f.Add(uint8(i), b)
		}
	}
	f.Add(uint8(0), []byte(`{"a":[1,2,{"b":null}]}`))
	f.Fuzz(func(t *testing.T, which uint8, data []byte) {
		def := defs[int(which)%len(defs)]
		err := v.Validate(def, data)
		if err != nil && !errors.Is(err, core.ErrSchemaViolation) {
			t.Fatalf("%s: error %v does not wrap ErrSchemaViolation", def, err)
		}
	})
}

func TestCompleteConfig(t *testing.T) {
	v := newValidator(t)
	for _, tc := range []struct {
		desc, in, want string
	}{
		{desc: "empty file", in: `{}`, want: `{}`},
		{desc: "given values kept", in: `{"data_dir":"/srv/paasd","runtime":"builtin:process","log_level":"debug"}`,
			want: `{"data_dir":"/srv/paasd","runtime":"builtin:process","log_level":"debug"}`},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			got, err := v.Complete("#Config", []byte(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
	if _, err := v.Complete("#Config", []byte(`{"log_level":"loud"}`)); !errors.Is(err, core.ErrSchemaViolation) {
		t.Errorf("bad config: got %v, want ErrSchemaViolation", err)
	}
}

// FuzzValidateConfig feeds plugin-supplied schema sources and configs: no
// panic, and only ErrInvalid or ErrSchemaViolation errors.
func FuzzValidateConfig(f *testing.F) {
	v := newValidator(f)
	f.Add("url: string, timeout?: int & >0", []byte(`{"url":"x","timeout":3}`))
	f.Add("import \"strings\"\n#Config: {url: strings.MinRunes(3)}", []byte(`{"url":"abc"}`))
	f.Add("{a: [...{b: *1 | int}]}", []byte(`{"a":[{"b":2},{}]}`))
	f.Add("package x\nn: int", []byte(`null`))
	f.Fuzz(func(t *testing.T, schema string, cfg []byte) {
		err := v.ValidateConfig(schema, cfg)
		if err != nil && !errors.Is(err, core.ErrInvalid) && !errors.Is(err, core.ErrSchemaViolation) {
			t.Fatalf("schema %q config %q: error %v wraps neither ErrInvalid nor ErrSchemaViolation", schema, cfg, err)
		}
	})
}

func TestMemoKeepsRejecting(t *testing.T) {
	v, err := New()
	if err != nil {
		t.Fatal(err)
	}
	good := []byte(`{"accepted":3}`)
	bad := []byte(`{"accepted":-1}`)
	for i := 0; i < 3; i++ {
		if err := v.Validate("#DrainDeliverResponse", good); err != nil {
			t.Fatalf("round %d: good document rejected: %v", i, err)
		}
		if err := v.Validate("#DrainDeliverResponse", bad); err == nil {
			t.Fatalf("round %d: bad document accepted (memo must only hold passes)", i)
		}
	}
	// The same bytes against another definition are evaluated afresh.
	if err := v.Validate("#PluginInfo", good); err == nil {
		t.Fatal("memo leaked across definitions")
	}
}
