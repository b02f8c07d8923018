package conformance

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// RuntimeAppName is the file name of the conformance app inside the slugs the
// runtime suite builds. A binary run under this name acts as the app.
const RuntimeAppName = "paasd-conformance-app"

// RunRuntimeApp turns the running binary into the runtime suite's test app
// when it was started under the name [RuntimeAppName] (inside a dyno): it
// then never returns. Otherwise it returns at once. Call it first thing in
// main or TestMain of any program that runs the runtime suite without
// RuntimeTarget.Slug:
//
//	func TestMain(m *testing.M) {
//		conformance.RunRuntimeApp()
//		os.Exit(m.Run())
//	}
//
// The app's modes (first argument):
//
//	serve  HTTP on $PORT: "/" answers "ok", "/env" the environment as JSON,
//	       "/dial?addr=H:P" tries a TCP connection ("ok" or "fail: …")
//	hog    allocates and touches memory until killed
//	dial A tries a TCP connection to address A: prints "ok" and exits 0,
//	       or prints "fail: …" and exits 1
//	syscalls  prints "seccomp: MODE" (2 under a filter) and the outcome of
//	       keyctl, personality and mount ("ok", "EPERM" or the error)
func RunRuntimeApp() {
	if filepath.Base(os.Args[0]) != RuntimeAppName {
		return
	}
	mode := ""
	if len(os.Args) > 1 {
		mode = os.Args[1]
	}
	switch mode {
	case "serve":
		appServe()
	case "hog":
		appHog()
	case "syscalls":
		appSyscalls()
		os.Exit(0)
	case "dial":
		if len(os.Args) < 3 {
			fmt.Fprintln(os.Stderr, "dial: want an address")
			os.Exit(2)
		}
		c, err := net.DialTimeout("tcp", os.Args[2], 5*time.Second)
		if err != nil {
			fmt.Println("fail:", err)
			os.Exit(1)
		}
		c.Close()
		fmt.Println("ok")
		os.Exit(0)
	default:
		fmt.Fprintf(os.Stderr, "%s: unknown mode %q (want serve, hog, dial or syscalls)\n", RuntimeAppName, mode)
	}
	os.Exit(2)
}

func appServe() {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") })
	mux.HandleFunc("/env", func(w http.ResponseWriter, r *http.Request) {
		env := map[string]string{}
		for _, kv := range os.Environ() {
			k, v, _ := strings.Cut(kv, "=")
			env[k] = v
		}
		_ = json.NewEncoder(w).Encode(env)
	})
	mux.HandleFunc("/dial", func(w http.ResponseWriter, r *http.Request) {
		c, err := net.DialTimeout("tcp", r.URL.Query().Get("addr"), 2*time.Second)
		if err != nil {
			fmt.Fprintf(w, "fail: %v", err)
			return
		}
		c.Close()
		fmt.Fprint(w, "ok")
	})
	l, err := net.Listen("tcp", ":"+os.Getenv("PORT"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "listen:", err)
		os.Exit(1)
	}
	fmt.Println("listening on", l.Addr())
	_ = http.Serve(l, mux)
}

func appHog() {
	var keep [][]byte
	for i := 0; ; i++ {
		b := make([]byte, 4<<20)
		for j := range b {
			b[j] = byte(j)
		}
		keep = append(keep, b) //lint:ignore SA4010 the hog keeps every block reachable on purpose
		if i%16 == 0 {
			fmt.Printf("allocated %d MB\n", (i+1)*4)
		}
	}
}
