package daemon

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/paasd/paasd/internal/testenv"
)

// TestEcoAppSleepsAndWakes: an app on an eco dyno sleeps after
// --eco-idle-after without requests (its dyno stops), and the next request
// is held while the dyno starts again, then served: one request, one 200.
func TestEcoAppSleepsAndWakes(t *testing.T) {
	testenv.Short(t, "starts paasd and a real dyno")
	testenv.NeedCommand(t, "python3")
	dataDir := filepath.Join(t.TempDir(), "data")
	d, router := startDaemonWithRouter(t, dataDir, "--runtime", testRuntime(), "--eco-idle-after", "2s")
	defer d.stop(t)
	defer d.scaleDown(t, "sleepy")

	if code, _ := d.call(t, "POST", "/apps", map[string]any{"name": "sleepy"}); code != 201 {
		t.Fatalf("create app: %d", code)
	}
	sum := writeSlug(t, dataDir, map[string]string{"web.py": webApp})
	_, slug := d.call(t, "POST", "/apps/sleepy/slugs", map[string]any{"process_types": map[string]string{"web": "python3 web.py"}, "checksum": sum})
	if code, rel := d.call(t, "POST", "/apps/sleepy/releases", map[string]any{"slug": slug["id"]}); code != 201 {
		t.Fatalf("release: %d %v", code, rel)
	}
	if code, f := d.call(t, "PATCH", "/apps/sleepy/formation/web", map[string]any{"quantity": 1, "size": "eco"}); code != 200 {
		t.Fatalf("scale: %d %v", code, f)
	}
	deadline := time.Now().Add(90 * time.Second)
	for {
		c, b, err := routed(router, "sleepy", "/")
		if err == nil && c == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no 200 through the router: %d %q %v\nlogs: %s", c, b, err, d.logs.String())
		}
		time.Sleep(200 * time.Millisecond)
	}

	// No requests: the dyno stops.
	deadline = time.Now().Add(60 * time.Second)
	for {
		_, dynos := d.callList(t, "/apps/sleepy/dynos")
		if len(dynos) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the idle eco app never slept: dynos %v\nlogs: %s", dynos, d.logs.String())
		}
		time.Sleep(200 * time.Millisecond)
	}

	// One request wakes it and is served.
	c, body, err := routed(router, "sleepy", "/wake")
	if err != nil || c != 200 || body != "dyno=web.1 greeting=None\n" {
		t.Fatalf("request to the sleeping app: %d %q %v\nlogs: %s", c, body, err, d.logs.String())
	}
	// The app's log tells the story (router lines arrive asynchronously).
	var logs string
	deadline = time.Now().Add(30 * time.Second)
	for {
		_, sess := d.call(t, "POST", "/apps/sleepy/log-sessions", map[string]any{"lines": 500})
		res, err := http.Get(fmt.Sprint(sess["logplex_url"]))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		logs = string(b)
		missing := ""
		for _, want := range []string{"heroku[router]: Idling", "heroku[router]: Waking app sleepy", `path="/wake"`} {
			if !strings.Contains(logs, want) {
				missing = want
			}
		}
		if missing == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("app log lacks %q:\n%s", missing, logs)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// scaleDown scales app's web dynos to zero and waits for them to stop, so
// that no dyno outlives the test (dynos outlive paasd, to be adopted).
func (d *daemon) scaleDown(t *testing.T, app string) {
	t.Helper()
	d.call(t, "PATCH", "/apps/"+app+"/formation/web", map[string]any{"quantity": 0})
	deadline := time.Now().Add(60 * time.Second)
	for {
		_, dynos := d.callList(t, "/apps/"+app+"/dynos")
		if len(dynos) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("%s still has dynos %v", app, dynos)
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// testRuntime is the dyno runtime of the router end-to-end tests: runc
// when root (as in CI: each dyno has its own network namespace, so no port
// is shared with other tests' dynos), the process runtime otherwise.
func testRuntime() string {
	if os.Geteuid() == 0 {
		return "builtin:runc"
	}
	return "builtin:process"
}
