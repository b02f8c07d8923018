// Command routerd runs paasd's reference router with one app ("bench")
// routed to the given backends, for bench/router/run.sh.
package main

import (
	"context"
	"flag"
	"log"
	"net"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"

	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/plugins/router"
	"github.com/paasd/paasd/plugins/router/wasmguest"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9002", "listen address")
	backends := flag.String("backends", "127.0.0.1:9001", "comma-separated backend addresses")
	mw := flag.String("middleware", "", `wasm: reference of an http-wasm middleware for the app, or "min" for a minimal assembled guest that adds two headers`)
	logs := flag.Bool("logs", true, "consume router log lines (as paasd does)")
	verbose := flag.Bool("v", false, "print router log lines")
	flag.Parse()
	var lines atomic.Int64
	opts := router.Options{}
	if *logs {
		opts.OnLog = func(_ string, m core.LogMessage) {
			if lines.Add(1); *verbose {
				log.Print(m.Text)
			}
		}
	}
	r := router.New(opts)
	rt := core.Route{App: "bench", State: core.AppRunning}
	for i, a := range strings.Split(*backends, ",") {
		rt.Backends = append(rt.Backends, core.Backend{Dyno: "web." + string(rune('1'+i)), Address: a})
	}
	if *mw == "min" {
		f, err := os.CreateTemp("", "routerd-*.wasm")
		if err != nil {
			log.Fatal(err)
		}
		defer os.Remove(f.Name())
		if _, err := f.Write(wasmguest.AddHeader("X-Middleware", "X-Middleware-Seen", "yes")); err != nil {
			log.Fatal(err)
		}
		f.Close()
		*mw = "wasm:" + f.Name()
	}
	if *mw != "" {
		rt.Middleware = []string{*mw}
	}
	if err := r.SetRoutes(context.Background(), core.RouteTable{Version: 1, Routes: []core.Route{rt}}); err != nil {
		log.Fatal(err)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	go func() {
		ch := make(chan os.Signal, 1)
		signal.Notify(ch, syscall.SIGTERM, os.Interrupt)
		<-ch
		log.Printf("routerd: %d log lines, %d dropped", lines.Load(), r.DroppedLogLines())
		r.Close()
	}()
	if err := r.Serve(ln); err != nil {
		log.Fatal(err)
	}
}
